package series

import (
	"slices"
	"strconv"
	"testing"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
)

// scrape is one gather of a metric under test and what it must export.
type scrape struct {
	e        *bpfmap.Entries
	want     []string // render's lines
	folded   int      // label sets folded now
	foldings uint64   // label sets folded so far
}

// TestOverflow runs a counter capped at max_series through scrapes: label
// sets beyond the cap fold into one series of __overflow__ values whose
// value is their sum, which label sets are kept never flaps, and no
// series (the overflow one included) goes down while it exists.
func TestOverflow(t *testing.T) {
	labels := fakeLabels{1: {"a"}, 2: {"b"}, 3: {"c"}, 4: {"d"}, 5: {"e"}, 6: {"a"}, 7: {OverflowValue}, 8: {"skip"}}
	for _, tc := range []struct {
		name    string
		max     int
		scrapes []scrape
	}{
		{"no cap", 0, []scrape{
			{entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{3}), []string{"k=a 1", "k=b 2", "k=c 3"}, 0, 0},
		}},
		{"at the cap nothing folds", 3, []scrape{
			{entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{3}), []string{"k=a 1", "k=b 2", "k=c 3"}, 0, 0},
		}},
		{"beyond the cap the rest is summed", 2, []scrape{
			{entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{3}, 4, []uint64{4}, 5, []uint64{5}),
				[]string{"k=__overflow__ 12", "k=a 1", "k=b 2"}, 3, 3},
		}},
		{"keys of one label set count once", 1, []scrape{
			{entries(1, 1, []uint64{1}, 6, []uint64{2}, 2, []uint64{3}), []string{"k=__overflow__ 3", "k=a 3"}, 1, 1},
		}},
		{"skipped keys take no place", 1, []scrape{
			{entries(1, 8, []uint64{9}, 1, []uint64{1}, 2, []uint64{2}), []string{"k=__overflow__ 2", "k=a 1"}, 1, 1},
		}},
		{"a label set of overflow values folds under the cap", 5, []scrape{
			{entries(1, 1, []uint64{1}, 7, []uint64{2}), []string{"k=__overflow__ 2", "k=a 1"}, 1, 1},
		}},
		{"admitted and folded label sets keep their place", 2, []scrape{
			{entries(1, 1, []uint64{1}, 2, []uint64{1}, 3, []uint64{1}), []string{"k=__overflow__ 1", "k=a 1", "k=b 1"}, 1, 1},
			// the same keys in another order, and a new one: it folds
			{entries(1, 4, []uint64{1}, 3, []uint64{2}, 2, []uint64{2}, 1, []uint64{2}), []string{"k=__overflow__ 3", "k=a 2", "k=b 2"}, 2, 2},
			// b leaves: its place goes to a new label set, not to c or d ...
			{entries(1, 4, []uint64{1}, 3, []uint64{2}, 1, []uint64{2}), []string{"k=__overflow__ 3", "k=a 2"}, 2, 2},
			// ... an hour later (TestOverflowPlaceHold): e folds now
			{entries(1, 4, []uint64{1}, 3, []uint64{2}, 1, []uint64{2}, 5, []uint64{7}), []string{"k=__overflow__ 10", "k=a 2"}, 3, 3},
		}},
		{"the overflow series never goes down", 1, []scrape{
			{entries(1, 1, []uint64{1}, 2, []uint64{5}, 3, []uint64{7}), []string{"k=__overflow__ 12", "k=a 1"}, 2, 2},
			// c leaves: what it had counted stays in the overflow series
			{entries(1, 1, []uint64{1}, 2, []uint64{6}), []string{"k=__overflow__ 13", "k=a 1"}, 1, 2},
			// b starts over (deleted and inserted again): carried too
			{entries(1, 1, []uint64{1}, 2, []uint64{1}), []string{"k=__overflow__ 14", "k=a 1"}, 1, 2},
		}},
		{"the overflow series goes with its last label set", 1, []scrape{
			{entries(1, 1, []uint64{1}, 2, []uint64{5}), []string{"k=__overflow__ 5", "k=a 1"}, 1, 1},
			{entries(1, 1, []uint64{1}), []string{"k=a 1"}, 0, 1},
			// b comes back: folded and counted again, from its own value
			{entries(1, 1, []uint64{1}, 2, []uint64{2}), []string{"k=__overflow__ 2", "k=a 1"}, 1, 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMetric(labels, []string{"k"}, nil, nil)
			m.slots.max = tc.max
			runScrapes(t, m, tc.scrapes)
		})
	}
}

