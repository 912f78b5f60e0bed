package cgroup

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestScan(t *testing.T) {
	root, ids := makeTree(t, "system.slice/foo.service", "system.slice/bar.service/sub", "user.slice", "a b", "dots..x")
	if err := os.Symlink(filepath.Join(root, "user.slice"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	// The ids are the parents' too: makeTree only records the leaves it made.
	want, err := walk(root)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("Scan = %v\nwalk = %v", got, want)
	}
	for path, id := range ids {
		if got[id] != path {
			t.Errorf("Scan()[%d] = %q, want %q", id, got[id], path)
		}
	}
}

func TestScanMissingRoot(t *testing.T) {
	_, err := Scan(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Scan(missing) err = %v, want ErrNotExist", err)
	}
}

// dirent builds one linux_dirent64 record.
func dirent(ino uint64, typ uint8, name string) []byte {
	reclen := (direntHeader + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint64(b[unsafe.Offsetof(unix.Dirent{}.Ino):], ino)
	binary.NativeEndian.PutUint16(b[unsafe.Offsetof(unix.Dirent{}.Reclen):], uint16(reclen))
	b[unsafe.Offsetof(unix.Dirent{}.Type)] = typ
	copy(b[direntHeader:], name)
	return b
}

func TestParseDirent(t *testing.T) {
	rec := dirent(42, unix.DT_DIR, "system.slice")
	ino, typ, name, reclen, ok := parseDirent(append(rec, dirent(7, unix.DT_REG, "x")...))
	if !ok || ino != 42 || typ != unix.DT_DIR || string(name) != "system.slice" || reclen != len(rec) {
		t.Errorf("parseDirent = %d, %d, %q, %d, %v", ino, typ, name, reclen, ok)
	}
	for _, bad := range [][]byte{nil, rec[:direntHeader-1], rec[:len(rec)-1]} {
		if _, _, _, _, ok := parseDirent(bad); ok {
			t.Errorf("parseDirent(%d bytes) ok, want a malformed record", len(bad))
		}
	}
}

func FuzzParseDirent(f *testing.F) {
	f.Add(dirent(1, unix.DT_DIR, "a"))
	f.Add(append(dirent(2, unix.DT_REG, "cgroup.procs"), dirent(3, unix.DT_DIR, "x.scope")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			_, _, name, reclen, ok := parseDirent(b)
			if !ok {
				return
			}
			if reclen < direntHeader || reclen > len(b) || len(name) > reclen-direntHeader {
				t.Fatalf("reclen %d, name %d bytes, record %d bytes", reclen, len(name), len(b))
			}
			b = b[reclen:]
		}
	})
}

// inotifyEvent builds one inotify event record.
func inotifyEvent(mask uint32, name string) []byte {
	header := int(unsafe.Sizeof(unix.InotifyEvent{}))
	n := (len(name) + 1 + 15) &^ 15
	b := make([]byte, header+n)
	binary.NativeEndian.PutUint32(b[unsafe.Offsetof(unix.InotifyEvent{}.Mask):], mask)
	binary.NativeEndian.PutUint32(b[unsafe.Offsetof(unix.InotifyEvent{}.Len):], uint32(n))
	copy(b[header:], name)
	return b
}

func TestRelevant(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []byte
		want   bool
	}{
		{"mkdir", inotifyEvent(unix.IN_CREATE|unix.IN_ISDIR, "x.scope"), true},
		{"rmdir after a file event", append(inotifyEvent(unix.IN_CREATE, "f"), inotifyEvent(unix.IN_DELETE|unix.IN_ISDIR, "x")...), true},
		{"rename", inotifyEvent(unix.IN_MOVED_TO|unix.IN_ISDIR, "y"), true},
		{"overflow", inotifyEvent(unix.IN_Q_OVERFLOW, ""), true},
		{"file created", inotifyEvent(unix.IN_CREATE, "f"), false},
		{"watch dropped", inotifyEvent(unix.IN_IGNORED, ""), false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := relevant(tc.events); got != tc.want {
				t.Errorf("relevant = %v, want %v", got, tc.want)
			}
		})
	}
}

// nextUntil calls w.Next until cond holds for its table, and returns how
// long that took after start.
func nextUntil(t *testing.T, w *Watcher, start time.Time, what string, cond func(map[uint64]string) bool) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		paths, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("%s: Next: %v", what, err)
		}
		if cond(paths) {
			return time.Since(start)
		}
	}
}

func hasPath(paths map[uint64]string, path string) bool {
	for _, p := range paths {
		if p == path {
			return true
		}
	}
	return false
}

