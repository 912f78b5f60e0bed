package decoder

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

// bioLabels is the key of ebpf_exporter's biolatency example:
// struct { u32 dev; u8 op; (3 bytes padding) u64 slot; }.
func bioLabels() []config.Label {
	return []config.Label{
		{Name: "device", Size: 4, Decoders: []config.Decoder{{Name: "majorminor"}}},
		{Name: "operation", Size: 1, Padding: 3, Decoders: []config.Decoder{
			{Name: "uint"},
			{Name: "static_map", StaticMap: map[string]string{"0": "read", "1": "write"}},
		}},
		{Name: "bucket", Size: 8, Decoders: []config.Decoder{{Name: "uint"}}},
	}
}

func TestLabelSetDecode(t *testing.T) {
	ls, err := NewLabelSet(bioLabels(), testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	if ls.KeySize() != 16 {
		t.Errorf("KeySize() = %d, want 16", ls.KeySize())
	}
	if got := ls.Names(); !slices.Equal(got, []string{"device", "operation", "bucket"}) {
		t.Errorf("Names() = %v", got)
	}
	key := slices.Concat(mkdev(8, 1), []byte{1, 0xaa, 0xbb, 0xcc}, u64(7))

	tests := []struct {
		name    string
		key     []byte
		out     []string
		want    []string
		wantErr error
		errText string
	}{
		{name: "padding skipped", key: key, want: []string{"sda1", "write", "7"}},
		{name: "appends to out", key: key, out: []string{"x"}, want: []string{"x", "sda1", "write", "7"}},
		{name: "short key", key: key[:15], out: []string{"x"}, want: []string{"x"}, wantErr: ErrKeySize, errText: "key is 15 bytes"},
		{name: "long key", key: append(slices.Clone(key), 0), want: nil, wantErr: ErrKeySize},
		{name: "empty key", key: nil, want: nil, wantErr: ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ls.Decode(tt.key, tt.out)
			if !errors.Is(err, tt.wantErr) || (tt.errText != "" && !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("Decode error = %v, want %v containing %q", err, tt.wantErr, tt.errText)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Decode = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLabelSetBytesOf checks that bytes_of labels decode the bytes of the
// label they name, with their own chains, and take no key bytes.
func TestLabelSetBytesOf(t *testing.T) {
	labels := []config.Label{
		{Name: "op", Size: 1, Padding: 3, Decoders: one("uint")},
		{Name: "id", Size: 4, Decoders: one("hex")},
		{Name: "id_dec", BytesOf: "id", Decoders: one("uint")},
		{Name: "op_name", BytesOf: "op", Decoders: withUint(config.Decoder{Name: "static_map", StaticMap: map[string]string{"1": "write"}})},
		{Name: "id_again", BytesOf: "id_dec", Decoders: one("uint")}, // a bytes_of of a bytes_of
		{Name: "bucket", Size: 2, Decoders: one("uint")},
	}
	ls, err := NewLabelSet(labels, testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	if ls.KeySize() != 10 {
		t.Errorf("KeySize() = %d, want 10", ls.KeySize())
	}
	key := slices.Concat([]byte{1, 0xaa, 0xbb, 0xcc}, u32(258), u16(7))
	got, err := ls.Decode(key, nil)
	want := []string{"1", "02010000", "258", "write", "258", "7"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Decode = %q, %v; want %q", got, err, want)
	}
	for _, tt := range []struct {
		name  string
		label config.Label
		want  string
	}{
		{"unknown", config.Label{Name: "x", BytesOf: "nope", Decoders: one("uint")}, `labels[1] "x": bytes_of "nope": no such label before it`},
		{"itself", config.Label{Name: "x", BytesOf: "x", Decoders: one("uint")}, `bytes_of "x": no such label before it`},
		{"with size", config.Label{Name: "x", BytesOf: "a", Size: 4, Decoders: one("uint")}, `size or padding given with bytes_of "a"`},
		{"chain checked on the source's size", config.Label{Name: "x", BytesOf: "a", Decoders: one("ksym")}, "decoder ksym takes 8 bytes, the label has 4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLabelSet([]config.Label{{Name: "a", Size: 4, Decoders: one("uint")}, tt.label}, testEnv(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewLabelSet error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLabelSetErrors(t *testing.T) {
	env := testEnv(t)
	labels := []config.Label{
		{Name: "comm", Size: 4, Decoders: []config.Decoder{{Name: "string"}, {Name: "regexp", Regexps: []string{"^ok"}}}},
		{Name: "err", Size: 3, Decoders: []config.Decoder{{Name: "string"}}},
	}
	ls, err := NewLabelSet(labels, env)
	if err != nil {
		t.Fatal(err)
	}
	// A chain NewLabelSet refuses, to reach a decoder error at decode time.
	if ls.fields[1].chain, err = NewChain([]config.Decoder{{Name: "string"}, {Name: "errno"}}, env); err != nil {
		t.Fatal(err)
	}
	t.Run("skip wrapped with label", func(t *testing.T) {
		out, err := ls.Decode([]byte("nope123"), make([]string, 0, 2))
		if !errors.Is(err, ErrSkipLabelSet) || !strings.Contains(err.Error(), `label "comm"`) || len(out) != 0 {
			t.Errorf("Decode = %q, %v; want a wrapped skip naming comm", out, err)
		}
	})
	t.Run("decoder error wrapped with label", func(t *testing.T) {
		_, err := ls.Decode([]byte("ok\x00\x00abc"), nil)
		if err == nil || errors.Is(err, ErrSkipLabelSet) || !strings.Contains(err.Error(), `label "err": errno: want a decimal number, got "abc"`) {
			t.Errorf("Decode error = %v", err)
		}
	})
}

func TestNewLabelSetErrors(t *testing.T) {
	env := testEnv(t)
	uint8Label := func(name string) config.Label {
		return config.Label{Name: name, Size: 1, Decoders: []config.Decoder{{Name: "uint"}}}
	}
	tests := []struct {
		name    string
		labels  []config.Label
		wantErr string
	}{
		{"zero size", []config.Label{uint8Label("a"), {Name: "b", Decoders: []config.Decoder{{Name: "uint"}}}}, `labels[1] "b": size is zero`},
		{"bad decoder", []config.Label{{Name: "a", Size: 1, Decoders: []config.Decoder{{Name: "uint"}, {Name: "regexp", Regexps: []string{"["}}}}}, `labels[0] "a": decoders[1]: decoder "regexp": regexps[0]`},
		{"huge size", []config.Label{{Name: "a", Size: ^uint(0) >> 1}}, "key size over"},
		{"huge padding", []config.Label{{Name: "a", Size: 1, Padding: ^uint(0)}}, "key size over"},
		{"sum too large", []config.Label{{Name: "a", Size: 1 << 19}, {Name: "b", Size: 1 << 19}, {Name: "c", Size: 1}}, `labels[2] "c": key size over`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLabelSet(tt.labels, env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewLabelSet error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewLabelSetRawSizes checks that a label's first decoder must take the
// label's size, so that a config failing on every key fails at load.
func TestNewLabelSetRawSizes(t *testing.T) {
	env := testEnv(t)
	const fix = " (fix size or use hex/string)"
	tests := []struct {
		decoders []config.Decoder
		size     uint
		wantErr  string // "" means the label set builds
	}{
		{one("uint"), 1, ""},
		{one("uint"), 2, ""},
		{one("uint"), 4, ""},
		{one("uint"), 8, ""},
		{one("uint"), 3, "decoder uint takes 1, 2, 4 or 8 bytes, the label has 3" + fix},
		{one("uint"), 16, "decoder uint takes 1, 2, 4 or 8 bytes, the label has 16" + fix},
		{one("ksym"), 8, ""},
		{one("ksym"), 4, "decoder ksym takes 8 bytes, the label has 4" + fix},
		{one("kstack"), 8, ""},
		{one("kstack"), 1016, ""},
		{one("kstack"), 12, "decoder kstack takes a multiple of 8 bytes, the label has 12" + fix},
		{one("inet_ip"), 4, ""},
		{one("inet_ip"), 16, ""},
		{one("inet_ip"), 8, "decoder inet_ip takes 4 or 16 bytes, the label has 8" + fix},
		{one("majorminor"), 4, ""},
		{one("majorminor"), 8, "decoder majorminor takes 4 bytes, the label has 8" + fix},
		{one("ifname"), 4, ""},
		{one("ifname"), 2, "decoder ifname takes 4 bytes, the label has 2" + fix},
		{one("hex"), 3, ""},
		{one("string"), 3, ""},
		{one("dname"), 3, ""},
		{[]config.Decoder{{Name: "static_map", StaticMap: map[string]string{"a": "b"}}}, 3, "decoder static_map takes text, not raw key bytes (put uint or string before it)"},
		{[]config.Decoder{{Name: "regexp", Regexps: []string{"."}}}, 3, "decoder regexp takes text, not raw key bytes (put uint or string before it)"},
		{one("errno"), 4, "decoder errno takes decimal text, not raw key bytes (put uint before it)"},
		{one("syscall"), 8, "decoder syscall takes decimal text"},
		{one("cgroup"), 8, "decoder cgroup takes decimal text"},
		{one("pci_vendor"), 2, "decoder pci_vendor takes decimal text"},
		{one("pci_device"), 4, "decoder pci_device takes decimal text"},
		{one("pci_class"), 1, "decoder pci_class takes decimal text"},
		{one("pci_subclass"), 2, "decoder pci_subclass takes decimal text"},
		{one("pod"), 8, "decoder pod takes a cgroup path, not raw key bytes (put uint and cgroup before it)"},
		{one("pod_namespace"), 8, "decoder pod_namespace takes a cgroup path"},
		{one("container"), 8, "decoder container takes a cgroup path"},
		{one("peer_pod"), 4, "decoder peer_pod takes an IP address as text, not raw key bytes (put inet_ip before it)"},
		{[]config.Decoder{{Name: "uint"}, {Name: "cgroup"}, {Name: "pod"}}, 8, ""},
		{[]config.Decoder{{Name: "inet_ip"}, {Name: "peer_pod"}}, 16, ""},
		{withUint(config.Decoder{Name: "errno"}), 4, ""},
		{withUint(config.Decoder{Name: "errno"}), 3, "decoder uint takes 1, 2, 4 or 8 bytes, the label has 3"},
		{[]config.Decoder{{Name: "string"}, {Name: "errno"}}, 3, "decoders[1] errno takes decimal text, but decoders[0] string outputs text (put uint before it, first in the chain)"},
		{[]config.Decoder{{Name: "nope"}}, 3, `decoders[0]: unknown decoder "nope"`},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%d", tt.decoders[0].Name, tt.size)
		if len(tt.decoders) > 1 {
			name = fmt.Sprintf("%s+%s/%d", tt.decoders[0].Name, tt.decoders[1].Name, tt.size)
		}
		t.Run(name, func(t *testing.T) {
			labels := []config.Label{{Name: "ok", Size: 8, Decoders: one("uint")}, {Name: "x", Size: tt.size, Decoders: tt.decoders}}
			_, err := NewLabelSet(labels, env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewLabelSet: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), `labels[1] "x": `+tt.wantErr)):
				t.Errorf("NewLabelSet error = %v, want %q", err, `labels[1] "x": `+tt.wantErr)
			}
		})
	}
}

// TestNewLabelSetChains checks the form of the data along a chain: each
// decoder must take what the one before outputs (issue 7 item 15).
func TestNewLabelSetChains(t *testing.T) {
	env := testEnv(t)
	sm := func(allowUnknown bool, kv ...string) config.Decoder {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return config.Decoder{Name: "static_map", StaticMap: m, AllowUnknown: allowUnknown}
	}
	re := config.Decoder{Name: "regexp", Regexps: []string{"^(a)"}}
	d := func(names ...string) []config.Decoder {
		out := make([]config.Decoder, len(names))
		for i, n := range names {
			out[i] = config.Decoder{Name: n}
		}
		return out
	}
	tests := []struct {
		name     string
		size     uint
		decoders []config.Decoder
		wantErr  string // "" means valid
	}{
		// ebpf_exporter's usual chains, and this repository's examples.
		{"uint static_map", 1, []config.Decoder{{Name: "uint"}, sm(false, "1", "read")}, ""},
		{"uint cgroup", 8, d("uint", "cgroup"), ""},
		{"uint syscall", 8, d("uint", "syscall"), ""},
		{"uint errno", 4, d("uint", "errno"), ""},
		{"uint pci_vendor", 2, d("uint", "pci_vendor"), ""},
		{"string regexp", 16, []config.Decoder{{Name: "string"}, re}, ""},
		{"string static_map", 16, []config.Decoder{{Name: "string"}, sm(true, "a", "b")}, ""},
		{"string dname", 64, d("string", "dname"), ""},
		{"uint static_map regexp", 1, []config.Decoder{{Name: "uint"}, sm(false, "1", "read"), re}, ""},
		{"kstack regexp", 16, []config.Decoder{{Name: "kstack"}, re}, ""},
		{"ksym static_map", 8, []config.Decoder{{Name: "ksym"}, sm(true, "a", "b")}, ""},
		{"hex static_map", 2, []config.Decoder{{Name: "hex"}, sm(false, "0a00", "x")}, ""},
		{"uint string errno", 4, d("uint", "string", "errno"), ""},
		{"uint static_map to numbers errno", 4, []config.Decoder{{Name: "uint"}, sm(true, "1", "2"), {Name: "errno"}}, ""},
		// Refused.
		{"uint uint", 8, d("uint", "uint"), `decoders[1] uint takes raw key bytes, but decoders[0] uint outputs decimal text (put it first in the chain)`},
		{"uint errno syscall", 4, d("uint", "errno", "syscall"), `decoders[2] syscall takes decimal text, but decoders[1] errno outputs text (put uint before it, first in the chain)`},
		{"static_map on raw bytes", 4, []config.Decoder{sm(false, "1", "x")}, "decoder static_map takes text, not raw key bytes"},
		{"regexp on raw bytes", 4, []config.Decoder{re}, "decoder regexp takes text, not raw key bytes"},
		{"string uint", 8, d("string", "uint"), `decoders[1] uint takes raw key bytes, but decoders[0] string outputs text`},
		{"uint ksym", 8, d("uint", "ksym"), `decoders[1] ksym takes raw key bytes`},
		{"string inet_ip", 4, d("string", "inet_ip"), `decoders[1] inet_ip takes raw key bytes`},
		{"uint static_map errno", 4, []config.Decoder{{Name: "uint"}, sm(false, "1", "2"), {Name: "errno"}}, `decoders[2] errno takes decimal text, but decoders[1] static_map outputs text`},
		{"uint static_map with names errno", 4, []config.Decoder{{Name: "uint"}, sm(true, "1", "one"), {Name: "errno"}}, `decoders[2] errno takes decimal text`},
		{"uint regexp cgroup", 8, []config.Decoder{{Name: "uint"}, re, {Name: "cgroup"}}, `decoders[2] cgroup takes decimal text, but decoders[1] regexp outputs text`},
		{"string majorminor", 4, d("string", "majorminor"), `decoders[1] majorminor takes raw key bytes`},
		// Pod decoders take a cgroup path, peer_pod an address: a chain
		// that skips the step decodes every key to nothing, or fails.
		{"uint cgroup pod", 8, d("uint", "cgroup", "pod"), ""},
		{"uint cgroup string container", 8, d("uint", "cgroup", "string", "container"), ""},
		{"string pod", 64, d("string", "pod"), ""}, // a path the program wrote
		{"inet_ip peer_pod", 16, d("inet_ip", "peer_pod"), ""},
		{"string peer_pod", 16, d("string", "peer_pod"), ""},
		{"uint pod", 8, d("uint", "pod"), `decoders[1] pod takes a cgroup path, but decoders[0] uint outputs decimal text (put {name: cgroup} before pod)`},
		{"uint pod_namespace", 8, d("uint", "pod_namespace"), `decoders[1] pod_namespace takes a cgroup path, but decoders[0] uint outputs decimal text (put {name: cgroup} before pod_namespace)`},
		{"uint container", 8, d("uint", "container"), `decoders[1] container takes a cgroup path, but decoders[0] uint outputs decimal text (put {name: cgroup} before container)`},
		{"inet_ip pod", 4, d("inet_ip", "pod"), `decoders[1] pod takes a cgroup path, but decoders[0] inet_ip outputs an IP address as text (put {name: cgroup} before pod)`},
		{"uint peer_pod", 4, d("uint", "peer_pod"), `decoders[1] peer_pod takes an IP address as text, but decoders[0] uint outputs decimal text (put {name: inet_ip} before peer_pod)`},
		{"uint cgroup peer_pod", 8, d("uint", "cgroup", "peer_pod"), `decoders[2] peer_pod takes an IP address as text, but decoders[1] cgroup outputs a cgroup path (put {name: inet_ip} before peer_pod)`},
		{"uint cgroup errno", 8, d("uint", "cgroup", "errno"), `decoders[2] errno takes decimal text, but decoders[1] cgroup outputs a cgroup path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLabelSet([]config.Label{{Name: "x", Size: tt.size, Decoders: tt.decoders}}, env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewLabelSet: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), `labels[0] "x": `+tt.wantErr)):
				t.Errorf("NewLabelSet error = %v, want %q", err, `labels[0] "x": `+tt.wantErr)
			}
		})
	}
}

func TestLabelSetNoDecoders(t *testing.T) {
	ls, err := NewLabelSet([]config.Label{{Name: "raw", Size: 3}, {Name: "n", Size: 1, Decoders: []config.Decoder{{Name: "uint"}}}}, testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ls.Decode([]byte{'a', 0xff, 0, 9}, nil)
	if err != nil || !slices.Equal(got, []string{"a\uFFFD\x00", "9"}) {
		t.Errorf("Decode = %q, %v", got, err)
	}
}

func TestLabelSetEmpty(t *testing.T) {
	ls, err := NewLabelSet(nil, testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ls.Decode(nil, nil); err != nil || len(got) != 0 || ls.KeySize() != 0 {
		t.Errorf("Decode = %q, %v; KeySize %d", got, err, ls.KeySize())
	}
}

func TestLabelSetConcurrent(t *testing.T) {
	root := t.TempDir()
	env := testEnv(t, WithCgroupRoot(root))
	labels := append(bioLabels(),
		config.Label{Name: "cgroup", Size: 8, Decoders: []config.Decoder{{Name: "uint"}, {Name: "cgroup"}}},
		config.Label{Name: "if", Size: 4, Decoders: []config.Decoder{{Name: "ifname"}}},
		config.Label{Name: "stack", Size: 16, Decoders: []config.Decoder{{Name: "kstack"}}},
		config.Label{Name: "pci", Size: 1, Decoders: []config.Decoder{{Name: "uint"}, {Name: "pci_class"}}},
	)
	ls, err := NewLabelSet(labels, env)
	if err != nil {
		t.Fatal(err)
	}
	key := slices.Concat(mkdev(8, 1), []byte{1, 0, 0, 0}, u64(7), u64(dirInode(t, root)), u32(1), u64s(0xffffffff81001010, 0), []byte{2})
	want := []string{"sda1", "write", "7", "/", "lo", "vfs_read", "Network controller"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var out []string
			for range 100 {
				var err error
				if out, err = ls.Decode(key, out[:0]); err != nil || !slices.Equal(out, want) {
					t.Errorf("Decode = %q, %v; want %q", out, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
