package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchMask is what the watch of --config.dir listens for: files written,
// created, deleted, renamed or retargeted in the directory. A mounted
// ConfigMap changes by renaming a new ..data symlink over the old one
// (IN_MOVED_TO); an edit on a host closes a written file (IN_CLOSE_WRITE).
const watchMask = unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_CREATE | unix.IN_DELETE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// watchDirs watches every dir in dirs (see watchDir) and sends on the
// returned channel when one of them changed.
func watchDirs(ctx context.Context, dirs []string, quiet time.Duration, logger *slog.Logger) (<-chan struct{}, error) {
	out := make(chan struct{}, 1)
	for _, dir := range dirs {
		changes, err := watchDir(ctx, dir, quiet, logger)
		if err != nil {
			return nil, err
		}
		go func() {
			for range changes {
				select {
				case out <- struct{}{}:
				default: // a reload is already due
				}
			}
		}()
	}
	return out, nil
}

// watchDir watches dir (not its subdirectories: a ConfigMap's files are
// symlinks in it) and sends on the returned channel once dir has been
// still for quiet after a change, or 10×quiet after the first of changes
// that never stop. It stops, and closes the channel, when ctx ends. A
// directory that is itself deleted or moved away is looked for at dir
// every quiet until it is back (a tool that replaces the whole
// directory), then watched again and
// reported as a change.
func watchDir(ctx context.Context, dir string, quiet time.Duration, logger *slog.Logger) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("--config.watch: inotify: %w", err)
	}
	w := &dirWatch{fd: fd, dir: dir}
	if err := w.add(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--config.watch: watch %s: %w (--no-config.watch to go without)", dir, err)
	}
	// A non-blocking descriptor in an *os.File reads through Go's poller,
	// so Close ends a Read in progress.
	f := os.NewFile(uintptr(fd), "inotify")
	changed := make(chan struct{}, 1)
	go w.read(f, changed, logger)
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer f.Close()
		w.debounce(ctx, changed, out, quiet, logger)
	}()
	return out, nil
}

// dirWatch is the inotify watch of one directory.
type dirWatch struct {
	fd   int
	dir  string
	wd   atomic.Int32 // the watch of dir as it is now
	lost atomic.Bool  // the directory wd watches was deleted or moved
}

// add watches dir as it is now, then drops the watch before (gone, or on
// the directory that was moved away): its last event, IN_IGNORED, then
// names a watch that is no longer the current one.
func (w *dirWatch) add() error {
	wd, err := unix.InotifyAddWatch(w.fd, w.dir, watchMask)
	if err != nil {
		return err
	}
	old := w.wd.Swap(int32(wd))
	w.lost.Store(false)
	if old > 0 && old != int32(wd) {
		_, _ = unix.InotifyRmWatch(w.fd, uint32(old)) // EINVAL once the kernel dropped it
	}
	return nil
}

// read passes every batch of events of the current watch on to changed
// (coalesced) until f is closed, noting when its directory goes away.
func (w *dirWatch) read(f *os.File, changed chan<- struct{}, logger *slog.Logger) {
	defer close(changed)
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				logger.Warn("config directory watch ended; SIGHUP still reloads", "dir", w.dir, "err", err)
			}
			return
		}
		seen, lost := scanEvents(buf[:n], w.wd.Load())
		if lost {
			w.lost.Store(true)
		}
		if !seen {
			continue // the watch before: its end, or the directory moved away
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// debounce sends on out once changes have been still for quiet (see
// watchDir); while the directory is gone it looks for it every quiet.
func (w *dirWatch) debounce(ctx context.Context, changed <-chan struct{}, out chan<- struct{}, quiet time.Duration, logger *slog.Logger) {
	var first time.Time
	timer := time.NewTimer(quiet)
	timer.Stop()
	gone := false
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
			if first.IsZero() {
				first = time.Now()
			}
			wait := min(quiet, time.Until(first.Add(10*quiet)))
			timer.Reset(max(wait, 0))
		case <-timer.C:
			first = time.Time{}
			if w.lost.Load() {
				if err := w.add(); err != nil {
					if !gone {
						logger.Warn("config directory deleted or moved: waiting for it to come back; SIGHUP still reloads", "dir", w.dir, "err", err)
					}
					gone = true
					timer.Reset(quiet)
					continue
				}
				logger.Info("config directory watched again", "dir", w.dir)
				gone = false
			}
			select {
			case out <- struct{}{}:
			default: // a reload is already due
			}
		}
	}
}

// scanEvents reports whether the inotify events in buf include some of
// the watch wd, and whether they include its end (its directory deleted,
// moved away or unmounted).
func scanEvents(buf []byte, wd int32) (seen, lost bool) {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		if ev.Wd == wd {
			seen = true
			lost = lost || ev.Mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0
		}
		buf = buf[min(len(buf), unix.SizeofInotifyEvent+int(ev.Len)):]
	}
	return seen, lost
}
