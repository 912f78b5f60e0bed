package attach

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestCheckVerdicts runs the verdict check on hand-written programs.
func TestCheckVerdicts(t *testing.T) {
	ret := func(insns ...asm.Instruction) asm.Instructions { return append(insns, asm.Return()) }
	for _, tc := range []struct {
		name  string
		insns asm.Instructions
		rule  verdictRule
		want  string // in the error; "" for none
	}{
		{"return 1", ret(asm.Mov.Imm(asm.R0, 1)), cgroupSKBVerdict, ""},
		{"return 3 (allow, congestion)", ret(asm.Mov.Imm(asm.R0, 3)), cgroupSKBVerdict, ""},
		{"return 0", ret(asm.Mov.Imm(asm.R0, 0)), cgroupSKBVerdict, "may return 0"},
		{"return 2 (drop, congestion)", ret(asm.Mov.Imm32(asm.R0, 2)), cgroupSKBVerdict, "may return 2"},
		{"return 0 through a register", ret(asm.Mov.Imm(asm.R6, 0), asm.Mov.Reg(asm.R0, asm.R6)), cgroupSKBVerdict, "may return 0"},
		{"0 overwritten", ret(asm.Mov.Imm(asm.R0, 0), asm.Mov.Imm(asm.R0, 1)), cgroupSKBVerdict, ""},
		{"0 on one branch", asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.JEq.Imm(asm.R1, 0, "out"),
			asm.Mov.Imm(asm.R0, 1),
			asm.Return().WithSymbol("out"),
		}, cgroupSKBVerdict, "may return 0"},
		{"0 on a branch by offset", asm.Instructions{
			asm.Mov.Imm(asm.R0, 1),
			asm.LoadImm(asm.R2, 7, asm.DWord), // two raw instructions
			{OpCode: asm.JEq.Op(asm.ImmSource), Dst: asm.R1, Offset: 2},
			asm.Mov.Imm(asm.R0, 1),
			asm.Return(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}, cgroupSKBVerdict, "may return 0 (instruction 7)"},
		{"a helper's result", ret(asm.Mov.Imm(asm.R0, 0), asm.FnGetPrandomU32.Call()), cgroupSKBVerdict, ""},
		{"arithmetic", ret(asm.Mov.Imm(asm.R0, 0), asm.Add.Imm(asm.R0, 1)), cgroupSKBVerdict, ""},
		{"a load", ret(asm.Mov.Imm(asm.R0, 0), asm.LoadMem(asm.R0, asm.R1, 0, asm.Word)), cgroupSKBVerdict, ""},
		{"xdp pass", ret(asm.Mov.Imm(asm.R0, 2)), xdpVerdict, ""},
		{"xdp drop", ret(asm.Mov.Imm(asm.R0, 1)), xdpVerdict, "may return 1"},
		{"xdp aborted", ret(asm.Mov.Imm(asm.R0, 0)), xdpVerdict, "may return 0"},
		{"xdp redirect", ret(asm.Mov.Imm(asm.R0, 4)), xdpVerdict, "XDP_PASS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkVerdicts(tc.insns, tc.rule)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// TestCheckProgramCompiled runs CheckProgram on programs as clang emits
// them: those of testdata/verdicts.bpf.c, and the examples' cgroup_skb and
// xdp programs, which must pass.
func TestCheckProgramCompiled(t *testing.T) {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..")
	dir := t.TempDir()
	want := map[string]string{ // program: in the error ("" for none)
		"pass": "", "computed": "", "xdp_pass": "",
		"drop_all":       "cgroup_skb/ingress\": may return 0",
		"drop_large":     "may return 0",
		"xdp_drop_short": "may return 1",
	}
	for _, src := range []string{"attach/testdata/verdicts.bpf.c", "examples/podnet.bpf.c", "examples/xdp.bpf.c"} {
		obj := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+".o")
		testenv.CompileBPF(t, filepath.Join(root, src), obj)
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for name, prog := range spec.Programs {
			w, listed := want[name]
			if !strings.HasPrefix(prog.SectionName, "cgroup_skb/") && !strings.HasPrefix(prog.SectionName, "xdp/") {
				continue
			}
			if !listed && !strings.HasPrefix(src, "examples/") {
				t.Errorf("%s: program %s not in the table", src, name)
			}
			err := CheckProgram(prog)
			switch {
			case w == "" && err != nil:
				t.Errorf("%s: program %s: error %v, want none", src, name, err)
			case w != "" && (err == nil || !strings.Contains(err.Error(), w)):
				t.Errorf("%s: program %s: error %v, want one with %q", src, name, err, w)
			}
		}
	}
}
