package lifecycle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/config"
)

// The constants section of a config sets "volatile const" globals before
// the object is loaded. Each value is checked against the variable's BTF
// type without the kernel (checkConstants, from CheckSpec) and written
// into the spec with the kaddrs (setConstants). The C types a constant can
// have: signed and unsigned integers of 1, 2, 4 or 8 bytes, bool, enums
// (an integer, or an enumerator's name) and char arrays (a string, NUL
// padded).

// checkConstants returns, without the kernel, every constant the object
// lacks, cannot set or whose value does not fit its type.
func checkConstants(cfg *config.Config, spec *ebpf.CollectionSpec) error {
	var errs []error
	for _, c := range cfg.Constants {
		if _, err := constantBytes(spec, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setConstants writes every constant's value into spec.
func setConstants(cfg *config.Config, spec *ebpf.CollectionSpec) error {
	for _, c := range cfg.Constants {
		raw, err := constantBytes(spec, c)
		if err == nil {
			err = spec.Variables[c.Name].Set(raw)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.Path, err)
		}
	}
	return nil
}

// constantBytes finds c's variable in spec and encodes c's value as its
// bytes. Errors start with the field path, constants.NAME.
func constantBytes(spec *ebpf.CollectionSpec, c config.Constant) ([]byte, error) {
	path := "constants." + c.Name
	v, ok := spec.Variables[c.Name]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: the object has no global %s: declare it in the .bpf.c as \"volatile const TYPE %s = DEFAULT;\" (its constants: %s)",
			path, c.Name, c.Name, constantNames(spec))
	case !v.Constant():
		return nil, fmt.Errorf("%s: %s is a writable global in %s, not a constant: declare it \"volatile const\" so it lands in .rodata, where it is set before load",
			path, c.Name, v.SectionName)
	case v.Type == nil:
		return nil, fmt.Errorf("%s: the object has no BTF type for %s: build it with clang -g", path, c.Name)
	case !isVolatile(v.Type.Type):
		return nil, fmt.Errorf("%s: %s is declared const but not volatile, so clang may have folded its default into the code and a new value would be ignored: declare it \"volatile const\"",
			path, c.Name)
	}
	raw, err := encodeConstant(v.Type.Type, c.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if size := v.Size(); uint32(len(raw)) != size {
		return nil, fmt.Errorf("%s: %s takes %d bytes in %s, but its type %s is %d bytes: rebuild the object", path, c.Name, size, v.SectionName, cType(v.Type.Type), len(raw))
	}
	return raw, nil
}

// constantNames lists the constants of spec a config may set.
func constantNames(spec *ebpf.CollectionSpec) string {
	var names []string
	for _, n := range slices.Sorted(maps.Keys(spec.Variables)) {
		if spec.Variables[n].Constant() && !strings.HasPrefix(n, config.KaddrPrefix) && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// isVolatile reports whether t, through qualifiers and typedefs, is
// volatile; an array is when its elements are (C puts an array's
// qualifiers on its element type).
func isVolatile(t btf.Type) bool {
	for range 64 { // BTF chains are short; a loop is bounded anyway
		switch q := t.(type) {
		case *btf.Volatile:
			return true
		case *btf.Const:
			t = q.Type
		case *btf.Restrict:
			t = q.Type
		case *btf.TypeTag:
			t = q.Type
		case *btf.Typedef:
			t = q.Type
		case *btf.Array:
			t = q.Type
		default:
			return false
		}
	}
	return false
}

// encodeConstant encodes value (int64, uint64, bool or string, as package
// config decodes it) as a variable of type t, in the host's byte order.
func encodeConstant(t btf.Type, value any) ([]byte, error) {
	name := cType(t)
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		if u.Encoding&btf.Bool != 0 {
			return encodeBool(name, u.Size, value)
		}
		return encodeInt(name, u.Size, u.Encoding&btf.Signed != 0, value)
	case *btf.Enum:
		return encodeEnum(name, u, value)
	case *btf.Array:
		if e, ok := btf.UnderlyingType(u.Type).(*btf.Int); ok && e.Size == 1 && e.Encoding&btf.Bool == 0 {
			return encodeString(name, u.Nelems, value)
		}
	}
	return nil, fmt.Errorf("C type %s cannot be set from YAML: a constant must be an integer (1, 2, 4 or 8 bytes), bool, enum or char array; set it in the .bpf.c instead", name)
}

// encodeInt encodes an integer of size bytes, checking its range.
func encodeInt(name string, size uint32, signed bool, value any) ([]byte, error) {
	if size != 1 && size != 2 && size != 4 && size != 8 {
		return nil, fmt.Errorf("C type %s is a %d-byte integer: constants can be 1, 2, 4 or 8 bytes; set it in the .bpf.c instead", name, size)
	}
	lo, hi := intRange(size, signed)
	want := fmt.Sprintf("C type %s wants an integer from %s to %d", name, lo, hi)
	var bits uint64
	switch v := value.(type) {
	case int64: // negative
		if !signed || v < -(1<<(8*size-1)) {
			return nil, fmt.Errorf("%d is out of range: %s", v, want)
		}
		bits = uint64(v)
	case uint64:
		if v > hi {
			return nil, fmt.Errorf("%d is out of range: %s", v, want)
		}
		bits = v
	case bool:
		return nil, fmt.Errorf("%t is a bool, but %s: write 1 or 0, or declare it bool", v, want)
	case string:
		return nil, fmt.Errorf("%q is a string, but %s: write the number without quotes", v, want)
	default:
		return nil, fmt.Errorf("%v (%T): %s", v, v, want)
	}
	return putUint(size, bits), nil
}

// intRange is the range of a size-byte integer: its low end as text
// (it may be negative) and its high end.
func intRange(size uint32, signed bool) (string, uint64) {
	if !signed {
		return "0", ^uint64(0) >> (64 - 8*size)
	}
	return fmt.Sprint(-(int64(1) << (8*size - 1))), uint64(1)<<(8*size-1) - 1
}

// putUint writes the low size bytes of bits in the host's byte order.
func putUint(size uint32, bits uint64) []byte {
	out := make([]byte, size)
	switch size {
	case 1:
		out[0] = byte(bits)
	case 2:
		binary.NativeEndian.PutUint16(out, uint16(bits))
	case 4:
		binary.NativeEndian.PutUint32(out, uint32(bits))
	case 8:
		binary.NativeEndian.PutUint64(out, bits)
	}
	return out
}

// encodeBool encodes true or false as a C bool of size bytes.
func encodeBool(name string, size uint32, value any) ([]byte, error) {
	b, ok := value.(bool)
	if !ok {
		return nil, fmt.Errorf("%v is not a bool: C type %s wants true or false", quoted(value), name)
	}
	if size != 1 && size != 2 && size != 4 && size != 8 {
		return nil, fmt.Errorf("C type %s is a %d-byte bool: constants can be 1, 2, 4 or 8 bytes; set it in the .bpf.c instead", name, size)
	}
	var bits uint64
	if b {
		bits = 1
	}
	return putUint(size, bits), nil
}

// encodeEnum encodes an integer that fits the enum's size, or the value
// of the enumerator a string names.
func encodeEnum(name string, e *btf.Enum, value any) ([]byte, error) {
	s, ok := value.(string)
	if !ok {
		raw, err := encodeInt(name, e.Size, e.Signed, value)
		if err != nil {
			return nil, fmt.Errorf("%w, or one of its names: %s", err, enumNames(e))
		}
		return raw, nil
	}
	if e.Size != 1 && e.Size != 2 && e.Size != 4 && e.Size != 8 {
		return nil, fmt.Errorf("C type %s is a %d-byte enum: constants can be 1, 2, 4 or 8 bytes; set it in the .bpf.c instead", name, e.Size)
	}
	for _, ev := range e.Values {
		if ev.Name == s {
			return putUint(e.Size, ev.Value), nil
		}
	}
	return nil, fmt.Errorf("%q is not an enumerator of C type %s: want one of %s, or an integer that fits its %d bytes", s, name, enumNames(e), e.Size)
}

// enumNames lists an enum's enumerators, at most 16 of them.
func enumNames(e *btf.Enum) string {
	var names []string
	for i, ev := range e.Values {
		if i == 16 {
			names = append(names, "...")
			break
		}
		names = append(names, ev.Name)
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// encodeString encodes a string as a char array of n bytes: the string,
// then NULs; at least one, so the program sees a C string.
func encodeString(name string, n uint32, value any) ([]byte, error) {
	s, ok := value.(string)
	switch {
	case !ok:
		return nil, fmt.Errorf("%v is not a string: C type %s wants a string of at most %d bytes (one is left for the NUL)", quoted(value), name, max(n, 1)-1)
	case strings.IndexByte(s, 0) >= 0:
		return nil, fmt.Errorf("%q has a NUL byte, which would end the C string early: remove it", s)
	case n == 0 || uint32(len(s)) > n-1:
		return nil, fmt.Errorf("%q is %d bytes, but C type %s holds at most %d and the terminating NUL: shorten the value or widen the array",
			s, len(s), name, max(n, 1)-1)
	}
	out := make([]byte, n)
	copy(out, s)
	return out, nil
}

// quoted formats a constant's value as it reads in YAML: strings quoted.
func quoted(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// cType names t as C declares it: "u16", "enum mode", "char[16]",
// "struct sock *", without qualifiers.
func cType(t btf.Type) string {
	return cTypeDepth(t, 0)
}

func cTypeDepth(t btf.Type, depth int) string {
	if depth > 8 {
		return "..."
	}
	switch t := btf.QualifiedType(t).(type) {
	case *btf.Typedef:
		return t.Name
	case *btf.Int:
		return t.Name
	case *btf.Float:
		return t.Name
	case *btf.Enum:
		return strings.TrimSpace("enum " + t.Name)
	case *btf.Struct:
		return strings.TrimSpace("struct " + t.Name)
	case *btf.Union:
		return strings.TrimSpace("union " + t.Name)
	case *btf.Pointer:
		return cTypeDepth(t.Target, depth+1) + " *"
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", cTypeDepth(t.Type, depth+1), t.Nelems)
	case nil:
		return "(no type)"
	}
	return fmt.Sprint(t)
}
