package decoder

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/config"
)

// btfEnumDecoder (YAML "btf_enum") takes a number as decimal text, the
// output of uint, and outputs the name the running kernel's enum gives it,
// less strip_prefix: with {enum: skb_drop_reason, strip_prefix:
// SKB_DROP_REASON_}, "2" -> "NO_SOCKET" on 6.1 and "3" -> "NO_SOCKET" on
// 6.12 and 6.18 (which added SKB_CONSUMED before it). Numbers are kernel-specific; the names are what
// stays, so the labels are right on every kernel that has the enum. A
// number with no name gives the number unchanged, so an unknown value costs
// one series per value, never an error.
//
// The enum is read from the kernel's BTF (or --btf.path's) once, when the
// decoder is built: a kernel without it, or a strip_prefix that none of its
// names start with, fails the config at load. Where values share a number,
// the first declared names it. Negative values of a signed enum also match
// the unsigned number of the enum's size (-1 of a 4-byte enum is
// 4294967295), which is what uint gives for a label of that size.
type btfEnumDecoder struct {
	names map[uint64][]byte
}

func newBTFEnum(conf config.Decoder, env *Env) (Decoder, error) {
	if conf.Enum == "" {
		return nil, errors.New("enum option is empty, want the name of an enum of the kernel's BTF")
	}
	spec, err := env.KernelBTF()
	if err != nil {
		return nil, fmt.Errorf("enum %s: %w", conf.Enum, err)
	}
	enum, err := findEnum(spec, conf.Enum, env.btfFile(), env.btfSet != nil)
	if err != nil {
		return nil, err
	}
	names, err := enumNames(enum, conf.StripPrefix)
	if err != nil {
		return nil, err
	}
	return btfEnumDecoder{names: names}, nil
}

// findEnum returns the enum named name (directly, or through typedefs) in
// spec, read from file (--btf.path's, or the kernel's when custom is
// false). Declarations without values ("enum name;") are skipped when a
// definition exists: BTF may hold both. None, or several definitions
// that differ, is an error.
func findEnum(spec *btf.Spec, name, file string, custom bool) (*btf.Enum, error) {
	where := "the kernel's BTF"
	if custom {
		where = "--btf.path " + file
	}
	types, err := spec.AnyTypesByName(name)
	if err != nil && !errors.Is(err, btf.ErrNotFound) {
		return nil, fmt.Errorf("enum %s: %s: %w", name, where, err)
	}
	var found, declared *btf.Enum
	for _, typ := range types {
		enum, ok := btf.UnderlyingType(typ).(*btf.Enum)
		switch {
		case !ok:
		case len(enum.Values) == 0:
			declared = enum
		case found == nil:
			found = enum
		case !sameValues(found, enum):
			return nil, fmt.Errorf("enum %s: %s has several enums of that name, with different values (name another)", name, where)
		}
	}
	if found == nil {
		found = declared // reported as having no values
	}
	if found == nil {
		return nil, noEnum(name, file, custom)
	}
	return found, nil
}

// noEnum says enum name is not in the BTF read from file (--btf.path's
// when custom), and how to look for it.
func noEnum(name, file string, custom bool) error {
	where, lacks := "the kernel's BTF", "this kernel lacks it, only a module defines it (modules' BTF is not searched) or the name is wrong"
	other := "for kernels without it, name the numbers with static_map"
	if custom {
		where, lacks = "--btf.path "+file, "that file lacks it or the name is wrong"
		other = "give the BTF of the running kernel, or for kernels without the enum, name the numbers with static_map"
	}
	return fmt.Errorf("no enum %s in %s: %s (`bpftool btf dump file %s | grep \"ENUM '%s'\"` shows it where it exists; %s)",
		name, where, lacks, file, name, other)
}

// sameValues reports whether two enums name the same numbers alike.
func sameValues(a, b *btf.Enum) bool {
	if a.Size != b.Size || len(a.Values) != len(b.Values) {
		return false
	}
	for i := range a.Values {
		if a.Values[i] != b.Values[i] {
			return false
		}
	}
	return true
}

// enumNames maps each value of enum to its name less prefix. A prefix
// that no name starts with is an error (a typo would strip nothing); a
// name that is the prefix itself is kept whole.
func enumNames(enum *btf.Enum, prefix string) (map[uint64][]byte, error) {
	if len(enum.Values) == 0 {
		return nil, fmt.Errorf("enum %s has no values, the BTF only declares it (a module may define it: modules' BTF is not searched): name the numbers with static_map", enum.Name)
	}
	names := make(map[uint64][]byte, len(enum.Values))
	stripped := prefix == ""
	for _, v := range enum.Values {
		name, ok := strings.CutPrefix(v.Name, prefix)
		if !ok || name == "" {
			name = v.Name
		} else {
			stripped = true
		}
		for _, key := range []uint64{v.Value, truncate(v.Value, enum.Size)} {
			if _, dup := names[key]; !dup {
				names[key] = []byte(name)[:len(name):len(name)]
			}
		}
	}
	if !stripped {
		return nil, fmt.Errorf("strip_prefix %q starts none of enum %s's names (the first is %s): fix or remove strip_prefix",
			prefix, enum.Name, enum.Values[0].Name)
	}
	return names, nil
}

// truncate keeps the low size bytes of v: a sign-extended negative value
// as the unsigned number of that size.
func truncate(v uint64, size uint32) uint64 {
	if size == 0 || size >= 8 {
		return v
	}
	return v & (1<<(8*size) - 1)
}

func (d btfEnumDecoder) Decode(in []byte) ([]byte, error) {
	n, err := parseText(in)
	if err != nil {
		return nil, err
	}
	if name, ok := d.names[n]; ok {
		return name, nil
	}
	return in, nil
}
