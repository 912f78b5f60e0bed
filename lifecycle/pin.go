package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/series"
)

// Pinned maps (--bpf.pin-path). The maps a config exports are pinned at
// DIR/CONFIG/MAP, so that they outlive the process: the next ebpfmon (a
// restart, an upgrade, the new version of a reloaded config) loads its
// programs against them and the counters keep counting. A pin whose
// definition (type, key and value size, max_entries, flags) differs from
// the object's is replaced by a fresh map once the new object runs
// (Unit.CommitPins); closing a unit never unpins. Constants (.rodata and friends), ring
// buffers and perf event arrays are not pinned: the first change with the
// YAML, the others hold no counts.

// pinFix says how to get a bpf filesystem.
const pinFix = "mount one with `mount -t bpf bpf /sys/fs/bpf` and give a directory in it, or leave the flag out"

// Pins is where units pin their exported maps: one directory per config
// under the --bpf.pin-path directory. A nil *Pins pins nothing.
type Pins struct {
	dir   string
	reset bool     // remove a config's pins the first time it loads
	lock  *os.File // dir, locked while this process pins in it; nil once closed

	mu      sync.Mutex
	wasSeen map[string]bool // configs loaded at least once by this process
}

// CheckPinPath checks that dir is a directory on a bpf filesystem, or
// does not exist yet and its nearest existing parent is one. It changes
// nothing.
func CheckPinPath(dir string) error {
	p := filepath.Clean(dir)
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		switch {
		case errors.Is(err, unix.ENOENT) && p != filepath.Dir(p):
			p = filepath.Dir(p)
			continue
		case err != nil:
			return fmt.Errorf("--bpf.pin-path %s: %w (%s)", dir, err, pinFix)
		case st.Type != unix.BPF_FS_MAGIC:
			return fmt.Errorf("--bpf.pin-path %s: %s is not on a bpf filesystem (filesystem magic %#x): %s", dir, p, st.Type, pinFix)
		}
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return fmt.Errorf("--bpf.pin-path %s: %s is not a directory: give a directory on a bpf filesystem", dir, p)
		}
		return checkNotMountRoot(dir, p)
	}
}

// checkNotMountRoot refuses p, the existing part of --bpf.pin-path dir,
// if it is dir itself and the root of its bpf filesystem, or a symlink to
// it: other tools pin
// there too (iproute2 in tc/ and xdp/), and --bpf.reset-pins would remove
// whatever they pinned under a config's name.
func checkNotMountRoot(dir, p string) error {
	if p != filepath.Clean(dir) {
		return nil
	}
	// A symlink (bpffs has them) to the root is the root: compare where
	// it leads with the parent of that.
	p, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("--bpf.pin-path: %w", err)
	}
	var self, parent unix.Stat_t
	if err := unix.Stat(p, &self); err != nil {
		return fmt.Errorf("--bpf.pin-path: %w", err)
	}
	if err := unix.Stat(filepath.Dir(p), &parent); err != nil {
		return fmt.Errorf("--bpf.pin-path: %w", err)
	}
	if self.Dev != parent.Dev || p == filepath.Dir(p) {
		return fmt.Errorf("--bpf.pin-path %s: the root of a bpf filesystem, where other tools pin too: give a directory of ebpfmon's own in it, such as %s", dir, filepath.Join(p, "ebpfmon"))
	}
	return nil
}

// NewPins checks dir (see CheckPinPath) and creates it if need be. With
// reset, each config's pins are removed the first time it loads in this
// process (--bpf.reset-pins): its counters start from zero once, and a
// reload continues from there.
func NewPins(dir string, reset bool) (*Pins, error) {
	if err := CheckPinPath(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--bpf.pin-path: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return &Pins{dir: dir, reset: reset, lock: lock, wasSeen: map[string]bool{}}, nil
}

// lockDir takes an exclusive lock on dir, or fails at once if another
// process holds it: two ebpfmon attaching their programs to the same
// pinned maps would count every event twice. The kernel drops the lock
// when the process exits, however it exits.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("--bpf.pin-path: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("--bpf.pin-path %s: another process (another ebpfmon?) pins in it: two would count every event twice into the same maps; stop the other one first, or give each its own directory", dir)
		}
		return nil, fmt.Errorf("--bpf.pin-path %s: lock: %w", dir, err)
	}
	return f, nil
}

// Close releases the lock on the pin directory; the pins stay. A nil
// *Pins, or one closed already, has nothing to release.
func (p *Pins) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	lock := p.lock
	p.lock = nil
	if lock == nil {
		return nil
	}
	return lock.Close()
}

// Dir is the directory the maps of config name are pinned in.
func (p *Pins) Dir(name string) string { return filepath.Join(p.dir, name) }

// PinHealth counts a unit's exported maps by what loading did with their
// pins.
type PinHealth struct {
	Reused   int // a compatible pin was loaded: the counts continue
	Created  int // there was no pin: a new map was pinned
	Replaced int // the pin's definition differed: a new map replaced it
}

// pinPlan is what loading one config does with its pins: decided before
// the object loads, carried out once it has.
type pinPlan struct {
	dir      string
	reuse    map[string]*ebpf.Map // compatible pins, by map name
	create   []string             // maps to pin: there was no pin
	replace  []string             // maps to pin in place of an incompatible pin
	disabled bool                 // no --bpf.pin-path
}

