package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// Defects found by a hostile trial of the issue 7 fixes: each test here
// failed before its fix.

// compileSource writes src to dir/NAME.bpf.c and builds dir/NAME.bpf.o,
// with testdata/ on the include path (calls.h).
func compileSource(t *testing.T, dir, name, src string) {
	t.Helper()
	clang, err := exec.LookPath("clang-19")
	if err != nil {
		testenv.Unavailable(t, "clang-19 not installed (make setup installs it)")
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, name+".bpf.c")
	writeFile(t, c, src)
	multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-I/usr/include/"+multiarch, "-I", testdata,
		"-c", c, "-o", filepath.Join(dir, name+".bpf.o")).CombinedOutput()
	if err != nil {
		t.Fatalf("clang %s: %v\n%s", c, err, out)
	}
}

// fifoUprobeConfigs writes two configs into dir: a, whose map is named
// aMap and whose uprobe targets the FIFO dir/target (it loads, but cannot
// attach), and b, the good config with its map "calls".
func fifoUprobeConfigs(t *testing.T, dir, aMap string) {
	t.Helper()
	fifo := filepath.Join(dir, "target")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, callsYAML)
	writeFile(t, filepath.Join(dir, "a.yaml"), strings.Replace(good, "name: calls", "name: "+aMap, 1))
	compileSource(t, dir, "a", "#define calls "+aMap+"\n#include \"calls.h\"\nSEC(\"uprobe/"+fifo+":main\")\nint probe(void *ctx) { return 0; }\n")
	writeFile(t, filepath.Join(dir, "b.yaml"), good)
	compileBPF(t, "good", dir, "b")
}

// TestUprobeTargetFIFO loads a config whose uprobe names a FIFO beside a
// good one: the FIFO config must fail at once with an error saying what
// the file is, and the good one must load. The open used to block, and
// with it every config after it, until SIGKILL.
func TestUprobeTargetFIFO(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	// a's map has another name than b's, so that a, failed but loaded,
	// does not hold b's metric name.
	fifoUprobeConfigs(t, dir, "probes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ebpfmonBin, "--config.check", "--config.dir="+dir, "--config.names=a,b").CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ebpfmon --config.check blocked on a uprobe target that is a FIFO:\n%s", out)
	}
	if err == nil {
		t.Fatalf("--config.check passed with a uprobe on a FIFO:\n%s", out)
	}
	for _, w := range []string{"target: not a regular file: it is a named pipe (FIFO)", `msg="config loaded" config=b`, "1 of 2 configs failed: a"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestEventSeriesBounded runs an event counter whose records carry random
// 8-byte keys, each its own label set: the series must stop at the cap
// (--metrics.max-series, 10,000 by default) and one __overflow__ series,
// the rest counted in it and in ebpfmon_series_overflow_total. They used
// to grow until the flush, by millions a minute (1.4 GB in 40 s), until
// the process died.
func TestEventSeriesBounded(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	compileSource(t, dir, "rnd", `#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } rnd SEC(".maps");
SEC("raw_tp/sched_switch")
int tick(void *ctx)
{
	for (int i = 0; i < 16; i++) {
		__u64 k = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
		bpf_ringbuf_output(&rnd, &k, 8, 0);
	}
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`)
	writeFile(t, filepath.Join(dir, "rnd.yaml"), `metrics:
  counters:
    - name: rnd
      help: Records by a random key, each its own label set.
      perf_event_array: true
      labels:
        - {name: k, size: 8, decoders: [{name: uint}]}
`)
	in := start(t, "--config.dir="+dir, "--config.names=rnd")
	busy := func() { _ = exec.Command("sleep", "0.01").Run() } // context switches
	over := map[string]string{"k": "__overflow__"}
	in.eventually(t, "the overflow series", busy, func(ms metrics) bool {
		return len(ms.series("ebpfmon_rnd", over)) == 1
	})
	match := map[string]string{"config": "rnd", "metric": "ebpfmon_rnd"}
	folded := in.scrape(t).sum("ebpfmon_series_overflow_total", match)
	ms := in.eventually(t, "more label sets folded", busy, func(ms metrics) bool {
		return ms.sum("ebpfmon_series_overflow_total", match) > folded
	})
	if n := len(ms.series("ebpfmon_rnd", nil)); n != 10_001 {
		t.Errorf("%d series, want the cap, 10000, and the overflow series", n)
	}
	if ms.sum("ebpfmon_rnd", over) == 0 {
		t.Errorf("the overflow series counts nothing")
	}
	if !strings.Contains(in.logText(), "event counter at its series limit") {
		t.Errorf("no warning about the series limit:\n%s", in.logText())
	}
}

// TestFailedConfigFreesNames runs --config.check over config a, which
// loads but cannot attach (its uprobe names a FIFO), and config b, which
// exports the same metric name: a fails, and b must load, as it would
// without a. a's names used to stay reserved, failing b as a clash.
func TestFailedConfigFreesNames(t *testing.T) {
	testenv.Privileged(t)
	dir := t.TempDir()
	fifoUprobeConfigs(t, dir, "calls")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, ebpfmonBin, "--config.check", "--config.dir="+dir, "--config.names=a,b").CombinedOutput()
	for _, w := range []string{`msg="config loaded" config=b`, "1 of 2 configs failed: a"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
