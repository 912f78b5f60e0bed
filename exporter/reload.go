package exporter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// ReloadOptions configure one Reload.
type ReloadOptions struct {
	// Strict fails a config with a program that did not attach
	// (--config.strict, --config.check): its new version is closed again.
	Strict bool
	// Initial marks the load at startup: it sets the last-reload metrics
	// but is not counted in config_reloads_total.
	Initial bool
}

// ReloadResult says what one Reload did, config by config.
type ReloadResult struct {
	Added, Changed, Removed, Unchanged []string
	Failed                             []ConfigError // the version before, if any, still runs
	Err                                error         // the config list could not be read, or ctx ended: nothing more was done
	Duration                           time.Duration
}

// OK reports whether every config on disk is the one running.
func (r ReloadResult) OK() bool { return r.Err == nil && len(r.Failed) == 0 }

// FailedConfigs returns the names of the configs in Failed, in order.
func (r ReloadResult) FailedConfigs() []string {
	names := make([]string, len(r.Failed))
	for i, c := range r.Failed {
		names[i] = c.Config
	}
	return names
}

// ConfigError is why one config failed to load.
type ConfigError struct {
	Config string
	Err    error
}

// sourceHash identifies the bytes a config was opened from: its NAME.yaml
// and its NAME.bpf.o.
type sourceHash [sha256.Size]byte

// Source is a directory of configs and which of them run.
type Source struct {
	Dir string
	// Names are the configs of Dir to run; nil: every NAME.yaml in it.
	Names []string
	// NamesFile, if set, lists the configs to run instead of Names
	// (config.ReadNames); it is read again at every reload.
	NamesFile string
}

// Reload brings the loaded configs in line with sources: the configs
// whose NAME.yaml or NAME.bpf.o bytes
// differ from the running version's are opened again, new ones are
// opened, and configs no longer listed are closed; the others are not
// touched (same programs, same maps, counters keep counting). A config
// that fails to open (read, parse, check, load, verifier; with Strict,
// attach) is reported and, if an older version of it runs, that one keeps
// running. A config whose metric names clash with those of another
// config, as that other one will run after the reload, fails too; so
// configs can trade metrics in one reload, and when two new versions
// clash the later one fails. The new versions replace the old
// ones together, in a single step once all are attached, and the old ones
// are closed when the scrapes using them are done, so a scrape sees
// either the configs before the reload or those after it, whole. A config
// that failed before is tried again at every reload, changed or not.
//
// The list of configs itself must be whole: a directory or names file
// that cannot be read, a name in two directories, or no config at all
// fails the reload (res.Err) and changes nothing.
//
// Reloads are serialised. Reload checks ctx between configs and, once it
// ends, closes the new versions it opened and changes nothing more.
func (e *Exporter) Reload(ctx context.Context, sources []Source, opts ReloadOptions) ReloadResult {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	start := time.Now()
	res := e.reloadLocked(ctx, sources, opts)
	res.Duration = time.Since(start)
	e.mu.Lock()
	e.reload.note(res, opts.Initial, time.Now())
	e.mu.Unlock()
	return res
}

// pending is a config a reload opens: its running version (nil: none),
// its new version parsed (nil once it failed) and opened.
type pending struct {
	name string
	old  *entry
	hash sourceHash
	cfg  *config.Config
	en   *entry
}

func (e *Exporter) reloadLocked(ctx context.Context, sources []Source, opts ReloadOptions) ReloadResult {
	var res ReloadResult
	names, dirs, err := listConfigs(sources)
	if err != nil {
		res.Err = err
		return res
	}
	res.Removed = e.removeExcept(names)
	for _, name := range res.Removed {
		e.opts.Logger.Info("config removed", "config", name)
	}
	todo := e.parseChanged(&res, dirs, names)
	e.dropClashes(&res, todo)
	if res.Err = e.openAll(ctx, &res, todo, opts.Strict); res.Err == nil {
		e.dropClashes(&res, todo)
		e.commit(&res, todo)
	}
	slices.SortFunc(res.Failed, func(a, b ConfigError) int { return strings.Compare(a.Config, b.Config) })
	return res
}

