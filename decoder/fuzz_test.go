package decoder

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ebpfmon/ebpfmon/config"
)

// fuzzChain is a decoder chain and the label sizes its first decoder takes
// (nil: any size).
type fuzzChain struct {
	sizes    []uint
	decoders []config.Decoder
}

// fuzzChains are the decoder chains FuzzLabelSetDecode picks from; ifname is
// left out because each unknown index costs a netlink dump (FuzzRawDecoders
// covers it).
func fuzzChains() []fuzzChain {
	ints := []uint{1, 2, 4, 8}
	return []fuzzChain{
		{nil, nil},
		{ints, one("uint")},
		{nil, one("hex")},
		{nil, one("string")},
		{[]uint{4, 16}, one("inet_ip")},
		{nil, one("dname")},
		{[]uint{8}, one("ksym")},
		{[]uint{8, 16, 24}, one("kstack")},
		{[]uint{4}, one("majorminor")},
		{nil, []config.Decoder{{Name: "string"}, {Name: "regexp", Regexps: []string{`^(k.*)`, `^a`}}}},
		{ints, withUint(config.Decoder{Name: "static_map", StaticMap: map[string]string{"1": "one"}})},
		{ints, withUint(config.Decoder{Name: "static_map", StaticMap: map[string]string{"1": "one"}, AllowUnknown: true})},
		{ints, withUint(config.Decoder{Name: "errno"})},
		{ints, withUint(config.Decoder{Name: "syscall"})},
		{ints, withUint(config.Decoder{Name: "cgroup"})},
		{ints, withUint(config.Decoder{Name: "pci_vendor"})},
		{ints, withUint(config.Decoder{Name: "pci_device"})},
		{ints, withUint(config.Decoder{Name: "pci_class"})},
		{ints, withUint(config.Decoder{Name: "pci_subclass"})},
		{ints, withUint(config.Decoder{Name: "btf_enum", Enum: "drop_reason", StripPrefix: "DROP_"})},
		{[]uint{8}, []config.Decoder{{Name: "uint"}, {Name: "cgroup"}, {Name: "pod", NotPod: "path"}}},
		{[]uint{4, 16}, []config.Decoder{{Name: "inet_ip"}, {Name: "peer_pod", UnknownPeer: "ip"}}},
	}
}

// fuzzLabels turns spec bytes into up to 8 labels: per 3 bytes, a size the
// chain takes (1-24 if any), a padding of 0-3 and a chain from fuzzChains;
// or, when the padding byte's top bit is set and a label came before, a
// bytes_of label decoding an earlier label's bytes as hex.
func fuzzLabels(spec []byte) []config.Label {
	chains := fuzzChains()
	var labels []config.Label
	for i := 0; i+2 < len(spec) && len(labels) < 8; i += 3 {
		name := "l" + strconv.Itoa(len(labels))
		if spec[i+1]&0x80 != 0 && len(labels) > 0 {
			from := labels[int(spec[i])%len(labels)].Name
			labels = append(labels, config.Label{Name: name, BytesOf: from, Decoders: one("hex")})
			continue
		}
		c := chains[int(spec[i+2])%len(chains)]
		size := 1 + uint(spec[i])%24
		if c.sizes != nil {
			size = c.sizes[int(spec[i])%len(c.sizes)]
		}
		labels = append(labels, config.Label{
			Name:     name,
			Size:     size,
			Padding:  uint(spec[i+1]) % 4,
			Decoders: c.decoders,
		})
	}
	return labels
}

