package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fillComm is the thread name the bench objects count getpid calls of
// (their comm constant, set in bench/configs/*.yaml).
const fillComm = "ebpfmon-fill"

// fill calls getpid(2) n times from a thread named fillComm: the loaded
// bench object adds one map key per call.
func fill(n int) error {
	done := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it exits with the goroutine,
		// taking its name with it.
		runtime.LockOSThread()
		name := append([]byte(fillComm), 0)
		if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
			done <- fmt.Errorf("fill: name the thread %s: %w", fillComm, err)
			return
		}
		for range n {
			syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		}
		done <- nil
	}()
	return <-done
}
