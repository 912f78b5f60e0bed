package decoder

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func dirInode(tb testing.TB, path string) uint64 {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestCgroup(t *testing.T) {
	root := t.TempDir()
	svc := filepath.Join(root, "system.slice", "foo.service")
	if err := os.MkdirAll(svc, 0o755); err != nil {
		t.Fatal(err)
	}
	svcID, rootID := dirInode(t, svc), dirInode(t, root)
	env := testEnv(t, WithCgroupRoot(root))

	runCases(t, env, one("cgroup"), []decodeCase{
		{name: "text id", in: []byte(strconv.FormatUint(svcID, 10)), want: "/system.slice/foo.service"},
		{name: "root", in: []byte(strconv.FormatUint(rootID, 10)), want: "/"},
		{name: "unknown id", in: []byte("18446744073709551615"), want: "unknown_cgroup_id:18446744073709551615"},
		{name: "not a number", in: []byte("abc"), wantErr: `cgroup: want a decimal number, got "abc"`},
		{name: "empty", in: nil, wantErr: "want a decimal number"},
	})
	runCases(t, env, withUint(config.Decoder{Name: "cgroup"}), []decodeCase{
		{name: "raw u64 through uint", in: u64(svcID), want: "/system.slice/foo.service"},
	})
}

// TestCgroupMountPaths checks ebpf_exporter's form: the cgroup2 mount
// point in front of the path, the mount point alone for the root.
func TestCgroupMountPaths(t *testing.T) {
	root := t.TempDir()
	svc := filepath.Join(root, "system.slice", "foo.service")
	if err := os.MkdirAll(svc, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{root, root + "/"} {
		env := testEnv(t, WithCgroupRoot(r), WithCgroupMountPaths())
		runCases(t, env, one("cgroup"), []decodeCase{
			{name: "service", in: []byte(strconv.FormatUint(dirInode(t, svc), 10)), want: root + "/system.slice/foo.service"},
			{name: "root", in: []byte(strconv.FormatUint(dirInode(t, root), 10)), want: root},
			{name: "unknown id unchanged", in: []byte("18446744073709551615"), want: "unknown_cgroup_id:18446744073709551615"},
		})
	}
}

func TestCgroupFromMountInfo(t *testing.T) {
	root := t.TempDir()
	child := filepath.Join(root, "user.slice")
	if err := os.Mkdir(child, 0o755); err != nil {
		t.Fatal(err)
	}
	proc := t.TempDir()
	writeFile(t, filepath.Join(proc, "self", "mountinfo"),
		fmt.Sprintf("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n41 31 0:38 / %s rw - cgroup2 cgroup2 rw\n", root))
	env := NewEnv(WithProcRoot(proc))
	runCases(t, env, one("cgroup"), []decodeCase{
		{name: "found via mountinfo", in: []byte(strconv.FormatUint(dirInode(t, child), 10)), want: "/user.slice"},
	})
}

// TestCgroupErrorsAtBuild checks that a cgroup hierarchy the decoder cannot
// use fails when it is built, naming the decoder, not at every scrape.
func TestCgroupErrorsAtBuild(t *testing.T) {
	noCgroup := t.TempDir()
	writeFile(t, filepath.Join(noCgroup, "self", "mountinfo"), "25 1 0:22 / / rw - ext4 /dev/vda1 rw\n")
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "")
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		name    string
		env     *Env
		wantErr string
	}{
		{"no cgroup mount", NewEnv(WithProcRoot(noCgroup)), "no cgroup2 or cgroup v1 mount"},
		{"no mountinfo", NewEnv(WithProcRoot(t.TempDir())), "mountinfo"},
		{"missing root", testEnv(t, WithCgroupRoot(missing)), "cgroup root: stat " + missing},
		{"root is a file", testEnv(t, WithCgroupRoot(file)), "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(config.Decoder{Name: "cgroup"}, tt.env)
			if err == nil || !strings.HasPrefix(err.Error(), `decoder "cgroup": `) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(cgroup) = %v, %v; want an error naming the decoder and containing %q", d, err, tt.wantErr)
			}
		})
	}
}
