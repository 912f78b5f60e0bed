package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

// DefaultMinRefresh is the default minimum time between two walks.
const DefaultMinRefresh = time.Second

// DefaultGrace is how long, by default, the id of a removed cgroup keeps
// resolving to its last path (the pod decoders' default grace as well).
const DefaultGrace = 5 * time.Minute

// MaxGone bounds how many removed cgroups a Resolver remembers during their
// grace period; past it, the longest gone are forgotten first.
const MaxGone = 16384

// ErrNotFound is returned for an id that no cgroup has, even after a walk.
var ErrNotFound = errors.New("cgroup: id not found")

// Resolver maps cgroup ids (directory inode numbers) under one hierarchy to
// paths relative to its root: "/" for the root itself, "/system.slice/foo"
// below it. It is safe for concurrent use.
type Resolver struct {
	root       string
	minRefresh time.Duration
	grace      time.Duration
	now        func() time.Time

	walkMu sync.Mutex // serialises walks
	mu     sync.RWMutex
	paths  map[uint64]string
	gone   map[uint64]goneCgroup // removed since a walk, within the grace period
	maxID  uint64                // the largest id walked or looked for
	walked time.Time             // end of the last walk; zero before the first
	err    error                 // error of the last walk
}

// goneCgroup is a removed cgroup's last path and when a walk first missed
// it.
type goneCgroup struct {
	path  string
	since time.Time
}

// NewResolver returns a Resolver for the hierarchy mounted at root. It walks
// nothing until the first lookup; after that, a lookup of an unknown id walks
// again only if minRefresh has passed since the previous walk (minRefresh <= 0
// means [DefaultMinRefresh]). The id of a cgroup that a walk no longer finds
// keeps resolving to its last path for grace (0 or less: not at all), so
// that the last counts of a removed cgroup (a deleted pod's) keep their
// labels; at most [MaxGone] of them are kept.
func NewResolver(root string, minRefresh, grace time.Duration) *Resolver {
	if minRefresh <= 0 {
		minRefresh = DefaultMinRefresh
	}
	return &Resolver{root: root, minRefresh: minRefresh, grace: max(grace, 0), now: time.Now}
}

// Root returns the directory the Resolver walks.
func (r *Resolver) Root() string { return r.root }

// Path returns the path of the cgroup with the given id. An unknown id
// triggers a walk: at once if the id is larger than any walked or looked
// for before (ids grow, so it is a cgroup created since), otherwise
// rate-limited (ids of removed cgroups must not cause a walk per lookup). If the id is
// still unknown the error wraps [ErrNotFound]. Other errors come from the
// last walk of the hierarchy.
func (r *Resolver) Path(id uint64) (string, error) {
	p, ok, newer := r.lookup(id)
	if ok {
		return p, nil
	}
	if err := r.refresh(newer); err != nil {
		return "", err
	}
	if p, ok, _ := r.lookup(id); ok {
		return p, nil
	}
	r.mu.Lock()
	r.maxID = max(r.maxID, id) // looked for: later misses are rate-limited
	r.mu.Unlock()
	return "", fmt.Errorf("%d: %w", id, ErrNotFound)
}

// Paths walks the hierarchy (subject to the same rate limit) and returns a
// copy of the id-to-path table: the cgroups that exist, not the removed ones
// still in their grace period.
func (r *Resolver) Paths() (map[uint64]string, error) {
	if err := r.refresh(false); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return maps.Clone(r.paths), nil
}

// Refresh walks the hierarchy now, ignoring the rate limit.
func (r *Resolver) Refresh() error { return r.refresh(true) }

// lookup returns the path of id, and whether id is newer than every id
// walked or looked for so far.
func (r *Resolver) lookup(id uint64) (path string, ok, newer bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.paths[id]; ok {
		return p, true, false
	}
	if g, ok := r.gone[id]; ok && r.now().Sub(g.since) < r.grace {
		return g.path, true, false
	}
	return "", false, id > r.maxID
}

func (r *Resolver) refresh(force bool) error {
	r.walkMu.Lock()
	defer r.walkMu.Unlock()
	r.mu.RLock()
	last, lastErr := r.walked, r.err
	r.mu.RUnlock()
	if !force && !last.IsZero() && r.now().Sub(last) < r.minRefresh {
		return lastErr
	}
	paths, err := walk(r.root)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.walked, r.err = r.now(), err
	if err == nil {
		r.remember(paths)
		r.paths = paths
		for id := range paths { // never lowered: removed ids stay rate-limited
			r.maxID = max(r.maxID, id)
		}
	}
	return err
}

// remember moves the cgroups of the last walk that paths lacks to the gone
// table, drops from it what paths has again and what is past the grace
// period, and keeps at most MaxGone, the most recently gone. Called with mu
// held.
func (r *Resolver) remember(paths map[uint64]string) {
	if r.grace == 0 {
		return
	}
	if r.gone == nil {
		r.gone = map[uint64]goneCgroup{}
	}
	now := r.now()
	for id, p := range r.paths {
		if _, ok := paths[id]; !ok {
			r.gone[id] = goneCgroup{path: p, since: now}
		}
	}
	for id, g := range r.gone {
		if _, back := paths[id]; back || now.Sub(g.since) >= r.grace {
			delete(r.gone, id)
		}
	}
	if extra := len(r.gone) - MaxGone; extra > 0 {
		ids := slices.SortedFunc(maps.Keys(r.gone), func(a, b uint64) int {
			return r.gone[a].since.Compare(r.gone[b].since)
		})
		for _, id := range ids[:extra] {
			delete(r.gone, id)
		}
	}
}

// walk maps the inode number of every directory under root to its path
// relative to root. Directories that vanish or cannot be read during the walk
// are skipped; only a failure to read root itself is an error.
func walk(root string) (map[uint64]string, error) {
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("cgroup: walking %s: %w", root, err)
	}
	paths := map[uint64]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // vanished or unreadable: skip it, keep walking
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("no inode number for %s", path)
		}
		paths[st.Ino] = relative(root, path)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup: walking %s: %w", root, err)
	}
	return paths, nil
}

// relative returns path relative to root, with a leading slash.
func relative(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == "." {
		return "/"
	}
	return "/" + filepath.ToSlash(rel)
}
