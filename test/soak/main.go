package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	url, reloadURL         string
	pid, loadPID           int
	configDir, configs     string
	namespace              string
	duration, warmup       time.Duration
	rate                   int
	reloadEvery, reloadAt  time.Duration
	reloadConfig, constant string
	values                 string
	reloadTimeout, grace   time.Duration
	scrapeTimeout          time.Duration
	maxRSSMiB              float64
	maxFDs                 int64
	maxGoroutines          float64
	window, settle         time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags and soaks; 0 when every check held, 1 when one
// failed, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := newSoak(o, stdout)
	if err == nil {
		err = s.run(ctx)
	}
	if err != nil {
		fmt.Fprintln(stderr, "soak: FAIL:", err)
		return 1
	}
	return 0
}

// parseFlags reads the flags into options.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:9435/metrics", "ebpfmon's /metrics")
	fs.StringVar(&o.reloadURL, "reload-url", "http://127.0.0.1:9435/-/reload", "ebpfmon's /-/reload (it runs with --web.enable-lifecycle)")
	fs.IntVar(&o.pid, "pid", 0, "ebpfmon's process id (for /proc and SIGHUP)")
	fs.IntVar(&o.loadPID, "load-pid", 0, "the load generator's process id: it must live as long as the soak")
	fs.StringVar(&o.configDir, "config-dir", "", "ebpfmon's --config.dir")
	fs.StringVar(&o.configs, "configs", "", "the configs ebpfmon runs, comma-separated: each must stay loaded")
	fs.StringVar(&o.namespace, "namespace", "ebpfmon", "ebpfmon's --metrics.namespace")
	fs.DurationVar(&o.duration, "duration", 30*time.Minute, "how long to soak")
	fs.DurationVar(&o.warmup, "warmup", 20*time.Second, "time for every example's families to appear; the families at its end must stay")
	fs.DurationVar(&o.scrapeTimeout, "scrape-timeout", 30*time.Second, "time a scrape may take: longer is a failure (the machine may be shared: scrapes in flight overlap)")
	fs.IntVar(&o.rate, "rate", 10, "scrapes per second (every other one asks for gzip)")
	fs.DurationVar(&o.reloadEvery, "reload-every", time.Minute, "time between reloads")
	fs.DurationVar(&o.reloadAt, "reload-at", 30*time.Second, "time of the first reload, halfway between two rows of figures")
	fs.StringVar(&o.reloadConfig, "reload-config", "podnet", "the config each reload changes")
	fs.StringVar(&o.constant, "reload-constant", "sample_every", "the constant each reload changes in that config's YAML")
	fs.StringVar(&o.values, "reload-values", "1,2", "the constant's two values, set in turn")
	fs.DurationVar(&o.reloadTimeout, "reload-timeout", 30*time.Second, "time a reload may take, until the new programs are served")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "time after a reload for the reopened config's families to come back (new maps are empty)")
	fs.Float64Var(&o.maxRSSMiB, "max-rss-growth", 0, "RSS growth allowed, MiB (lowest of the first window to lowest of the last)")
	fs.Int64Var(&o.maxFDs, "max-fd-growth", 0, "fd growth allowed (lowest to lowest)")
	fs.Float64Var(&o.maxGoroutines, "max-goroutine-growth", 0, "goroutine growth allowed (lowest to lowest)")
	fs.DurationVar(&o.window, "window", time.Minute, "the windows the growth compares")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "time after a reload left out of the growth samples (the old version closes)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.pid <= 0 || o.loadPID <= 0:
		return o, fmt.Errorf("-pid and -load-pid: give the process ids of ebpfmon and of the load generator")
	case o.configDir == "" || o.configs == "":
		return o, fmt.Errorf("-config-dir and -configs: give ebpfmon's config directory and the configs it runs")
	case len(strings.Split(o.values, ",")) != 2:
		return o, fmt.Errorf("-reload-values %q: want two values separated by a comma, such as 1,2", o.values)
	case o.rate < 1:
		return o, fmt.Errorf("-rate %d: want 1 or more", o.rate)
	case o.duration < o.warmup+2*o.window:
		return o, fmt.Errorf("-duration %s: want at least -warmup plus two -window (%s)", o.duration, o.warmup+2*o.window)
	}
	return o, nil
}