// FuzzLabelSetDecode splits arbitrary keys with arbitrary label layouts
// (sizes, paddings, bytes_of, chains of every decoder): a key of the wrong
// size is an error wrapping ErrKeySize, and a decoded key gives one valid
// UTF-8 value per label, each what that label's chain gives on that
// label's bytes alone.
func FuzzLabelSetDecode(f *testing.F) {
	f.Add([]byte{3, 0, 1, 0, 3, 1, 7, 0, 1}, []byte("0123456789abcdef"), true)
	f.Add([]byte{7, 0, 7, 15, 0, 3}, bytes.Repeat([]byte{0xff}, 24), false)
	f.Add([]byte{3, 0, 4, 15, 0, 4, 0, 0, 9}, []byte("\x0a\x00\x00\x01kswapd0"), true)
	f.Add([]byte{}, []byte{}, false)
	f.Add([]byte{3, 0, 1, 0, 0x80, 0, 7, 0, 1, 1, 0x81, 0}, []byte("0123456789ab"), true)
	f.Add([]byte{2, 0, 19}, u32(3), true)
	env := testEnv(f, WithKernelBTF(enumTestBTF(f), "test.btf"))
	f.Fuzz(func(t *testing.T, spec, key []byte, fit bool) {
		labels := fuzzLabels(spec)
		ls, err := NewLabelSet(labels, env)
		if err != nil {
			t.Fatalf("NewLabelSet(%+v): %v", labels, err)
		}
		if fit { // make the key the right size half the time
			key = append(key, make([]byte, max(0, ls.KeySize()-len(key)))...)[:ls.KeySize()]
		}
		prefix := []string{"keep"}
		out, err := ls.Decode(key, prefix)
		if err != nil {
			if len(out) != 1 || out[0] != "keep" {
				t.Fatalf("on error Decode returned %q, want the input slice", out)
			}
			if len(key) != ls.KeySize() && !errors.Is(err, ErrKeySize) {
				t.Fatalf("wrong-size key error %v does not wrap ErrKeySize", err)
			}
			return
		}
		if len(key) != ls.KeySize() {
			t.Fatalf("Decode accepted a %d-byte key for KeySize %d", len(key), ls.KeySize())
		}
		if len(out) != 1+len(labels) {
			t.Fatalf("Decode gave %d values for %d labels", len(out)-1, len(labels))
		}
		for i, v := range out {
			if !utf8.ValidString(v) {
				t.Fatalf("value %d = %q is not valid UTF-8", i, v)
			}
		}
		checkSplit(t, labels, key, out[1:], env)
	})
}

// checkSplit checks that each label's value is its own chain's output on
// its own bytes: a label starts where the one before and its padding end,
// a bytes_of label has the bytes of the label it names.
func checkSplit(t *testing.T, labels []config.Label, key []byte, values []string, env *Env) {
	t.Helper()
	type span struct{ off, size uint }
	spans := map[string]span{}
	off := uint(0)
	for i, l := range labels {
		s := span{off, l.Size}
		if l.BytesOf != "" {
			s = spans[l.BytesOf]
		} else {
			off += l.Size + l.Padding
		}
		spans[l.Name] = s
		chain, err := NewChain(l.Decoders, env)
		if err != nil {
			t.Fatal(err)
		}
		want, err := chain.Decode(key[s.off : s.off+s.size])
		if err != nil || values[i] != want {
			t.Fatalf("label %s (bytes %d-%d of %x) = %q, its chain alone gives %q, %v", l.Name, s.off, s.off+s.size, key, values[i], want, err)
		}
	}
	if int(off) != len(key) {
		t.Fatalf("labels cover %d bytes of a %d-byte key", off, len(key))
	}
}

// rawCheck is a decoder of raw key bytes, what must hold of its output
// out for the input in when it succeeds (nil: nothing more than valid
// UTF-8 and in left unchanged), and seeds.
type rawCheck struct {
	name  string
	check func(t *testing.T, env *Env, in []byte, out string)
	seeds [][]byte
}

