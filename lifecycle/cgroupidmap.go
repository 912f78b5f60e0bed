package lifecycle

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/cgroup"
	"github.com/ebpfmon/ebpfmon/config"
)

// DefaultCgroupIDMapInterval is the default for startCgroupIDMap's
// interval: how long a new or removed cgroup may take to reach the map.
const DefaultCgroupIDMapInterval = time.Second

// cgroupIDMapValueSizes are the value sizes a cgroup id map may have; the
// value written is 1 in that many bytes (u8, u16, u32 or u64).
var cgroupIDMapValueSizes = []uint32{1, 2, 4, 8}

// checkCgroupIDMapSpec checks, without the kernel, the map a config's
// cgroup_id_map names: see checkCgroupIDMapLayout.
func checkCgroupIDMapSpec(spec *ebpf.CollectionSpec, c *config.CgroupIDMap) error {
	m, ok := spec.Maps[c.Name]
	if !ok {
		return fmt.Errorf("cgroup_id_map.name: no map named %q in the object (maps: %s)", c.Name, mapNames(spec))
	}
	return checkCgroupIDMapLayout(c, m.Type, m.KeySize, m.ValueSize)
}

// checkCgroupIDMapLayout checks a cgroup id map's type and sizes against
// its config: type hash is a hash or an LRU hash keyed by the u64 cgroup
// id (an LRU hash, as in ebpf_exporter's example, evicts: ebpfmon looks for
// evictions after every scan, see addLRU); type cgrp_storage is cgroup
// local storage (BPF_MAP_TYPE_CGRP_STORAGE, Linux 6.2+), whose user-space
// key is a cgroup fd (int). Values are 1, 2, 4 or 8 bytes, set to 1.
func checkCgroupIDMapLayout(c *config.CgroupIDMap, typ ebpf.MapType, keySize, valueSize uint32) error {
	var errs []error
	var wantKey uint32
	switch c.Type {
	case config.CgroupIDMapHash:
		wantKey = 8
		if typ != ebpf.Hash && typ != ebpf.LRUHash {
			errs = append(errs, fmt.Errorf("cgroup_id_map.name: map %s is a %s, but type hash needs a map keyed by the u64 cgroup id: "+
				"declare it BPF_MAP_TYPE_HASH (or BPF_MAP_TYPE_LRU_HASH) with max_entries above the number of matching cgroups", c.Name, typ))
		}
	case config.CgroupIDMapCgrpStorage:
		wantKey = 4
		if typ != ebpf.CgroupStorage {
			errs = append(errs, fmt.Errorf("cgroup_id_map: map %s is a %s, but type cgrp_storage needs BPF_MAP_TYPE_CGRP_STORAGE (Linux 6.2+)", c.Name, typ))
		}
	default:
		return fmt.Errorf("cgroup_id_map.type: unknown %q", c.Type)
	}
	if keySize != wantKey {
		errs = append(errs, fmt.Errorf("cgroup_id_map: map %s has a %d-byte key, type %s needs %d", c.Name, keySize, c.Type, wantKey))
	}
	if !slices.Contains(cgroupIDMapValueSizes, valueSize) {
		errs = append(errs, fmt.Errorf("cgroup_id_map: map %s has a %d-byte value, want 1, 2, 4 or 8 (ebpfmon writes 1)", c.Name, valueSize))
	}
	return errors.Join(errs...)
}

