package decoder

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// testBTF marshals types into BTF and parses it back, as --btf.path would
// give it.
func testBTF(tb testing.TB, types ...btf.Type) *btf.Spec {
	tb.Helper()
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	return spec
}

// enumTestBTF is a small kernel BTF: an enum with an alias and a name that
// is all prefix, a signed enum, a typedef of an anonymous enum and a
// typedef of that typedef, two different enums of one name, a struct that
// is no enum, and an enum declared (without values: "enum x;", which
// C allows to point to) beside its definition, before and after it.
func enumTestBTF(tb testing.TB) *btf.Spec {
	tb.Helper()
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	modeT := &btf.Typedef{Name: "mode_t_enum", Type: &btf.Enum{Size: 4, Values: []btf.EnumValue{{Name: "MODE_A", Value: 1}}}}
	declared := func(name string) btf.Type { return &btf.Pointer{Target: &btf.Enum{Name: name, Size: 4}} }
	return testBTF(tb,
		declared("declared_first"),
		&btf.Enum{Name: "declared_first", Size: 4, Values: []btf.EnumValue{{Name: "FIRST_A", Value: 1}}},
		&btf.Enum{Name: "declared_after", Size: 4, Values: []btf.EnumValue{{Name: "AFTER_A", Value: 1}}},
		declared("declared_after"),
		declared("declared_only"),
		&btf.Enum{Name: "drop_reason", Size: 4, Values: []btf.EnumValue{
			{Name: "DROP_NOT_SPECIFIED", Value: 2},
			{Name: "DROP_NO_SOCKET", Value: 3},
			{Name: "DROP_FIRST_ALIAS", Value: 7},
			{Name: "DROP_SECOND_ALIAS", Value: 7},
			{Name: "DROP_", Value: 8},
			{Name: "OTHER_NAME", Value: 9},
		}},
		&btf.Enum{Name: "signed_state", Size: 4, Signed: true, Values: []btf.EnumValue{
			{Name: "STATE_ERROR", Value: ^uint64(0)}, // -1
			{Name: "STATE_OK", Value: 0},
		}},
		&btf.Enum{Name: "wide", Size: 8, Values: []btf.EnumValue{{Name: "WIDE_HIGH", Value: 1 << 40}}},
		modeT,
		&btf.Typedef{Name: "mode_t_alias", Type: modeT},
		&btf.Enum{Name: "twice", Size: 4, Values: []btf.EnumValue{{Name: "ONE", Value: 1}}},
		&btf.Enum{Name: "twice", Size: 4, Values: []btf.EnumValue{{Name: "UNO", Value: 1}}},
		&btf.Struct{Name: "not_enum", Size: 4, Members: []btf.Member{{Name: "x", Type: u32}}},
		&btf.Enum{Name: "empty", Size: 4},
	)
}

func btfEnum(enum, prefix string) []config.Decoder {
	return withUint(config.Decoder{Name: "btf_enum", Enum: enum, StripPrefix: prefix})
}

