package cgroup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Scan returns every cgroup under root right now, by id: the same table a
// [Resolver] walks for, read afresh on every call. It is meant for callers
// that poll the hierarchy (see lifecycle's cgroup_id_map): it reads each
// directory once with getdents(2) and takes the ids from the directory
// entries, so it costs one open, two getdents and one close per cgroup,
// with no stat, no sorting and no allocation for the interface files
// (cgroup.procs, memory.max, ...) that make up most of a cgroup's entries.
// On cgroupfs (kernfs) and on ordinary filesystems the inode number in a
// directory entry is the one stat reports, which for a cgroup is its id.
//
// Directories that vanish or cannot be read during the walk are skipped;
// only a failure to open root itself is an error.
func Scan(root string) (map[uint64]string, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup: scanning %s: %w", root, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("cgroup: scanning %s: %w", root, err)
	}
	s := scanner{paths: map[uint64]string{st.Ino: "/"}, buf: make([]byte, 32<<10)}
	if err := s.dir(fd, ""); err != nil {
		return nil, fmt.Errorf("cgroup: scanning %s: %w", root, err)
	}
	return s.paths, nil
}

// scanner holds what one Scan shares between directories.
type scanner struct {
	paths map[uint64]string
	buf   []byte // getdents buffer, reused: a directory is read whole before its children
}

// child is a subdirectory found in a directory listing.
type child struct {
	name string
	ino  uint64
}

// dir records the subdirectories of the open directory fd, whose path
// relative to the root is rel ("" for the root), and descends into them.
func (s *scanner) dir(fd int, rel string) error {
	children, err := s.list(fd)
	if err != nil {
		return err
	}
	for _, c := range children {
		path := rel + "/" + c.name
		s.paths[c.ino] = path
		cfd, err := unix.Openat(fd, c.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			continue // removed since the listing, or unreadable: skip it
		}
		_ = s.dir(cfd, path) // a subtree vanishing mid-read is not an error
		unix.Close(cfd)
	}
	return nil
}

// list reads the whole directory fd and returns its subdirectories.
func (s *scanner) list(fd int) ([]child, error) {
	var children []child
	for {
		n, err := unix.Getdents(fd, s.buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return children, nil
		}
		for b := s.buf[:n]; len(b) > 0; {
			ino, typ, name, reclen, ok := parseDirent(b)
			if !ok {
				return nil, errors.New("malformed directory entry")
			}
			b = b[reclen:]
			if isDots(name) || (typ != unix.DT_DIR && typ != unix.DT_UNKNOWN) {
				continue
			}
			if typ == unix.DT_UNKNOWN { // some filesystems leave the type out
				var st unix.Stat_t
				if unix.Fstatat(fd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
					continue
				}
			}
			children = append(children, child{name: string(name), ino: ino})
		}
	}
}

// direntHeader is the fixed part of a linux_dirent64: d_ino, d_off,
// d_reclen, d_type; the NUL-terminated name follows.
const direntHeader = int(unsafe.Offsetof(unix.Dirent{}.Name))

// parseDirent decodes the linux_dirent64 at the start of b; name points
// into b.
func parseDirent(b []byte) (ino uint64, typ uint8, name []byte, reclen int, ok bool) {
	if len(b) < direntHeader {
		return 0, 0, nil, 0, false
	}
	reclen = int(binary.NativeEndian.Uint16(b[unsafe.Offsetof(unix.Dirent{}.Reclen):]))
	if reclen < direntHeader || reclen > len(b) {
		return 0, 0, nil, 0, false
	}
	ino = binary.NativeEndian.Uint64(b[unsafe.Offsetof(unix.Dirent{}.Ino):])
	typ = b[unsafe.Offsetof(unix.Dirent{}.Type)]
	name = b[direntHeader:reclen]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return ino, typ, name, reclen, true
}

func isDots(name []byte) bool {
	return string(name) == "." || string(name) == ".."
}

// watchMask is what a Watcher asks inotify about each cgroup directory:
// subdirectories created, removed or (cgroup v1 only) renamed. Interface
// files are created by the kernel, not through the VFS, and modified files
// (cgroup.events) are not asked for, so a busy but stable hierarchy sends
// nothing.
const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW

// Watcher keeps an up-to-date table of the cgroups under a root. [Scan]
// is the source of truth; inotify only says when to scan again: the
// Watcher puts a watch on every cgroup directory (inotify reports mkdir and
// rmdir of the directories below a watched one, cgroupfs included) and
// scans after a change, at most once per interval. A stable hierarchy
// costs nothing; a churning one costs one Scan per interval. Where inotify
// is unavailable or runs out of watches (fs.inotify.max_user_watches), the
// Watcher scans every interval instead and logs why, once.
//
// Changes that inotify reports reach [Watcher.Next] within the interval
// after they happen (or at once, if the last scan is older than that). A
// scan that finds new directories is always followed by another one an
// interval later, which catches subdirectories created before their
// parent's watch was in place.
type Watcher struct {
	root     string
	interval time.Duration
	log      *slog.Logger

	notify  *os.File      // the inotify instance; nil when polling
	fd      int           // notify's descriptor (notify.Fd() would make reads blocking)
	dirty   chan struct{} // capacity 1: something may have changed
	reading sync.WaitGroup

	mu      sync.Mutex // guards polling, set by the reader too
	polling bool

	paths   map[uint64]string // the last scan
	watched map[uint64]bool   // ids whose directory has a watch
	scanned time.Time         // when the last scan started
	recheck bool              // the last scan found new directories

	closeOnce sync.Once
	closeErr  error
}