// rawChecks are the decoders that take raw key bytes.
func rawChecks() []rawCheck {
	return []rawCheck{
		{"uint", func(t *testing.T, _ *Env, in []byte, out string) {
			v, err := strconv.ParseUint(out, 10, 64)
			if err != nil || !bytes.Equal(u64(v)[:len(in)], in) {
				t.Fatalf("Decode(%x) = %q does not round-trip", in, out)
			}
		}, [][]byte{{1}, u16(300), u32(70000), u64(1 << 40), {1, 2, 3}}},
		{"hex", func(t *testing.T, _ *Env, in []byte, out string) {
			if back, err := hex.DecodeString(out); err != nil || !bytes.Equal(back, in) {
				t.Fatalf("Decode(%x) = %q does not round-trip", in, out)
			}
		}, [][]byte{{}, {0xde, 0xad}}},
		{"string", func(t *testing.T, _ *Env, in []byte, out string) {
			if strings.ContainsRune(out, 0) || len(out) > 3*len(in) || !strings.HasPrefix(valid(in), out) {
				t.Fatalf("Decode(%q) = %q", in, out)
			}
		}, [][]byte{[]byte("bash\x00x"), []byte("\xff\xfe"), {}, []byte("kworker/0:1\x00\x00\x00\x00\x00")}},
		{"inet_ip", func(t *testing.T, _ *Env, in []byte, out string) {
			a, err := netip.ParseAddr(out)
			if want, _ := netip.AddrFromSlice(in); err != nil || a != want.Unmap() { // IPv4-mapped prints as IPv4
				t.Fatalf("Decode(%x) = %q is not that address: %v", in, out, err)
			}
		}, [][]byte{{10, 0, 0, 1}, make([]byte, 16), {1, 2, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 5}}},
		{"ksym", func(t *testing.T, env *Env, in []byte, out string) {
			addr := binary.NativeEndian.Uint64(in)
			if hexAddr, ok := strings.CutPrefix(out, "unknown_addr:0x"); ok {
				if v, err := strconv.ParseUint(hexAddr, 16, 64); err != nil || v != addr {
					t.Fatalf("Decode(%#x) = %q", addr, out)
				}
				return
			}
			if back, err := env.Kallsyms().Address(out); err != nil || back != addr {
				t.Fatalf("Decode(%#x) = %q, which is at %#x, %v", addr, out, back, err)
			}
		}, [][]byte{u64(0xffffffff81001000), u64(0), {1}, u64(0xffffffff81000100)}},
		{"kstack", func(t *testing.T, _ *Env, in []byte, out string) {
			if out != "" && strings.Count(out, "\n")+1 > len(in)/8 {
				t.Fatalf("Decode(%x) = %q has more frames than addresses", in, out)
			}
		}, [][]byte{u64s(0xffffffff81001010, 0xffffffff81000123, 0), make([]byte, 7)}},
		{"majorminor", func(t *testing.T, _ *Env, in []byte, out string) {
			dev := binary.NativeEndian.Uint32(in)
			major, minor := (dev&0xfff00)>>8, (dev&0xff)|((dev>>12)&0xfff00)
			if want, ok := testPartitions[[2]uint32{major, minor}]; ok {
				if out != want {
					t.Fatalf("Decode(%d:%d) = %q, want %q", major, minor, out, want)
				}
			} else if want := fmt.Sprintf("unknown:%d:%d", major, minor); out != want {
				t.Fatalf("Decode(%d:%d) = %q, want %q", major, minor, out, want)
			}
		}, [][]byte{mkdev(8, 1), mkdev(259, 1), u32(0xffffffff), {0}}},
		{"dname", func(t *testing.T, _ *Env, in []byte, out string) {
			if len(out) > 3*len(in)+1 { // at most every byte made U+FFFD, or "." for nothing
				t.Fatalf("Decode(%q) = %q", in, out)
			}
		}, [][]byte{[]byte("\x07example\x03com\x00"), []byte("\x05com"), {}, {0}}},
		{"ifname", nil, [][]byte{u32(1), u32(0), {1}}},
	}
}

// testPartitions are the devices of testdata/proc/partitions.
var testPartitions = map[[2]uint32]string{{8, 0}: "sda", {8, 1}: "sda1", {259, 0}: "nvme0n1", {259, 1}: "nvme0n1p1", {136, 16}: "sdzz"}

// FuzzRawDecoders feeds arbitrary bytes to every decoder of raw key bytes
// (uint, hex, string, inet_ip, ksym, kstack, majorminor, dname, ifname),
// any size: a decoder never changes its input and gives valid UTF-8 text
// that reads back to the input where it can (uint, hex, inet_ip: the
// bytes; ksym: the address; majorminor: the device).
func FuzzRawDecoders(f *testing.F) {
	checks := rawChecks()
	env := testEnv(f)
	chains := make([]Chain, len(checks))
	for i, c := range checks {
		for _, s := range c.seeds {
			f.Add(s, uint8(i))
		}
		var err error
		if chains[i], err = NewChain(one(c.name), env); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		i := int(which) % len(checks)
		orig := bytes.Clone(in)
		out, err := chains[i].Decode(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("%s: Decode modified its input: %q -> %q", checks[i].name, orig, in)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("%s: Decode(%q) = %q is not valid UTF-8", checks[i].name, in, out)
		}
		if err == nil && checks[i].check != nil {
			checks[i].check(t, env, in, out)
		}
	})
}
