package e2e

import (
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// overflowBase is the first getpgid argument that testdata/overflow.bpf.c
// counts; argument overflowBase+i counts under id i.
const overflowBase = 0x7e570000

// getpgidCalls calls getpgid(overflowBase+i) times(i) times for each id i
// below ids, and returns how many calls it made. No process has such a
// pid: each call fails with ESRCH, after the tracepoint counted it.
func getpgidCalls(t *testing.T, ids int, times func(int) int) int {
	t.Helper()
	n := 0
	for i := range ids {
		for range times(i) {
			if _, err := unix.Getpgid(overflowBase + i); err != unix.ESRCH {
				t.Fatalf("getpgid(%#x): %v, want ESRCH", overflowBase+i, err)
			}
			n++
		}
	}
	return n
}

// TestSeriesOverflow fills two maps with 200 distinct label sets each: a
// counter capped by max_series: 50 in its YAML, and a histogram capped by
// --metrics.max-series=20. Each must export exactly its cap plus one
// __overflow__ series, whose totals (counts; bucket counts) still add up
// to the calls made, and report the label sets folded. Which label sets
// are kept must not change when the same keys count again.
func TestSeriesOverflow(t *testing.T) {
	dir := t.TempDir()
	compileBPF(t, "overflow", dir, "overflow")
	writeFile(t, filepath.Join(dir, "overflow.yaml"), readFile(t, "testdata/overflow.yaml"))
	in := start(t, "--config.dir="+dir, "--config.strict", "--metrics.max-series=20")
	const ids = 200
	total := getpgidCalls(t, ids, func(i int) int { return i%3 + 1 })
	for _, tc := range []struct {
		metric string
		cap    int
	}{
		{"ebpfmon_calls_total", 50},
		{"ebpfmon_latency_seconds", 20},
	} {
		ms := in.eventually(t, tc.metric+" counting every call", nil, func(ms metrics) bool {
			return ms.sum(tc.metric, nil) == float64(total)
		})
		kept := checkOverflow(t, ms, tc.metric, tc.cap, ids)
		total2 := total + getpgidCalls(t, ids, func(int) int { return 1 })
		ms = in.eventually(t, tc.metric+" counting the second round", nil, func(ms metrics) bool {
			return ms.sum(tc.metric, nil) == float64(total2)
		})
		if again := checkOverflow(t, ms, tc.metric, tc.cap, ids); !slices.Equal(again, kept) {
			t.Errorf("%s: the label sets kept changed between scrapes:\n%v\n%v", tc.metric, kept, again)
		}
		total = total2
	}
}

// checkOverflow checks that metric exports cap label sets and one overflow
// series, with ids-cap label sets folded, and returns the ids kept, sorted.
func checkOverflow(t *testing.T, ms metrics, metric string, cap, ids int) []string {
	t.Helper()
	values := ms.labelValues(metric, "id")
	if len(values) != cap+1 {
		t.Errorf("%s: %d series, want %d and the overflow series", metric, len(values), cap)
	}
	kept := slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "__overflow__" })
	if len(kept) != len(values)-1 {
		t.Errorf("%s: %d overflow series, want 1", metric, len(values)-len(kept))
	}
	if h := ms.series(metric, map[string]string{"id": "__overflow__"}); len(h) == 1 && h[0].Histogram != nil {
		b := h[0].Histogram.Bucket
		if n := b[len(b)-1].GetCumulativeCount(); n != h[0].Histogram.GetSampleCount() {
			t.Errorf("%s: overflow series' top bucket %d, count %d", metric, n, h[0].Histogram.GetSampleCount())
		}
	}
	match := map[string]string{"config": "overflow", "metric": metric}
	if got, want := ms.sum("ebpfmon_series_overflow_total", match), float64(ids-cap); got != want {
		t.Errorf("ebpfmon_series_overflow_total%v = %g, want %g", match, got, want)
	}
	if got, want := ms.sum("ebpfmon_series_overflow_label_sets", match), float64(ids-cap); got != want {
		t.Errorf("ebpfmon_series_overflow_label_sets%v = %g, want %g", match, got, want)
	}
	slices.Sort(kept)
	return kept
}
