package usdt

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Names of the maps usdt.bpf.h declares and its limits.
const (
	// SpecsMap is an array from spec id to struct __bpf_usdt_spec.
	SpecsMap = "__bpf_usdt_specs"
	// IPMap is a hash from a probe's absolute address to its spec id, read
	// only on kernels without BPF cookies.
	IPMap = "__bpf_usdt_ip_to_spec_id"
	// MaxArgs is BPF_USDT_MAX_ARG_CNT.
	MaxArgs = 12
	// SpecSize is sizeof(struct __bpf_usdt_spec).
	SpecSize = MaxArgs*argSpecSize + 16
	// argSpecSize is sizeof(struct __bpf_usdt_arg_spec).
	argSpecSize = 16
)

// Spec is what bpf_usdt_arg needs to find a probe site's arguments.
type Spec struct {
	Args []Arg
	// Cookie is what bpf_usdt_cookie returns (libbpf's usdt_cookie).
	Cookie uint64
}

// NewSpec parses p's arguments for machine. lookup returns the address of
// a symbol, for rip-relative operands; nil makes them an error.
func NewSpec(p Probe, machine elf.Machine, lookup func(name string) (uint64, error)) (Spec, error) {
	args, err := ParseArgs(p.Args, machine)
	if err != nil {
		return Spec{}, fmt.Errorf("probe %s at %#x, arguments %q: %w", p, p.Address, p.Args, err)
	}
	for i := range args {
		a := &args[i]
		if a.Symbol == "" {
			continue
		}
		if lookup == nil {
			return Spec{}, fmt.Errorf("probe %s: argument %d %s: no symbol table to resolve %s", p, i, a, a.Symbol)
		}
		addr, err := lookup(a.Symbol)
		if err != nil {
			return Spec{}, fmt.Errorf("probe %s: argument %d %s: %w", p, i, a, err)
		}
		// At the probe, the instruction pointer is the probe's address:
		// the operand is that far from it, wherever the file is mapped.
		a.Value = int64(addr + uint64(a.Value) - p.Address)
		a.Symbol = ""
	}
	return Spec{Args: args}, nil
}

// MarshalBinary encodes s as struct __bpf_usdt_spec in the host's byte
// order:
//
//	struct __bpf_usdt_arg_spec { u64 val_off; u32 arg_type; s16 reg_off; bool arg_signed; s8 arg_bitshift; };
//	struct __bpf_usdt_spec { struct __bpf_usdt_arg_spec args[12]; u64 usdt_cookie; s16 arg_cnt; };  // 208 bytes
func (s Spec) MarshalBinary() ([]byte, error) {
	if len(s.Args) > MaxArgs {
		return nil, fmt.Errorf("%d arguments, at most %d are supported", len(s.Args), MaxArgs)
	}
	b := make([]byte, SpecSize)
	ne := binary.NativeEndian
	for i, a := range s.Args {
		if a.Symbol != "" {
			return nil, fmt.Errorf("argument %d: symbol %s not resolved", i, a.Symbol)
		}
		switch a.Size {
		case 1, 2, 4, 8:
		default:
			return nil, fmt.Errorf("argument %d: size %d, want 1, 2, 4 or 8", i, a.Size)
		}
		o := b[i*argSpecSize:]
		if a.Kind != ArgReg {
			ne.PutUint64(o, uint64(a.Value))
		}
		ne.PutUint32(o[8:], uint32(a.Kind))
		ne.PutUint16(o[12:], uint16(a.RegOffset))
		if a.Signed {
			o[14] = 1
		}
		o[15] = byte(64 - 8*a.Size)
	}
	ne.PutUint64(b[MaxArgs*argSpecSize:], s.Cookie)
	ne.PutUint16(b[MaxArgs*argSpecSize+8:], uint16(len(s.Args)))
	return b, nil
}

// ambiguous marks a symbol name with several addresses.
const ambiguous = ^uint64(0)

// SymbolLookup returns a lookup for NewSpec over f's symbol tables (static
// and dynamic), read once on first use.
func SymbolLookup(f *elf.File) func(string) (uint64, error) {
	var (
		once  sync.Once
		addrs map[string]uint64
	)
	return func(name string) (uint64, error) {
		once.Do(func() {
			addrs = map[string]uint64{}
			syms, _ := f.Symbols()
			dyn, _ := f.DynamicSymbols()
			for _, s := range append(syms, dyn...) {
				if s.Section == elf.SHN_UNDEF || s.Value == 0 {
					continue
				}
				if prev, dup := addrs[s.Name]; dup && prev != s.Value {
					addrs[s.Name] = ambiguous
					continue
				}
				addrs[s.Name] = s.Value
			}
		})
		if len(addrs) == 0 {
			return 0, errors.New("the file has no symbols (stripped?): cannot resolve a rip-relative operand")
		}
		addr, ok := addrs[name]
		switch {
		case !ok:
			return 0, fmt.Errorf("symbol %s not found", name)
		case addr == ambiguous:
			return 0, fmt.Errorf("symbol %s is defined more than once", name)
		}
		return addr, nil
	}
}
