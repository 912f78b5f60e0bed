package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/cilium/ebpf/rlimit"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// errInterrupted is returned when a signal stops ebpfmon before every
// config is loaded.
var errInterrupted = errors.New("interrupted by a signal before every config was loaded")

// serve loads the configs, then serves metrics and reloads the configs
// on hups (nil: no reloads) until ctx ends (--config.check: returns right
// after loading). It tells systemd through n.
func serve(ctx context.Context, f *flags, hups <-chan struct{}, n *notifier, logger *slog.Logger) error {
	n.status("loading configs")
	exp, err := loadInterruptible(ctx, func(ctx context.Context) (*exporter.Exporter, error) {
		return loadConfigs(ctx, f, logger)
	})
	if exp != nil {
		defer exp.Close()
	}
	if err != nil || f.check {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	reg.MustRegister(exporter.RuntimeCollectors(f.namespace)...) // the names the exporter reserves
	err = listen(ctx, f, reg, exp, hups, n, logger)
	n.stopping() // before the deferred Close detaches the programs
	return err
}

// loadInterruptible runs load, and returns errInterrupted as soon as ctx
// ends, without waiting for it: a load blocked in the kernel or the
// library is abandoned (the kernel releases its programs and maps when the
// process exits; should it live on, what load returns is closed). load
// itself is expected to stop between configs once ctx ends.
func loadInterruptible(ctx context.Context, load func(context.Context) (*exporter.Exporter, error)) (*exporter.Exporter, error) {
	type result struct {
		exp *exporter.Exporter
		err error
	}
	done := make(chan result, 1)
	go func() {
		exp, err := load(ctx)
		done <- result{exp, err}
	}()
	select {
	case r := <-done:
		return r.exp, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.exp != nil {
				r.exp.Close()
			}
		}()
		return nil, errInterrupted
	}
}

// loadConfigs opens every config: the first reload, from nothing.
// Failures are logged and, without --config.strict, skipped; with it they
// are fatal, as are missed attachments. It stops between configs once ctx
// ends.
func loadConfigs(ctx context.Context, f *flags, logger *slog.Logger) (*exporter.Exporter, error) {
	if err := checkDirs(f); err != nil {
		return nil, err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// use the memory cgroup and this does nothing.
	if err := rlimit.RemoveMemlock(); err != nil {
		logger.Warn("cannot raise RLIMIT_MEMLOCK; loading may fail on kernels before 5.11", "err", err)
	}
	kernelBTF, err := lifecycle.LoadKernelBTF(f.btfPath)
	if err != nil {
		return nil, err
	}
	kubeOpt, err := f.kube.envOption(ctx, logger)
	if err != nil {
		return nil, err
	}
	envOpts := []decoder.Option{kubeOpt, f.kube.cgroupGraceOption(), decoder.WithKernelBTF(kernelBTF, f.btfPath)}
	if f.cgroupPaths == "mount" {
		envOpts = append(envOpts, decoder.WithCgroupMountPaths())
	}
	var pins *lifecycle.Pins // --config.check leaves the pins of a running ebpfmon alone
	if f.pinPath != "" && !f.check {
		if pins, err = lifecycle.NewPins(f.pinPath, f.resetPins); err != nil {
			return nil, err
		}
	}
	exp := exporter.New(lifecycle.Options{Namespace: f.namespace, KernelBTF: kernelBTF, Env: decoder.NewEnv(envOpts...), Pins: pins, Logger: logger, MaxSeries: f.maxSeries})
	res := exp.Reload(ctx, f.sources(), exporter.ReloadOptions{Strict: f.strict || f.check, Initial: true})
	if res.Err != nil {
		if ctx.Err() != nil {
			return exp, errInterrupted
		}
		return exp, res.Err
	}
	if len(res.Failed) > 0 && (f.strict || f.check) {
		failed := res.FailedConfigs()
		return exp, fmt.Errorf("%d of %d configs failed: %s", len(failed), len(failed)+len(res.Added), strings.Join(failed, ", "))
	}
	if f.check {
		logger.Info("config check passed", "configs", strings.Join(res.Added, ","))
	}
	return exp, nil
}

// checkDirs checks --config.dir and every --config.extra-dir is a
// directory, each given once, and that --config.names-file can be read,
// so that a mistake in them is reported with the flag to fix.
func checkDirs(f *flags) error {
	flags := []string{"--config.dir"}
	dirs := []string{f.configDir}
	for _, d := range f.configExtraDirs {
		flags, dirs = append(flags, "--config.extra-dir"), append(dirs, d)
	}
	infos := make([]os.FileInfo, len(dirs))
	for i, dir := range dirs {
		info, err := checkDir(flags[i], dir)
		if err != nil {
			return err
		}
		for j, seen := range infos[:i] {
			if os.SameFile(seen, info) {
				return fmt.Errorf("%s %s: the same directory as %s %s: give each directory once "+
					"(--config.names-file picks configs of --config.dir; every config of a --config.extra-dir runs)", flags[i], dir, flags[j], dirs[j])
			}
		}
		infos[i] = info
	}
	if f.configNamesFile != "" {
		if _, err := config.ReadNames(f.configNamesFile); err != nil {
			return fmt.Errorf("--config.names-file: %w (want a file naming configs of --config.dir %s, or leave the flag out)", err, f.configDir)
		}
	}
	return nil
}

// checkDir checks dir, given with flag, is a directory.
func checkDir(flag, dir string) (os.FileInfo, error) {
	if dir == "" {
		return nil, fmt.Errorf("%s: empty, want the directory holding NAME.yaml and NAME.bpf.o", flag)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s %s: not a directory, want the directory holding NAME.yaml and NAME.bpf.o", flag, dir)
	}
	return info, nil
}