// listConfigs lists the configs of sources, in order, and the directory
// of each.
func listConfigs(sources []Source) ([]string, map[string]string, error) {
	var names []string
	dirs := map[string]string{}
	from := map[string]Source{}
	for _, src := range sources {
		list, err := src.list()
		if err != nil {
			return nil, nil, err
		}
		for _, name := range list {
			if first, ok := from[name]; ok {
				return nil, nil, clash(name, first, src)
			}
			dirs[name], from[name] = src.Dir, src
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, nil, noConfigs(sources)
	}
	return names, dirs, nil
}

// noConfigs is the error for sources that list no config at all, saying
// why each gave none.
func noConfigs(sources []Source) error {
	why := make([]string, len(sources))
	for i, src := range sources {
		switch {
		case src.NamesFile != "":
			why[i] = src.NamesFile + " names none of " + src.Dir
		case src.Names != nil:
			why[i] = "no names given for " + src.Dir
		default:
			why[i] = "no NAME.yaml files in " + src.Dir
		}
	}
	return fmt.Errorf("no configs to load: %s; name a config or add one", strings.Join(why, ", "))
}

// clash is the error for config name listed by both a and b, saying where
// each one comes from and how to keep only one.
func clash(name string, a, b Source) error {
	fix := "rename one of them"
	if a.NamesFile != "" {
		fix = "take it out of " + a.NamesFile + " or rename one of them"
	}
	return fmt.Errorf("config %q is in both %s and %s: a config may come from one directory only, %s", name, a.origin(), b.origin(), fix)
}

// origin says where the configs of src are listed: its directory, and
// the names file or list that picks them.
func (src Source) origin() string {
	switch {
	case src.NamesFile != "":
		return src.Dir + " (named in " + src.NamesFile + ")"
	case src.Names != nil:
		return src.Dir + " (named in --config.names)"
	}
	return src.Dir
}

// list returns the configs of src.
func (src Source) list() ([]string, error) {
	switch {
	case src.NamesFile != "":
		return config.ReadNames(src.NamesFile)
	case src.Names != nil:
		return src.Names, nil
	}
	names, err := config.List(src.Dir)
	if err != nil {
		return nil, fmt.Errorf("config directory %s: %w", src.Dir, err)
	}
	return names, nil
}

// openAll opens the new versions in todo; those that fail are in
// res.Failed. Once ctx ends it closes those it opened and returns ctx's
// error.
func (e *Exporter) openAll(ctx context.Context, res *ReloadResult, todo []*pending, strict bool) error {
	for _, p := range todo {
		if p.cfg == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			e.discard(todo)
			return err
		}
		u, err := e.openUnit(p.cfg, strict)
		if err != nil {
			e.fail(res, p, err)
			continue
		}
		p.en = &entry{u: u, hash: p.hash, loaded: time.Now()}
		if p.old == nil {
			e.opts.Logger.Info("config loaded", "config", p.name)
		}
	}
	return nil
}

// parseChanged sorts names into the unchanged configs (in res) and the
// others, which it reads and parses: those that fail are in res.Failed.
func (e *Exporter) parseChanged(res *ReloadResult, dirs map[string]string, names []string) []*pending {
	var todo []*pending
	for _, name := range names {
		dir := dirs[name]
		p := &pending{name: name, old: e.lookup(name), hash: sourceOf(dir, name)}
		if p.old != nil && p.hash == p.old.hash {
			e.clearFailed(name) // back to the running version
			res.Unchanged = append(res.Unchanged, name)
			continue
		}
		todo = append(todo, p)
		var err error
		if p.cfg, err = config.Load(dir, name); err != nil {
			e.fail(res, p, err)
		}
	}
	return todo
}

