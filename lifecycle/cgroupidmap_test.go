package lifecycle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/cgroup"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func TestCheckCgroupIDMapLayout(t *testing.T) {
	hash := &config.CgroupIDMap{Name: "ids", Type: config.CgroupIDMapHash}
	storage := &config.CgroupIDMap{Name: "ids", Type: config.CgroupIDMapCgrpStorage}
	for _, tc := range []struct {
		name            string
		cfg             *config.CgroupIDMap
		typ             ebpf.MapType
		key, value      uint32
		wantErrContains []string
	}{
		{"hash u64", hash, ebpf.Hash, 8, 8, nil},
		{"hash u8", hash, ebpf.Hash, 8, 1, nil},
		{"lru hash", hash, ebpf.LRUHash, 8, 8, nil},
		{"lru hash u8", hash, ebpf.LRUHash, 8, 1, nil},
		{"per-CPU lru hash", hash, ebpf.LRUCPUHash, 8, 8, []string{"cgroup_id_map.name: map ids is a LRUCPUHash", "BPF_MAP_TYPE_HASH", "max_entries"}},
		{"per-CPU hash", hash, ebpf.PerCPUHash, 8, 8, []string{"is a PerCPUHash"}},
		{"hash of u32 keys", hash, ebpf.Hash, 4, 8, []string{"4-byte key, type hash needs 8"}},
		{"array", hash, ebpf.Array, 8, 8, []string{"is a Array", "BPF_MAP_TYPE_HASH"}},
		{"struct value", hash, ebpf.Hash, 8, 16, []string{"16-byte value"}},
		{"cgrp_storage", storage, ebpf.CgroupStorage, 4, 8, nil},
		{"old cgroup storage", storage, ebpf.CGroupStorage, 4, 8, []string{"BPF_MAP_TYPE_CGRP_STORAGE"}},
		{"cgrp_storage keyed by id", storage, ebpf.CgroupStorage, 8, 8, []string{"8-byte key, type cgrp_storage needs 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCgroupIDMapLayout(tc.cfg, tc.typ, tc.key, tc.value)
			if tc.wantErrContains == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.wantErrContains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestCheckCgroupIDMapSpec(t *testing.T) {
	spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{
		"ids":   {Name: "ids", Type: ebpf.Hash, KeySize: 8, ValueSize: 8},
		"other": {Name: "other", Type: ebpf.Array, KeySize: 4, ValueSize: 8},
	}}
	if err := checkCgroupIDMapSpec(spec, &config.CgroupIDMap{Name: "ids", Type: config.CgroupIDMapHash}); err != nil {
		t.Errorf("good map: %v", err)
	}
	err := checkCgroupIDMapSpec(spec, &config.CgroupIDMap{Name: "nope", Type: config.CgroupIDMapHash})
	if err == nil || !strings.Contains(err.Error(), `no map named "nope"`) || !strings.Contains(err.Error(), "ids") {
		t.Errorf("missing map: err = %v, want it named along with the maps there are", err)
	}
	// ebpf_exporter's own cgroup-id-map example declares an LRU hash.
	spec.Maps["lru"] = &ebpf.MapSpec{Name: "lru", Type: ebpf.LRUHash, KeySize: 8, ValueSize: 8}
	if err := checkCgroupIDMapSpec(spec, &config.CgroupIDMap{Name: "lru", Type: config.CgroupIDMapHash}); err != nil {
		t.Errorf("LRU hash: %v", err)
	}
	spec.Maps["percpu"] = &ebpf.MapSpec{Name: "percpu", Type: ebpf.LRUCPUHash, KeySize: 8, ValueSize: 8}
	cfg := &config.Config{Name: "cg", Path: "/etc/ebpfmon/cg.yaml", BPFPath: "/etc/ebpfmon/cg.bpf.o",
		CgroupIDMap: &config.CgroupIDMap{Name: "percpu", Type: config.CgroupIDMapHash}}
	err = CheckSpec(cfg, spec)
	for _, want := range []string{"/etc/ebpfmon/cg.yaml", "cgroup_id_map.name: map percpu is a LRUCPUHash", "BPF_MAP_TYPE_HASH"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("per-CPU LRU hash at spec check: err = %v, want it to contain %q", err, want)
		}
	}
}

func TestDiffIDs(t *testing.T) {
	for _, tc := range []struct {
		name         string
		have, want   map[uint64]string
		add, removed []uint64
	}{
		{"empty", nil, nil, nil, nil},
		{"first fill", nil, map[uint64]string{3: "/c", 1: "/a"}, []uint64{1, 3}, nil},
		{"steady", map[uint64]string{1: "/a"}, map[uint64]string{1: "/a"}, nil, nil},
		{"churn", map[uint64]string{1: "/a", 2: "/b"}, map[uint64]string{2: "/b", 5: "/e"}, []uint64{5}, []uint64{1}},
		{"all gone", map[uint64]string{9: "/i", 4: "/d"}, map[uint64]string{}, nil, []uint64{4, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			add, remove := diffIDs(tc.have, tc.want)
			if !slices.Equal(add, tc.add) || !slices.Equal(remove, tc.removed) {
				t.Errorf("diffIDs = %v, %v; want %v, %v", add, remove, tc.add, tc.removed)
			}
		})
	}
}

func TestOne(t *testing.T) {
	ne := binary.NativeEndian
	if b := one(1); len(b) != 1 || b[0] != 1 {
		t.Errorf("one(1) = %v", b)
	}
	if b := one(2); len(b) != 2 || ne.Uint16(b) != 1 {
		t.Errorf("one(2) = %v", b)
	}
	if b := one(4); len(b) != 4 || ne.Uint32(b) != 1 {
		t.Errorf("one(4) = %v", b)
	}
	if b := one(8); len(b) != 8 || ne.Uint64(b) != 1 {
		t.Errorf("one(8) = %v", b)
	}
}

// logBuffer is a slog handler target safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})).With("config", "idmaptest")
}