// cgroupIDMap keeps a BPF map filled with the cgroups a selection picks:
// those whose path matches one of a config's regexps, or those of the pods
// its selector selects.
type cgroupIDMap struct {
	cfg     *config.CgroupIDMap
	m       *ebpf.Map
	root    string
	sel     selection
	value   []byte
	log     *slog.Logger
	watcher *cgroup.Watcher

	// Only the updating goroutine (and start, before it runs) touches these.
	paths   map[uint64]string // the last scan (shared with the watcher: read only)
	inMap   map[uint64]string // cgroups written to the map, with their path
	failed  map[uint64]bool   // cgroups whose update failed and was logged
	scanErr bool              // the last scan failed and was logged
	warned  time.Time         // when a full map was last logged

	// An LRU hash evicts: ebpfmon reads its keys after every scan.
	lru     bool
	present map[uint64]bool // the keys of the last read, reused
	keyBuf  []uint64        // batch buffers for reading the keys
	valBuf  any             // a slice of keyBuf's length, of the value's size
	readErr bool            // the last read of the keys failed and was logged

	full         atomic.Bool   // the last scan left matching cgroups out for lack of room
	updateErrors atomic.Uint64 // failed updates and deletes

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// selection decides which cgroups belong in the map.
type selection interface {
	// want returns the cgroups of paths (every cgroup there is, by id)
	// that belong in the map.
	want(paths map[uint64]string) map[uint64]string
	// moved reports whether want may answer otherwise than it last did
	// for the same paths: the pods it selects from have changed.
	moved() bool
}

// pathSelection selects cgroups whose path matches one of its regexps.
type pathSelection struct {
	exprs   []string
	regexps []*regexp.Regexp
	matches map[uint64]match // every cgroup of the last want: does its path match
}

// match caches whether a cgroup's path matches: cgroup2 paths never change
// and ids are not reused, but the path is kept to be sure.
type match struct {
	path string
	ok   bool
}

// newPathSelection compiles cfg's regexps.
func newPathSelection(cfg *config.CgroupIDMap) (*pathSelection, error) {
	s := &pathSelection{exprs: cfg.Regexps, matches: map[uint64]match{}}
	for i, expr := range cfg.Regexps {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("cgroup_id_map.regexps[%d]: %w", i, err)
		}
		s.regexps = append(s.regexps, re)
	}
	return s, nil
}

func (s *pathSelection) want(paths map[uint64]string) map[uint64]string {
	matches := make(map[uint64]match, len(paths))
	want := map[uint64]string{}
	for id, p := range paths {
		m, seen := s.matches[id]
		if !seen || m.path != p {
			m = match{path: p, ok: s.matchesPath(p)}
		}
		matches[id] = m
		if m.ok {
			want[id] = p
		}
	}
	s.matches = matches
	return want
}

// moved is false: paths alone decide.
func (s *pathSelection) moved() bool { return false }

