package attach

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cilium/ebpf/asm"
)

// A program whose return value is a verdict on packets (cgroup_skb, xdp)
// decides the traffic of the whole host once ebpfmon attaches it: to the
// cgroup2 root, every socket's; to an interface, all of it. An exporter
// only counts, so checkVerdicts refuses a program that can return a
// constant verdict other than "let it through" on some path (a `return 0`
// left in a cgroup_skb program drops every packet of the host). Verdicts
// computed at run time are not judged.

// verdictRule says which constant return values of a hook kind let the
// packet through, and how to fix one that does not.
type verdictRule struct {
	passes func(c int64) bool
	want   string // the fix, for the message
}

var (
	// cgroup_skb: bit 0 of the return value allows the packet (bit 1, on
	// egress, asks for congestion notification).
	cgroupSKBVerdict = verdictRule{
		passes: func(c int64) bool { return c&1 == 1 },
		want:   "return 1 (let the packet through) on every path: a cgroup_skb program on the cgroup2 root decides every packet of every socket of the host",
	}
	// xdp: XDP_PASS is 2; 0 (aborted) and 1 (drop) drop, 3 and 4 send the
	// packet elsewhere.
	xdpVerdict = verdictRule{
		passes: func(c int64) bool { return uint32(c) == 2 },
		want:   "return XDP_PASS (2) on every path: an xdp program decides every packet the interface receives",
	}
)

// regState is what a register may hold at an instruction: whether it may
// be a constant the rule does not pass (and the first such), or not.
type regState struct {
	blocks bool
	value  int64 // the constant, when blocks
}

func (r regState) join(o regState) regState {
	if r.blocks {
		return r
	}
	return o
}

// regs is the state of r0 to r9 (r10, the frame pointer, is never a verdict).
type regs [asm.R10]regState

// checkVerdicts checks the entry function of insns (the program, up to its
// first subprogram) against rule: it follows every path from the first
// instruction, tracking which registers may hold a constant rule does not
// pass, and returns an error naming each exit where r0 may be one.
// Registers written by anything but a move of a constant or of another
// register are not judged.
func checkVerdicts(insns asm.Instructions, rule verdictRule) error {
	entry, offs, t := entryFunction(insns)
	states := make([]regs, len(entry))
	visited := make([]bool, len(entry))
	visited[0] = true
	var bad []string
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		ins := entry[i]
		if ins.OpCode.Class().IsJump() && ins.OpCode.JumpOp() == asm.Exit {
			if r0 := states[i][asm.R0]; r0.blocks {
				bad = append(bad, fmt.Sprintf("may return %d (instruction %d)", r0.value, offs[i]))
			}
			continue
		}
		out := step(ins, states[i], rule)
		for _, next := range successors(ins, i, offs, t) {
			if next < 0 || next >= len(entry) {
				return nil // a jump out of the function: not judged
			}
			if joined := joinRegs(states[next], out); !visited[next] || joined != states[next] {
				visited[next], states[next] = true, joined
				work = append(work, next)
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("%s: %s", strings.Join(slices.Compact(bad), ", "), rule.want)
}

// entryFunction returns the instructions of insns up to its first
// subprogram (the first called function), the raw offset of each, and the
// index of each raw offset and of each jump label.
func entryFunction(insns asm.Instructions) (asm.Instructions, []asm.RawInstructionOffset, targets) {
	funcs := insns.FunctionReferences()
	var offs []asm.RawInstructionOffset
	t := targets{at: map[asm.RawInstructionOffset]int{}, labels: map[string]int{}}
	iter := insns.Iterate()
	for iter.Next() {
		sym := iter.Ins.Symbol()
		if iter.Index > 0 && slices.Contains(funcs, sym) {
			break
		}
		if sym != "" {
			t.labels[sym] = iter.Index
		}
		offs = append(offs, iter.Offset)
		t.at[iter.Offset] = iter.Index
	}
	return insns[:len(offs)], offs, t
}

// targets finds where jumps go: by raw offset, or by label for
// instructions built with references rather than offsets.
type targets struct {
	at     map[asm.RawInstructionOffset]int
	labels map[string]int
}

func joinRegs(a, b regs) regs {
	for r := range a {
		a[r] = a[r].join(b[r])
	}
	return a
}

// step returns the registers after ins, given those before.
func step(ins asm.Instruction, in regs, rule verdictRule) regs {
	out := in
	set := func(r asm.Register, s regState) {
		if r < asm.R10 {
			out[r] = s
		}
	}
	op := ins.OpCode
	switch cls := op.Class(); {
	case cls.IsALU() && op.ALUOp() == asm.Mov && ins.Offset == 0 && op.Source() == asm.ImmSource:
		c := ins.Constant
		if cls == asm.ALUClass {
			c = int64(uint32(c)) // a 32-bit move zero-extends
		}
		set(ins.Dst, regState{blocks: !rule.passes(c), value: c})
	case cls.IsALU() && op.ALUOp() == asm.Mov && ins.Offset == 0 && ins.Src < asm.R10:
		set(ins.Dst, in[ins.Src])
	case cls.IsALU(), cls.IsLoad():
		set(ins.Dst, regState{})
	case cls == asm.StXClass && op.Mode() == asm.AtomicMode: // fetches write src, cmpxchg r0
		set(ins.Dst, regState{})
		set(ins.Src, regState{})
		set(asm.R0, regState{})
	case cls.IsJump() && op.JumpOp() == asm.Call:
		for r := asm.R0; r <= asm.R5; r++ {
			set(r, regState{})
		}
	}
	return out
}

// successors returns the indexes ins, the i-th instruction, may continue
// at (-1: a jump to no instruction), given offs and t from entryFunction.
func successors(ins asm.Instruction, i int, offs []asm.RawInstructionOffset, t targets) []int {
	op := ins.OpCode
	if !op.Class().IsJump() || op.JumpOp() == asm.Call {
		return []int{i + 1}
	}
	off := int64(ins.Offset)
	if op.JumpOp() == asm.Ja && op.Class() == asm.Jump32Class {
		off = ins.Constant // gotol
	}
	target, ok := t.at[offs[i]+1+asm.RawInstructionOffset(off)]
	if ref := ins.Reference(); ref != "" {
		target, ok = t.labels[ref]
	}
	if !ok {
		target = -1
	}
	if op.JumpOp() == asm.Ja {
		return []int{target}
	}
	return []int{i + 1, target}
}
