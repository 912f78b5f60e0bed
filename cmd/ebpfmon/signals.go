package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// signalContext returns a context that the first SIGINT or SIGTERM ends.
// After it, both signals get their default action back, so a second one
// ends the process at once (a load stuck in the kernel, a shutdown waiting
// for a client). SIGHUP is logged and ignored: ebpfmon cannot reload yet,
// and its default action would kill it silently. stop releases the signals.
func signalContext(logger *slog.Logger) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				handleSignal(ctx, s.(syscall.Signal), cancel, logger)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// handleSignal acts on one signal that signalContext caught.
func handleSignal(ctx context.Context, s syscall.Signal, cancel context.CancelFunc, logger *slog.Logger) {
	switch {
	case s == syscall.SIGHUP:
		logger.Warn("SIGHUP ignored: ebpfmon cannot reload its configs yet; restart it to apply changes")
	case ctx.Err() == nil:
		signal.Reset(syscall.SIGINT, syscall.SIGTERM)
		logger.Info("stopping; send the signal again to exit at once", "signal", s.String())
		cancel()
	default:
		// A second signal that arrived before Reset took effect: deliver it
		// again, now with its default action.
		_ = syscall.Kill(os.Getpid(), s)
	}
}