// startCgroupIDMap checks m against cfg, fills it with the ids of the
// cgroups under root (the cgroup2 mount) whose path relative to root
// ("/system.slice/cron.service", as the cgroup decoder shows them) matches
// one of cfg.Regexps, or, with cfg.Selector, that belong to a selected pod
// (see podSelection), and keeps it up to date in a goroutine until Close,
// which stops that goroutine and waits for it. With a selector the map
// also follows the pods: it is brought in line at the first interval tick
// after the pod cache changed (a pod added, relabelled or gone).
//
// The first fill is done before startCgroupIDMap returns, so that programs
// attached afterwards see the map filled from their first event. Later
// cgroups reach the map within interval (<= 0 means
// DefaultCgroupIDMapInterval) of their mkdir, and removed ones leave it as
// fast; see [cgroup.Watcher] for how and at what cost. For type hash the
// key is the cgroup id; for cgrp_storage the cgroup's local storage is set
// through an fd of its directory, and the kernel frees it with the cgroup.
//
// A regexp that matches no cgroup at start is not an error: it is logged
// once, as a warning naming it. A cgroup that cannot be written is retried
// at every later scan and counted (see cgroupIDMapHealth); a full map is
// logged at most every fullWarnEvery, other failures once per cgroup. An
// LRU hash is read back at every scan to find the cgroups the kernel
// evicted (see addLRU). log should carry the config's name.
//
// With a selector, pods says which pod a cgroup belongs to and whether it
// is selected (see podSelection); it must be online. Without one it is
// unused and may be nil.
func startCgroupIDMap(cfg *config.CgroupIDMap, m *ebpf.Map, root string, interval time.Duration, pods podSource, log *slog.Logger) (io.Closer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("map", cfg.Name)
	if m == nil {
		return nil, fmt.Errorf("cgroup_id_map: no map named %q", cfg.Name)
	}
	if err := checkCgroupIDMapLayout(cfg, m.Type(), m.KeySize(), m.ValueSize()); err != nil {
		return nil, err
	}
	sel, err := newSelection(cfg, pods, log)
	if err != nil {
		return nil, err
	}
	c := &cgroupIDMap{
		cfg: cfg, m: m, root: root, sel: sel, value: one(m.ValueSize()), log: log,
		inMap: map[uint64]string{}, failed: map[uint64]bool{},
		lru: m.Type() == ebpf.LRUHash, present: map[uint64]bool{},
		done: make(chan struct{}),
	}
	if c.lru {
		log.Info("cgroup_id_map: the map is an LRU hash: the kernel may evict cgroups ebpfmon put there, even before it is full, "+
			"and they go unfiltered until ebpfmon notices at its next scan and puts them back; BPF_MAP_TYPE_HASH never evicts "+
			"(declare it so, with max_entries above the number of matching cgroups)", "max_entries", m.MaxEntries())
	}
	if interval <= 0 {
		interval = DefaultCgroupIDMapInterval
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(root, &fs); err == nil && fs.Type != unix.CGROUP2_SUPER_MAGIC {
		log.Warn("cgroup_id_map: the cgroup root is not a cgroup2 filesystem: the ids written will not be those BPF programs see",
			"root", root)
	}
	w, err := cgroup.NewWatcher(root, interval, log)
	if err != nil {
		return nil, fmt.Errorf("cgroup_id_map %s: %w", cfg.Name, err)
	}
	c.watcher = w
	c.paths = w.Paths()
	if ps, ok := sel.(*pathSelection); ok {
		ps.warnUnmatched(c.paths, root, log)
	}
	c.apply(c.paths)
	attrs := []any{"root", root, "cgroups", len(c.paths), "matching", len(c.inMap), "interval", interval, "inotify", !w.Polling()}
	if ps, ok := sel.(*podSelection); ok {
		attrs = append(attrs, ps.logAttrs()...)
	}
	log.Info("cgroup_id_map filled", attrs...)

	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx, interval)
	return c, nil
}

// newSelection returns the selection cfg asks for: its selector's, or its
// regexps'.
func newSelection(cfg *config.CgroupIDMap, pods podSource, log *slog.Logger) (selection, error) {
	if cfg.Selector == nil {
		return newPathSelection(cfg)
	}
	return newPodSelection(cfg.Selector, pods, log)
}

// one returns the value 1 as a native-endian integer of size bytes.
func one(size uint32) []byte {
	b := make([]byte, size)
	switch size {
	case 1:
		b[0] = 1
	case 2:
		binary.NativeEndian.PutUint16(b, 1)
	case 4:
		binary.NativeEndian.PutUint32(b, 1)
	case 8:
		binary.NativeEndian.PutUint64(b, 1)
	}
	return b
}

// Close stops keeping the map up to date and waits for the goroutine that
// does it. The map keeps its entries.
func (c *cgroupIDMap) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancel()
		<-c.done
		err = c.watcher.Close()
	})
	return err
}

// scanResult is what one Watcher.Next returned.
type scanResult struct {
	paths map[uint64]string
	err   error
}

// run applies every scan of the watcher and, every interval, what the
// selection says has moved (pods relabelled, added or gone), until ctx
// ends and the scanning goroutine has returned.
func (c *cgroupIDMap) run(ctx context.Context, interval time.Duration) {
	defer close(c.done)
	scans := make(chan scanResult)
	go c.scan(ctx, scans)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-scans:
			if !ok {
				return
			}
			c.applyScan(r)
		case <-tick.C:
			if c.sel.moved() {
				c.apply(c.paths)
			}
		}
	}
}

