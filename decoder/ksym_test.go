package decoder

import (
	"path/filepath"
	"testing"
)

func TestKsym(t *testing.T) {
	runCases(t, testEnv(t), one("ksym"), []decodeCase{
		{name: "exact", in: u64(0xffffffff81001000), want: "vfs_read"},
		{name: "duplicate address gives first name", in: u64(0xffffffff81000000), want: "_stext"},
		{name: "module symbol", in: u64(0xffffffffc0001000), want: "fake_mod_init"},
		{name: "inside a symbol is unknown", in: u64(0xffffffff81001004), want: "unknown_addr:0xffffffff81001004"},
		{name: "below every symbol", in: u64(0x1000), want: "unknown_addr:0x1000"},
		{name: "zero", in: u64(0), want: "unknown_addr:0x0"},
		{name: "4 bytes", in: u32(1), wantErr: "ksym: want 8 bytes, got 4"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}

func TestKsymKallsymsErrors(t *testing.T) {
	hidden := t.TempDir()
	writeFile(t, filepath.Join(hidden, "kallsyms"), "0000000000000000 T _stext\n0000000000000000 T vfs_read\n")
	t.Run("hidden", func(t *testing.T) {
		runCases(t, testEnv(t, WithProcRoot(hidden)), one("ksym"), []decodeCase{
			{name: "hidden addresses", in: u64(0xffffffff81001000), wantErr: "addresses are hidden (need CAP_SYSLOG, kernel.kptr_restrict)"},
		})
	})
	t.Run("missing", func(t *testing.T) {
		missing := t.TempDir()
		runCases(t, testEnv(t, WithProcRoot(missing)), one("ksym"), []decodeCase{
			{name: "missing file names the path", in: u64(1), wantErr: filepath.Join(missing, "kallsyms")},
		})
	})
}
