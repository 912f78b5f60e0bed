package usdt

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestMarshalSpec(t *testing.T) {
	args, err := ParseArgs("-4@%eax 8@-16(%rbp) 2@$-535", elf.EM_X86_64)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Spec{Args: args, Cookie: 0xc00c1e}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 208 {
		t.Fatalf("%d bytes, want sizeof(struct __bpf_usdt_spec) = 208", len(b))
	}
	ne := binary.NativeEndian
	type argSpec struct {
		valOff   uint64
		kind     uint32
		regOff   int16
		signed   byte
		bitshift byte
	}
	for i, want := range []argSpec{
		{0, 1, 80, 1, 32},                         // register eax, signed int
		{uint64(0xfffffffffffffff0), 2, 32, 0, 0}, // *(rbp - 16), u64
		{uint64(0xfffffffffffffde9), 0, 0, 0, 48}, // constant -535 as u16: 65001
	} {
		o := b[i*16:]
		got := argSpec{ne.Uint64(o), ne.Uint32(o[8:]), int16(ne.Uint16(o[12:])), o[14], o[15]}
		if got != want {
			t.Errorf("arg %d: %+v, want %+v", i, got, want)
		}
	}
	if c := ne.Uint64(b[192:]); c != 0xc00c1e {
		t.Errorf("usdt_cookie %#x", c)
	}
	if n := ne.Uint16(b[200:]); n != 3 {
		t.Errorf("arg_cnt %d", n)
	}
	for i := 3 * 16; i < 192; i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d of unused args is %d", i, b[i])
		}
	}
	// What bpf_usdt_arg computes for the constant: shift left then right.
	if v := ne.Uint64(b[32:]) << b[47] >> b[47]; v != 65001 {
		t.Errorf("decoded constant %d", v)
	}
	if _, err := (Spec{Args: make([]Arg, 13)}).MarshalBinary(); err == nil {
		t.Error("13 args marshalled")
	}
	if _, err := (Spec{Args: []Arg{{Kind: ArgReg, Size: 3}}}).MarshalBinary(); err == nil {
		t.Error("size 3 marshalled")
	}
}

func TestNewSpecRipRelative(t *testing.T) {
	p := Probe{Provider: "p", Name: "n", Address: 0x1260, Args: "-8@counter+8(%rip) 4@%edi"}
	lookup := func(name string) (uint64, error) {
		if name == "counter" {
			return 0x4010, nil
		}
		return 0, errors.New("no " + name)
	}
	s, err := NewSpec(p, elf.EM_X86_64, lookup)
	if err != nil {
		t.Fatal(err)
	}
	// At the probe, rip = 0x1260 (wherever the file is mapped), so the
	// operand is at rip + 0x4018 - 0x1260.
	if a := s.Args[0]; a.Kind != ArgRegDeref || a.RegOffset != 128 || a.Value != 0x4018-0x1260 || a.Symbol != "" {
		t.Errorf("rip-relative arg: %+v", a)
	}
	p.Args = "8@nosuch(%rip)"
	if _, err := NewSpec(p, elf.EM_X86_64, lookup); err == nil || !strings.Contains(err.Error(), "no nosuch") {
		t.Errorf("unknown symbol: %v", err)
	}
	if _, err := NewSpec(p, elf.EM_X86_64, nil); err == nil {
		t.Error("no lookup: no error")
	}
	p.Args = "8@8(%rax,%rbx,4)"
	if _, err := NewSpec(p, elf.EM_X86_64, lookup); err == nil || !strings.Contains(err.Error(), "p:n") || !strings.Contains(err.Error(), "indexed") {
		t.Errorf("unsupported arg: %v, want an error naming the probe and the problem", err)
	}
}