// scan sends every scan of the watcher to out until ctx ends, then closes
// out: Watcher.Next blocks until the hierarchy changes, and run must also
// hear the ticks meanwhile.
func (c *cgroupIDMap) scan(ctx context.Context, out chan<- scanResult) {
	defer close(out)
	for {
		paths, err := c.watcher.Next(ctx)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- scanResult{paths, err}:
		case <-ctx.Done():
			return
		}
	}
}

// applyScan applies a scan, or logs why it failed (once until one works).
func (c *cgroupIDMap) applyScan(r scanResult) {
	switch {
	case r.err != nil:
		if !c.scanErr {
			c.log.Warn("cgroup_id_map: cannot scan cgroups, the map is not updated until it works again", "err", r.err)
			c.scanErr = true
		}
		return
	case c.scanErr:
		c.log.Info("cgroup_id_map: scanning cgroups works again")
		c.scanErr = false
	}
	c.paths = r.paths
	c.apply(r.paths)
}

// warnUnmatched logs every regexp that matches none of paths.
func (s *pathSelection) warnUnmatched(paths map[uint64]string, root string, log *slog.Logger) {
	for i, re := range s.regexps {
		matched := false
		for _, p := range paths {
			if re.MatchString(p) {
				matched = true
				break
			}
		}
		if !matched {
			log.Warn("cgroup_id_map: regexp matches no cgroup (yet); paths are relative to the cgroup2 root, like /system.slice/cron.service",
				"regexp", s.exprs[i], "index", i, "root", root, "cgroups", len(paths))
		}
	}
}

