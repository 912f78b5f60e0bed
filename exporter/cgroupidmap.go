package exporter

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
// its config: type hash is a hash keyed by the u64 cgroup id (not an LRU
// hash: when full, it would evict cgroups ebpfmon put there, silently);
// type cgrp_storage is cgroup local storage (BPF_MAP_TYPE_CGRP_STORAGE,
// Linux 6.2+), whose user-space key is a cgroup fd (int). Values are 1, 2,
// 4 or 8 bytes, set to 1.
func checkCgroupIDMapLayout(c *config.CgroupIDMap, typ ebpf.MapType, keySize, valueSize uint32) error {
	var errs []error
	var wantKey uint32
	switch c.Type {
	case config.CgroupIDMapHash:
		wantKey = 8
		switch typ {
		case ebpf.Hash:
		case ebpf.LRUHash, ebpf.LRUCPUHash:
			errs = append(errs, fmt.Errorf("cgroup_id_map.name: map %s is an LRU hash: once full, the kernel evicts cgroups ebpfmon put there "+
				"and they silently go unfiltered; declare it BPF_MAP_TYPE_HASH with max_entries above the number of matching cgroups "+
				"(ebpfmon reports a full map in ebpfmon_cgroup_id_map_full)", c.Name))
		default:
			errs = append(errs, fmt.Errorf("cgroup_id_map: map %s is a %s, but type hash needs a Hash keyed by the u64 cgroup id", c.Name, typ))
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

// cgroupIDMap keeps a BPF map filled with the cgroups whose path matches
// one of a config's regexps.
type cgroupIDMap struct {
	cfg     *config.CgroupIDMap
	m       *ebpf.Map
	root    string
	regexps []*regexp.Regexp
	value   []byte
	log     *slog.Logger
	watcher *cgroup.Watcher

	// Only the updating goroutine (and start, before it runs) touches these.
	matches map[uint64]match  // every cgroup of the last scan: does its path match
	inMap   map[uint64]string // cgroups written to the map, with their path
	failed  map[uint64]bool   // cgroups whose update failed and was logged
	scanErr bool              // the last scan failed and was logged
	warned  time.Time         // when a full map was last logged

	full         atomic.Bool   // the last scan left matching cgroups out for lack of room
	updateErrors atomic.Uint64 // failed updates and deletes

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// match caches whether a cgroup's path matches: cgroup2 paths never change
// and ids are not reused, but the path is kept to be sure.
type match struct {
	path string
	ok   bool
}

// startCgroupIDMap checks m against cfg, fills it with the ids of the
// cgroups under root (the cgroup2 mount) whose path relative to root
// ("/system.slice/cron.service", as the cgroup decoder shows them) matches
// one of cfg.Regexps, and keeps it up to date in a goroutine until Close,
// which stops that goroutine and waits for it.
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
// logged at most every fullWarnEvery, other failures once per cgroup. log
// should carry the config's name.
func startCgroupIDMap(cfg *config.CgroupIDMap, m *ebpf.Map, root string, interval time.Duration, log *slog.Logger) (io.Closer, error) {
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
	c := &cgroupIDMap{
		cfg: cfg, m: m, root: root, value: one(m.ValueSize()), log: log,
		matches: map[uint64]match{}, inMap: map[uint64]string{}, failed: map[uint64]bool{},
		done: make(chan struct{}),
	}
	for i, expr := range cfg.Regexps {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("cgroup_id_map.regexps[%d]: %w", i, err)
		}
		c.regexps = append(c.regexps, re)
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
	paths := w.Paths()
	c.warnUnmatched(paths)
	c.apply(paths)
	log.Info("cgroup_id_map filled", "root", root, "cgroups", len(paths), "matching", len(c.inMap),
		"interval", interval, "inotify", !w.Polling())

	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx)
	return c, nil
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

func (c *cgroupIDMap) run(ctx context.Context) {
	defer close(c.done)
	for {
		paths, err := c.watcher.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !c.scanErr {
				c.log.Warn("cgroup_id_map: cannot scan cgroups, the map is not updated until it works again", "err", err)
				c.scanErr = true
			}
			continue
		case c.scanErr:
			c.log.Info("cgroup_id_map: scanning cgroups works again")
			c.scanErr = false
		}
		c.apply(paths)
	}
}

// warnUnmatched logs every regexp that matches none of paths.
func (c *cgroupIDMap) warnUnmatched(paths map[uint64]string) {
	for i, re := range c.regexps {
		matched := false
		for _, p := range paths {
			if re.MatchString(p) {
				matched = true
				break
			}
		}
		if !matched {
			c.log.Warn("cgroup_id_map: regexp matches no cgroup (yet); paths are relative to the cgroup2 root, like /system.slice/cron.service",
				"regexp", c.cfg.Regexps[i], "index", i, "root", c.root, "cgroups", len(paths))
		}
	}
}

// matchesPath reports whether path matches one of the regexps.
func (c *cgroupIDMap) matchesPath(path string) bool {
	for _, re := range c.regexps {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// apply brings the map in line with paths, the cgroups that exist now.
func (c *cgroupIDMap) apply(paths map[uint64]string) {
	matches := make(map[uint64]match, len(paths))
	want := map[uint64]string{}
	for id, p := range paths {
		m, seen := c.matches[id]
		if !seen || m.path != p {
			m = match{path: p, ok: c.matchesPath(p)}
		}
		matches[id] = m
		if m.ok {
			want[id] = p
		}
	}
	c.matches = matches
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
	leftOut, example := 0, ""
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
	c.noteFull(leftOut, example)
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
		c.log.Warn("cgroup_id_map: the map is full: matching cgroups are left out, so their events go unfiltered, until there is room; raise max_entries in the BPF object (retried at every scan, see ebpfmon_cgroup_id_map_full)",
			"left_out", n, "max_entries", c.m.MaxEntries(), "in_map", len(c.inMap), "example", example)
	case n == 0 && wasFull:
		c.log.Info("cgroup_id_map: every matching cgroup is in the map again", "in_map", len(c.inMap))
	}
}

// cgroupIDMapHealth is what the exporter reports about a cgroup id map.
type cgroupIDMapHealth struct {
	name         string // the map's name
	full         bool   // the last scan left matching cgroups out for lack of room
	updateErrors uint64 // failed updates and deletes so far
}

// cgroupIDMapHealth returns the health of u's cgroup id map; false when
// it has none.
func (u *Unit) cgroupIDMapHealth() (cgroupIDMapHealth, bool) {
	c, ok := u.cgroupIDMap.(*cgroupIDMap)
	if !ok || c == nil {
		return cgroupIDMapHealth{}, false
	}
	return cgroupIDMapHealth{name: c.cfg.Name, full: c.full.Load(), updateErrors: c.updateErrors.Load()}, true
}

// diffIDs returns the ids of want missing from have (sorted), and those of
// have missing from want.
func diffIDs(have, want map[uint64]string) (add, remove []uint64) {
	for id := range want {
		if _, ok := have[id]; !ok {
			add = append(add, id)
		}
	}
	for id := range have {
		if _, ok := want[id]; !ok {
			remove = append(remove, id)
		}
	}
	slices.Sort(add)
	slices.Sort(remove)
	return add, remove
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
