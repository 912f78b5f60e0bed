package decoder

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// fuzzChain is a decoder chain and the label sizes its first decoder takes
// (nil: any size).
type fuzzChain struct {
	sizes    []uint
	decoders []config.Decoder
}

// fuzzChains are the decoder chains FuzzLabelSetDecode picks from; ifname is
// left out because each unknown index costs a netlink dump (FuzzIfname
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
	})
}

// fuzzDecoder checks that a chain never panics, always gives valid UTF-8,
// and meets check on success.
func fuzzDecoder(f *testing.F, confs []config.Decoder, check func(t *testing.T, in []byte, out string), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	chain, err := NewChain(confs, testEnv(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := chain.Decode(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Decode modified its input: %q -> %q", orig, in)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("Decode(%q) = %q is not valid UTF-8", in, out)
		}
		if err == nil && check != nil {
			check(t, in, out)
		}
	})
}

func FuzzUint(f *testing.F) {
	fuzzDecoder(f, one("uint"), func(t *testing.T, in []byte, out string) {
		v, err := strconv.ParseUint(out, 10, 64)
		if err != nil || !bytes.Equal(u64(v)[:len(in)], in) {
			t.Fatalf("Decode(%x) = %q does not round-trip", in, out)
		}
	}, []byte{1}, u16(300), u32(70000), u64(1<<40), []byte{1, 2, 3})
}

func FuzzHex(f *testing.F) {
	fuzzDecoder(f, one("hex"), func(t *testing.T, in []byte, out string) {
		if back, err := hex.DecodeString(out); err != nil || !bytes.Equal(back, in) {
			t.Fatalf("Decode(%x) = %q does not round-trip", in, out)
		}
	}, []byte{}, []byte{0xde, 0xad})
}

func FuzzString(f *testing.F) {
	fuzzDecoder(f, one("string"), func(t *testing.T, in []byte, out string) {
		if strings.ContainsRune(out, 0) || len(out) > 3*len(in) {
			t.Fatalf("Decode(%q) = %q", in, out)
		}
	}, []byte("bash\x00x"), []byte("\xff\xfe"), []byte{})
}

func FuzzInetIP(f *testing.F) {
	fuzzDecoder(f, one("inet_ip"), func(t *testing.T, in []byte, out string) {
		if _, err := netip.ParseAddr(out); err != nil {
			t.Fatalf("Decode(%x) = %q is not an address: %v", in, out, err)
		}
	}, []byte{10, 0, 0, 1}, make([]byte, 16), []byte{1, 2, 3})
}

func FuzzKsym(f *testing.F) {
	fuzzDecoder(f, one("ksym"), nil, u64(0xffffffff81001000), u64(0), []byte{1})
}

func FuzzKstack(f *testing.F) {
	fuzzDecoder(f, one("kstack"), func(t *testing.T, in []byte, out string) {
		if out != "" && strings.Count(out, "\n")+1 > len(in)/8 {
			t.Fatalf("Decode(%x) = %q has more frames than addresses", in, out)
		}
	}, u64s(0xffffffff81001010, 0xffffffff81000123, 0), make([]byte, 7))
}

func FuzzMajorMinor(f *testing.F) {
	fuzzDecoder(f, one("majorminor"), nil, mkdev(8, 1), u32(0xffffffff), []byte{0})
}

func FuzzDname(f *testing.F) {
	fuzzDecoder(f, one("dname"), nil, []byte("\x07example\x03com\x00"), []byte("\x05com"), []byte{})
}

func FuzzIfname(f *testing.F) {
	fuzzDecoder(f, one("ifname"), nil, u32(1), u32(0), []byte{1})
}

// FuzzTextDecoders feeds arbitrary text to the decoders that parse text.
func FuzzTextDecoders(f *testing.F) {
	f.Add([]byte("2"), uint8(0))
	f.Add([]byte("18446744073709551616"), uint8(1))
	f.Add([]byte("\xff1"), uint8(2))
	f.Add([]byte(ledgerPath), uint8(9))
	f.Add([]byte(webMount), uint8(11))
	f.Add([]byte("fd00::6"), uint8(12))
	pods, _ := testPods(f)
	env := testEnv(f, WithKubeResolver(kube.NewResolverWith(pods)))
	var chains []Chain
	for _, conf := range []config.Decoder{
		{Name: "static_map", StaticMap: map[string]string{"2": "two"}},
		{Name: "regexp", Regexps: []string{`^(\d+)$`, `x`}},
		{Name: "errno"}, {Name: "syscall"}, {Name: "cgroup"},
		{Name: "pci_vendor"}, {Name: "pci_device"}, {Name: "pci_class"}, {Name: "pci_subclass"},
		{Name: "pod"}, {Name: "pod_namespace", NotPod: "path"}, {Name: "container", NotPod: "skip"},
		{Name: "peer_pod"}, {Name: "peer_pod", UnknownPeer: "ip"},
	} {
		c, err := NewChain([]config.Decoder{conf}, env)
		if err != nil {
			f.Fatal(err)
		}
		chains = append(chains, c)
	}
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		out, err := chains[int(which)%len(chains)].Decode(in)
		if err == nil && !utf8.ValidString(out) {
			t.Fatalf("Decode(%q) = %q is not valid UTF-8", in, out)
		}
	})
}
