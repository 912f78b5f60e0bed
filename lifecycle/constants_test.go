package lifecycle

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/config"
)

// Types as clang emits them for the C declarations they are named after.
var (
	tChar   = &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	tUChar  = &btf.Int{Name: "unsigned char", Size: 1}
	tU8     = &btf.Typedef{Name: "__u8", Type: tUChar}
	tS8     = &btf.Typedef{Name: "__s8", Type: &btf.Int{Name: "signed char", Size: 1, Encoding: btf.Signed}}
	tU16    = &btf.Typedef{Name: "__u16", Type: &btf.Int{Name: "unsigned short", Size: 2}}
	tS16    = &btf.Int{Name: "short", Size: 2, Encoding: btf.Signed}
	tU32    = &btf.Typedef{Name: "__u32", Type: &btf.Int{Name: "unsigned int", Size: 4}}
	tS32    = &btf.Typedef{Name: "pid_t", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}
	tU64    = &btf.Typedef{Name: "__u64", Type: &btf.Int{Name: "unsigned long long", Size: 8}}
	tS64    = &btf.Int{Name: "long long", Size: 8, Encoding: btf.Signed}
	tI128   = &btf.Int{Name: "__int128", Size: 16, Encoding: btf.Signed}
	tBool   = &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	tCBool  = &btf.Typedef{Name: "bool", Type: tBool}
	tEnum   = &btf.Enum{Name: "mode", Size: 4, Values: []btf.EnumValue{{Name: "MODE_OFF", Value: 0}, {Name: "MODE_FAST", Value: 7}}}
	tSEnum  = &btf.Enum{Name: "level", Size: 1, Signed: true, Values: []btf.EnumValue{{Name: "LOW", Value: uint64(0xff)}}}
	tComm   = &btf.Array{Index: &btf.Int{Name: "__ARRAY_SIZE_TYPE__", Size: 4}, Type: tChar, Nelems: 16}
	tU8Arr  = &btf.Array{Type: tU8, Nelems: 4}
	tU32Arr = &btf.Array{Type: tU32, Nelems: 4}
	tBools  = &btf.Array{Type: tBool, Nelems: 4}
	tSock   = &btf.Struct{Name: "sock", Size: 8}
	tPtr    = &btf.Pointer{Target: tSock}
	tDouble = &btf.Float{Name: "double", Size: 8}
	tUnion  = &btf.Union{Name: "u", Size: 4}
)

func vc(t btf.Type) btf.Type { return &btf.Volatile{Type: &btf.Const{Type: t}} }

func ne(size int, bits uint64) []byte {
	b := binary.NativeEndian.AppendUint64(nil, bits)
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 { // big endian: the low bytes are last
		return b[8-size:]
	}
	return b[:size]
}