// ino returns the inode number of path: its cgroup id on cgroupfs.
func ino(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// hashKeys returns the keys of a cgroup id hash map, checking every value is 1.
func hashKeys(t *testing.T, m *ebpf.Map) map[uint64]bool {
	t.Helper()
	// The watcher may change the map meanwhile, which can abort an
	// iteration: start over, a bounded number of times.
	for range 100 {
		got := map[uint64]bool{}
		var k, v uint64
		it := m.Iterate()
		for it.Next(&k, &v) {
			if v != 1 {
				t.Errorf("map[%d] = %d, want 1", k, v)
			}
			got[k] = true
		}
		err := it.Err()
		if errors.Is(err, ebpf.ErrIterationAborted) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	t.Fatal("iterating the map: aborted 100 times in a row")
	return nil
}

// waitFor polls cond every few milliseconds for up to limit and returns
// how long it took to hold, or fails the test.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func newHashMap(t *testing.T, maxEntries uint32) *ebpf.Map {
	t.Helper()
	return newIDMap(t, ebpf.Hash, maxEntries)
}

// newIDMap returns a cgroup id map of type typ (Hash or LRUHash).
func newIDMap(t *testing.T, typ ebpf.MapType, maxEntries uint32) *ebpf.Map {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "cgroup_ids", Type: typ, KeySize: 8, ValueSize: 8, MaxEntries: maxEntries})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestCgroupIDMapHash fills a real hash map from a fake hierarchy (a temp
// dir, whose inode numbers stand for cgroup ids) and checks that cgroups
// made and removed reach the map within the interval.
func TestCgroupIDMapHash(t *testing.T) {
	testenv.Privileged(t)
	const interval = 200 * time.Millisecond
	// One interval for the scan, plus room for a loaded machine.
	const propagation = interval + 300*time.Millisecond
	root := t.TempDir()
	for _, d := range []string{"system.slice/a.service", "system.slice/b.service", "user.slice/user-1000.slice"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.CgroupIDMap{Name: "cgroup_ids", Type: config.CgroupIDMapHash,
		Regexps: []string{`^/system\.slice/[^/]+\.service$`, `^/kubepods\.slice/`}}
	m := newHashMap(t, 64)
	var logs logBuffer
	c, err := startCgroupIDMap(cfg, m, root, interval, nil, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	a, b := ino(t, root+"/system.slice/a.service"), ino(t, root+"/system.slice/b.service")
	if got, want := hashKeys(t, m), map[uint64]bool{a: true, b: true}; !maps.Equal(got, want) {
		t.Fatalf("after start the map holds %v, want %v (a, b)", got, want)
	}
	if n := strings.Count(logs.String(), "regexp matches no cgroup"); n != 1 ||
		!strings.Contains(logs.String(), `regexp=^/kubepods\.slice/`) || !strings.Contains(logs.String(), "config=idmaptest") {
		t.Errorf("want one warning naming the config and the regexp that matches nothing, got %d in:\n%s", n, logs.String())
	}

	// Let the confirmation scan after the first one pass.
	time.Sleep(2 * interval)
	if err := os.Mkdir(root+"/system.slice/c.service", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(root+"/user.slice/user-1000.slice/session-1.scope", 0o755); err != nil {
		t.Fatal(err)
	}
	cid := ino(t, root+"/system.slice/c.service")
	took := waitFor(t, propagation, "new cgroup added", func() bool { return hashKeys(t, m)[cid] })
	t.Logf("added after %v", took)

	if err := os.Remove(root + "/system.slice/a.service"); err != nil {
		t.Fatal(err)
	}
	took = waitFor(t, propagation, "removed cgroup deleted", func() bool { return !hashKeys(t, m)[a] })
	t.Logf("removed after %v", took)
	if got, want := hashKeys(t, m), map[uint64]bool{b: true, cid: true}; !maps.Equal(got, want) {
		t.Errorf("map holds %v, want %v (b, c; not the user.slice scope)", got, want)
	}

	// A regexp that starts matching later is filled in, without another warning.
	if err := os.MkdirAll(root+"/kubepods.slice/pod1", 0o755); err != nil {
		t.Fatal(err)
	}
	pod := ino(t, root+"/kubepods.slice/pod1")
	waitFor(t, propagation, "cgroup of the late regexp added", func() bool { return hashKeys(t, m)[pod] })
	if n := strings.Count(logs.String(), "regexp matches no cgroup"); n != 1 {
		t.Errorf("%d unmatched-regexp warnings, want the first one only", n)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := os.Mkdir(root+"/system.slice/d.service", 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * interval)
	if hashKeys(t, m)[ino(t, root+"/system.slice/d.service")] {
		t.Error("a cgroup made after Close reached the map")
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}

// TestCgroupIDMapFull checks that a cgroup the map has no room for is
// logged once, not at every scan, and gets in once there is room.
func TestCgroupIDMapFull(t *testing.T) {
	testenv.Privileged(t)
	const interval = 50 * time.Millisecond
	root := t.TempDir()
	for _, d := range []string{"a.service", "b.service"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := newHashMap(t, 1)
	var logs logBuffer
	c, err := startCgroupIDMap(&config.CgroupIDMap{Name: "cgroup_ids", Type: config.CgroupIDMapHash, Regexps: []string{`\.service$`}},
		m, root, interval, nil, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := len(hashKeys(t, m)); n != 1 {
		t.Fatalf("%d cgroups in a map of 1 entry", n)
	}
	for i := range 4 { // scans, each retrying the cgroup left out
		if err := os.Mkdir(filepath.Join(root, fmt.Sprintf("other%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * interval)
	}
	if n := strings.Count(logs.String(), "the map is full"); n != 1 || !strings.Contains(logs.String(), "max_entries=1") {
		t.Errorf("want one full-map warning naming max_entries, got %d:\n%s", n, logs.String())
	}
	var in uint64
	for k := range hashKeys(t, m) {
		in = k
	}
	// Remove the cgroup in the map; the other one must take its place.
	gone, left := root+"/a.service", ino(t, root+"/b.service")
	if in != ino(t, gone) {
		gone, left = root+"/b.service", ino(t, root+"/a.service")
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "the cgroup left out added once there is room", func() bool { return hashKeys(t, m)[left] })
}

// TestCgroupIDMapFullReported is the reproduction of the silent loss: 40
// real cgroups (under the cgroup2 mount) match, the map has room for 16.
// With a hash and with an LRU hash (which would evict to make room), the
// 24 left out must show in the health (full, errors) and in one warning
// naming the fix, and the 16 in the map must stay there, until removing
// cgroups makes room for every one still matching.
func TestCgroupIDMapFullReported(t *testing.T) {
	testenv.Privileged(t)
	root := cgroup2Root(t)
	for _, tc := range []struct {
		typ ebpf.MapType
		fix string // what the full-map warning recommends
	}{
		{ebpf.Hash, "raise max_entries"},
		{ebpf.LRUHash, "declare the map BPF_MAP_TYPE_HASH with max_entries above the number of matching cgroups"},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) { testCgroupIDMapFull(t, root.Path, tc.typ, tc.fix) })
	}
}

// testCgroupIDMapFull is TestCgroupIDMapFullReported for one map type.
func testCgroupIDMapFull(t *testing.T, root string, typ ebpf.MapType, fix string) {
	const matching, maxEntries, kept = 40, 16, 10
	name := fmt.Sprintf("/ebpfmon-idmap-full-%s-%d", typ, os.Getpid())
	dir := root + name
	t.Cleanup(func() {
		for i := range matching {
			os.Remove(fmt.Sprintf("%s/c%02d", dir, i))
		}
		os.Remove(dir)
	})
	if err := os.Mkdir(dir, 0o755); err != nil {
		testenv.Unavailable(t, "create a cgroup: %v", err)
	}
	ids := map[uint64]bool{}
	for i := range matching {
		p := fmt.Sprintf("%s/c%02d", dir, i)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		ids[ino(t, p)] = true
	}
	cfg := &config.CgroupIDMap{Name: "cgroup_ids", Type: config.CgroupIDMapHash, Regexps: []string{"^" + name + "/c"}}
	m := newIDMap(t, typ, maxEntries)
	var logs logBuffer
	closer, err := startCgroupIDMap(cfg, m, root, 100*time.Millisecond, nil, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	u := &Unit{cgroupIDMap: closer}
	in := hashKeys(t, m)
	if len(in) != maxEntries {
		t.Fatalf("%d cgroups in a map of %d entries", len(in), maxEntries)
	}
	for id := range in {
		if !ids[id] {
			t.Errorf("id %d in the map is none of the test's cgroups", id)
		}
	}
	h, ok := u.cgroupIDMapHealth()
	if !ok || !h.Full || h.Map != "cgroup_ids" || h.UpdateErrors < matching-maxEntries {
		t.Errorf("health = %+v, %v; want full, errors >= %d", h, ok, matching-maxEntries)
	}
	if n := strings.Count(logs.String(), "the map is full"); n != 1 ||
		!strings.Contains(logs.String(), fmt.Sprintf("left_out=%d max_entries=%d", matching-maxEntries, maxEntries)) ||
		!strings.Contains(logs.String(), fix) {
		t.Errorf("want one warning with %d left out of max_entries %d and %q, got %d:\n%s", matching-maxEntries, maxEntries, fix, n, logs.String())
	}
	if n, want := strings.Count(logs.String(), "the map is an LRU hash"), btoi(typ == ebpf.LRUHash); n != want {
		t.Errorf("%d info lines about an LRU hash at load, want %d:\n%s", n, want, logs.String())
	}

	// A scan while full must not trade cgroups in the map for others.
	if err := os.Mkdir(dir+"/other", 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir + "/other")
	time.Sleep(300 * time.Millisecond) // a scan or two; the check below holds either way
	if got := hashKeys(t, m); !maps.Equal(got, in) {
		t.Errorf("a scan of a full map changed its contents: %v, was %v", got, in)
	}

	// Keep the last cgroups, which were left out: they must all get in.
	left := map[uint64]bool{}
	for i := matching - kept; i < matching; i++ {
		left[ino(t, fmt.Sprintf("%s/c%02d", dir, i))] = true
	}
	for i := range matching - kept {
		if err := os.Remove(fmt.Sprintf("%s/c%02d", dir, i)); err != nil {
			t.Fatal(err)
		}
	}
	if typ == ebpf.LRUHash {
		// An LRU hash may evict before it is full (its per-CPU free lists,
		// seen on 6.1 with 16 entries): then the rest must be reported,
		// never silently missing.
		waitFor(t, 10*time.Second, "every cgroup still matching in the map, or full reported", func() bool {
			h, _ := u.cgroupIDMapHealth()
			return maps.Equal(hashKeys(t, m), left) || h.Full
		})
		if h, _ := u.cgroupIDMapHealth(); h.Full {
			t.Logf("LRU hash: %d of %d cgroups fit after eviction, the rest reported full", len(hashKeys(t, m)), kept)
			return
		}
	}
	waitFor(t, 10*time.Second, "every cgroup still matching in the map", func() bool { return maps.Equal(hashKeys(t, m), left) })
	waitFor(t, 10*time.Second, "full cleared", func() bool { h, _ := u.cgroupIDMapHealth(); return !h.Full })
	if !strings.Contains(logs.String(), "every matching cgroup is in the map again") {
		t.Errorf("no info when the map has room again:\n%s", logs.String())
	}
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCgroupIDMapLRUEvicted makes the kernel evict cgroups from an LRU
// cgroup_id_map (another writer fills it, as a BPF program sharing the map
// would): the next scan must find them missing and report the map full
// while there is no room, then put them all back once there is.
func TestCgroupIDMapLRUEvicted(t *testing.T) {
	testenv.Privileged(t)
	const interval = 50 * time.Millisecond
	const maxEntries, foreign = 8, 8
	root := t.TempDir()
	ours := map[uint64]bool{}
	for _, d := range []string{"a.service", "b.service", "c.service", "d.service"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		ours[ino(t, filepath.Join(root, d))] = true
	}
	m := newIDMap(t, ebpf.LRUHash, maxEntries)
	var logs logBuffer
	c, err := startCgroupIDMap(&config.CgroupIDMap{Name: "cgroup_ids", Type: config.CgroupIDMapHash, Regexps: []string{`\.service$`}},
		m, root, interval, nil, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u := &Unit{cgroupIDMap: c}
	if got := hashKeys(t, m); !maps.Equal(got, ours) {
		t.Fatalf("after start the map holds %v, want %v", got, ours)
	}
	// rescan makes the watcher scan again, with a directory no regexp matches.
	n := 0
	rescan := func() {
		n++
		if err := os.Mkdir(filepath.Join(root, fmt.Sprintf("other%d", n)), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	for i := range uint64(foreign) {
		if err := m.Update(1<<62+i, uint64(1), ebpf.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	evicted := 0
	for id := range ours {
		if !hashKeys(t, m)[id] {
			evicted++
		}
	}
	if evicted == 0 {
		t.Fatalf("the kernel evicted none of ours: %v", hashKeys(t, m))
	}
	rescan()
	// Either every cgroup of ours is back (the kernel's LRU had room: on
	// 5.10 and 6.1 its per-CPU free lists leave some), or the map is
	// reported full with a warning: never a silent loss.
	allOurs := func() bool {
		in := hashKeys(t, m)
		for id := range ours {
			if !in[id] {
				return false
			}
		}
		return true
	}
	full := false
	waitFor(t, 5*time.Second, "evictions seen", func() bool {
		h, _ := u.cgroupIDMapHealth()
		full = h.Full
		return full || allOurs()
	})
	if full && (!strings.Contains(logs.String(), "the map is full") || !strings.Contains(logs.String(), "BPF_MAP_TYPE_HASH")) {
		t.Errorf("no warning naming the fix for the evicted cgroups:\n%s", logs.String())
	}

	for i := range uint64(foreign) {
		if err := m.Delete(1<<62 + i); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			t.Fatal(err)
		}
	}
	rescan()
	// With room again, every cgroup must be back and full cleared; an LRU
	// this small may still evict on insert (per-CPU free lists, seen on
	// 5.10), and then full must stay reported.
	stillFull := false
	waitFor(t, 5*time.Second, "evicted cgroups put back, or full still reported", func() bool {
		h, _ := u.cgroupIDMapHealth()
		stillFull = h.Full
		return h.Full || maps.Equal(hashKeys(t, m), ours)
	})
	if stillFull { // maybe from before the rescan: let it run, then look again
		time.Sleep(10 * interval)
		h, _ := u.cgroupIDMapHealth()
		stillFull = h.Full
	}
	if !stillFull {
		if got := hashKeys(t, m); !maps.Equal(got, ours) {
			t.Errorf("full cleared, but the map holds %v, want %v", got, ours)
		}
	}
	t.Logf("%d of %d evicted by %d foreign keys (reported full: %v); after they left, reported full: %v", evicted, len(ours), foreign, full, stillFull)
}

// cgroup2Root finds the cgroup2 mount the tests make real cgroups under.
func cgroup2Root(t *testing.T) cgroup.Root {
	t.Helper()
	root, err := cgroup.FindRoot(cgroup.DefaultMountInfo)
	if err != nil {
		t.Fatal(err)
	}
	if root.Version != 2 {
		testenv.Unavailable(t, "no cgroup2 mount (found v1 at %s)", root.Path)
	}
	return root
}

// TestCgroupIDMapCgrpStorage fills cgroup local storage for real cgroups.
func TestCgroupIDMapCgrpStorage(t *testing.T) {
	testenv.Privileged(t)
	root := cgroup2Root(t)
	if err := features.HaveMapType(ebpf.CgroupStorage); err != nil {
		// A kernel limit, not a broken machine: declared, not a failure.
		t.Skipf("kernel lacks BPF_MAP_TYPE_CGRP_STORAGE (Linux 6.2+): %v", err)
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "cgroup_storage", Type: ebpf.CgroupStorage, KeySize: 4, ValueSize: 8, Flags: unix.BPF_F_NO_PREALLOC,
		Key: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}, Value: &btf.Int{Name: "u64", Size: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	name := fmt.Sprintf("/ebpfmon-idmap-test-%d", os.Getpid())
	dir := root.Path + name
	t.Cleanup(func() {
		for _, d := range []string{"/a", "/b", "/c", ""} {
			os.Remove(dir + d)
		}
	})
	for _, d := range []string{"", "/a", "/b"} {
		if err := os.Mkdir(dir+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// value returns the storage of the cgroup at path, or false.
	value := func(path string) (uint64, bool) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var v uint64
		err = m.Lookup(uint32(f.Fd()), &v)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return 0, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return v, true
	}

	const interval = 100 * time.Millisecond
	var logs logBuffer
	cfg := &config.CgroupIDMap{Name: "cgroup_storage", Type: config.CgroupIDMapCgrpStorage,
		Regexps: []string{"^" + name + "/(a|c)$"}}
	c, err := startCgroupIDMap(cfg, m, root.Path, interval, nil, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, ok := value(dir + "/a"); !ok || v != 1 {
		t.Errorf("storage of a = %d, %v; want 1 right after start", v, ok)
	}
	if _, ok := value(dir + "/b"); ok {
		t.Error("b, which matches no regexp, has storage")
	}
	if err := os.Mkdir(dir+"/c", 0o755); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, interval+500*time.Millisecond, "new cgroup c gets storage", func() bool { v, ok := value(dir + "/c"); return ok && v == 1 })
	t.Logf("storage set after %v", took)
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("warnings logged:\n%s", logs.String())
	}
}

// TestCgroupIDMapReadKeys checks that both ways of reading an LRU map's
// keys (batches, and one at a time for kernels without them) find every
// key, with each value size a cgroup id map may have.
func TestCgroupIDMapReadKeys(t *testing.T) {
	testenv.Privileged(t)
	for _, size := range cgroupIDMapValueSizes {
		t.Run(fmt.Sprintf("value%d", size), func(t *testing.T) {
			const n = 100
			m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.LRUHash, KeySize: 8, ValueSize: size, MaxEntries: 2 * n})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			want := map[uint64]bool{}
			for i := range uint64(n) {
				if err := m.Update(i<<40+7, one(size), ebpf.UpdateAny); err != nil {
					t.Fatal(err)
				}
				want[i<<40+7] = true
			}
			c := &cgroupIDMap{m: m, present: map[uint64]bool{}}
			for name, read := range map[string]func() error{"batch": c.batchKeys, "iterate": c.iterateKeys} {
				clear(c.present)
				if err := read(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !maps.Equal(c.present, want) {
					t.Errorf("%s read %d keys, want the %d written", name, len(c.present), n)
				}
			}
		})
	}
}

// BenchmarkCgroupIDMapApply10k is the work a scan of 10k cgroups adds on
// top of cgroup.Scan when nothing changed (every path already matched
// once): the diff against the map's contents, and for an LRU hash the
// read of its keys that finds evictions. Every cgroup matches: 10k in the
// map, the most there is to read.
func BenchmarkCgroupIDMapApply10k(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for _, typ := range []ebpf.MapType{ebpf.Hash, ebpf.LRUHash} {
		b.Run(typ.String(), func(b *testing.B) {
			m, err := ebpf.NewMap(&ebpf.MapSpec{Type: typ, KeySize: 8, ValueSize: 8, MaxEntries: 10000})
			if err != nil {
				b.Skip(err)
			}
			defer m.Close()
			paths := map[uint64]string{}
			for i := range uint64(10000) {
				paths[i+100] = fmt.Sprintf("/kubepods.slice/pod%d.slice/cri-containerd-%064d.scope", i/10, i)
			}
			cfg := &config.CgroupIDMap{Name: "ids", Type: config.CgroupIDMapHash, Regexps: []string{`^/kubepods\.slice/`}}
			sel, err := newPathSelection(cfg)
			if err != nil {
				b.Fatal(err)
			}
			c := &cgroupIDMap{
				cfg: cfg, m: m, value: one(8), sel: sel,
				inMap: map[uint64]string{}, failed: map[uint64]bool{},
				lru: typ == ebpf.LRUHash, present: map[uint64]bool{},
				log: slog.New(slog.DiscardHandler),
			}
			c.apply(paths)
			b.ReportAllocs()
			for b.Loop() {
				c.apply(paths)
			}
			b.ReportMetric(float64(len(c.inMap)), "in_map")
		})
	}
}

// BenchmarkCgroupIDMapReadKeys10k is what finding evictions in an LRU map
// of 10k cgroups costs a scan: one read of its keys, in batches and, for
// kernels without batch lookups, one key at a time.
func BenchmarkCgroupIDMapReadKeys10k(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.LRUHash, KeySize: 8, ValueSize: 8, MaxEntries: 10000})
	if err != nil {
		b.Skip(err)
	}
	defer m.Close()
	for i := range uint64(10000) {
		if err := m.Update(i+100, uint64(1), ebpf.UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	c := &cgroupIDMap{m: m, present: map[uint64]bool{}, log: slog.New(slog.DiscardHandler)}
	for name, read := range map[string]func() error{"batch": c.batchKeys, "iterate": c.iterateKeys} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(c.present)
				if err := read(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.present)), "keys")
		})
	}
}
