package regfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	regular := write("regular", "12345678")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sparse := filepath.Join(dir, "sparse")
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<40); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		limit      int64
		want       string // content, or "" when err is set
		err        error
		msg        string
	}{
		{name: "regular", path: regular, limit: 8, want: "12345678"},
		{name: "symlink to regular", path: link("to-regular", regular), limit: 8, want: "12345678"},
		{name: "empty", path: write("empty", ""), limit: 8},
		{name: "missing", path: filepath.Join(dir, "missing"), limit: 8, err: fs.ErrNotExist, msg: "missing: no such file or directory"},
		{name: "directory", path: dir, limit: 8, err: ErrNotRegular, msg: "it is a directory"},
		{name: "fifo", path: fifo, limit: 8, err: ErrNotRegular, msg: "it is a named pipe (FIFO)"},
		{name: "symlink to fifo", path: link("to-fifo", fifo), limit: 8, err: ErrNotRegular, msg: "named pipe"},
		{name: "socket", path: sock, limit: 8, err: ErrNotRegular, msg: "it is a socket"},
		{name: "dev zero", path: "/dev/zero", limit: 8, err: ErrNotRegular, msg: "it is a character device"},
		{name: "symlink to dev zero", path: link("to-zero", "/dev/zero"), limit: 8, err: ErrNotRegular, msg: "character device"},
		{name: "one byte over", path: regular, limit: 7, err: ErrTooLarge, msg: "8 bytes, over the limit of 7 bytes"},
		{name: "sparse terabyte", path: sparse, limit: 16 << 20, err: ErrTooLarge, msg: "1 TiB, over the limit of 16 MiB"},
		{name: "proc file larger than it says", path: "/proc/self/maps", limit: 16, err: ErrTooLarge, msg: "17 bytes or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBounded(t, tc.path, tc.limit)
			if tc.err == nil {
				if err != nil || string(got) != tc.want {
					t.Fatalf("Read = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.err, tc.msg)
			}
			if n := strings.Count(err.Error(), tc.path); n != 1 {
				t.Errorf("err %q names the path %d times, want once", err, n)
			}
		})
	}
}

// readBounded is Read, failing the test instead of hanging when Read
// blocks (the defect this package exists for).
func readBounded(t *testing.T, path string, limit int64) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := Read(path, limit)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("Read(%s) still blocked after 30s", path)
		return nil, nil
	}
}

// TestReadStream reads kernel files that are regular to stat but streams
// to read: trace_pipe waits for trace events and cannot seek. Read must
// refuse them at once; it used to wait in Go's poller for data that may
// never come (a NAME.yaml linked to one held up every config).
func TestReadStream(t *testing.T) {
	testenv.Root(t)
	for _, path := range []string{"/sys/kernel/tracing/trace_pipe", "/sys/kernel/tracing/per_cpu/cpu0/trace_pipe_raw"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				testenv.Unavailable(t, "tracefs not mounted at /sys/kernel/tracing: %v", err)
			}
			_, err := readBounded(t, path, 1<<20)
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "a stream") {
				t.Fatalf("err = %v, want ErrNotRegular saying it is a stream", err)
			}
		})
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 16 << 20: "16 MiB", 256 << 20: "256 MiB", 1 << 40: "1 TiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 3)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "abc" {
		t.Errorf("ReadAt = %q, %v", buf, err)
	}
	if _, err := Open(path, 2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: err = %v, want ErrTooLarge", err)
	}
	if _, err := Open("/dev/null", 2); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/null: err = %v, want ErrNotRegular", err)
	}
}

// TestReadAllocatesOnce reads a 32 MiB file: it costs about its size in
// memory, once, not the doubling of a growing buffer (a 200 MiB object
// took 445 MB to read before).
func TestReadAllocatesOnce(t *testing.T) {
	const size = 32 << 20
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	data, err := Read(path, size)
	runtime.ReadMemStats(&after)
	if err != nil || len(data) != size {
		t.Fatalf("Read = %d bytes, %v; want %d", len(data), err, size)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > size*5/4 {
		t.Errorf("reading %d bytes allocated %d, want at most 1.25x", size, got)
	}
}
