package e2e

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// overflowBase is the first getpgid argument that testdata/overflow.bpf.c
// counts; argument overflowBase+i counts under id i. churnBase+i counts
// under id i in churn_total, churnDelete+i deletes it.
const (
	overflowBase = 0x7e570000
	churnBase    = overflowBase + 4096
	churnDelete  = churnBase + 4096
)

// getpgidCalls calls getpgid(overflowBase+i) times(i) times for each id i
// below ids, and returns how many calls it made. No process has such a
// pid: each call fails with ESRCH, after the tracepoint counted it.
func getpgidCalls(t *testing.T, ids int, times func(int) int) int {
	t.Helper()
	n := 0
	for i := range ids {
		for range times(i) {
			getpgid(t, overflowBase+i)
			n++
		}
	}
	return n
}

// getpgid calls getpgid(pid), which no process has.
func getpgid(t *testing.T, pid int) {
	t.Helper()
	if _, err := unix.Getpgid(pid); err != unix.ESRCH {
		t.Fatalf("getpgid(%#x): %v, want ESRCH", pid, err)
	}
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

// TestSeriesOverflowChurn runs a metric capped at 3 whose keys never
// repeat: each round deletes the last round's 10 ids and counts 10 new
// ones, then scrapes. The label sets with a series must stay the first
// round's 3 (a freed place is held an hour), not 3 new ones every other
// round, while the overflow series never goes down and the totals stay
// right: only the first 3 series took their counts away when they went.
func TestSeriesOverflowChurn(t *testing.T) {
	dir := t.TempDir()
	compileBPF(t, "overflow", dir, "overflow")
	writeFile(t, filepath.Join(dir, "overflow.yaml"), readFile(t, "testdata/overflow.yaml"))
	in := start(t, "--config.dir="+dir, "--config.strict")
	const metric, rounds, perRound = "ebpfmon_churn_total", 6, 10
	seen := map[string]bool{}
	over := 0.0
	for r := range rounds {
		for i := range perRound {
			if r > 0 {
				getpgid(t, churnDelete+(r-1)*perRound+i)
			}
			getpgid(t, churnBase+r*perRound+i)
		}
		want := float64((r + 1) * perRound)
		if r > 0 {
			want -= 3 // the first round's admitted label sets left with their series
		}
		ms := in.scrape(t) // the map changed in the syscalls: no need to wait
		if got := ms.sum(metric, nil); got != want {
			t.Errorf("round %d: %s sums to %g, want %g", r, metric, got, want)
		}
		for _, v := range ms.labelValues(metric, "id") {
			seen[v] = true
		}
		o := ms.sum(metric, map[string]string{"id": "__overflow__"})
		if o < over {
			t.Errorf("round %d: the overflow series went down from %g to %g", r, over, o)
		}
		over = o
	}
	if len(seen) != 3+1 {
		t.Errorf("%s: %d label sets had a series in %d rounds, want the first 3 and the overflow series: %v", metric, len(seen)-1, rounds, slices.Sorted(maps.Keys(seen)))
	}
}
