package decoder

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ebpfmon/ebpfmon/internal/testenv"

	"github.com/ebpfmon/ebpfmon/cgroup"
)

// TestRealSystem decodes against the real /proc/kallsyms and cgroup2 mount.
func TestRealSystem(t *testing.T) {
	testenv.Root(t)
	env := NewEnv()

	t.Run("ksym and kstack", func(t *testing.T) {
		addr, err := env.Kallsyms().Address("vfs_read")
		if err != nil {
			t.Fatalf("Address(vfs_read): %v", err)
		}
		runCases(t, env, one("ksym"), []decodeCase{{name: "vfs_read", in: u64(addr), want: "vfs_read"}})
		runCases(t, env, one("kstack"), []decodeCase{{name: "inside vfs_read", in: u64s(addr+4, 0), want: "vfs_read"}})
	})

	t.Run("cgroup", func(t *testing.T) {
		root, err := cgroup.FindRoot(cgroup.DefaultMountInfo)
		if err != nil || root.Version != 2 {
			t.Skipf("skipping: no cgroup2 mount (%+v, %v)", root, err)
		}
		own := testenv.OwnCgroup2Path(t)
		id := dirInode(t, filepath.Join(root.Path, own))
		runCases(t, env, one("cgroup"), []decodeCase{
			{name: "own cgroup", in: []byte(strconv.FormatUint(id, 10)), want: own},
			{name: "root", in: []byte("1"), want: "/"},
		})
	})
}
