package decoder

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestKsym(t *testing.T) {
	runCases(t, testEnv(t), one("ksym"), []decodeCase{
		{name: "exact", in: u64(0xffffffff81001000), want: "vfs_read"},
		{name: "duplicate address gives first name", in: u64(0xffffffff81000000), want: "_stext"},
		{name: "module symbol", in: u64(0xffffffffc0001000), want: "fake_mod_init"},
		{name: "inside a symbol is unknown", in: u64(0xffffffff81001004), want: "unknown_addr:0xffffffff81001004"},
		{name: "bpf program", in: u64(0xffffffffc0010000), want: "bpf_prog_0123456789abcdef_handler"},
		{name: "past the last symbol of a region", in: u64(0xffffffffc0810000), want: "unknown_addr:0xffffffffc0810000"},
		{name: "below every symbol", in: u64(0x1000), want: "unknown_addr:0x1000"},
		{name: "zero", in: u64(0), want: "unknown_addr:0x0"},
		{name: "4 bytes", in: u32(1), wantErr: "ksym: want 8 bytes, got 4"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}

// TestKallsymsErrorsAtBuild checks that a kallsyms the decoders cannot use
// fails when they are built, naming the decoder, not at every scrape.
func TestKallsymsErrorsAtBuild(t *testing.T) {
	hidden := t.TempDir()
	writeFile(t, filepath.Join(hidden, "kallsyms"), "0000000000000000 T _stext\n0000000000000000 T vfs_read\n")
	missing := t.TempDir()
	tests := []struct {
		name    string
		proc    string
		wantErr string
	}{
		{"hidden", hidden, "addresses are hidden (need CAP_SYSLOG, kernel.kptr_restrict)"},
		{"missing names the path", missing, filepath.Join(missing, "kallsyms")},
	}
	for _, tt := range tests {
		for _, name := range []string{"ksym", "kstack"} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				d, err := New(one(name)[0], testEnv(t, WithProcRoot(tt.proc)))
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), `decoder "`+name+`": `) {
					t.Errorf("New(%s) = %v, %v; want an error naming the decoder and containing %q", name, d, err, tt.wantErr)
				}
			})
		}
	}
}
