package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// hupChildEnv makes TestSIGHUPAfterStopChild run.
const hupChildEnv = "EBPFMON_SIGHUP_AFTER_STOP_CHILD"

// TestSIGHUPAfterStopChild is the helper process of TestSIGHUPAfterStop:
// it releases the signals as ebpfmon does on its way out, gets a SIGHUP,
// and exits 0.
func TestSIGHUPAfterStopChild(t *testing.T) {
	if os.Getenv(hupChildEnv) == "" {
		t.Skip("helper process of TestSIGHUPAfterStop")
	}
	_, stop := signalContext(slog.New(slog.DiscardHandler), make(chan struct{}, 1))
	stop()
	_ = syscall.Kill(os.Getpid(), syscall.SIGHUP) // delivered to this thread before Kill returns
	os.Exit(0)
}

// TestSIGHUPAfterStop: a SIGHUP that arrives while ebpfmon exits (a reload
// asked for during a shutdown) must not end it by the signal: it used to
// get its default action back and kill ebpfmon, which then exited with
// "hangup" instead of 0.
func TestSIGHUPAfterStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSIGHUPAfterStopChild$")
	cmd.Env = append(os.Environ(), hupChildEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("SIGHUP after stop: %v, want exit 0\n%s", err, out)
	}
}
