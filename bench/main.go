package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	ebpfmon  string
	objects  string // bench/build: KIND_N.bpf.o
	configs  string // bench/configs: KIND.yaml
	examples string // every example, for startup and idle RSS ("": skipped)
	cases    []string
	keys     []int
	scrapes  int
	port     int
	out      string
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		logger.Error("bench", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, opts); err != nil {
		logger.Error("bench", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	var cases, keys string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.ebpfmon, "ebpfmon", "./ebpfmon", "the ebpfmon binary to measure")
	fs.StringVar(&o.objects, "objects", "bench/build", "directory of KIND_N.bpf.o (make bench builds them)")
	fs.StringVar(&o.configs, "configs", "bench/configs", "directory of KIND.yaml")
	fs.StringVar(&o.examples, "examples", "examples", "directory of every example, for startup and idle RSS (empty: skip)")
	fs.StringVar(&cases, "cases", "counters,histograms", "comma-separated cases: counters, histograms")
	fs.StringVar(&keys, "keys", "1000,10000,100000", "comma-separated map sizes N (objects must exist for each)")
	fs.IntVar(&o.scrapes, "scrapes", 20, "scrapes per encoding (plain, gzip) per case")
	fs.IntVar(&o.port, "port", 19435, "port on 127.0.0.1 for the ebpfmon under test")
	fs.StringVar(&o.out, "out", "", "also write the table, machine and date to this file (bench/RESULTS.md)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.cases = strings.Split(cases, ",")
	for _, c := range o.cases {
		if c != "counters" && c != "histograms" {
			return o, fmt.Errorf("-cases: unknown %q, want counters or histograms", c)
		}
	}
	for _, k := range strings.Split(keys, ",") {
		n, err := strconv.Atoi(k)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-keys: %q is not a positive integer", k)
		}
		o.keys = append(o.keys, n)
	}
	if o.scrapes < 1 {
		return o, fmt.Errorf("-scrapes: %d, want at least 1", o.scrapes)
	}
	return o, nil
}

// run measures every case, then startup, and writes the table.
func run(ctx context.Context, logger *slog.Logger, o options) error {
	var results []result
	for _, c := range o.cases {
		for _, n := range o.keys {
			logger.Info("case", "case", c, "keys", n)
			r, err := runCase(ctx, o, c, n)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	var st *startup
	if o.examples != "" {
		s, err := measureStartup(ctx, o)
		if err != nil {
			return err
		}
		st = &s
	}
	var b strings.Builder
	writeTable(&b, o.scrapes, results, st)
	fmt.Print(b.String())
	if o.out == "" {
		return nil
	}
	doc := "# Benchmark results\n\nThe last `make bench` (bench/, `go run ./bench`): the real ebpfmon binary, " +
		"`--metrics.max-series=0`, a hash map filled with N distinct keys by getpid(2) calls.\n\n" +
		machine() + "\n" + b.String()
	if err := os.WriteFile(o.out, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write -out: %w", err)
	}
	return nil
}

// runCase starts ebpfmon on one config, fills its map and scrapes it.
func runCase(ctx context.Context, o options, kind string, n int) (result, error) {
	name := fmt.Sprintf("%s_%d", kind, n)
	dir, err := os.MkdirTemp("", "ebpfmon-bench-")
	if err != nil {
		return result{}, fmt.Errorf("case %s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	links := map[string]string{
		filepath.Join(o.configs, kind+".yaml"):  filepath.Join(dir, name+".yaml"),
		filepath.Join(o.objects, name+".bpf.o"): filepath.Join(dir, name+".bpf.o"),
	}
	for src, dst := range links {
		abs, err := filepath.Abs(src)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return result{}, fmt.Errorf("case %s: %w (make bench builds the objects; -keys lists those built)", name, err)
		}
		if err := os.Symlink(abs, dst); err != nil {
			return result{}, fmt.Errorf("case %s: %w", name, err)
		}
	}
	p, _, err := start(ctx, o.ebpfmon, o.port, "--config.dir="+dir, "--config.names="+name,
		"--config.strict", "--metrics.max-series=0")
	if err != nil {
		return result{}, fmt.Errorf("case %s: %w", name, err)
	}
	defer p.stop()
	r := result{Case: kind, Keys: n}
	begin := time.Now()
	if err := fill(n); err != nil {
		return result{}, err
	}
	r.Fill = time.Since(begin)
	s := newScraper(p.url, p.cmd.Process.Pid)
	body, err := s.get(false)
	if err != nil {
		return result{}, fmt.Errorf("case %s: %w", name, err)
	}
	r.Samples = countSamples(body, "ebpfmon_bench_")
	// Plain and gzip scrapes alternate, so that both see the same heap.
	var plain, gzipped []sample
	for range o.scrapes {
		for _, gzip := range []bool{false, true} {
			if err := ctx.Err(); err != nil {
				return result{}, err
			}
			sm, err := s.measure(gzip)
			if err != nil {
				return result{}, fmt.Errorf("case %s: %w", name, err)
			}
			if gzip {
				gzipped = append(gzipped, sm)
			} else {
				plain = append(plain, sm)
			}
		}
	}
	r.Plain, r.Gzip = summarize(plain), summarize(gzipped)
	return r, nil
}

// measureStartup starts ebpfmon on every example five times: the median
// time to the first 200, and the idle RSS of the last run after 3s.
func measureStartup(ctx context.Context, o options) (startup, error) {
	const runs = 5
	var st startup
	times := make([]time.Duration, 0, runs)
	for i := range runs {
		p, took, err := start(ctx, o.ebpfmon, o.port, "--config.dir="+o.examples)
		if err != nil {
			return st, fmt.Errorf("startup: %w", err)
		}
		times = append(times, took)
		if i == runs-1 {
			time.Sleep(3 * time.Second)
			st.Idle, err = readMemory(p.cmd.Process.Pid)
			if err == nil {
				var body []byte
				body, err = newScraper(p.url, p.cmd.Process.Pid).get(false)
				st.Configs = countLoaded(body)
			}
		}
		p.stop()
		if err != nil {
			return st, fmt.Errorf("startup: %w", err)
		}
	}
	st.Time = median(times)
	return st, nil
}

// countLoaded counts ebpfmon_config_loaded series at 1.
func countLoaded(body []byte) int {
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "ebpfmon_config_loaded{") && strings.HasSuffix(line, " 1") {
			n++
		}
	}
	return n
}

// machine describes the host: CPUs, model, kernel, date.
func machine() string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	kernel := "unknown"
	if syscall.Uname(&u) == nil {
		kernel = utsString(u.Release[:])
	}
	return fmt.Sprintf("Machine: %d CPUs (%s), Linux %s, %s/%s, %s. Date: %s.\n",
		runtime.NumCPU(), model, kernel, runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
}

func utsString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
