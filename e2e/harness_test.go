package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// ebpfmonBin is the ebpfmon binary: $EBPFMON_BIN, or built once by TestMain.
var ebpfmonBin string

// examplesDir is the examples directory: $EBPFMON_EXAMPLES, or the
// repository's.
var examplesDir, _ = filepath.Abs("../examples")

// Where there is no Go toolchain (a kernel lab guest runs a `go test -c`
// binary), these give a prebuilt static ebpfmon and the examples with their
// compiled objects; scripts/matrix.sh sets both.
const (
	binEnv      = "EBPFMON_BIN"
	examplesEnv = "EBPFMON_EXAMPLES"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	if dir := os.Getenv(examplesEnv); dir != "" {
		examplesDir = dir
	}
	if bin := os.Getenv(binEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", binEnv, err)
			os.Exit(1)
		}
		ebpfmonBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ebpfmon-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ebpfmonBin = filepath.Join(dir, "ebpfmon")
	build := exec.Command("go", "build", "-o", ebpfmonBin, "../cmd/ebpfmon")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ebpfmon (or set %s to a prebuilt one): %v\n%s", binEnv, err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is a running ebpfmon.
type instance struct {
	url  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
}

var listenRE = regexp.MustCompile(`msg=listening address=(\S+)`)

// start runs ebpfmon with args plus a loopback listen address, and waits
// until it serves. It is stopped with SIGTERM at the end of the test.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	return startCmd(t, []string{ebpfmonBin}, args...)
}

// startCmd is start with ebpfmon run as cmd: its binary, possibly behind a
// wrapper such as setpriv.
func startCmd(t *testing.T, cmd []string, args ...string) *instance {
	t.Helper()
	testenv.Privileged(t)
	requireExamples(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	argv := append(append(append([]string(nil), cmd...), "--web.listen-address=127.0.0.1:0", "--log.level=debug"), args...)
	in := &instance{cmd: exec.CommandContext(ctx, argv[0], argv[1:]...), done: make(chan struct{})}
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go in.readLog(stderr, addr)
	t.Cleanup(func() {
		in.stop(t)
		cancel()
	})
	select {
	case a := <-addr:
		in.url = "http://" + a
	case <-in.done:
		t.Fatalf("ebpfmon exited before serving:\n%s", in.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("ebpfmon did not start serving in 60s:\n%s", in.logText())
	}
	return in
}

func (in *instance) readLog(r io.Reader, addr chan<- string) {
	defer close(in.done)
	s := bufio.NewScanner(r)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		in.mu.Lock()
		in.log.WriteString(line + "\n")
		in.mu.Unlock()
		if m := listenRE.FindStringSubmatch(line); m != nil {
			addr <- m[1]
		}
	}
}

func (in *instance) logText() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.String()
}

// stop sends SIGTERM and checks ebpfmon exits cleanly within 10s.
func (in *instance) stop(t *testing.T) {
	if in.cmd.ProcessState != nil {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		t.Errorf("ebpfmon did not exit 10s after SIGTERM")
	}
	if err := in.cmd.Wait(); err != nil && !t.Failed() {
		t.Errorf("ebpfmon exited with %v:\n%s", err, in.logText())
	}
}

// get fetches a path and returns the body.
func (in *instance) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(in.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v\n%s", path, resp.StatusCode, err, body)
	}
	return string(body)
}

// scrape fetches /metrics and parses it.
func (in *instance) scrape(t *testing.T) metrics {
	t.Helper()
	body := in.get(t, "/metrics")
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return metrics(fams)
}

// metrics is one parsed scrape.
type metrics map[string]*dto.MetricFamily

// sum adds up the value (counters, gauges) or count (histograms) of every
// series of name whose labels include match.
func (ms metrics) sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, m := range ms.series(name, match) {
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// series returns the series of name whose labels include match.
func (ms metrics) series(name string, match map[string]string) []*dto.Metric {
	fam := ms[name]
	if fam == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range fam.Metric {
		if hasLabels(m, match) {
			out = append(out, m)
		}
	}
	return out
}

// labelValues lists the values label takes across the series of name.
func (ms metrics) labelValues(name, label string) []string {
	var out []string
	for _, m := range ms.series(name, nil) {
		for _, lp := range m.Label {
			if lp.GetName() == label {
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

func hasLabels(m *dto.Metric, match map[string]string) bool {
	for k, v := range match {
		found := false
		for _, lp := range m.Label {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// eventually scrapes until check passes or 15s pass, running act before
// each scrape.
func (in *instance) eventually(t *testing.T, what string, act func(), check func(metrics) bool) metrics {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if act != nil {
			act()
		}
		ms := in.scrape(t)
		if check(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 15s; last scrape families: %v\nlog:\n%s", what, familyNames(ms), in.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func familyNames(ms metrics) []string {
	var out []string
	for n := range ms {
		if strings.HasPrefix(n, "ebpfmon_") {
			out = append(out, n)
		}
	}
	return out
}

// requireExamples makes sure the example objects were built.
func requireExamples(t *testing.T) {
	t.Helper()
	objs, _ := filepath.Glob(filepath.Join(examplesDir, "*.bpf.o"))
	if len(objs) == 0 {
		t.Fatalf("no examples/*.bpf.o: run `make examples` first (make test does)")
	}
}