func TestBTFEnum(t *testing.T) {
	env := testEnv(t, WithKernelBTF(enumTestBTF(t), "test.btf"))
	for _, tc := range []struct {
		name, enum, prefix string
		cases              []decodeCase
	}{
		{name: "prefix stripped", enum: "drop_reason", prefix: "DROP_", cases: []decodeCase{
			{name: "known", in: u32(3), want: "NO_SOCKET"},
			{name: "other known", in: u32(2), want: "NOT_SPECIFIED"},
			{name: "alias: first declared", in: u32(7), want: "FIRST_ALIAS"},
			{name: "all prefix: kept whole", in: u32(8), want: "DROP_"},
			{name: "without the prefix: kept whole", in: u32(9), want: "OTHER_NAME"},
			{name: "unknown: the number", in: u32(4), want: "4"},
			{name: "huge unknown", in: u64(1<<64 - 1), want: "18446744073709551615"},
		}},
		{name: "no prefix", enum: "drop_reason", cases: []decodeCase{
			{name: "whole name", in: u32(3), want: "DROP_NO_SOCKET"},
		}},
		{name: "signed", enum: "signed_state", prefix: "STATE_", cases: []decodeCase{
			{name: "-1 as 4 bytes", in: u32(0xffffffff), want: "ERROR"},
			{name: "-1 as 8 bytes", in: u64(1<<64 - 1), want: "ERROR"},
			{name: "zero", in: u32(0), want: "OK"},
			{name: "-1 as 2 bytes is another number", in: u16(0xffff), want: "65535"},
		}},
		{name: "64-bit", enum: "wide", cases: []decodeCase{
			{name: "high value", in: u64(1 << 40), want: "WIDE_HIGH"},
			{name: "low bits only", in: u64(0), want: "0"},
		}},
		{name: "through a typedef", enum: "mode_t_enum", cases: []decodeCase{
			{name: "known", in: []byte{1}, want: "MODE_A"},
		}},
		{name: "through a typedef of a typedef", enum: "mode_t_alias", cases: []decodeCase{
			{name: "known", in: []byte{1}, want: "MODE_A"},
		}},
		{name: "declared before its definition", enum: "declared_first", cases: []decodeCase{
			{name: "known", in: u32(1), want: "FIRST_A"},
		}},
		{name: "declared after its definition", enum: "declared_after", cases: []decodeCase{
			{name: "known", in: u32(1), want: "AFTER_A"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { runCases(t, env, btfEnum(tc.enum, tc.prefix), tc.cases) })
	}

	t.Run("text input", func(t *testing.T) {
		runCases(t, env, []config.Decoder{{Name: "btf_enum", Enum: "drop_reason"}}, []decodeCase{
			{name: "decimal", in: []byte("3"), want: "DROP_NO_SOCKET"},
			{name: "leading zeros pass through", in: []byte("0004"), want: "0004"},
			{name: "raw bytes", in: u32(3), wantErr: "btf_enum: want a decimal number"},
			{name: "negative", in: []byte("-1"), wantErr: "want a decimal number"},
			{name: "empty", in: nil, wantErr: "want a decimal number"},
		})
	})
}

// TestBTFEnumErrors checks that a bad enum or strip_prefix fails when the
// decoder is built, saying what to fix.
func TestBTFEnumErrors(t *testing.T) {
	spec := enumTestBTF(t)
	for _, tc := range []struct {
		name string
		conf config.Decoder
		want []string
	}{
		{name: "missing enum", conf: config.Decoder{Name: "btf_enum", Enum: "skb_drop_reason"},
			want: []string{`decoder "btf_enum": no enum skb_drop_reason in --btf.path test.btf: that file lacks it`,
				"`bpftool btf dump file test.btf | grep", "give the BTF of the running kernel", "static_map"}},
		{name: "a struct of that name", conf: config.Decoder{Name: "btf_enum", Enum: "not_enum"},
			want: []string{"no enum not_enum"}},
		{name: "two different enums", conf: config.Decoder{Name: "btf_enum", Enum: "twice"},
			want: []string{"enum twice", "several enums of that name"}},
		{name: "no values", conf: config.Decoder{Name: "btf_enum", Enum: "empty"},
			want: []string{"enum empty has no values"}},
		{name: "declared only", conf: config.Decoder{Name: "btf_enum", Enum: "declared_only"},
			want: []string{"enum declared_only has no values", "a module may define it", "static_map"}},
		{name: "prefix typo", conf: config.Decoder{Name: "btf_enum", Enum: "drop_reason", StripPrefix: "DORP_"},
			want: []string{`strip_prefix "DORP_" starts none of enum drop_reason's names`, "DROP_NOT_SPECIFIED", "fix or remove strip_prefix"}},
		{name: "empty enum", conf: config.Decoder{Name: "btf_enum"},
			want: []string{"enum option is empty"}},
		{name: "enum on another decoder", conf: config.Decoder{Name: "errno", Enum: "drop_reason"},
			want: []string{"option enum not supported"}},
		{name: "strip_prefix on another decoder", conf: config.Decoder{Name: "uint", StripPrefix: "X"},
			want: []string{"option strip_prefix not supported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.conf, testEnv(t, WithKernelBTF(spec, "test.btf")))
			if err == nil {
				t.Fatalf("New(%+v) succeeded", tc.conf)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestBTFEnumChain checks where btf_enum may stand in a chain: after
// uint, not on raw key bytes.
func TestBTFEnumChain(t *testing.T) {
	env := testEnv(t, WithKernelBTF(enumTestBTF(t), "test.btf"))
	raw := []config.Label{{Name: "reason", Size: 4, Decoders: []config.Decoder{{Name: "btf_enum", Enum: "drop_reason"}}}}
	if _, err := NewLabelSet(raw, env); err == nil || !strings.Contains(err.Error(), "decoder btf_enum takes decimal text, not raw key bytes (put uint before it)") {
		t.Errorf("btf_enum on raw bytes: %v", err)
	}
	ok := []config.Label{{Name: "reason", Size: 4, Decoders: btfEnum("drop_reason", "DROP_")}}
	ls, err := NewLabelSet(ok, env)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ls.Decode(u32(3), nil); err != nil || len(got) != 1 || got[0] != "NO_SOCKET" {
		t.Errorf("Decode = %q, %v; want [NO_SOCKET]", got, err)
	}
}

// TestBTFEnumRunningKernel names values from the running kernel's BTF:
// bpf_map_type is UAPI, so its numbers are the same on every kernel.
func TestBTFEnumRunningKernel(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	env := testEnv(t)
	runCases(t, env, btfEnum("bpf_map_type", "BPF_MAP_TYPE_"), []decodeCase{
		{name: "hash", in: u32(1), want: "HASH"},
		{name: "ring buffer", in: u32(27), want: "RINGBUF"},
		{name: "beyond the last", in: u32(100000), want: "100000"},
	})
	if testenv.KernelAtLeast(t, 5, 17) {
		// Not its numbers (they change), but that the enum is there.
		if _, err := New(config.Decoder{Name: "btf_enum", Enum: "skb_drop_reason", StripPrefix: "SKB_DROP_REASON_"}, env); err != nil {
			t.Errorf("skb_drop_reason on a 5.17+ kernel: %v", err)
		}
	}
	_, err := New(config.Decoder{Name: "btf_enum", Enum: "ebpfmon_no_such_enum"}, env)
	for _, want := range []string{"no enum ebpfmon_no_such_enum in the kernel's BTF: this kernel lacks it", "modules' BTF is not searched",
		"`bpftool btf dump file /sys/kernel/btf/vmlinux | grep", "name the numbers with static_map"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("an enum the kernel lacks: error %v, want it to hold %q", err, want)
		}
	}
}

// TestEnvKernelBTF checks that the running kernel's BTF is read once and
// WithKernelBTF replaces it.
func TestEnvKernelBTF(t *testing.T) {
	spec := enumTestBTF(t)
	env := testEnv(t, WithKernelBTF(spec, "test.btf"))
	got, err := env.KernelBTF()
	if err != nil || got != spec {
		t.Errorf("KernelBTF() = %p, %v; want the spec given, %p", got, err, spec)
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	env = testEnv(t)
	first, err := env.KernelBTF()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := env.KernelBTF(); again != first {
		t.Error("the kernel's BTF was read twice")
	}
}

func FuzzBTFEnum(f *testing.F) {
	env := testEnv(f, WithKernelBTF(enumTestBTF(f), "test.btf"))
	names := map[string]bool{"NOT_SPECIFIED": true, "NO_SOCKET": true, "FIRST_ALIAS": true, "DROP_": true, "OTHER_NAME": true}
	chain, err := NewChain([]config.Decoder{{Name: "btf_enum", Enum: "drop_reason", StripPrefix: "DROP_"}}, env)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"3", "7", "4", "18446744073709551616", "", "-1", "\xff", "00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := chain.Decode(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Decode modified its input: %q -> %q", orig, in)
		}
		if err != nil {
			return
		}
		// A name of the enum, or the input itself: never anything else.
		if !names[out] && out != string(in) {
			t.Fatalf("Decode(%q) = %q: neither a name nor the input", in, out)
		}
		if out == string(in) && names[out] {
			t.Fatalf("Decode(%q) = %q: a name passed as a number", in, out)
		}
	})
}

// FuzzBTFEnumNames builds an enum from the input (size, sign, values and
// names, as --btf.path could hold), reads it back through BTF as the
// decoder does, and checks each declared number decodes to the name of the
// first value declared with it, less the prefix (a negative one also as the
// unsigned number of the enum's size, which a label of that size holds),
// and that other numbers stay numbers.
func FuzzBTFEnumNames(f *testing.F) {
	f.Add(byte(2), false, "DROP_", []byte{2, 'A', 3, 'B', 7, 'C', 7, 'D'}) // 4 bytes
	f.Add(byte(0), true, "", []byte{0xff, 'N', 0x7f, 'P'})                 // 1 byte, signed
	f.Add(byte(3), true, "X", []byte{0x80, 'X', 1, 'Y'})                   // 8 bytes, signed
	f.Fuzz(func(t *testing.T, size byte, signed bool, prefix string, raw []byte) {
		enum := fuzzEnum(size, signed, prefix, raw)
		if enum == nil {
			return
		}
		spec := testBTF(t, enum)
		decoded, err := findEnum(spec, enum.Name, "fuzz.btf", true)
		if err != nil {
			t.Fatal(err)
		}
		names, err := enumNames(decoded, prefix)
		if err != nil {
			return // a prefix starting no name
		}
		d := btfEnumDecoder{names: names}
		first := map[uint64]string{}
		for _, v := range decoded.Values {
			if _, ok := first[v.Value]; !ok {
				name, ok := strings.CutPrefix(v.Name, prefix)
				if !ok || name == "" {
					name = v.Name
				}
				first[v.Value] = name
			}
		}
		for num, want := range first {
			fuzzDecodes(t, d, num, want)
			// A negative value, as a label of the enum's size holds it.
			alias := num
			if decoded.Size < 8 {
				alias &= 1<<(8*decoded.Size) - 1
			}
			if first[alias] == "" {
				fuzzDecodes(t, d, alias, want)
			}
		}
		// Neither declared nor an alias (values are repeated bytes).
		for _, num := range []uint64{1 << 63, 12345678901} {
			fuzzDecodes(t, d, num, strconv.FormatUint(num, 10))
		}
	})
}

func fuzzDecodes(t *testing.T, d btfEnumDecoder, num uint64, want string) {
	t.Helper()
	got, err := d.Decode([]byte(strconv.FormatUint(num, 10)))
	if err != nil || string(got) != want {
		t.Fatalf("Decode(%d) = %q, %v; want %q", num, got, err, want)
	}
}

// fuzzEnum is an enum of sizes[size%4] bytes (1, 2, 4 or 8) whose values come from
// raw in pairs: a value byte (sign-extended in a signed enum, spread over
// the size) and a name letter; prefix is put in front of every other name.
func fuzzEnum(size byte, signed bool, prefix string, raw []byte) *btf.Enum {
	sizes := []uint32{1, 2, 4, 8}
	enum := &btf.Enum{Name: "fuzzed", Size: sizes[int(size)%len(sizes)], Signed: signed}
	if !isCIdentifierForTest(prefix) && prefix != "" || len(raw) < 2 || len(raw) > 64 {
		return nil
	}
	for i := 0; i+1 < len(raw); i += 2 {
		v := uint64(raw[i]) * 0x0101010101010101 >> (64 - 8*enum.Size)
		if signed {
			shift := 64 - 8*enum.Size
			v = uint64(int64(v<<shift) >> shift)
		}
		letter := raw[i+1]%26 + 'A'
		name := strings.Repeat(string(rune(letter)), 1+i/2)
		if i%4 == 0 {
			name = prefix + name
		}
		enum.Values = append(enum.Values, btf.EnumValue{Name: name, Value: v})
	}
	return enum
}

// isCIdentifierForTest reports whether s could be part of an enum value's
// name.
func isCIdentifierForTest(s string) bool {
	for _, r := range s {
		if r != '_' && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