// dropClashes fails the new versions in todo whose metric names clash
// with another config as it will run after the reload: its new version
// once opened, its old one (or none) once its new one failed, and, while
// its new version is not yet opened, neither (it is checked once both are
// known). So a clash with a config the reload leaves as it is fails a
// version before it is loaded, and a version that fails to load frees its
// names. A failed version gives its place back to the old one, so the
// check starts again until nothing clashes. The later configs are checked
// first: of two new versions that clash, the later one fails.
func (e *Exporter) dropClashes(res *ReloadResult, todo []*pending) {
	for again := true; again; {
		again = false
		for i := len(todo) - 1; i >= 0; i-- {
			p := todo[i]
			if p.cfg == nil {
				continue
			}
			if err := e.checkNamesAgainst(e.othersAfter(todo, p.name), p.cfg); err != nil {
				e.fail(res, p, config.Staged(config.StageValidate, p.cfg.Path, err))
				again = true
				break
			}
		}
	}
}

// othersAfter returns the configs other than name as they will run once
// todo is applied, as far as that is known (see dropClashes).
func (e *Exporter) othersAfter(todo []*pending, name string) []*config.Config {
	next := map[string]*config.Config{}
	e.mu.RLock()
	for _, en := range e.units {
		next[en.u.Name()] = en.u.Config()
	}
	e.mu.RUnlock()
	for _, p := range todo {
		switch {
		case p.en != nil:
			next[p.name] = p.cfg
		case p.cfg != nil:
			delete(next, p.name) // not opened yet: either version may run
		}
	}
	delete(next, name)
	out := make([]*config.Config, 0, len(next))
	for _, n := range slices.Sorted(maps.Keys(next)) {
		out = append(out, next[n])
	}
	return out
}

// fail records that p's new version failed with err, and closes it if it
// was opened.
func (e *Exporter) fail(res *ReloadResult, p *pending, err error) {
	if p.en != nil {
		e.closeEntry(p.en)
	}
	p.cfg, p.en = nil, nil
	e.setFailed(p.name, err)
	res.Failed = append(res.Failed, ConfigError{p.name, err})
	if p.old != nil {
		e.opts.Logger.Error("config reload failed; the running version keeps running", "config", p.name, "err", err)
	} else {
		e.opts.Logger.Error("config failed", "config", p.name, "err", err)
	}
}

// discard closes the new versions opened so far.
func (e *Exporter) discard(todo []*pending) {
	for _, p := range todo {
		if p.en != nil {
			e.closeEntry(p.en)
			p.en = nil
		}
	}
}

// commit puts every opened new version in place of its old one (or adds
// it) in one step, pins its maps that replace incompatible pins, then
// closes the old versions.
func (e *Exporter) commit(res *ReloadResult, todo []*pending) {
	e.mu.Lock()
	for _, p := range todo {
		if p.en == nil {
			continue
		}
		delete(e.failed, labelValue(p.name))
		if i := slices.Index(e.units, p.old); p.old != nil && i >= 0 {
			e.units[i] = p.en
		} else {
			e.units = append(e.units, p.en)
		}
	}
	e.mu.Unlock()
	for _, p := range todo {
		if p.en != nil {
			if err := p.en.u.CommitPins(); err != nil {
				e.opts.Logger.Error("pinned maps not replaced: a restart will not find this version's counts", "config", p.name, "err", err)
			}
		}
		switch {
		case p.en == nil:
		case p.old != nil:
			e.closeEntry(p.old)
			res.Changed = append(res.Changed, p.name)
			e.opts.Logger.Info("config reloaded", "config", p.name)
		default:
			res.Added = append(res.Added, p.name) // logged when it loaded
		}
	}
}