// runScrapes builds each scrape in turn and checks what m exports.
func runScrapes(t *testing.T, m *MapMetric, scrapes []scrape) {
	t.Helper()
	for i, sc := range scrapes {
		fam, _ := m.build(sc.e)
		if got := render(fam); !slices.Equal(got, sc.want) {
			t.Errorf("scrape %d: got %q\nwant %q", i, got, sc.want)
		}
		if m.Folded() != sc.folded || m.Foldings() != sc.foldings {
			t.Errorf("scrape %d: folded %d, foldings %d; want %d, %d", i, m.Folded(), m.Foldings(), sc.folded, sc.foldings)
		}
	}
}

// TestOverflowHistogram checks that folded histogram label sets add up
// bucket by bucket, with their sums and counts, and that a folded label
// set leaving keeps its counts in the overflow series.
func TestOverflowHistogram(t *testing.T) {
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 2})
	// key byte -> labels (device, bucket); bucket 3 is the sum key
	labels := fakeLabels{1: {"vda", "0"}, 2: {"vda", "2"}, 3: {"vdb", "1"}, 4: {"vdb", "3"}, 5: {"vdc", "0"}, 6: {"vdc", "2"}, 7: {"vdc", "3"}}
	m := testMetric(labels, []string{"device"}, &b, nil)
	m.slots.max = 1
	runScrapes(t, m, []scrape{
		{entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{4}, 4, []uint64{8}, 5, []uint64{1}, 6, []uint64{3}, 7, []uint64{9}),
			[]string{"device=__overflow__ count=8 sum=17 1:1 2:5 4:8", "device=vda count=3 sum=0 1:1 2:1 4:3"}, 2, 2},
		// vdb leaves
		{entries(1, 1, []uint64{1}, 2, []uint64{2}, 5, []uint64{2}, 6, []uint64{3}, 7, []uint64{10}),
			[]string{"device=__overflow__ count=9 sum=18 1:2 2:6 4:9", "device=vda count=3 sum=0 1:1 2:1 4:3"}, 1, 2},
	})
}

// TestOverflowPerCPU checks a metric split by CPU: the cap counts label
// sets, and the overflow series keeps one series per CPU.
func TestOverflowPerCPU(t *testing.T) {
	m := testMetric(fakeLabels{1: {"a"}, 2: {"b"}, 3: {"c"}}, []string{"k"}, nil, []string{"0", "1"})
	m.slots.max = 1
	runScrapes(t, m, []scrape{
		{entries(2, 1, []uint64{1, 2}, 2, []uint64{3, 4}, 3, []uint64{5, 6}),
			[]string{"cpu=0,k=__overflow__ 8", "cpu=0,k=a 1", "cpu=1,k=__overflow__ 10", "cpu=1,k=a 2"}, 2, 2},
	})
}

