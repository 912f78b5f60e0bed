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

// watchDir watches dir (not its subdirectories: a ConfigMap's files are
// symlinks in it) and sends on the returned channel once dir has been
// still for quiet after a change, or 10×quiet after the first of changes
// that never stop. It stops when ctx ends. A directory that is itself
// deleted or moved ends the watch, with a warning: SIGHUP still reloads.
func watchDir(ctx context.Context, dir string, quiet time.Duration, logger *slog.Logger) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("--config.watch: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchMask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--config.watch: watch %s: %w (--no-config.watch to go without)", dir, err)
	}
	// A non-blocking descriptor in an *os.File reads through Go's poller,
	// so Close ends a Read in progress.
	f := os.NewFile(uintptr(fd), "inotify")
	changed := make(chan struct{}, 1)
	var lost atomic.Bool
	go func() {
		defer close(changed)
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					logger.Warn("config directory watch ended; SIGHUP still reloads", "dir", dir, "err", err)
				}
				return
			}
			if watchLost(buf[:n]) {
				lost.Store(true)
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	out := make(chan struct{}, 1)
	go func() {
		defer f.Close()
		var first time.Time
		timer := time.NewTimer(quiet)
		timer.Stop()
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
				select {
				case out <- struct{}{}:
				default: // a reload is already due
				}
				if lost.Load() {
					logger.Warn("config directory deleted or moved: its watch ended; SIGHUP still reloads", "dir", dir)
					return
				}
			}
		}
	}()
	return out, nil
}

// watchLost reports whether the inotify events in buf include the end of
// the watch (its directory deleted, moved away or unmounted).
func watchLost(buf []byte) bool {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		if ev.Mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0 {
			return true
		}
		buf = buf[min(len(buf), unix.SizeofInotifyEvent+int(ev.Len)):]
	}
	return false
}
