package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestFindRoot(t *testing.T) {
	tests := []struct {
		file    string
		want    Root
		wantErr error
	}{
		{"mountinfo.hybrid", Root{"/sys/fs/cgroup/unified", 2}, nil},
		{"mountinfo.v2", Root{"/sys/fs/cgroup", 2}, nil},
		{"mountinfo.v1", Root{"/sys/fs/cgroup/systemd", 1}, nil},
		{"mountinfo.v1-nosystemd", Root{"/sys/fs/cgroup/cpu set", 1}, nil},
		{"mountinfo.none", Root{}, ErrNoCgroupMount},
		{"does-not-exist", Root{}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := FindRoot(filepath.Join("testdata", tt.file))
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("FindRoot = %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// makeTree creates dirs under a temp root and returns root and the inode
// number of each dir (keyed by its relative path, "/" for root).
func makeTree(t *testing.T, dirs ...string) (string, map[string]uint64) {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Files must be ignored.
	if err := os.WriteFile(filepath.Join(root, "cgroup.procs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ids := map[string]uint64{"/": inode(t, root)}
	for _, d := range dirs {
		ids["/"+d] = inode(t, filepath.Join(root, d))
	}
	return root, ids
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestResolverPath(t *testing.T) {
	root, ids := makeTree(t, "system.slice/foo.service", "user.slice", "a b")
	r := NewResolver(root, time.Hour, 0)
	for path, id := range ids {
		t.Run(path, func(t *testing.T) {
			got, err := r.Path(id)
			if err != nil || got != path {
				t.Errorf("Path(%d) = %q, %v; want %q", id, got, err, path)
			}
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		if got, err := r.Path(1<<62 + 7); !errors.Is(err, ErrNotFound) {
			t.Errorf("Path(unknown) = %q, %v; want ErrNotFound", got, err)
		}
	})
}

func TestResolverRateLimit(t *testing.T) {
	root, ids := makeTree(t, "old")
	r := NewResolver(root, time.Minute, 0)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	walkedAt := func() time.Time {
		r.mu.RLock()
		defer r.mu.RUnlock()
		return r.walked
	}

	if _, err := r.Path(ids["/old"]); err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	newDir := filepath.Join(root, "new")
	if err := os.Mkdir(newDir, 0o755); err != nil {
		t.Fatal(err)
	}
	newID := inode(t, newDir)
	if newID <= ids["/old"] {
		t.Skipf("this filesystem does not hand out growing inode numbers (%d after %d)", newID, ids["/old"])
	}

	now = now.Add(30 * time.Second)
	if got, err := r.Path(newID); err != nil || got != "/new" {
		t.Fatalf("a cgroup newer than every known id must resolve at once: Path = %q, %v", got, err)
	}

	garbage := newID + 1<<40
	now = now.Add(time.Second)
	if _, err := r.Path(garbage); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Path(garbage) err = %v, want ErrNotFound", err)
	}
	if !walkedAt().Equal(now) {
		t.Fatal("a new largest id did not walk")
	}
	now = now.Add(time.Second)
	if _, err := r.Path(garbage); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Path(garbage) again: err = %v", err)
	}
	if walkedAt().Equal(now) {
		t.Fatal("an id already looked for walked again within the interval")
	}

	if err := os.Remove(newDir); err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if _, err := r.Path(newID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed cgroup still resolves after Refresh: err %v", err)
	}
	if walkedAt().Equal(now) {
		t.Error("the id of a removed cgroup walked again within the interval")
	}
	now = now.Add(time.Minute)
	if _, err := r.Path(newID); !errors.Is(err, ErrNotFound) || !walkedAt().Equal(now) {
		t.Errorf("after the interval a miss must walk: err %v", err)
	}
}

func TestResolverMissingRoot(t *testing.T) {
	r := NewResolver(filepath.Join(t.TempDir(), "nope"), 0, 0)
	_, err := r.Path(1)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Path on missing root error = %v, want ErrNotExist naming the root", err)
	}
	if _, err := r.Paths(); err == nil {
		t.Error("Paths on missing root: want error")
	}
}

func TestResolverPaths(t *testing.T) {
	root, ids := makeTree(t, "a/b")
	r := NewResolver(root, 0, 0)
	got, err := r.Paths()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 { // "/", "/a", "/a/b"
		t.Fatalf("Paths() = %v, want 3 entries", got)
	}
	for path, id := range ids {
		if got[id] != path {
			t.Errorf("Paths()[%d] = %q, want %q", id, got[id], path)
		}
	}
	got[12345] = "mutated"
	if _, err := r.Path(12345); err == nil {
		t.Error("Paths must return a copy")
	}
}

func TestResolverConcurrent(t *testing.T) {
	root, ids := makeTree(t, "x", "y/z")
	r := NewResolver(root, time.Nanosecond, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				for path, id := range ids {
					if got, err := r.Path(id); err != nil || got != path {
						t.Errorf("Path(%d) = %q, %v", id, got, err)
						return
					}
				}
				if (i+j)%10 == 0 {
					_, _ = r.Path(999999999)
				}
			}
		})
	}
	wg.Wait()
}

// TestRealCgroup2 resolves the test's own cgroup on the real hierarchy.
func TestRealCgroup2(t *testing.T) {
	testenv.Root(t)
	root, err := FindRoot(DefaultMountInfo)
	if err != nil {
		t.Fatalf("FindRoot: %v", err)
	}
	if root.Version != 2 {
		t.Skipf("skipping: no cgroup2 mount (found v1 at %s)", root.Path)
	}
	own := testenv.OwnCgroup2Path(t)
	id := inode(t, filepath.Join(root.Path, own))
	got, err := NewResolver(root.Path, 0, 0).Path(id)
	if err != nil {
		t.Fatalf("Path(%d): %v", id, err)
	}
	if got != own {
		t.Errorf("Path(%d) = %q, want our own cgroup %q", id, got, own)
	}
	if got, err := NewResolver(root.Path, 0, 0).Path(1); err != nil || got != "/" {
		t.Errorf("Path(1) = %q, %v; want the root", got, err)
	}
}

func BenchmarkRefreshReal(b *testing.B) {
	root, err := FindRoot(DefaultMountInfo)
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	r := NewResolver(root.Path, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Refresh(); err != nil {
			b.Fatal(err)
		}
	}
	paths, _ := r.Paths()
	b.ReportMetric(float64(len(paths)), "cgroups")
}

// BenchmarkRefresh walks a fake tree of 1000 cgroups (10 slices of 100).
func BenchmarkRefresh(b *testing.B) {
	root := b.TempDir()
	for i := range 1000 {
		dir := filepath.Join(root, fmt.Sprintf("s%d.slice", i/100), fmt.Sprintf("c%d.scope", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	r := NewResolver(root, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Refresh(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResolverGrace: a removed cgroup's id keeps resolving to its last path
// for the grace period, even after walks that no longer find it (another
// cgroup appearing triggers one), and stops after; Paths lists only the
// cgroups that exist.
func TestResolverGrace(t *testing.T) {
	root, ids := makeTree(t, "kubepods/pod-a", "kubepods/pod-b")
	r := NewResolver(root, time.Second, 5*time.Minute)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	gone := ids["/kubepods/pod-a"]
	if got, err := r.Path(gone); err != nil || got != "/kubepods/pod-a" {
		t.Fatalf("Path(pod-a) = %q, %v", got, err)
	}
	// pod-c first: tmpfs would give it pod-a's inode number (cgroupfs
	// never reuses an id).
	if err := os.Mkdir(filepath.Join(root, "kubepods/pod-c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "kubepods/pod-a")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := r.Refresh(); err != nil { // what a lookup of pod-c's new id does
		t.Fatal(err)
	}
	if got, err := r.Path(inode(t, filepath.Join(root, "kubepods/pod-c"))); err != nil || got != "/kubepods/pod-c" {
		t.Fatalf("Path(pod-c) = %q, %v", got, err)
	}
	now = now.Add(5*time.Minute - time.Second) // the grace counts from the walk that missed it
	if err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Path(gone); err != nil || got != "/kubepods/pod-a" {
		t.Errorf("within the grace period: Path(removed pod-a) = %q, %v; want its last path", got, err)
	}
	if paths, err := r.Paths(); err != nil || paths[gone] != "" || paths[ids["/kubepods/pod-b"]] == "" {
		t.Errorf("Paths() = %v, %v; want pod-b and not the removed pod-a", paths, err)
	}
	now = now.Add(time.Second)
	if got, err := r.Path(gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the grace period: Path(removed pod-a) = %q, %v; want ErrNotFound", got, err)
	}
	if err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.gone); n != 0 {
		t.Errorf("%d removed cgroups remembered past the grace period, want 0", n)
	}
}

// TestResolverGraceBounded: at most MaxGone removed cgroups are
// remembered, the most recently gone.
func TestResolverGraceBounded(t *testing.T) {
	r := NewResolver(t.TempDir(), time.Second, time.Hour)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	r.paths = map[uint64]string{1: "/first"}
	r.remember(map[uint64]string{}) // /first gone at 1000
	now = now.Add(time.Second)
	r.paths = map[uint64]string{}
	for id := range uint64(MaxGone) {
		r.paths[id+2] = fmt.Sprint("/c", id)
	}
	r.remember(map[uint64]string{})
	if n := len(r.gone); n != MaxGone {
		t.Fatalf("%d removed cgroups remembered, want MaxGone %d", n, MaxGone)
	}
	if _, ok := r.gone[1]; ok {
		t.Error("the longest gone cgroup was kept over more recent ones")
	}
}

// TestResolverNoGrace: grace 0 forgets a removed cgroup at the next walk.
func TestResolverNoGrace(t *testing.T) {
	root, ids := makeTree(t, "a")
	r := NewResolver(root, time.Second, 0)
	if _, err := r.Path(ids["/a"]); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Path(ids["/a"]); !errors.Is(err, ErrNotFound) {
		t.Errorf("Path(removed) = %q, %v; want ErrNotFound", got, err)
	}
}