// matchesPath reports whether path matches one of the regexps.
func (s *pathSelection) matchesPath(path string) bool {
	for _, re := range s.regexps {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// apply brings the map in line with paths, the cgroups that exist now.
func (c *cgroupIDMap) apply(paths map[uint64]string) {
	want := c.sel.want(paths)
	add, remove := diffIDs(c.inMap, want)
	for _, id := range remove {
		if err := c.remove(id); err != nil {
			c.updateErrors.Add(1)
			c.logFailure(id, c.inMap[id], "remove", err)
			continue
		}
		delete(c.inMap, id)
	}
	for id := range c.failed {
		if _, ok := paths[id]; !ok {
			delete(c.failed, id)
		}
	}
	var leftOut int
	var example string
	if c.lru {
		leftOut, example = c.addLRU(want)
	} else {
		leftOut, example = c.addAll(add, want)
	}
	c.noteFull(leftOut, example)
}

// addAll writes the cgroups of add (ids of want) into a map that does not
// evict, and returns how many did not fit and one of their paths.
func (c *cgroupIDMap) addAll(add []uint64, want map[uint64]string) (leftOut int, example string) {
	for _, id := range add {
		err := c.put(id, want[id])
		switch {
		case err == nil:
			c.inMap[id] = want[id]
			delete(c.failed, id)
		case errors.Is(err, unix.ENOENT):
			// removed since the scan: the next one drops it
		case errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSPC):
			c.updateErrors.Add(1)
			if leftOut++; example == "" {
				example = want[id]
			}
		default:
			c.updateErrors.Add(1)
			c.logFailure(id, want[id], "add", err)
		}
	}
	return leftOut, example
}

// lruPasses bounds how often one scan reads an LRU map back and puts back
// what the kernel evicted meanwhile. One pass is usually enough: the kernel
// evicts early only when its per-CPU free lists run dry (10,000 cgroups
// written into 10,000 entries left 9,888 of them on 2 CPUs).
const lruPasses = 4

// addLRU brings an LRU map in line with want: it reads the map's keys,
// forgets the cgroups the kernel evicted, and writes the missing ones while
// the map has room, never more (each write beyond it would evict another
// cgroup), then reads the keys again, up to lruPasses times. It returns how
// many matching cgroups are left out for lack of room, which it also counts
// as update errors, as addAll does for a hash, and one of their paths.
// When the keys cannot be read, it writes the missing cgroups as addAll
// does, blind to evictions.
func (c *cgroupIDMap) addLRU(want map[uint64]string) (leftOut int, example string) {
	failed := map[uint64]bool{} // writes that failed in this scan: not retried in it
	for pass := 0; ; pass++ {
		if !c.readKeys() {
			return c.addAll(diffAdd(c.inMap, want), want)
		}
		c.reconcile(want)
		var add []uint64
		for _, id := range diffAdd(c.inMap, want) {
			if !failed[id] {
				add = append(add, id)
			}
		}
		room := int(c.m.MaxEntries()) - len(c.present)
		if len(add) == 0 || room <= 0 || pass == lruPasses {
			if len(add) > 0 {
				example = want[add[0]]
			}
			c.updateErrors.Add(uint64(len(add)))
			return len(add), example
		}
		for _, id := range add[:min(room, len(add))] {
			if err := c.put(id, want[id]); err != nil {
				failed[id] = true
				c.updateErrors.Add(1)
				c.logFailure(id, want[id], "add", err)
				continue
			}
			c.inMap[id] = want[id]
			delete(c.failed, id)
		}
	}
}

// reconcile brings inMap in line with the keys last read: cgroups missing
// from them were evicted by the kernel and are forgotten; keys ebpfmon did
// not know of are adopted when they match (a write it took for evicted was
// kept after all) and deleted otherwise (cgroups since gone or no longer
// matching: the map is ebpfmon's to fill).
func (c *cgroupIDMap) reconcile(want map[uint64]string) {
	evicted := 0
	for id := range c.inMap {
		if !c.present[id] {
			delete(c.inMap, id)
			evicted++
		}
	}
	for id := range c.present {
		if _, ok := c.inMap[id]; ok {
			continue
		}
		if p, ok := want[id]; ok {
			c.inMap[id] = p
			continue
		}
		if err := c.remove(id); err != nil {
			c.updateErrors.Add(1)
			c.logFailure(id, "", "remove", err)
			continue
		}
		delete(c.present, id)
	}
	if evicted > 0 {
		c.log.Debug("cgroup_id_map: the kernel evicted cgroups from the LRU map; putting them back while there is room",
			"evicted", evicted, "in_map", len(c.inMap), "max_entries", c.m.MaxEntries())
	}
}

// keysPerBatch is how many keys readKeys asks the kernel for at once.
const keysPerBatch = 4096

// readKeys reads the keys of the map into present, in batches where the
// kernel supports it (5.6+), and reports whether that worked; a failure
// is counted, and logged once until a read works again.
func (c *cgroupIDMap) readKeys() bool {
	clear(c.present)
	err := c.batchKeys()
	if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.ENOSPC) { // ENOSPC: a bucket larger than a batch
		clear(c.present)
		err = c.iterateKeys()
	}
	switch {
	case err != nil:
		c.updateErrors.Add(1)
		if !c.readErr {
			c.log.Warn("cgroup_id_map: cannot read the LRU map to find evicted cgroups, which go unfiltered until a read works; retrying at every scan", "err", err)
			c.readErr = true
		}
		return false
	case c.readErr:
		c.log.Info("cgroup_id_map: reading the LRU map works again")
		c.readErr = false
	}
	return true
}

// batchKeys adds the map's keys to present with BPF_MAP_LOOKUP_BATCH.
func (c *cgroupIDMap) batchKeys() error {
	if c.keyBuf == nil {
		n := min(int(c.m.MaxEntries()), keysPerBatch)
		c.keyBuf, c.valBuf = make([]uint64, n), valueSlice(c.m.ValueSize(), n)
	}
	var cursor ebpf.MapBatchCursor
	for {
		n, err := c.m.BatchLookup(&cursor, c.keyBuf, c.valBuf, nil)
		for _, id := range c.keyBuf[:n] {
			c.present[id] = true
		}
		switch {
		case errors.Is(err, ebpf.ErrKeyNotExist):
			return nil
		case err != nil:
			return err
		}
	}
}

// valueSlice returns a slice of n integers of size bytes (1, 2, 4 or 8),
// to read n values of a map in one batch.
func valueSlice(size uint32, n int) any {
	switch size {
	case 1:
		return make([]uint8, n)
	case 2:
		return make([]uint16, n)
	case 4:
		return make([]uint32, n)
	default:
		return make([]uint64, n)
	}
}

