// Command ebpfmon exports eBPF map contents as Prometheus metrics: for each
// config NAME it loads NAME.bpf.o, attaches every program to the hook its
// ELF section names, and turns the maps NAME.yaml lists into metrics.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is ebpfmon with its arguments; it returns the exit status: 0 when
// stopped by SIGINT or SIGTERM, 1 on an error, 2 for bad flags.
func run(args []string) int {
	f, err := parseFlags(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfmon:", err)
		return 2
	}
	if f.command == dashboardCommand {
		return runDashboard(f, os.Stdout)
	}
	logger, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfmon:", err)
		return 2
	}
	var hups chan struct{}
	if f.reload {
		hups = make(chan struct{}, 1)
	}
	ctx, stop := signalContext(logger, hups)
	defer stop()
	err = serve(ctx, f, hups, newNotifier(logger), logger)
	switch {
	case errors.Is(err, errInterrupted) && !f.check:
		logger.Info("stopped while loading configs", "err", err)
		return 0
	case err != nil:
		logger.Error("exiting", "err", err)
		return 1
	}
	return 0
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}
