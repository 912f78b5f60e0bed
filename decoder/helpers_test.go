package decoder

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// testEnv returns an Env that reads only fixtures: testdata/proc for
// kallsyms and partitions, an empty sys tree, testdata/pci.ids and an empty
// cgroup tree, and no Kubernetes API access. opts override these.
func testEnv(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	base := []Option{
		WithProcRoot("testdata/proc"),
		WithSysRoot(tb.TempDir()),
		WithPCIIDs("testdata/pci.ids"),
		WithCgroupRoot(tb.TempDir()),
		WithSyscallArch("amd64"),
		WithKubeResolver(kube.NewResolverWith(nil)),
	}
	return NewEnv(append(base, opts...)...)
}

// decodeCase is one input of one decoder chain.
type decodeCase struct {
	name string
	in   []byte
	want string
	// wantErr is a substring of the expected error; "" means no error.
	wantErr string
	// wantSkip expects ErrSkipLabelSet.
	wantSkip bool
}

// runCases builds a chain from confs and checks every case.
func runCases(t *testing.T, env *Env, confs []config.Decoder, cases []decodeCase) {
	t.Helper()
	chain, err := NewChain(confs, env)
	if err != nil {
		t.Fatalf("NewChain: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chain.Decode(tc.in)
			switch {
			case tc.wantSkip:
				if !errors.Is(err, ErrSkipLabelSet) {
					t.Fatalf("Decode(%q) = %q, %v; want ErrSkipLabelSet", tc.in, got, err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Decode(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("Decode(%q): unexpected error %v", tc.in, err)
			case got != tc.want:
				t.Errorf("Decode(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Decode(%q) = %q is not valid UTF-8", tc.in, got)
			}
		})
	}
}

// one returns a single-decoder config list.
func one(name string) []config.Decoder { return []config.Decoder{{Name: name}} }

// withUint prefixes a text decoder with uint, as configs do.
func withUint(conf config.Decoder) []config.Decoder {
	return []config.Decoder{{Name: "uint"}, conf}
}

func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// u64s concatenates 8-byte addresses, as a stack array.
func u64s(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.NativeEndian.AppendUint64(b, v)
	}
	return b
}

// writeFile creates path (and its parents) with data.
func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
