package usdt

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"
)

// ArgKind is where an argument's value is, numbered like usdt.bpf.h's
// enum __bpf_usdt_arg_type.
type ArgKind uint32

const (
	// ArgConst is a constant: Value ("-4@$-9").
	ArgConst ArgKind = iota
	// ArgReg is the contents of a register ("8@%rax", "-4@x0").
	ArgReg
	// ArgRegDeref is in user memory at a register plus Value
	// ("-4@-20(%rbp)", "8@[sp, 16]").
	ArgRegDeref
)

func (k ArgKind) String() string {
	switch k {
	case ArgConst:
		return "const"
	case ArgReg:
		return "reg"
	case ArgRegDeref:
		return "reg_deref"
	}
	return fmt.Sprintf("ArgKind(%d)", uint32(k))
}

// Arg is one parsed argument of a probe.
type Arg struct {
	Kind ArgKind
	// Size is the argument's width in bytes: 1, 2, 4 or 8.
	Size int
	// Signed arguments are sign-extended to 64 bits, others zero-extended.
	Signed bool
	// Reg is the register as written ("eax", "x0"); empty for constants.
	Reg string
	// RegOffset is the offset of Reg's full register in struct pt_regs.
	RegOffset int16
	// Value is the constant (ArgConst) or the displacement (ArgRegDeref).
	Value int64
	// Symbol is set for an x86-64 rip-relative operand
	// ("8@counter+8(%rip)"): the address is Symbol's plus Value, which
	// Resolve turns into a displacement from the probe's address.
	Symbol string
}

// String writes the argument back in the note's syntax for x86-64.
func (a Arg) String() string {
	size := strconv.Itoa(a.Size)
	if a.Signed {
		size = "-" + size
	}
	switch a.Kind {
	case ArgConst:
		return fmt.Sprintf("%s@$%d", size, a.Value)
	case ArgReg:
		return fmt.Sprintf("%s@%%%s", size, a.Reg)
	}
	if a.Symbol != "" {
		return fmt.Sprintf("%s@%s%+d(%%%s)", size, a.Symbol, a.Value, a.Reg)
	}
	return fmt.Sprintf("%s@%d(%%%s)", size, a.Value, a.Reg)
}

// ParseArgs parses a probe's argument string, the operands the compiler
// chose for each argument, for the architecture of the ELF file that holds
// it (elf.EM_X86_64 or elf.EM_AARCH64). Arguments are separated by spaces.
func ParseArgs(s string, machine elf.Machine) ([]Arg, error) {
	var parse func(string) (Arg, error)
	switch machine {
	case elf.EM_X86_64:
		parse = parseX86
	case elf.EM_AARCH64:
		parse = parseArm64
	default:
		return nil, fmt.Errorf("USDT arguments on %s are not supported (x86-64 and arm64 are)", machine)
	}
	fields := splitArgs(s)
	if len(fields) > MaxArgs {
		return nil, fmt.Errorf("%d arguments, at most %d are supported", len(fields), MaxArgs)
	}
	args := make([]Arg, 0, len(fields))
	for i, f := range fields {
		size, loc, ok := strings.Cut(f, "@")
		if !ok {
			return nil, fmt.Errorf("argument %d %q: want SIZE@LOCATION", i, f)
		}
		n, err := strconv.Atoi(size)
		signed := n < 0
		if signed {
			n = -n
		}
		if err != nil || (n != 1 && n != 2 && n != 4 && n != 8) {
			return nil, fmt.Errorf("argument %d %q: size %q, want 1, 2, 4 or 8, optionally negative (signed)", i, f, size)
		}
		a, err := parse(loc)
		if err != nil {
			return nil, fmt.Errorf("argument %d %q: %w", i, f, err)
		}
		a.Size, a.Signed = n, signed
		args = append(args, a)
	}
	return args, nil
}

