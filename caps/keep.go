package caps

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrCgo is returned by [Keep] in a binary that links cgo: Go can then not
// change the credentials of every thread (syscall.AllThreadsSyscall), and
// changing only some would leave capabilities behind.
var ErrCgo = errors.New("caps: dropping capabilities needs a binary built with CGO_ENABLED=0")

// Keep reduces the capabilities of the process, on every one of its
// threads, to keep (what of keep it has: Keep never adds any). Linux keeps
// capabilities per thread and Go runs goroutines on many threads, so each
// step is made on all threads at once with syscall.AllThreadsSyscall;
// threads started later inherit the result. In order:
//
//  1. the bounding set is cut to keep (needs cap_setpcap, which root has;
//     without it the bounding set is left as it is and step 3 guards execve);
//  2. the ambient set is cleared;
//  3. no_new_privs is set: no later execve, of a setuid-root binary or of
//     anything as root, can give capabilities back;
//  4. the permitted and effective sets become keep, the inheritable set
//     what it shares with keep.
//
// After Keep, a dropped capability is gone for good. An error may leave
// some steps done: treat it as fatal. It is [ErrCgo] in cgo binaries.
func Keep(keep Set) error {
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, 0, 0); errno == syscall.ENOTSUP {
		return ErrCgo
	}
	cur, err := get()
	if err != nil {
		return err
	}
	keep &= cur.Permitted

	if cur.Effective.Has(unix.CAP_SETPCAP) {
		for c := Cap(0); c < 64; c++ {
			in, err := inBounding(c)
			if errors.Is(err, unix.EINVAL) {
				break // past the kernel's last capability
			}
			if err != nil {
				return err
			}
			if in && !keep.Has(c) {
				if err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
					return fmt.Errorf("caps: dropping %s from the bounding set: %w", c, err)
				}
			}
		}
	}
	err = allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: before Linux 4.3, no ambient set
		return fmt.Errorf("caps: clearing the ambient set: %w", err)
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("caps: setting no_new_privs: %w", err)
	}
	next := cur
	next.Permitted, next.Effective, next.Inheritable = keep, keep, cur.Inheritable&keep
	hdr, data := capData(next)
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return fmt.Errorf("caps: capset to %s: %w", keep, errno)
	}
	return nil
}

// WithoutEffective runs fn on a thread of its own whose effective set is
// empty, then restores that thread (or, if restoring fails, ends it). The
// other threads keep their capabilities throughout. It tells whether an
// operation needs a capability (fn fails with EPERM or EACCES) without
// giving any up.
func WithoutEffective(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Not unlocked until the capabilities are back: a goroutine that
		// exits locked takes its thread with it.
		runtime.LockOSThread()
		hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var saved [2]unix.CapUserData
		if err := unix.Capget(hdr, &saved[0]); err != nil {
			errc <- fmt.Errorf("caps: capget: %w", err)
			return
		}
		lowered := saved
		lowered[0].Effective, lowered[1].Effective = 0, 0
		if err := unix.Capset(hdr, &lowered[0]); err != nil {
			errc <- fmt.Errorf("caps: capset: %w", err)
			return
		}
		err := fn()
		if unix.Capset(hdr, &saved[0]) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// get reads the calling thread's sets.
func get() (State, error) {
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(hdr, &data[0]); err != nil {
		return State{}, fmt.Errorf("caps: capget: %w", err)
	}
	join := func(lo, hi uint32) Set { return Set(hi)<<32 | Set(lo) }
	return State{
		Effective:   join(data[0].Effective, data[1].Effective),
		Permitted:   join(data[0].Permitted, data[1].Permitted),
		Inheritable: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

// capData is the capset(2) argument for st's effective, permitted and
// inheritable sets.
func capData(st State) (*unix.CapUserHeader, *[2]unix.CapUserData) {
	data := &[2]unix.CapUserData{}
	for i := range data {
		shift := 32 * i
		data[i] = unix.CapUserData{
			Effective:   uint32(st.Effective >> shift),
			Permitted:   uint32(st.Permitted >> shift),
			Inheritable: uint32(st.Inheritable >> shift),
		}
	}
	return &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, data
}

// inBounding reports whether c is in the calling thread's bounding set.
func inBounding(c Cap) (bool, error) {
	n, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	return n == 1, err
}

// allThreads runs prctl-like syscalls on every thread, the unused
// arguments zero (prctl checks they are).
func allThreads(trap, a1, a2, a3 uintptr) error {
	if _, _, errno := syscall.AllThreadsSyscall6(trap, a1, a2, a3, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
