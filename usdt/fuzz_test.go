package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParseNotes parses arbitrary .note.stapsdt contents (seeded in
// testdata/fuzz with the real sections of python3 and libstdc++): every
// probe has a provider and a name, no NUL in its strings, at most one per
// 12 bytes, and the probes written back as notes parse to the same
// probes; each probe's arguments that parse give a spec that encodes.
func FuzzParseNotes(f *testing.F) {
	le := binary.LittleEndian
	f.Add(note(le, "stapsdt", 3, sdtDesc(le, 8, 0x1240, 0x2030, 0, "ebpfmon", "hit", "-4@%edi")), true)
	f.Add(note(le, "stapsdt", 3, sdtDesc(le, 4, 1, 2, 3, "p", "n", "")), false)
	f.Add(cat(note(le, "GNU", 3, []byte{1, 2, 3, 4}), note(le, "stapsdt", 2, nil), note(le, "stapsdt", 3, sdtDesc(le, 8, 1, 2, 3, "p", "n", "8@sym+8(%rip)"))), true)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, data []byte, is64 bool) {
		size := 4
		if is64 {
			size = 8
		}
		probes, err := ParseNotes(data, le, size)
		if err != nil {
			return
		}
		if len(probes) > len(data)/12 {
			t.Fatalf("%d probes from %d bytes", len(probes), len(data))
		}
		var back []byte
		for _, p := range probes {
			if p.Provider == "" || p.Name == "" || strings.ContainsRune(p.String()+p.Args, 0) {
				t.Fatalf("bad probe %+v", p)
			}
			back = append(back, note(le, noteOwner, noteType, sdtDesc(le, size, p.Address, p.Base, p.Semaphore, p.Provider, p.Name, p.Args))...)
			spec, err := NewSpec(p, elf.EM_X86_64, func(string) (uint64, error) { return 0x4000, nil })
			if err != nil {
				continue
			}
			if _, err := spec.MarshalBinary(); err != nil {
				t.Fatalf("%s: arguments %q give a spec that does not encode: %v", p, p.Args, err)
			}
		}
		again, err := ParseNotes(back, le, size)
		if err != nil || !reflect.DeepEqual(again, probes) {
			t.Fatalf("probes %+v written back parse to %+v, %v", probes, again, err)
		}
	})
}

// FuzzParseArgs parses arbitrary argument strings (seeded with those of
// python3's and libstdc++'s probes) for x86-64 and arm64: what parses has
// at most MaxArgs arguments of a valid size and register offset, prints
// back (x86-64) to a string that parses the same, and encodes as the
// struct __bpf_usdt_spec that reads back field by field.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"-4@%eax 8@-16(%rbp)", "-4@$-9", "8@sym+8(%rip)", "8@[sp, 16] -4@x0 4@5", "1@%ah", "8@(%rax,%rbx,2)", "",
		// Real probes: python3's function__entry and gc__done, libstdc++'s throw.
		"8@%rbp 8@%r12 -4@%eax", "-8@%r12", "8@%rdx 8@-80(%rbx)", "-4@112(%rsp)", "8@%rdi 8@%rsi"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, x86 bool) {
		machine := elf.EM_AARCH64
		if x86 {
			machine = elf.EM_X86_64
		}
		args, err := ParseArgs(s, machine)
		if err != nil {
			return
		}
		if len(args) > MaxArgs {
			t.Fatalf("%d args", len(args))
		}
		for _, a := range args {
			switch {
			case a.Size != 1 && a.Size != 2 && a.Size != 4 && a.Size != 8:
				t.Fatalf("%q: size %d", s, a.Size)
			case a.RegOffset < 0 || a.RegOffset > 256 || a.RegOffset%8 != 0:
				t.Fatalf("%q: reg offset %d", s, a.RegOffset)
			case a.Kind == ArgConst && a.Reg != "", a.Kind != ArgConst && a.Reg == "":
				t.Fatalf("%q: %+v", s, a)
			}
		}
		checkSpecEncoding(t, s, args)
		if !x86 {
			return
		}
		// What parses prints back to something that parses the same.
		var back []string
		for _, a := range args {
			back = append(back, a.String())
		}
		again, err := ParseArgs(strings.Join(back, " "), machine)
		if err != nil || !reflect.DeepEqual(again, args) {
			t.Fatalf("%q -> %q -> %+v, %v; want %+v", s, back, again, err, args)
		}
	})
}

// checkSpecEncoding encodes args, with rip-relative symbols resolved, and
// reads every field of struct __bpf_usdt_spec back from the bytes.
func checkSpecEncoding(t *testing.T, s string, args []Arg) {
	t.Helper()
	resolved := slices.Clone(args)
	for i := range resolved {
		resolved[i].Symbol = ""
	}
	spec := Spec{Args: resolved, Cookie: 0x1122334455667788}
	b, err := spec.MarshalBinary()
	if err != nil {
		t.Fatalf("%q: marshal: %v", s, err)
	}
	ne := binary.NativeEndian
	if len(b) != SpecSize || ne.Uint64(b[MaxArgs*argSpecSize:]) != spec.Cookie || int(ne.Uint16(b[MaxArgs*argSpecSize+8:])) != len(args) {
		t.Fatalf("%q: %d bytes, cookie or count wrong: % x", s, len(b), b)
	}
	for i, a := range resolved {
		o := b[i*argSpecSize:]
		val := int64(ne.Uint64(o))
		if a.Kind == ArgReg && val != 0 || a.Kind != ArgReg && val != a.Value ||
			ArgKind(ne.Uint32(o[8:])) != a.Kind || int16(ne.Uint16(o[12:])) != a.RegOffset ||
			(o[14] == 1) != a.Signed || o[14] > 1 || int(o[15]) != 64-8*a.Size {
			t.Fatalf("%q: argument %d %+v encoded as % x", s, i, a, o[:argSpecSize])
		}
	}
	if tail := b[len(args)*argSpecSize : MaxArgs*argSpecSize]; !bytes.Equal(tail, make([]byte, len(tail))) {
		t.Fatalf("%q: unused argument slots not zero: % x", s, tail)
	}
}