// iterateKeys adds the map's keys to present one at a time, for kernels
// without batch lookups.
func (c *cgroupIDMap) iterateKeys() error {
	var key any // nil: the first key
	var next uint64
	for {
		err := c.m.NextKey(key, &next)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		c.present[next] = true
		key = next
	}
}

// fullWarnEvery is how often a map that stays full is logged.
const fullWarnEvery = time.Minute

// noteFull records whether the scan left n matching cgroups out for lack of
// room (example is one of them), and logs it: at warn when the map becomes
// full and at most every fullWarnEvery while it stays full, at info when
// every matching cgroup fits again.
func (c *cgroupIDMap) noteFull(n int, example string) {
	wasFull := c.full.Swap(n > 0)
	switch {
	case n > 0 && (!wasFull || time.Since(c.warned) >= fullWarnEvery):
		c.warned = time.Now()
		fix := "raise max_entries in the BPF object"
		if c.lru {
			fix = "declare the map BPF_MAP_TYPE_HASH with max_entries above the number of matching cgroups (an LRU hash may also evict before it is full)"
		}
		c.log.Warn("cgroup_id_map: the map is full: matching cgroups are left out, so their events go unfiltered, until there is room; "+fix+" (retried at every scan, see ebpfmon_cgroup_id_map_full)",
			"left_out", n, "max_entries", c.m.MaxEntries(), "in_map", len(c.inMap), "example", example)
	case n == 0 && wasFull:
		c.log.Info("cgroup_id_map: every matching cgroup is in the map again", "in_map", len(c.inMap))
	}
}

// CgroupIDMapHealth is what the collector reports about a cgroup id map.
type CgroupIDMapHealth struct {
	Map          string // the map's name
	Full         bool   // the last scan left matching cgroups out for lack of room
	UpdateErrors uint64 // failed updates and deletes so far
}

// cgroupIDMapHealth returns the health of u's cgroup id map; false when
// it has none.
func (u *Unit) cgroupIDMapHealth() (CgroupIDMapHealth, bool) {
	c, ok := u.cgroupIDMap.(*cgroupIDMap)
	if !ok || c == nil {
		return CgroupIDMapHealth{}, false
	}
	return CgroupIDMapHealth{Map: c.cfg.Name, Full: c.full.Load(), UpdateErrors: c.updateErrors.Load()}, true
}

// diffIDs returns the ids of want missing from have (sorted), and those of
// have missing from want (sorted).
func diffIDs(have, want map[uint64]string) (add, remove []uint64) {
	return diffAdd(have, want), diffAdd(want, have)
}

// diffAdd returns the ids of want missing from have, sorted.
func diffAdd(have, want map[uint64]string) []uint64 {
	var add []uint64
	for id := range want {
		if _, ok := have[id]; !ok {
			add = append(add, id)
		}
	}
	slices.Sort(add)
	return add
}

// put writes the cgroup into the map.
func (c *cgroupIDMap) put(id uint64, path string) error {
	if c.cfg.Type == config.CgroupIDMapHash {
		return c.m.Update(id, c.value, ebpf.UpdateAny)
	}
	fd, err := unix.Open(c.root+path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return c.m.Update(uint32(fd), c.value, ebpf.UpdateAny)
}

// remove takes a removed cgroup out of the map. Cgroup local storage goes
// with its cgroup: nothing to do.
func (c *cgroupIDMap) remove(id uint64) error {
	if c.cfg.Type != config.CgroupIDMapHash {
		return nil
	}
	if err := c.m.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return err
	}
	return nil
}

// logFailure logs a failed update, other than a full map, once per cgroup.
func (c *cgroupIDMap) logFailure(id uint64, path, op string, err error) {
	if c.failed[id] {
		return
	}
	c.failed[id] = true
	c.log.Warn("cgroup_id_map: cannot "+op+" a cgroup; retrying at every scan",
		"cgroup", path, "id", id, "err", err)
}