// splitArgs splits on spaces, except inside the brackets of an arm64
// memory operand ("8@[sp, 16]").
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, -1
	for i, c := range s {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ' ' || c == '\t':
			if depth <= 0 && start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// x86Regs maps every x86-64 register name an operand can use to the offset
// of its 64-bit register in the kernel's struct pt_regs (arch/x86/include/
// asm/ptrace.h: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax
// ip cs flags sp ss, 8 bytes each).
var x86Regs = func() map[string]int16 {
	m := map[string]int16{}
	for _, r := range []struct {
		off   int16
		names string
	}{
		{0, "r15 r15d r15w r15b"}, {8, "r14 r14d r14w r14b"},
		{16, "r13 r13d r13w r13b"}, {24, "r12 r12d r12w r12b"},
		{32, "rbp ebp bp bpl"}, {40, "rbx ebx bx bl"},
		{48, "r11 r11d r11w r11b"}, {56, "r10 r10d r10w r10b"},
		{64, "r9 r9d r9w r9b"}, {72, "r8 r8d r8w r8b"},
		{80, "rax eax ax al"}, {88, "rcx ecx cx cl"},
		{96, "rdx edx dx dl"}, {104, "rsi esi si sil"},
		{112, "rdi edi di dil"}, {128, "rip eip"}, {152, "rsp esp sp spl"},
	} {
		for _, n := range strings.Fields(r.names) {
			m[n] = r.off
		}
	}
	return m
}()

// x86RegOffset looks up "%reg".
func x86RegOffset(s string) (string, int16, error) {
	name, ok := strings.CutPrefix(s, "%")
	if !ok {
		return "", 0, fmt.Errorf("register %q lacks its %%", s)
	}
	switch name {
	case "ah", "bh", "ch", "dh":
		return "", 0, fmt.Errorf("high-byte register %%%s is not supported", name)
	}
	off, ok := x86Regs[name]
	if !ok {
		return "", 0, fmt.Errorf("unknown or unsupported register %%%s", name)
	}
	return name, off, nil
}

// parseX86 parses an AT&T operand: $IMM, %REG, DISP(%REG) or
// SYMBOL[+-OFF](%rip).
func parseX86(loc string) (Arg, error) {
	switch {
	case strings.HasPrefix(loc, "$"):
		v, err := parseInt(loc[1:])
		if err != nil {
			return Arg{}, fmt.Errorf("constant %q: want an integer (symbol addresses are not supported)", loc)
		}
		return Arg{Kind: ArgConst, Value: v}, nil
	case strings.HasPrefix(loc, "%"):
		if strings.Contains(loc, ":") {
			return Arg{}, fmt.Errorf("segment-relative operand %q is not supported", loc)
		}
		name, off, err := x86RegOffset(loc)
		if err != nil {
			return Arg{}, err
		}
		if name == "rip" || name == "eip" {
			return Arg{}, fmt.Errorf("the instruction pointer is not an argument")
		}
		return Arg{Kind: ArgReg, Reg: name, RegOffset: off}, nil
	}
	open := strings.IndexByte(loc, '(')
	if open < 0 || !strings.HasSuffix(loc, ")") {
		return Arg{}, fmt.Errorf("operand %q: want $IMM, %%REG or DISP(%%REG)", loc)
	}
	inner := loc[open+1 : len(loc)-1]
	if strings.Contains(inner, ",") {
		return Arg{}, fmt.Errorf("indexed operand %q is not supported", loc)
	}
	name, off, err := x86RegOffset(inner)
	if err != nil {
		return Arg{}, err
	}
	a := Arg{Kind: ArgRegDeref, Reg: name, RegOffset: off}
	disp := loc[:open]
	v, err := parseInt(disp)
	rip := name == "rip" || name == "eip"
	switch {
	case rip && (disp == "" || err == nil):
		return Arg{}, fmt.Errorf("operand %q: rip-relative operands need a symbol", loc)
	case disp == "":
		return a, nil
	case err == nil:
		a.Value = v
		return a, nil
	case !rip:
		return Arg{}, fmt.Errorf("operand %q: a symbol displacement is only supported relative to %%rip", loc)
	}
	sym, v, err := splitSymbol(disp)
	if err != nil {
		return Arg{}, fmt.Errorf("operand %q: %w", loc, err)
	}
	a.Symbol, a.Value = sym, v
	return a, nil
}

// splitSymbol splits "sym", "sym+8" or "sym-8".
func splitSymbol(s string) (string, int64, error) {
	i := strings.LastIndexAny(s, "+-")
	if i <= 0 {
		if !validSymbol(s) {
			return "", 0, fmt.Errorf("bad symbol %q", s)
		}
		return s, 0, nil
	}
	v, err := parseInt(s[i:])
	if err != nil || !validSymbol(s[:i]) {
		return "", 0, fmt.Errorf("bad symbol%s %q", "+offset", s)
	}
	return s[:i], v, nil
}

func validSymbol(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '.' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseInt parses a signed decimal or 0x hex integer; hex values above
// the int64 range wrap, as the assembler prints them.
func parseInt(s string) (int64, error) {
	neg := false
	t := s
	switch {
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[1:]
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	}
	if t == "" || t[0] == '-' || t[0] == '+' {
		return 0, fmt.Errorf("bad integer %q", s)
	}
	u, err := strconv.ParseUint(t, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("bad integer %q", s)
	}
	hex := strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X")
	if !hex && (u > 1<<63 || u == 1<<63 && !neg) {
		return 0, fmt.Errorf("integer %q out of range", s)
	}
	v := int64(u)
	if neg {
		v = -v
	}
	return v, nil
}

// arm64 struct pt_regs starts like struct user_pt_regs: regs[31], sp, pc,
// pstate (arch/arm64/include/asm/ptrace.h).
const arm64SP = 31 * 8

// arm64RegOffset looks up xN, wN or sp.
func arm64RegOffset(s string) (int16, error) {
	if s == "sp" || s == "wsp" {
		return arm64SP, nil
	}
	if len(s) >= 2 && (s[0] == 'x' || s[0] == 'w') {
		if n, err := strconv.Atoi(s[1:]); err == nil && n >= 0 && n <= 30 && strconv.Itoa(n) == s[1:] {
			return int16(n * 8), nil
		}
	}
	return 0, fmt.Errorf("unknown or unsupported register %q", s)
}

// parseArm64 parses IMM, REG, [REG] or [REG, OFF].
func parseArm64(loc string) (Arg, error) {
	if inner, ok := strings.CutPrefix(loc, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if !ok {
			return Arg{}, fmt.Errorf("operand %q: missing ]", loc)
		}
		reg, disp, hasDisp := strings.Cut(inner, ",")
		reg = strings.TrimSpace(reg)
		off, err := arm64RegOffset(reg)
		if err != nil {
			return Arg{}, err
		}
		a := Arg{Kind: ArgRegDeref, Reg: reg, RegOffset: off}
		if hasDisp {
			disp = strings.TrimPrefix(strings.TrimSpace(disp), "#")
			if a.Value, err = parseInt(disp); err != nil {
				return Arg{}, fmt.Errorf("operand %q: %w", loc, err)
			}
		}
		return a, nil
	}
	if v, err := parseInt(strings.TrimPrefix(loc, "#")); err == nil {
		return Arg{Kind: ArgConst, Value: v}, nil
	}
	off, err := arm64RegOffset(loc)
	if err != nil {
		return Arg{}, err
	}
	return Arg{Kind: ArgReg, Reg: loc, RegOffset: off}, nil
}
