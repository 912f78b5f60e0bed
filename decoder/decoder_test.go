package decoder

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestNames(t *testing.T) {
	want := []string{
		"btf_enum", "cgroup", "container", "dname", "errno", "hex", "ifname", "inet_ip", "kstack", "ksym", "majorminor",
		"pci_class", "pci_device", "pci_subclass", "pci_vendor", "peer_pod", "pod", "pod_namespace",
		"regexp", "static_map", "string", "syscall", "uint",
	}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		name    string
		conf    config.Decoder
		env     *Env
		wantErr []string
	}{
		{"unknown name lists known ones", config.Decoder{Name: "uint64"}, env, []string{`unknown decoder "uint64"`, "btf_enum|cgroup|container|dname|", "|uint"}},
		{"empty name", config.Decoder{}, env, []string{`unknown decoder ""`}},
		{"nil env", config.Decoder{Name: "uint"}, nil, []string{`decoder "uint": nil Env`}},
		{"bad regexp names decoder and index", config.Decoder{Name: "regexp", Regexps: []string{"^ok$", "("}}, env, []string{`decoder "regexp"`, "regexps[1]", "missing closing )"}},
		{"no regexps", config.Decoder{Name: "regexp"}, env, []string{`decoder "regexp": regexps option is empty`}},
		{"empty static_map", config.Decoder{Name: "static_map", StaticMap: map[string]string{}}, env, []string{`decoder "static_map": static_map option is empty`}},
		{"misplaced regexps", config.Decoder{Name: "uint", Regexps: []string{"x"}}, env, []string{`decoder "uint": option regexps not supported`}},
		{"misplaced static_map and allow_unknown", config.Decoder{Name: "string", StaticMap: map[string]string{"a": "b"}, AllowUnknown: true}, env, []string{"option static_map, allow_unknown not supported"}},
		{"allow_unknown on regexp", config.Decoder{Name: "regexp", Regexps: []string{"x"}, AllowUnknown: true}, env, []string{"option allow_unknown not supported"}},
		{"not_pod on cgroup", config.Decoder{Name: "cgroup", NotPod: "skip"}, env, []string{`decoder "cgroup": option not_pod not supported`}},
		{"unknown_peer on pod", config.Decoder{Name: "pod", UnknownPeer: "ip"}, env, []string{`decoder "pod": option unknown_peer not supported`}},
		{"unknown not_pod", config.Decoder{Name: "container", NotPod: "drop"}, env, []string{`decoder "container": not_pod: unknown "drop", want empty|path|skip`}},
		{"unknown unknown_peer", config.Decoder{Name: "peer_pod", UnknownPeer: "drop"}, env, []string{`decoder "peer_pod": unknown_peer: unknown "drop", want external|ip|skip`}},
		{"syscall arch without table", config.Decoder{Name: "syscall"}, testEnv(t, WithSyscallArch("riscv64")), []string{`no syscall table for GOARCH "riscv64"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.conf, tt.env)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want error", tt.conf, d)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New(%+v) error = %q, want it to contain %q", tt.conf, err, want)
				}
			}
		})
	}
}

func TestNewEveryDecoder(t *testing.T) {
	env := testEnv(t, WithKernelBTF(enumTestBTF(t), "test.btf"))
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			conf := config.Decoder{Name: name}
			switch name {
			case "regexp":
				conf.Regexps = []string{".*"}
			case "static_map":
				conf.StaticMap = map[string]string{"1": "one"}
			case "btf_enum":
				conf.Enum = "drop_reason"
			}
			if _, err := New(conf, env); err != nil {
				t.Fatalf("New(%q): %v", name, err)
			}
		})
	}
}

func TestNewChainErrorNamesIndex(t *testing.T) {
	_, err := NewChain([]config.Decoder{{Name: "uint"}, {Name: "nope"}}, testEnv(t))
	if err == nil || !strings.Contains(err.Error(), "decoders[1]: unknown decoder \"nope\"") {
		t.Errorf("NewChain error = %v, want it to name decoders[1]", err)
	}
}

func TestChain(t *testing.T) {
	env := testEnv(t)
	t.Run("empty chain sanitises raw bytes", func(t *testing.T) {
		runCases(t, env, nil, []decodeCase{
			{name: "valid", in: []byte("héllo"), want: "héllo"},
			{name: "invalid", in: []byte("a\xffb\xc3"), want: "a\uFFFDb\uFFFD"},
			{name: "empty", in: nil, want: ""},
		})
	})
	t.Run("errors carry the decoder name", func(t *testing.T) {
		runCases(t, env, []config.Decoder{{Name: "string"}, {Name: "errno"}}, []decodeCase{
			{name: "not a number", in: []byte("abc\x00"), wantErr: `errno: want a decimal number, got "abc"`},
		})
	})
	t.Run("skip passes through unwrapped", func(t *testing.T) {
		chain, err := NewChain([]config.Decoder{{Name: "string"}, {Name: "regexp", Regexps: []string{"^x$"}}}, env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chain.Decode([]byte("y")); err != ErrSkipLabelSet {
			t.Errorf("Decode error = %v, want ErrSkipLabelSet itself", err)
		}
	})
	t.Run("decoders do not modify their input", func(t *testing.T) {
		chain, err := NewChain([]config.Decoder{{Name: "string"}, {Name: "static_map", StaticMap: map[string]string{"a": "b"}, AllowUnknown: true}}, env)
		if err != nil {
			t.Fatal(err)
		}
		in := []byte("zz\x00q")
		if _, err := chain.Decode(in); err != nil || string(in) != "zz\x00q" {
			t.Errorf("input changed to %q (err %v)", in, err)
		}
	})
	t.Run("wrong size errors are not skips", func(t *testing.T) {
		chain, _ := NewChain(one("uint"), env)
		_, err := chain.Decode([]byte{1, 2, 3})
		if err == nil || errors.Is(err, ErrSkipLabelSet) {
			t.Errorf("Decode error = %v, want a non-skip error", err)
		}
	})
}

// TestNamesMatchConfig keeps config's list of decoder names, which
// validation uses, in step with the registry.
func TestNamesMatchConfig(t *testing.T) {
	got, want := Names(), config.DecoderNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("decoder.Names() = %v\nconfig.DecoderNames() = %v", got, want)
	}
}
