package usdt

import (
	"debug/elf"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgsX86(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Arg
	}{
		{"", []Arg{}},
		{"-4@%eax", []Arg{{Kind: ArgReg, Size: 4, Signed: true, Reg: "eax", RegOffset: 80}}},
		{"8@%rdi -1@%al 2@%dx 4@%r15d 8@%rsp 1@%sil",
			[]Arg{
				{Kind: ArgReg, Size: 8, Reg: "rdi", RegOffset: 112},
				{Kind: ArgReg, Size: 1, Signed: true, Reg: "al", RegOffset: 80},
				{Kind: ArgReg, Size: 2, Reg: "dx", RegOffset: 96},
				{Kind: ArgReg, Size: 4, Reg: "r15d", RegOffset: 0},
				{Kind: ArgReg, Size: 8, Reg: "rsp", RegOffset: 152},
				{Kind: ArgReg, Size: 1, Reg: "sil", RegOffset: 104},
			}},
		{"8@-16(%rbp)  -4@112(%rsp)\t8@(%rbx)",
			[]Arg{
				{Kind: ArgRegDeref, Size: 8, Reg: "rbp", RegOffset: 32, Value: -16},
				{Kind: ArgRegDeref, Size: 4, Signed: true, Reg: "rsp", RegOffset: 152, Value: 112},
				{Kind: ArgRegDeref, Size: 8, Reg: "rbx", RegOffset: 40},
			}},
		{"-4@$-9 2@$-535 8@$0xffffffffffffffff 8@$9223372036854775807 -8@$-9223372036854775808",
			[]Arg{
				{Kind: ArgConst, Size: 4, Signed: true, Value: -9},
				{Kind: ArgConst, Size: 2, Value: -535},
				{Kind: ArgConst, Size: 8, Value: -1},
				{Kind: ArgConst, Size: 8, Value: 1<<63 - 1},
				{Kind: ArgConst, Size: 8, Signed: true, Value: -1 << 63},
			}},
		{"-8@ebpfmon_global(%rip) 4@counter+16(%rip) 8@x.y-8(%rip)",
			[]Arg{
				{Kind: ArgRegDeref, Size: 8, Signed: true, Reg: "rip", RegOffset: 128, Symbol: "ebpfmon_global"},
				{Kind: ArgRegDeref, Size: 4, Reg: "rip", RegOffset: 128, Symbol: "counter", Value: 16},
				{Kind: ArgRegDeref, Size: 8, Reg: "rip", RegOffset: 128, Symbol: "x.y", Value: -8},
			}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseArgs(tc.in, elf.EM_X86_64)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseArgsArm64(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Arg
	}{
		{"-4@x0 8@x30 4@w2 8@sp", []Arg{
			{Kind: ArgReg, Size: 4, Signed: true, Reg: "x0", RegOffset: 0},
			{Kind: ArgReg, Size: 8, Reg: "x30", RegOffset: 240},
			{Kind: ArgReg, Size: 4, Reg: "w2", RegOffset: 16},
			{Kind: ArgReg, Size: 8, Reg: "sp", RegOffset: 248},
		}},
		{"8@[sp, 16] -4@[x29, -12] 8@[x1] -4@5 4@#-3", []Arg{
			{Kind: ArgRegDeref, Size: 8, Reg: "sp", RegOffset: 248, Value: 16},
			{Kind: ArgRegDeref, Size: 4, Signed: true, Reg: "x29", RegOffset: 232, Value: -12},
			{Kind: ArgRegDeref, Size: 8, Reg: "x1", RegOffset: 8},
			{Kind: ArgConst, Size: 4, Signed: true, Value: 5},
			{Kind: ArgConst, Size: 4, Value: -3},
		}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseArgs(tc.in, elf.EM_AARCH64)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		machine elf.Machine
		want    string
	}{
		{"%eax", elf.EM_X86_64, "want SIZE@LOCATION"},
		{"3@%eax", elf.EM_X86_64, "want 1, 2, 4 or 8"},
		{"x@%eax", elf.EM_X86_64, "want 1, 2, 4 or 8"},
		{"16@%xmm0", elf.EM_X86_64, "want 1, 2, 4 or 8"},
		{"8@%xmm0", elf.EM_X86_64, "unknown or unsupported register %xmm0"},
		{"1@%ah", elf.EM_X86_64, "high-byte register"},
		{"8@8(%rax,%rbx,4)", elf.EM_X86_64, "indexed operand"},
		{"8@(,%rbx,8)", elf.EM_X86_64, "indexed operand"},
		{"8@%fs:8", elf.EM_X86_64, "segment-relative"},
		{"8@sym(%rbx)", elf.EM_X86_64, "only supported relative to %rip"},
		{"8@16(%rip)", elf.EM_X86_64, "need a symbol"},
		{"8@%rip", elf.EM_X86_64, "instruction pointer"},
		{"8@$sym", elf.EM_X86_64, "want an integer"},
		{"8@$99999999999999999999", elf.EM_X86_64, "want an integer"},
		{"8@$9223372036854775808", elf.EM_X86_64, "want an integer"},
		{"8@rax", elf.EM_X86_64, "want $IMM"},
		{"8@8(rax)", elf.EM_X86_64, "lacks its %"},
		{"8@1+(%rip)", elf.EM_X86_64, "bad symbol"},
		{strings.Repeat("8@%rax ", 13), elf.EM_X86_64, "13 arguments"},
		{"8@x31", elf.EM_AARCH64, "unsupported register"},
		{"8@[x1", elf.EM_AARCH64, "missing ]"},
		{"8@[x1, y]", elf.EM_AARCH64, "bad integer"},
		{"8@%eax", elf.EM_AARCH64, "unsupported register"},
		{"8@%eax", elf.EM_RISCV, "RISCV"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseArgs(tc.in, tc.machine)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