// plan opens the pins of cfg's exported maps and decides, for each,
// whether the loaded object reuses it, or a new map is pinned in its
// place. It marks the exported maps of spec as unpinned: plan, not the
// library, manages their pins. A pinned object that is not a map, or
// cannot be opened, is an error.
func (p *Pins) plan(cfg *config.Config, spec *ebpf.CollectionSpec, log *slog.Logger) (*pinPlan, error) {
	if p == nil {
		return &pinPlan{disabled: true}, nil
	}
	dir := p.Dir(cfg.Name)
	if err := p.resetOnce(cfg.Name, dir, log); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("--bpf.pin-path: %s is not a directory: ebpfmon keeps the pins of config %s in it; remove it (rm %s) or start with --bpf.reset-pins: %w", dir, cfg.Name, dir, err)
		}
		return nil, fmt.Errorf("--bpf.pin-path: %w", err)
	}
	pl := &pinPlan{dir: dir, reuse: map[string]*ebpf.Map{}}
	for _, name := range exportedMaps(cfg, spec) {
		ms := spec.Maps[name]
		ms.Pinning = ebpf.PinNone
		if err := pl.add(name, ms, log); err != nil {
			pl.close()
			return nil, err
		}
	}
	return pl, nil
}

// resetOnce removes dir, the pins of config name, if --bpf.reset-pins
// asks for it and name has not loaded before in this process.
func (p *Pins) resetOnce(name, dir string, log *slog.Logger) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reset || p.wasSeen[name] {
		return nil
	}
	p.wasSeen[name] = true
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("--bpf.reset-pins: %w", err)
	}
	log.Info("pins removed (--bpf.reset-pins): counters start from zero", "dir", dir)
	return nil
}

// add decides what happens to the pin of map name, defined by ms.
func (pl *pinPlan) add(name string, ms *ebpf.MapSpec, log *slog.Logger) error {
	path := filepath.Join(pl.dir, name)
	m, err := ebpf.LoadPinnedMap(path, nil)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		pl.create = append(pl.create, name)
		return nil
	case err != nil:
		return fmt.Errorf("--bpf.pin-path: pin of map %s: %w: ebpfmon pins only maps there; remove it (rm %s) or start with --bpf.reset-pins", name, err, path)
	}
	if err := ms.Compatible(m); err != nil {
		log.Warn("pinned map replaced: its definition changed, so its counts start from zero",
			"map", name, "old", describeMap(m.Type(), m.KeySize(), m.ValueSize(), m.MaxEntries(), m.Flags()),
			"new", describeMap(ms.Type, ms.KeySize, ms.ValueSize, ms.MaxEntries, ms.Flags), "pin", path)
		m.Close()
		pl.replace = append(pl.replace, name)
		return nil
	}
	pl.reuse[name] = m
	return nil
}

func describeMap(typ ebpf.MapType, key, value, maxEntries, flags uint32) string {
	return fmt.Sprintf("%s key_size=%d value_size=%d max_entries=%d flags=%#x", typ, key, value, maxEntries, flags)
}

// exportedMaps are the maps of cfg whose contents its metrics export:
// counters (global ones too), histograms and the lost maps of event
// counters. The event maps themselves hold no counts.
func exportedMaps(cfg *config.Config, spec *ebpf.CollectionSpec) []string {
	var names []string
	for _, c := range cfg.Metrics.Counters {
		if c.PerfEventArray {
			names = append(names, series.LostMapName(c.Name))
		} else {
			names = append(names, c.Name)
		}
	}
	for _, h := range cfg.Metrics.Histograms {
		names = append(names, h.Name)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return spec.Maps[n] == nil })
	slices.Sort(names)
	return slices.Compact(names)
}

// replacements are the pinned maps the object loads against.
func (pl *pinPlan) replacements() map[string]*ebpf.Map {
	if pl.disabled || len(pl.reuse) == 0 {
		return nil
	}
	return pl.reuse
}

// pin pins the maps of coll that had no pin, and returns what was done
// and the maps to pin in place of incompatible pins once the unit runs
// (see Unit.CommitPins).
func (pl *pinPlan) pin(coll *ebpf.Collection) (*PinHealth, []pendingPin, error) {
	if pl.disabled {
		return nil, nil, nil
	}
	for _, name := range pl.create {
		if err := coll.Maps[name].Pin(filepath.Join(pl.dir, name)); err != nil {
			return nil, nil, fmt.Errorf("--bpf.pin-path: pin map %s: %w", name, err)
		}
	}
	pending := make([]pendingPin, 0, len(pl.replace))
	for _, name := range pl.replace {
		pending = append(pending, pendingPin{name: name, path: filepath.Join(pl.dir, name), m: coll.Maps[name]})
	}
	return &PinHealth{Reused: len(pl.reuse), Created: len(pl.create), Replaced: len(pl.replace)}, pending, nil
}

// pendingPin is a map of a loaded unit to pin in place of an incompatible
// pin once the unit runs.
type pendingPin struct {
	name, path string
	m          *ebpf.Map
}

// CommitPins pins the unit's maps that replace incompatible pins. The
// exporter calls it once the unit runs in place of its old version (or
// of none): a new version that fails after loading (a program that does
// not attach with --config.strict, a name clash, an interrupted reload)
// must leave in place the pins of the old version, which keeps running
// and counting into them. Later calls do nothing.
func (u *Unit) CommitPins() error {
	pending := u.pendingPins
	u.pendingPins = nil
	var errs []error
	for _, p := range pending {
		if err := os.Remove(p.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("--bpf.pin-path: replace the pin of map %s: %w", p.name, err))
			continue
		}
		if err := p.m.Pin(p.path); err != nil {
			errs = append(errs, fmt.Errorf("--bpf.pin-path: pin map %s: %w", p.name, err))
		}
	}
	return errors.Join(errs...)
}

// close releases the pins opened by plan; the loaded object holds its own
// references.
func (pl *pinPlan) close() {
	for _, m := range pl.reuse {
		m.Close()
	}
}
