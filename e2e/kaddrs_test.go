package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKaddrs checks ebpfmon sets kaddr_vfs_read to vfs_read's address: the
// program uses it as its map key, which ksym decodes back to the name.
func TestKaddrs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "k.yaml"), readFile(t, "testdata/kaddrs.yaml"))
	compileBPF(t, "kaddrs", dir, "k")
	in := start(t, "--config.dir="+dir, "--config.strict")
	in.eventually(t, "kaddr_hits{function=vfs_read}", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_kaddr_hits", map[string]string{"function": "vfs_read"}) > 0
	})
}

func TestKaddrsBad(t *testing.T) {
	good := readFile(t, "testdata/kaddrs.yaml")
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"symbol not in kallsyms", strings.Replace(good, "- vfs_read", "- vfs_read\n  - ebpfmon_missing_symbol", 1),
			[]string{"k.yaml", "kaddrs[1]", "ebpfmon_missing_symbol", "not found", "/proc/kallsyms"}},
		{"no constant in the object", strings.Replace(good, "- vfs_read", "- vfs_write", 1),
			[]string{"kaddrs[0]", "no kaddr_vfs_write", "volatile const u64 kaddr_vfs_write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "k.yaml"), tc.yaml)
			compileBPF(t, "kaddrs", dir, "k")
			checkFails(t, dir, tc.want...)
		})
	}
}
