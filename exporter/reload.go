package exporter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
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

// ConfigError is why one config failed to load.
type ConfigError struct {
	Config string
	Err    error
}

// sourceHash identifies the bytes a config was opened from: its NAME.yaml
// and its NAME.bpf.o.
type sourceHash [sha256.Size]byte

// Reload brings the loaded configs in line with dir: the configs names
// (nil: every NAME.yaml in dir) whose NAME.yaml or NAME.bpf.o bytes
// differ from the running version's are opened again, new ones are
// opened, and configs no longer named are closed; the others are not
// touched (same programs, same maps, counters keep counting). A config
// that fails to open (read, parse, check, load, verifier; with Strict,
// attach) is reported and, if an older version of it runs, that one keeps
// running. Each new version replaces the old one in a single step once it
// is attached, and the old one is closed when the scrapes using it are
// done, so a scrape sees either version, whole. A config that failed
// before is tried again at every reload, changed or not.
//
// Reloads are serialised. A new version's metric names are checked
// against the other configs as they run at that moment: a metric that
// moves from one config to another in one reload fails if the config
// taking it is reloaded first (reload again).
//
// Reload checks ctx between configs and stops, leaving the rest as they
// were, once it ends.
func (e *Exporter) Reload(ctx context.Context, dir string, names []string, opts ReloadOptions) ReloadResult {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	start := time.Now()
	res := e.reloadLocked(ctx, dir, names, opts)
	res.Duration = time.Since(start)
	e.mu.Lock()
	e.reload.note(res, opts.Initial, time.Now())
	e.mu.Unlock()
	return res
}

func (e *Exporter) reloadLocked(ctx context.Context, dir string, names []string, opts ReloadOptions) ReloadResult {
	var res ReloadResult
	if names == nil {
		var err error
		if names, err = config.Names(dir); err != nil {
			res.Err = fmt.Errorf("--config.dir %s: %w", dir, err)
			return res
		}
	}
	log := e.opts.Logger
	res.Removed = e.removeExcept(names)
	for _, name := range res.Removed {
		log.Info("config removed", "config", name)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			res.Err = err
			return res
		}
		old := e.lookup(name)
		if old != nil && sourceOf(dir, name) == old.hash {
			e.clearFailed(name) // back to the running version
			res.Unchanged = append(res.Unchanged, name)
			continue
		}
		en, err := e.open(dir, name, opts.Strict)
		if err != nil {
			e.setFailed(name, err)
			res.Failed = append(res.Failed, ConfigError{name, err})
			if old != nil {
				log.Error("config reload failed; the running version keeps running", "config", name, "err", err)
			} else {
				log.Error("config failed", "config", name, "err", err)
			}
			continue
		}
		e.swap(name, en)
		if old != nil {
			e.closeEntry(old)
			res.Changed = append(res.Changed, name)
			log.Info("config reloaded", "config", name)
		} else {
			res.Added = append(res.Added, name)
			log.Info("config loaded", "config", name)
		}
	}
	return res
}

// open reads config name from dir and opens it; its names are checked
// against the other loaded configs. The hash is taken from a read before
// the one the unit is opened from: if the files change in between, the
// next reload sees a difference and opens them again.
func (e *Exporter) open(dir, name string, strict bool) (*entry, error) {
	hash := sourceOf(dir, name)
	cfg, err := config.Load(dir, name)
	if err != nil {
		return nil, err
	}
	e.mu.RLock()
	var others []*config.Config
	for _, en := range e.units {
		if en.u.Name() != name {
			others = append(others, en.u.Config())
		}
	}
	e.mu.RUnlock()
	if err := e.checkNamesAgainst(others, cfg); err != nil {
		return nil, err
	}
	u, err := lifecycle.Open(cfg, e.opts)
	if err != nil {
		return nil, err
	}
	if errs := u.AttachErrors(); strict && len(errs) > 0 {
		if cerr := u.Close(); cerr != nil {
			e.opts.Logger.Warn("close", "config", name, "err", cerr)
		}
		return nil, errors.Join(errs...)
	}
	return &entry{u: u, hash: hash}, nil
}

// sourceOf hashes dir/NAME.yaml and dir/NAME.bpf.o, read the way
// config.Load and lifecycle.Open read them (regular files, capped). A file
// that cannot be read hashes as its error, so it never matches a running
// version and the open that follows reports it.
func sourceOf(dir, name string) sourceHash {
	h := sha256.New()
	for _, f := range []struct {
		path  string
		limit int64
	}{
		{filepath.Join(dir, name+".yaml"), config.MaxFileSize},
		{filepath.Join(dir, name+".bpf.o"), lifecycle.MaxObjectSize},
	} {
		raw, err := regfile.Read(f.path, f.limit)
		if err != nil {
			raw = []byte("unreadable: " + err.Error())
		}
		fmt.Fprintf(h, "%d\n", len(raw))
		h.Write(raw)
	}
	return sourceHash(h.Sum(nil))
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

// swap puts en in place of the loaded config name (or adds it) in one
// step, and clears its failure.
func (e *Exporter) swap(name string, en *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.failed, labelValue(name))
	for i, old := range e.units {
		if old.u.Name() == name {
			e.units[i] = en
			return
		}
	}
	e.units = append(e.units, en)
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
	ch <- prometheus.MustNewConstMetric(d.lastReloadOK, prometheus.GaugeValue, boolValue(s.lastOK))
	last := 0.0 // never, as Prometheus reports it
	if !s.lastSuccess.IsZero() {
		last = float64(s.lastSuccess.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(d.lastReloadTime, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(d.reloads, prometheus.CounterValue, float64(s.successes), "success")
	ch <- prometheus.MustNewConstMetric(d.reloads, prometheus.CounterValue, float64(s.failures), "failure")
}