func TestWatcher(t *testing.T) {
	const interval = 200 * time.Millisecond
	for _, tc := range []struct {
		name string
		opts []WatchOption
	}{
		{"inotify", nil},
		{"polling", []WatchOption{WithoutInotify()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, ids := makeTree(t, "system.slice/old.service")
			w, err := NewWatcher(root, interval, nil, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.Polling() != (tc.opts != nil) {
				t.Fatalf("Polling() = %v", w.Polling())
			}
			if got := w.Paths(); got[ids["/system.slice/old.service"]] != "/system.slice/old.service" || len(got) != 3 {
				t.Fatalf("first scan = %v", got)
			}
			// Let the confirmation scan after the first one pass.
			time.Sleep(2 * interval)

			start := time.Now()
			if err := os.Mkdir(filepath.Join(root, "system.slice", "new.service"), 0o755); err != nil {
				t.Fatal(err)
			}
			took := nextUntil(t, w, start, "mkdir", func(p map[uint64]string) bool { return hasPath(p, "/system.slice/new.service") })
			t.Logf("mkdir seen after %v", took)
			if took > interval+300*time.Millisecond {
				t.Errorf("mkdir seen after %v, want within the interval (%v)", took, interval)
			}

			// A subtree made at once, faster than watches can be added.
			if err := os.MkdirAll(filepath.Join(root, "deep/a/b/c/d"), 0o755); err != nil {
				t.Fatal(err)
			}
			nextUntil(t, w, time.Now(), "mkdir -p", func(p map[uint64]string) bool { return hasPath(p, "/deep/a/b/c/d") })
			time.Sleep(2 * interval) // the new directories' confirmation scan
			if err := os.Mkdir(filepath.Join(root, "deep/a/b/c/d/e"), 0o755); err != nil {
				t.Fatal(err)
			}
			nextUntil(t, w, time.Now(), "mkdir in a new subtree", func(p map[uint64]string) bool { return hasPath(p, "/deep/a/b/c/d/e") })

			start = time.Now()
			if err := os.Remove(filepath.Join(root, "system.slice", "old.service")); err != nil {
				t.Fatal(err)
			}
			took = nextUntil(t, w, start, "rmdir", func(p map[uint64]string) bool { return !hasPath(p, "/system.slice/old.service") })
			t.Logf("rmdir seen after %v", took)
			if took > interval+300*time.Millisecond {
				t.Errorf("rmdir seen after %v, want within the interval (%v)", took, interval)
			}
		})
	}
}

func TestWatcherStops(t *testing.T) {
	root, _ := makeTree(t, "a")
	w, err := NewWatcher(root, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next(ctx)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after its context was cancelled")
	}
	done := make(chan struct{})
	go func() {
		w.Close()
		w.Close() // idempotent
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
}

func TestNewWatcherMissingRoot(t *testing.T) {
	if _, err := NewWatcher(filepath.Join(t.TempDir(), "nope"), 0, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewWatcher(missing) err = %v", err)
	}
}

// TestWatcherRealCgroup2 makes a cgroup and checks that inotify on
// cgroupfs reports it, with the id BPF programs see.
func TestWatcherRealCgroup2(t *testing.T) {
	testenv.Root(t)
	root, err := FindRoot(DefaultMountInfo)
	if err != nil {
		t.Fatal(err)
	}
	if root.Version != 2 {
		testenv.Unavailable(t, "no cgroup2 mount (found v1 at %s)", root.Path)
	}
	name := fmt.Sprintf("/ebpfmon-watch-test-%d", os.Getpid())
	dir := root.Path + name
	t.Cleanup(func() { os.Remove(dir + "/child"); os.Remove(dir) })
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const interval = 100 * time.Millisecond
	w, err := NewWatcher(root.Path, interval, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Polling() {
		t.Fatal("inotify unavailable on cgroupfs")
	}
	time.Sleep(2 * interval)
	start := time.Now()
	if err := os.Mkdir(dir+"/child", 0o755); err != nil {
		t.Fatal(err)
	}
	took := nextUntil(t, w, start, "mkdir", func(p map[uint64]string) bool { return hasPath(p, name+"/child") })
	t.Logf("new cgroup seen after %v", took)
	paths := w.Paths()
	id := inode(t, dir+"/child")
	if paths[id] != name+"/child" {
		t.Errorf("Paths()[%d] = %q, want %q", id, paths[id], name+"/child")
	}
	if err := os.Remove(dir + "/child"); err != nil {
		t.Fatal(err)
	}
	nextUntil(t, w, time.Now(), "rmdir", func(p map[uint64]string) bool { _, ok := p[id]; return !ok })
}

// makeFlatTree makes n directories in slices of 100 under root.
func makeFlatTree(tb testing.TB, root string, n int) {
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("s%d.slice", i/100), fmt.Sprintf("c%d.scope", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkScan10k scans a tree of 10k directories (100 slices of 100) on
// the temp dir's filesystem.
func BenchmarkScan10k(b *testing.B) {
	root := b.TempDir()
	makeFlatTree(b, root, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scan(root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanCgroupfs10k scans 10k real cgroups, made for the benchmark
// under the cgroup2 root and removed after it (root only). BenchmarkWalk...
// does the same with the Resolver's walk, for comparison.
func BenchmarkScanCgroupfs10k(b *testing.B) { benchCgroupfs(b, Scan) }

func BenchmarkWalkCgroupfs10k(b *testing.B) { benchCgroupfs(b, walk) }

func benchCgroupfs(b *testing.B, scan func(string) (map[uint64]string, error)) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	root, err := FindRoot(DefaultMountInfo)
	if err != nil || root.Version != 2 {
		b.Skipf("no cgroup2 mount: %v", err)
	}
	dir := filepath.Join(root.Path, fmt.Sprintf("ebpfmon-bench-%d", os.Getpid()))
	b.Cleanup(func() { removeTree(dir) })
	makeFlatTree(b, dir, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scan(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// removeTree removes a tree of empty directories (cgroupfs refuses
// os.RemoveAll's unlinking of interface files), deepest first.
func removeTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}
