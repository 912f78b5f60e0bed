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
// for a client). SIGHUP asks for a reload on hups (coalesced: one pending
// reload at most, run once the configs are loaded); with hups nil
// (--no-config.reload) it is logged and ignored, as its default action
// would kill ebpfmon silently. stop releases SIGINT and SIGTERM and
// ignores SIGHUP from then on.
func signalContext(logger *slog.Logger, hups chan<- struct{}) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				handleSignal(ctx, s.(syscall.Signal), cancel, hups, logger)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		// SIGHUP stays ignored: with its default action back, one sent
		// while ebpfmon exits (a reload asked for during a shutdown) would
		// end it by the signal instead of its exit status.
		signal.Ignore(syscall.SIGHUP)
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// handleSignal acts on one signal that signalContext caught.
func handleSignal(ctx context.Context, s syscall.Signal, cancel context.CancelFunc, hups chan<- struct{}, logger *slog.Logger) {
	switch {
	case s == syscall.SIGHUP && hups == nil:
		logger.Warn("SIGHUP ignored: reloads are off (--no-config.reload); restart ebpfmon to apply changes")
	case s == syscall.SIGHUP:
		select {
		case hups <- struct{}{}:
		default:
			logger.Info("SIGHUP: a reload is already pending")
		}
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
