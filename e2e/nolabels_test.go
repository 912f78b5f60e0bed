package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCounterWithoutLabels loads ebpf_exporter's form of a global count,
// counters without labels over one-entry arrays, and checks each is
// exported as one series without labels that counts.
func TestCounterWithoutLabels(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "global.yaml"), readFile(t, "testdata/global.yaml"))
	compileBPF(t, "global", dir, "global")
	in := start(t, "--config.dir="+dir, "--config.strict")
	names := []string{"ebpfmon_switches_total", "ebpfmon_shared_switches_total"}
	ms := in.eventually(t, "global counts of sched_switch", nil, func(ms metrics) bool {
		return ms.sum(names[0], nil) > 0 && ms.sum(names[1], nil) > 0
	})
	for _, name := range names {
		series := ms.series(name, nil)
		if len(series) != 1 || len(series[0].Label) != 0 {
			t.Errorf("%s: %d series (%v), want one without labels", name, len(series), series)
		}
	}
}

// TestCounterWithoutLabelsRefused checks that a counter without labels
// over a map with more than one key is refused by --config.check, saying
// what the map must be.
func TestCounterWithoutLabelsRefused(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.yaml"), "metrics:\n  counters:\n    - name: calls\n      help: Calls.\n")
	compileBPF(t, "good", dir, "x")
	out, ok := check(t, "--config.dir="+dir, "--config.names=x")
	if ok {
		t.Fatalf("--config.check passed a counter without labels over a hash map:\n%s", out)
	}
	for _, w := range []string{"x.yaml", "metrics.counters[0].labels: empty", "one global count", "calls is a Hash", "add labels"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
