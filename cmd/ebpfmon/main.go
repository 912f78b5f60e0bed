// Command ebpfmon exports eBPF map contents as Prometheus metrics: for each
// config NAME it loads NAME.bpf.o, attaches every program to the hook its
// ELF section names, and turns the maps NAME.yaml lists into metrics.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	f, err := parseFlags(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfmon:", err)
		return 2
	}
	logger, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfmon:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, f, logger); err != nil {
		logger.Error("exiting", "err", err)
		return 1
	}
	return 0
}

// flags are the command line settings.
type flags struct {
	configDir, btfPath               string
	configNames                      []string
	check, strict, debug             bool
	listen, telemetryPath, namespace string
	logLevel, logFormat              string
	capsKeep                         string
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	app := kingpin.New("ebpfmon", "Export eBPF maps as Prometheus metrics.\n\n"+
		"For each config NAME, ebpfmon reads NAME.yaml (the metric schema, ebpf_exporter's format) and "+
		"NAME.bpf.o (a CO-RE object) from --config.dir, loads the object, attaches every program to the "+
		"hook its ELF section names (tracepoint/, raw_tp/, tp_btf/, kprobe/, fentry/, uprobe/, perf_event/, xdp/ ...) "+
		"and serves the maps on --web.telemetry-path. A config that fails is logged and reported as "+
		"ebpfmon_config_loaded 0; the others keep running (unless --config.strict).")
	app.Version(version.Print("ebpfmon"))
	app.HelpFlag.Short('h')
	app.Flag("config.dir", "Directory with NAME.yaml and NAME.bpf.o files.").Default("examples").StringVar(&f.configDir)
	app.Flag("config.names", "Comma-separated configs to load (default: every NAME.yaml in --config.dir).").PlaceHolder("NAME,...").StringsVar(&f.configNames)
	app.Flag("config.check", "Load and attach every config, report, detach and exit (0 only if every config loaded and every program attached).").BoolVar(&f.check)
	app.Flag("config.strict", "Fail instead of continuing when a config fails to load or a program fails to attach.").BoolVar(&f.strict)
	app.Flag("btf.path", "Kernel BTF to relocate against instead of /sys/kernel/btf/vmlinux (for kernels without BTF).").StringVar(&f.btfPath)
	app.Flag("web.listen-address", "Address to serve metrics on.").Default(":9435").StringVar(&f.listen)
	app.Flag("web.telemetry-path", "Path to serve metrics on.").Default("/metrics").StringVar(&f.telemetryPath)
	app.Flag("metrics.namespace", "Prefix of every metric name; ebpf_exporter gives its metric names.").Default("ebpfmon").StringVar(&f.namespace)
	app.Flag("debug", "Serve /maps: every map's raw keys, decoded labels and values, as JSON.").BoolVar(&f.debug)
	app.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").StringVar(&f.logLevel)
	app.Flag("log.format", "Log format: logfmt or json.").Default("logfmt").StringVar(&f.logFormat)
	addCapabilitiesFlag(app, &f.capsKeep)
	if _, err := app.Parse(args); err != nil {
		return nil, fmt.Errorf("%w (see --help)", err)
	}
	if err := oneOf("--log.level", f.logLevel, "debug", "info", "warn", "error"); err != nil {
		return nil, err
	}
	if err := oneOf("--log.format", f.logFormat, "logfmt", "json"); err != nil {
		return nil, err
	}
	if err := checkCapabilitiesFlag(f.capsKeep); err != nil {
		return nil, err
	}
	f.configNames = splitNames(f.configNames)
	return f, nil
}

func oneOf(flag, value string, allowed ...string) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	return fmt.Errorf("%s: unknown %q, want %s", flag, value, strings.Join(allowed, "|"))
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