// WatchOption configures a [Watcher].
type WatchOption func(*Watcher)

// WithoutInotify makes a Watcher scan every interval instead of waiting for
// inotify (for tests, and as a last resort).
func WithoutInotify() WatchOption { return func(w *Watcher) { w.polling = true } }

// NewWatcher scans root once and starts watching it. interval <= 0 means
// [DefaultMinRefresh]. Only a failure to scan root is an error; without
// inotify the Watcher polls. log may be nil.
func NewWatcher(root string, interval time.Duration, log *slog.Logger, opts ...WatchOption) (*Watcher, error) {
	if interval <= 0 {
		interval = DefaultMinRefresh
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{root: root, interval: interval, log: log, dirty: make(chan struct{}, 1), watched: map[uint64]bool{}}
	for _, opt := range opts {
		opt(w)
	}
	if !w.polling {
		fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err != nil {
			w.fallBack("inotify_init1", err)
		} else {
			w.fd, w.notify = fd, os.NewFile(uintptr(fd), "inotify")
			w.reading.Add(1)
			go w.read()
		}
	}
	if err := w.scan(); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Paths returns the table of the last scan. It is shared: do not modify
// it. Like Next, it must not be called concurrently with Next.
func (w *Watcher) Paths() map[uint64]string { return w.paths }

// Polling reports whether the Watcher scans every interval instead of
// waiting for inotify.
func (w *Watcher) Polling() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.polling
}

// Next waits until the hierarchy may have changed (or, when polling, for
// the interval), scans it again and returns the new table, which is shared:
// do not modify it. It returns ctx's error when ctx ends first, and the
// scan's error when root cannot be read (the next call tries again). Next
// must not be called concurrently.
func (w *Watcher) Next(ctx context.Context) (map[uint64]string, error) {
	if !w.Polling() && !w.recheck {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-w.dirty:
		}
	}
	if wait := time.Until(w.scanned.Add(w.interval)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	select { // the scan covers whatever was reported until now
	case <-w.dirty:
	default:
	}
	if err := w.scan(); err != nil {
		return nil, err
	}
	return w.paths, nil
}

// Close stops watching. It does not interrupt a Next in progress: cancel
// its context for that.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		if w.notify != nil {
			w.closeErr = w.notify.Close() // ends read
		}
		w.reading.Wait()
	})
	return w.closeErr
}

// scan reads the hierarchy and puts a watch on every new directory.
func (w *Watcher) scan() error {
	w.scanned = time.Now()
	paths, err := Scan(w.root)
	if err != nil {
		return err
	}
	w.paths = paths
	w.recheck = false
	if w.Polling() {
		return nil
	}
	for id := range w.watched {
		if _, ok := paths[id]; !ok {
			delete(w.watched, id) // removed: the kernel dropped its watch
		}
	}
	for id, path := range paths {
		if w.watched[id] {
			continue
		}
		_, err := unix.InotifyAddWatch(w.fd, w.root+path, watchMask)
		switch {
		case err == nil:
			w.watched[id] = true
			w.recheck = true
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			// removed since the scan: the next scan drops it
		default:
			w.fallBack("inotify_add_watch "+w.root+path, err)
			return nil
		}
	}
	return nil
}

// fallBack switches to polling for good, saying why.
func (w *Watcher) fallBack(what string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polling {
		return
	}
	w.polling = true
	hint := ""
	if errors.Is(err, unix.ENOSPC) {
		hint = " (raise fs.inotify.max_user_watches)"
	}
	w.log.Warn("cgroup watch: inotify unavailable, scanning the hierarchy every interval instead"+hint,
		"root", w.root, "interval", w.interval, "op", what, "err", err)
}

// read turns inotify events about directories into a dirty signal until
// the inotify file is closed.
func (w *Watcher) read() {
	defer w.reading.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := w.notify.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.fallBack("read inotify events", err)
				w.signal()
			}
			return
		}
		if relevant(buf[:n]) {
			w.signal()
		}
	}
}

func (w *Watcher) signal() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// relevant reports whether a batch of inotify events says a directory came
// or went, or that events were lost.
func relevant(b []byte) bool {
	const header = int(unsafe.Sizeof(unix.InotifyEvent{}))
	for len(b) >= header {
		mask := binary.NativeEndian.Uint32(b[unsafe.Offsetof(unix.InotifyEvent{}.Mask):])
		if mask&unix.IN_Q_OVERFLOW != 0 || mask&unix.IN_ISDIR != 0 && mask&(unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO) != 0 {
			return true
		}
		size := header + int(binary.NativeEndian.Uint32(b[unsafe.Offsetof(unix.InotifyEvent{}.Len):]))
		if size > len(b) {
			return true // cannot happen: the kernel returns whole events; scan to be safe
		}
		b = b[size:]
	}
	return false
}