// TestEncodeConstant covers every C type a constant can have, with values
// that fit and values that do not, and the types it cannot have.
func TestEncodeConstant(t *testing.T) {
	comm := make([]byte, 16)
	copy(comm, "nginx")
	for _, tc := range []struct {
		name  string
		typ   btf.Type
		value any
		want  []byte
		err   []string // substrings of the error; none means success
	}{
		{"u8 max", tU8, uint64(255), []byte{255}, nil},
		{"u8 300", tU8, uint64(300), nil, []string{"300 is out of range: C type __u8 wants an integer from 0 to 255"}},
		{"u8 negative", tU8, int64(-1), nil, []string{"-1 is out of range: C type __u8 wants an integer from 0 to 255"}},
		{"s8 min", tS8, int64(-128), []byte{0x80}, nil},
		{"s8 below", tS8, int64(-129), nil, []string{"C type __s8 wants an integer from -128 to 127"}},
		{"s8 above", tS8, uint64(128), nil, []string{"128 is out of range"}},
		{"char as integer", tChar, uint64('A'), []byte{'A'}, nil},
		{"u16", tU16, uint64(443), ne(2, 443), nil},
		{"u16 over", tU16, uint64(65536), nil, []string{"from 0 to 65535"}},
		{"s16 negative", tS16, int64(-2), ne(2, 0xfffe), nil},
		{"u32", tU32, uint64(1 << 31), ne(4, 1<<31), nil},
		{"u32 over", tU32, uint64(1 << 32), nil, []string{"from 0 to 4294967295"}},
		{"pid_t", tS32, uint64(1234), ne(4, 1234), nil},
		{"pid_t over", tS32, uint64(1 << 31), nil, []string{"C type pid_t wants an integer from -2147483648 to 2147483647"}},
		{"u64 max", tU64, uint64(1<<64 - 1), ne(8, 1<<64-1), nil},
		{"s64 min", tS64, int64(-1 << 63), ne(8, 1<<63), nil},
		{"s64 over", tS64, uint64(1 << 63), nil, []string{"from -9223372036854775808 to 9223372036854775807"}},
		{"qualified", vc(tU32), uint64(7), ne(4, 7), nil},
		{"int from string", tU16, "443", nil, []string{`"443" is a string, but C type __u16 wants an integer from 0 to 65535: write the number without quotes`}},
		{"int from bool", tU32, true, nil, []string{"true is a bool, but C type __u32 wants an integer", "write 1 or 0, or declare it bool"}},
		{"int128", tI128, uint64(1), nil, []string{"C type __int128 is a 16-byte integer: constants can be 1, 2, 4 or 8 bytes"}},
		{"bool true", tCBool, true, []byte{1}, nil},
		{"bool false", tBool, false, []byte{0}, nil},
		{"bool from 1", tCBool, uint64(1), nil, []string{"1 is not a bool: C type bool wants true or false"}},
		{"bool from string", tCBool, "yes", nil, []string{`"yes" is not a bool: C type bool wants true or false`}},
		{"enum by value", tEnum, uint64(7), ne(4, 7), nil},
		{"enum any value in range", tEnum, uint64(3), ne(4, 3), nil},
		{"enum by name", vc(tEnum), "MODE_FAST", ne(4, 7), nil},
		{"enum unknown name", tEnum, "MODE_SLOW", nil, []string{`"MODE_SLOW" is not an enumerator of C type enum mode: want one of MODE_OFF, MODE_FAST, or an integer that fits its 4 bytes`}},
		{"enum out of range", tEnum, int64(-1), nil, []string{"C type enum mode wants an integer from 0 to 4294967295, or one of its names: MODE_OFF, MODE_FAST"}},
		{"signed enum by name", tSEnum, "LOW", []byte{0xff}, nil},
		{"signed enum negative", tSEnum, int64(-128), []byte{0x80}, nil},
		{"signed enum over", tSEnum, uint64(200), nil, []string{"from -128 to 127"}},
		{"char array", tComm, "nginx", comm, nil},
		{"char array full", tComm, strings.Repeat("x", 15), append([]byte(strings.Repeat("x", 15)), 0), nil},
		{"char array too long", tComm, strings.Repeat("x", 16), nil, []string{"is 16 bytes, but C type char[16] holds at most 15 and the terminating NUL: shorten the value or widen the array"}},
		{"char array empty", tComm, "", make([]byte, 16), nil},
		{"char array NUL inside", tComm, "a\x00b", nil, []string{"has a NUL byte"}},
		{"char array from int", tComm, uint64(5), nil, []string{"5 is not a string: C type char[16] wants a string of at most 15 bytes"}},
		{"u8 array", tU8Arr, "abc", []byte{'a', 'b', 'c', 0}, nil},
		{"u32 array", tU32Arr, "abc", nil, []string{"C type __u32[4] cannot be set from YAML", "integer (1, 2, 4 or 8 bytes), bool, enum or char array"}},
		{"bool array", tBools, "abc", nil, []string{"C type _Bool[4] cannot be set"}},
		{"struct", tSock, uint64(1), nil, []string{"C type struct sock cannot be set from YAML", "set it in the .bpf.c instead"}},
		{"pointer", vc(tPtr), uint64(0), nil, []string{"C type struct sock * cannot be set"}},
		{"float", tDouble, uint64(1), nil, []string{"C type double cannot be set"}},
		{"union", tUnion, uint64(1), nil, []string{"C type union u cannot be set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeConstant(tc.typ, tc.value)
			if len(tc.err) == 0 {
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Fatalf("got % x, %v; want % x", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got % x, want an error", got)
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// constSpec is an object with the given variables, each in .rodata and
// volatile const unless its section or type says otherwise.
func constSpec(vars ...*ebpf.VariableSpec) *ebpf.CollectionSpec {
	spec := &ebpf.CollectionSpec{Variables: map[string]*ebpf.VariableSpec{}}
	for _, v := range vars {
		spec.Variables[v.Name] = v
	}
	return spec
}

func constVar(name, section string, t btf.Type) *ebpf.VariableSpec {
	size, _ := btf.Sizeof(t) // the types above all have a size
	return &ebpf.VariableSpec{Name: name, SectionName: section, Value: make([]byte, size), Type: &btf.Var{Name: name, Type: t}}
}

// TestCheckConstants checks constants against an object's variables:
// every problem at once, each naming the file, constants.NAME, what is
// wanted and the fix.
func TestCheckConstants(t *testing.T) {
	spec := constSpec(
		constVar("port", ".rodata", vc(tU16)),
		constVar("comm", ".rodata", &btf.Array{Type: vc(tChar), Nelems: 16}),
		constVar("enabled", ".rodata", vc(tCBool)),
		constVar("mode", ".rodata.cfg", vc(tEnum)),
		constVar("counter", ".data", tU64),
		constVar("scratch", ".bss", tU64),
		constVar("folded", ".rodata", &btf.Const{Type: tU32}),
		constVar("folded_comm", ".rodata", &btf.Array{Type: &btf.Const{Type: tChar}, Nelems: 16}),
		constVar("kaddr_vfs_read", ".rodata", vc(tU64)),
		&ebpf.VariableSpec{Name: "nobtf", SectionName: ".rodata", Value: make([]byte, 4)},
	)
	cfg := func(cs ...config.Constant) *config.Config {
		return &config.Config{Path: "/etc/ebpfmon/x.yaml", BPFPath: "/etc/ebpfmon/x.bpf.o", Constants: cs}
	}
	good := cfg(
		config.Constant{Name: "port", Value: uint64(443)},
		config.Constant{Name: "comm", Value: "nginx"},
		config.Constant{Name: "enabled", Value: false},
		config.Constant{Name: "mode", Value: "MODE_FAST"},
	)
	if err := CheckSpec(good, spec); err != nil {
		t.Fatalf("good constants: %v", err)
	}
	bad := cfg(
		config.Constant{Name: "port", Value: uint64(70000)},
		config.Constant{Name: "missing", Value: uint64(1)},
		config.Constant{Name: "counter", Value: uint64(1)},
		config.Constant{Name: "scratch", Value: uint64(1)},
		config.Constant{Name: "folded", Value: uint64(1)},
		config.Constant{Name: "folded_comm", Value: "x"},
		config.Constant{Name: "nobtf", Value: uint64(1)},
		config.Constant{Name: "comm", Value: "a-name-that-is-too-long"},
	)
	err := CheckSpec(bad, spec)
	if err == nil {
		t.Fatal("bad constants passed")
	}
	for _, want := range []string{
		"/etc/ebpfmon/x.yaml does not match /etc/ebpfmon/x.bpf.o",
		"constants.port: 70000 is out of range: C type __u16 wants an integer from 0 to 65535",
		`constants.missing: the object has no global missing: declare it in the .bpf.c as "volatile const TYPE missing = DEFAULT;" (its constants: comm, enabled, folded, folded_comm, mode, nobtf, port)`,
		`constants.counter: counter is a writable global in .data, not a constant: declare it "volatile const"`,
		"constants.scratch: scratch is a writable global in .bss",
		"constants.folded: folded is declared const but not volatile",
		"constants.folded_comm: folded_comm is declared const but not volatile",
		"constants.nobtf: the object has no BTF type for nobtf: build it with clang -g",
		`constants.comm: "a-name-that-is-too-long" is 23 bytes, but C type char[16] holds at most 15`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestSetConstants checks the values land in the variables' bytes.
func TestSetConstants(t *testing.T) {
	spec := constSpec(constVar("port", ".rodata", vc(tU16)), constVar("comm", ".rodata", vc(tComm)))
	cfg := &config.Config{Path: "x.yaml", Constants: config.Constants{{Name: "port", Value: uint64(443)}, {Name: "comm", Value: "sshd"}}}
	if err := setConstants(cfg, spec); err != nil {
		t.Fatal(err)
	}
	var port uint16
	if err := spec.Variables["port"].Get(&port); err != nil || port != 443 {
		t.Errorf("port = %d, %v; want 443", port, err)
	}
	if got := spec.Variables["comm"].Value; !bytes.Equal(got, append([]byte("sshd"), make([]byte, 12)...)) {
		t.Errorf("comm = %q", got)
	}
	cfg.Constants[0].Value = uint64(1 << 16)
	if err := setConstants(cfg, spec); err == nil || !strings.Contains(err.Error(), "x.yaml: constants.port: 65536 is out of range") {
		t.Errorf("setConstants: %v", err)
	}
}

// FuzzEncodeConstant converts arbitrary values to every kind of type: it
// must not panic; what it accepts has the type's size and reads back as
// the value (integers, sign-extended) or as the string and NULs.
func FuzzEncodeConstant(f *testing.F) {
	f.Add(uint8(0), int64(-1), uint64(300), false, "nginx", uint8(0), uint8(1), false, uint8(16))
	f.Add(uint8(1), int64(-129), uint64(255), true, "", uint8(1), uint8(8), true, uint8(1))
	f.Add(uint8(3), int64(0), uint64(0), true, "MODE_FAST", uint8(2), uint8(4), false, uint8(0))
	f.Add(uint8(3), int64(0), uint64(0), true, "a long string here", uint8(3), uint8(4), false, uint8(8))
	f.Fuzz(func(t *testing.T, kind uint8, i int64, u uint64, b bool, s string, typ, size uint8, signed bool, n uint8) {
		var value any
		switch kind % 4 {
		case 0:
			value = min(i, -1) // package config gives int64 only for negatives
		case 1:
			value = u
		case 2:
			value = b
		default:
			value = s
		}
		var tt btf.Type
		switch typ % 4 {
		case 0:
			enc := btf.Unsigned
			if signed {
				enc = btf.Signed
			}
			tt = &btf.Int{Name: "i", Size: uint32(size % 17), Encoding: enc}
		case 1:
			tt = &btf.Int{Name: "_Bool", Size: uint32(size % 17), Encoding: btf.Bool}
		case 2:
			tt = &btf.Enum{Name: "e", Size: uint32(size % 17), Signed: signed, Values: []btf.EnumValue{{Name: "MODE_FAST", Value: u}}}
		default:
			tt = &btf.Array{Type: tChar, Nelems: uint32(n)}
		}
		got, err := encodeConstant(vc(tt), value)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		want, err := btf.Sizeof(tt)
		if err != nil || len(got) != want {
			t.Fatalf("%d bytes for %v (size %d, %v)", len(got), tt, want, err)
		}
		checkRoundTrip(t, tt, value, got)
	})
}

// checkRoundTrip reads raw back as a value of t and compares it with value.
func checkRoundTrip(t *testing.T, tt btf.Type, value any, raw []byte) {
	t.Helper()
	if arr, ok := tt.(*btf.Array); ok {
		s := value.(string)
		if !bytes.Equal(raw[:len(s)], []byte(s)) || !bytes.Equal(raw[len(s):], make([]byte, int(arr.Nelems)-len(s))) {
			t.Fatalf("%q encoded as %q", s, raw)
		}
		return
	}
	var bits uint64
	for i := range raw {
		bits |= uint64(raw[i]) << (8 * i)
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		bits = 0
		for _, c := range raw {
			bits = bits<<8 | uint64(c)
		}
	}
	shift := 64 - 8*len(raw)
	switch v := value.(type) {
	case int64:
		if int64(bits<<shift)>>shift != v {
			t.Fatalf("%d encoded as % x", v, raw)
		}
	case uint64:
		if bits != v {
			t.Fatalf("%d encoded as % x", v, raw)
		}
	case bool:
		if (bits == 1) != v || bits > 1 {
			t.Fatalf("%t encoded as % x", v, raw)
		}
	case string: // an enumerator's name
		if e, ok := tt.(*btf.Enum); !ok || e.Values[0].Name != v || bits != e.Values[0].Value&(^uint64(0)>>shift) {
			t.Fatalf("%q encoded as % x for %v", v, raw, tt)
		}
	}
}
