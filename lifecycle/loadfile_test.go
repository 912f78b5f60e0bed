package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// TestFilesMustBeRegular gives --btf.path and NAME.bpf.o things that are
// not plain files: each is an error naming the file, never a read that
// blocks (FIFO) or never ends (/dev/zero).
func TestFilesMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	fifo, zero := testenv.SpecialFiles(t, dir)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 1<<40); err != nil {
		t.Fatal(err)
	}
	btfPath := func(p string) func() error {
		return func() error { _, err := LoadKernelBTF(p); return err }
	}
	object := func(p string) func() error {
		return func() error { _, err := LoadSpec(&config.Config{Path: "x.yaml", BPFPath: p}); return err }
	}
	for _, tc := range []struct {
		name string
		load func() error
		is   error
		want string
	}{
		{"btf fifo", btfPath(fifo), regfile.ErrNotRegular, "--btf.path: " + fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"btf dev zero", btfPath(zero), regfile.ErrNotRegular, "character device"},
		{"btf directory", btfPath(dir), regfile.ErrNotRegular, "it is a directory"},
		{"btf too large", btfPath(big), regfile.ErrTooLarge, "1 TiB, over the limit of 1 GiB"},
		{"object fifo", object(fifo), regfile.ErrNotRegular, fifo + ": not a regular file: it is a named pipe (FIFO) (want the object"},
		{"object dev zero", object(zero), regfile.ErrNotRegular, "character device"},
		{"object too large", object(big), regfile.ErrTooLarge, "1 TiB, over the limit of 256 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.load() }()
			select {
			case err := <-done:
				if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.is, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("still blocked after 30s")
			}
		})
	}
}

func TestLoadKernelBTF(t *testing.T) {
	const vmlinux = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(vmlinux); err != nil {
		t.Skipf("no %s: %v", vmlinux, err)
	}
	spec, err := LoadKernelBTF(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.AnyTypeByName("task_struct"); err != nil {
		t.Errorf("task_struct: %v", err)
	}
	if spec, err := LoadKernelBTF(""); spec != nil || err != nil {
		t.Errorf("empty path: %v, %v; want nil, nil", spec, err)
	}
}