// TestOverflowRefresh checks a key whose labels change: it leaves its
// label set and takes the new one's place, folded if there is none. A key
// moving from one folded label set to another stays in the overflow
// series, counted once: its value must not be added again on top of what
// it had counted there.
func TestOverflowRefresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before fakeLabels
		rename map[byte]string
		first  *bpfmap.Entries
		then   *bpfmap.Entries
		want   [2][]string
	}{
		{"folded to folded", fakeLabels{1: {"a"}, 2: {"b"}}, map[byte]string{2: "c"},
			entries(1, 1, []uint64{1}, 2, []uint64{2}), entries(1, 1, []uint64{1}, 2, []uint64{3}),
			[2][]string{{"k=__overflow__ 2", "k=a 1"}, {"k=__overflow__ 3", "k=a 1"}}},
		{"folded to folded, other keys stay", fakeLabels{1: {"a"}, 2: {"b"}, 3: {"b"}}, map[byte]string{2: "c"},
			entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{4}), entries(1, 1, []uint64{1}, 2, []uint64{3}, 3, []uint64{4}),
			[2][]string{{"k=__overflow__ 6", "k=a 1"}, {"k=__overflow__ 7", "k=a 1"}}},
		{"folded to folded, the admitted one renamed first", fakeLabels{1: {"a"}, 2: {"b"}, 3: {"d"}}, map[byte]string{1: "c", 2: "a"},
			entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{5}), entries(1, 1, []uint64{1}, 2, []uint64{3}, 3, []uint64{5}),
			// a's place is held: c folds, with its whole value (1)
			[2][]string{{"k=__overflow__ 7", "k=a 1"}, {"k=__overflow__ 9"}}},
		{"folded to skipped: what it counted stays", fakeLabels{1: {"a"}, 2: {"b"}, 3: {"d"}}, map[byte]string{2: "skip"},
			entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{5}), entries(1, 1, []uint64{1}, 2, []uint64{3}, 3, []uint64{6}),
			[2][]string{{"k=__overflow__ 7", "k=a 1"}, {"k=__overflow__ 8", "k=a 1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMetric(tc.before, []string{"k"}, nil, nil)
			m.slots.max = 1
			fam, _ := m.build(tc.first)
			if got := render(fam); !slices.Equal(got, tc.want[0]) {
				t.Fatalf("before: got %q, want %q", got, tc.want[0])
			}
			for k, v := range tc.rename {
				tc.before[k] = []string{v}
			}
			m.started = m.started.Add(refreshEvery)
			fam, _ = m.build(tc.then)
			if got := render(fam); !slices.Equal(got, tc.want[1]) {
				t.Errorf("after: got %q, want %q", got, tc.want[1])
			}
		})
	}
}

// TestOverflowRefreshAdmitted checks a key of a folded label set that
// moves to an admitted one: what it had counted stays in the overflow
// series, and its new series has its whole value.
func TestOverflowRefreshAdmitted(t *testing.T) {
	labels := fakeLabels{1: {"a"}, 2: {"b"}, 3: {"d"}}
	m := testMetric(labels, []string{"k"}, nil, nil)
	m.slots.max = 1
	runScrapes(t, m, []scrape{
		{entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{5}), []string{"k=__overflow__ 7", "k=a 1"}, 2, 2},
		{entries(1, 2, []uint64{2}, 3, []uint64{5}), []string{"k=__overflow__ 7"}, 2, 2}, // a leaves
	})
	labels[2] = []string{"e"}
	m.started = m.started.Add(placeHold) // a's place is free again, and key 2 is refreshed
	runScrapes(t, m, []scrape{{entries(1, 2, []uint64{3}, 3, []uint64{5}), []string{"k=__overflow__ 7", "k=e 3"}, 1, 2}})
}

// TestOverflowPlaceHold runs a capped counter whose keys never repeat
// (an LRU map of random ids): a place freed by a kept label set goes to a
// new label set only placeHold later, so the metric has at most max
// label sets with a series within placeHold, not max more at every
// scrape. The overflow series keeps what the keys counted.
func TestOverflowPlaceHold(t *testing.T) {
	labels := fakeLabels{}
	for k := range 200 {
		labels[byte(k)] = []string{strconv.Itoa(k)}
	}
	m := testMetric(labels, []string{"k"}, nil, nil)
	m.slots.max = 3
	seen := map[string]bool{}
	var over float64
	for round := range 40 { // 5 new keys a round; the last round's left
		kv := []any{}
		for k := 5 * round; k < 5*round+5; k++ {
			kv = append(kv, k, []uint64{1})
		}
		fam, _ := m.build(entries(1, kv...))
		for _, mt := range fam.Metric {
			v := mt.Label[0].GetValue()
			seen[v] = true
			if v == OverflowValue {
				if mt.Counter.GetValue() < over {
					t.Fatalf("round %d: overflow series went down from %g to %g", round, over, mt.Counter.GetValue())
				}
				over = mt.Counter.GetValue()
			}
		}
		if round == 19 {
			if len(seen) != 3+1 {
				t.Fatalf("%d label sets had a series within placeHold, want the first 3 and the overflow series: %v", len(seen)-1, seen)
			}
			m.started = m.started.Add(placeHold)
		}
	}
	if len(seen) != 6+1 {
		t.Errorf("%d label sets had a series in two placeHold periods, want 3 each and the overflow series: %v", len(seen)-1, seen)
	}
	if want := float64(200 - 6); over != want { // every key but the 6 admitted
		t.Errorf("overflow series %g, want %g", over, want)
	}
}