// openUnit opens cfg; with strict, a program that did not attach fails it.
func (e *Exporter) openUnit(cfg *config.Config, strict bool) (*lifecycle.Unit, error) {
	u, err := lifecycle.Open(cfg, e.opts)
	if err != nil {
		return nil, err
	}
	if errs := u.AttachErrors(); strict && len(errs) > 0 {
		if cerr := u.Close(); cerr != nil {
			e.opts.Logger.Warn("close", "config", cfg.Name, "err", cerr)
		}
		return nil, config.Staged(config.StageAttach, cfg.BPFPath, errors.Join(errs...))
	}
	return u, nil
}

// sourceOf hashes dir/NAME.yaml and dir/NAME.bpf.o, read the way
// config.Load and lifecycle.Open read them (regular files, capped). A file
// that cannot be read hashes as its error, so it never matches a running
// version and the open that follows reports it.
func sourceOf(dir, name string) sourceHash {
	h := sha256.New()
	h.Write(fileHash(filepath.Join(dir, name+".yaml"), config.MaxFileSize))
	h.Write(fileHash(filepath.Join(dir, name+".bpf.o"), lifecycle.MaxObjectSize))
	return sourceHash(h.Sum(nil))
}

// fileHash is the SHA-256 of the file at path, a regular file of at most
// limit bytes, or of its error. It streams the file: an object of hundreds
// of MiB is hashed at every reload, changed or not, and must not be held
// in memory for that.
func fileHash(path string, limit int64) []byte {
	h := sha256.New()
	err := regfile.Copy(h, path, limit)
	if err != nil {
		h.Reset()
		fmt.Fprintf(h, "unreadable: %v", err)
	}
	return h.Sum(nil)
}

// lookup returns the loaded config name, or nil.
func (e *Exporter) lookup(name string) *entry {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, en := range e.units {
		if en.u.Name() == name {
			return en
		}
	}
	return nil
}

func (e *Exporter) clearFailed(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.failed, labelValue(name))
}

// removeExcept closes the loaded configs not in names and forgets the
// failed ones, and returns their names.
func (e *Exporter) removeExcept(names []string) []string {
	var gone []*entry
	var removed []string
	e.mu.Lock()
	e.units = slices.DeleteFunc(e.units, func(en *entry) bool {
		if slices.Contains(names, en.u.Name()) {
			return false
		}
		gone = append(gone, en)
		removed = append(removed, en.u.Name())
		return true
	})
	for name := range e.failed {
		if !slices.Contains(names, name) {
			delete(e.failed, name)
			if !slices.Contains(removed, name) {
				removed = append(removed, name)
			}
		}
	}
	e.mu.Unlock()
	for _, en := range gone {
		e.closeEntry(en)
	}
	slices.Sort(removed)
	return removed
}

// reloadState feeds the reload metrics; the exporter's mu guards it.
type reloadState struct {
	done                bool // a load or reload finished
	lastOK              bool
	lastSuccess         time.Time // zero before the first success
	successes, failures uint64
}

// note records the result of a load (initial) or reload at now.
func (s *reloadState) note(res ReloadResult, initial bool, now time.Time) {
	s.done, s.lastOK = true, res.OK()
	if s.lastOK {
		s.lastSuccess = now
	}
	switch {
	case initial:
	case s.lastOK:
		s.successes++
	default:
		s.failures++
	}
}

// collect sends the reload metrics, once a load finished.
func (s *reloadState) collect(ch chan<- prometheus.Metric, d descs) {
	if !s.done {
		return
	}
	ch <- d.lastReloadOK.metric(boolValue(s.lastOK))
	last := 0.0 // never, as Prometheus reports it
	if !s.lastSuccess.IsZero() {
		last = float64(s.lastSuccess.UnixNano()) / 1e9
	}
	ch <- d.lastReloadTime.metric(last)
	ch <- d.reloads.metric(float64(s.successes), "success")
	ch <- d.reloads.metric(float64(s.failures), "failure")
}
