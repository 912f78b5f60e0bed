package series

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// fakeLabels decodes one-byte keys from a table: a missing key is a decode
// error, the value "skip" skips the label set.
type fakeLabels map[byte][]string

func (f fakeLabels) Decode(key []byte, out []string) ([]string, error) {
	v, ok := f[key[0]]
	switch {
	case !ok:
		return out, fmt.Errorf("no label for %d", key[0])
	case v[0] == "skip":
		return out, decoder.ErrSkipLabelSet
	}
	return append(out, v...), nil
}

func testMetric(labels labelDecoder, names []string, b *Buckets, cpuValues []string) *MapMetric {
	return &MapMetric{name: "m", fullName: "ns_m", help: "h", names: names, labels: labels, buckets: b, cpuValues: cpuValues,
		cache: map[string]*decoded{}, slots: slots{ids: map[string]int{}}}
}

// entries builds raw entries: key byte -> values (one per CPU).
func entries(cpus int, kv ...any) *bpfmap.Entries {
	e := bpfmap.NewEntries(1, cpus)
	for i := 0; i < len(kv); i += 2 {
		e.Add([]byte{byte(kv[i].(int))}, kv[i+1].([]uint64))
	}
	return e
}

// render prints a family as sorted "labels value" lines.
func render(fam *dto.MetricFamily) []string {
	var out []string
	for _, m := range fam.Metric {
		var ls []string
		for _, lp := range m.Label {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		line := strings.Join(ls, ",")
		if m.Counter != nil {
			line += fmt.Sprintf(" %g", m.Counter.GetValue())
		} else {
			h := m.Histogram
			line += fmt.Sprintf(" count=%d sum=%g", h.GetSampleCount(), h.GetSampleSum())
			for _, b := range h.Bucket {
				line += fmt.Sprintf(" %g:%d", b.GetUpperBound(), b.GetCumulativeCount())
			}
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func TestBuildCounters(t *testing.T) {
	labels := fakeLabels{1: {"a"}, 2: {"a"}, 3: {"b"}, 4: {"skip"}}
	for _, tc := range []struct {
		name   string
		e      *bpfmap.Entries
		want   []string
		errors int
	}{
		{"equal label sets add up", entries(1, 1, []uint64{2}, 2, []uint64{3}, 3, []uint64{7}), []string{"k=a 5", "k=b 7"}, 0},
		{"per-cpu values summed", entries(2, 1, []uint64{2, 3}), []string{"k=a 5"}, 0},
		{"skipped and undecodable keys left out", entries(1, 3, []uint64{1}, 4, []uint64{9}, 9, []uint64{9}), []string{"k=b 1"}, 1},
		{"empty map", entries(1), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMetric(labels, []string{"k"}, nil, nil)
			fam, st := m.build(tc.e)
			if got := render(fam); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if st.DecodeErrors != tc.errors {
				t.Errorf("decode errors = %d, want %d", st.DecodeErrors, tc.errors)
			}
		})
	}
}

func TestBuildAcrossScrapes(t *testing.T) {
	m := testMetric(fakeLabels{1: {"a"}, 2: {"a"}, 3: {"b"}}, []string{"k"}, nil, nil)
	_, st := m.build(entries(1, 1, []uint64{1}, 2, []uint64{1}, 9, []uint64{1}))
	if st.DecodeErrors != 1 {
		t.Fatalf("first scrape: %d decode errors, want 1", st.DecodeErrors)
	}
	fam, st := m.build(entries(1, 1, []uint64{5}, 9, []uint64{1}))
	if st.DecodeErrors != 0 {
		t.Errorf("a failing key is counted again: %d", st.DecodeErrors)
	}
	if got := render(fam); !slices.Equal(got, []string{"k=a 6"}) {
		t.Errorf("after key 2 left (its 1 carried): %q", got)
	}
	fam, _ = m.build(entries(1, 3, []uint64{2}))
	if got := render(fam); !slices.Equal(got, []string{"k=b 2"}) {
		t.Errorf("after every old key left: %q", got)
	}
	if len(m.cache) != 1 || len(m.slots.ids) != 1 {
		t.Errorf("stale state kept: %d cached keys, %d slots", len(m.cache), len(m.slots.ids))
	}
}

func TestBuildPerCPUSplit(t *testing.T) {
	m := testMetric(fakeLabels{1: {"a"}}, []string{"k"}, nil, []string{"0", "1"})
	fam, _ := m.build(entries(2, 1, []uint64{4, 6}))
	if got, want := render(fam), []string{"cpu=0,k=a 4", "cpu=1,k=a 6"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBuildHistogram(t *testing.T) {
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 2, BucketMultiplier: 0.5})
	// key byte -> labels (device, bucket)
	labels := fakeLabels{1: {"vda", "0"}, 2: {"vda", "2"}, 3: {"vda", "3"}, 4: {"vdb", "1"}, 5: {"vdb", "nan"}}
	m := testMetric(labels, []string{"device"}, &b, nil)
	fam, st := m.build(entries(1, 1, []uint64{1}, 2, []uint64{2}, 3, []uint64{10}, 4, []uint64{4}, 5, []uint64{1}))
	want := []string{
		"device=vda count=3 sum=5 0.5:1 1:1 2:3",
		"device=vdb count=4 sum=0 0.5:0 1:4 2:4",
	}
	if got := render(fam); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if st.DecodeErrors != 1 || !strings.Contains(st.FirstErr.Error(), "bucket label") {
		t.Errorf("a non-numeric bucket must be a decode error: %d, %v", st.DecodeErrors, st.FirstErr)
	}
}

func TestGatherAfterClose(t *testing.T) {
	m := testMetric(fakeLabels{}, nil, nil, nil)
	m.Close()
	if _, _, err := m.Gather(); !errors.Is(err, errClosed) {
		t.Fatalf("gather after close: %v", err)
	}
}

// TestSeriesNeverDecrease replays scrapes in which keys sharing a label set
// leave the map, start over or come back: a series must never go down while
// it exists (issue 7, item 1). Keys 1 and 2 decode to k=a, key 3 to k=b.
func TestSeriesNeverDecrease(t *testing.T) {
	labels := fakeLabels{1: {"a"}, 2: {"a"}, 3: {"b"}}
	for _, tc := range []struct {
		name    string
		cpus    []string // split by CPU, or nil
		scrapes []*bpfmap.Entries
		want    [][]string
	}{
		{"a key leaves, its count stays", nil,
			[]*bpfmap.Entries{entries(1, 1, []uint64{10}, 2, []uint64{5}), entries(1, 2, []uint64{6}), entries(1, 2, []uint64{9})},
			[][]string{{"k=a 15"}, {"k=a 16"}, {"k=a 19"}}},
		{"a key starts over", nil,
			[]*bpfmap.Entries{entries(1, 1, []uint64{10}, 2, []uint64{5}), entries(1, 1, []uint64{3}, 2, []uint64{5}), entries(1, 1, []uint64{4}, 2, []uint64{5})},
			[][]string{{"k=a 15"}, {"k=a 18"}, {"k=a 19"}}},
		{"a key replaced in one scrape", nil,
			[]*bpfmap.Entries{entries(1, 1, []uint64{10}), entries(1, 2, []uint64{1})},
			[][]string{{"k=a 10"}, {"k=a 11"}}},
		{"every key left: the series is gone, and starts afresh", nil,
			[]*bpfmap.Entries{entries(1, 1, []uint64{10}, 2, []uint64{5}, 3, []uint64{1}), entries(1, 3, []uint64{1}), entries(1, 1, []uint64{2}, 3, []uint64{1})},
			[][]string{{"k=a 15", "k=b 1"}, {"k=b 1"}, {"k=a 2", "k=b 1"}}},
		{"a key read twice in one scrape counts once", nil,
			[]*bpfmap.Entries{entries(1, 1, []uint64{10}, 1, []uint64{10}, 2, []uint64{1}), entries(1, 1, []uint64{10}, 2, []uint64{1})},
			[][]string{{"k=a 11"}, {"k=a 11"}}},
		{"per CPU", []string{"0", "1"},
			[]*bpfmap.Entries{entries(2, 1, []uint64{4, 6}, 2, []uint64{1, 1}), entries(2, 2, []uint64{2, 1}), entries(2, 2, []uint64{1, 3})},
			[][]string{{"cpu=0,k=a 5", "cpu=1,k=a 7"}, {"cpu=0,k=a 6", "cpu=1,k=a 7"}, {"cpu=0,k=a 7", "cpu=1,k=a 9"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMetric(labels, []string{"k"}, nil, tc.cpus)
			for i, e := range tc.scrapes {
				fam, _ := m.build(e)
				if got := render(fam); !slices.Equal(got, tc.want[i]) {
					t.Errorf("scrape %d: got %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

// TestHistogramNeverDecreases does the same for a histogram's buckets,
// count and sum. Keys 1..3 are device vda (buckets 0 and 1, the sum key),
// keys 4..6 the same for a second writer whose labels decode alike.
func TestHistogramNeverDecreases(t *testing.T) {
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMax: 1})
	labels := fakeLabels{1: {"vda", "0"}, 2: {"vda", "1"}, 3: {"vda", "2"}, 4: {"vda", "0"}, 5: {"vda", "1"}, 6: {"vda", "2"}}
	m := testMetric(labels, []string{"device"}, &b, nil)
	scrapes := []*bpfmap.Entries{
		entries(1, 1, []uint64{3}, 2, []uint64{1}, 3, []uint64{5}, 4, []uint64{1}, 6, []uint64{1}),
		entries(1, 4, []uint64{2}, 6, []uint64{2}),                                 // the first writer's keys left
		entries(1, 4, []uint64{1}, 5, []uint64{1}, 6, []uint64{3}, 1, []uint64{1}), // key 4 started over, key 1 is back
		entries(1, 4, []uint64{1}, 5, []uint64{1}, 6, []uint64{3}, 1, []uint64{1}), // nothing new
	}
	want := []string{
		"device=vda count=5 sum=6 1:4 2:5",
		"device=vda count=6 sum=7 1:5 2:6",
		"device=vda count=9 sum=8 1:7 2:9",
		"device=vda count=9 sum=8 1:7 2:9",
	}
	for i, e := range scrapes {
		fam, _ := m.build(e)
		if got := render(fam); !slices.Equal(got, []string{want[i]}) {
			t.Errorf("scrape %d: got %q, want %q", i, got, want[i])
		}
	}
}

// flakyLabels fails to decode a key until ok[key] is set, counting attempts.
type flakyLabels struct {
	ok       map[byte]bool
	attempts map[byte]int
}

func (f *flakyLabels) Decode(key []byte, out []string) ([]string, error) {
	f.attempts[key[0]]++
	if !f.ok[key[0]] {
		return out, fmt.Errorf("EIO reading key %d", key[0])
	}
	return append(out, "x"), nil
}

// TestDecodeRetry checks that a key whose labels failed to decode is retried
// with backoff (1s, 2s, 4s ... 1m) and exported once it decodes, and that
// its failure counts once, not once per scrape (issue 7, item 3).
func TestDecodeRetry(t *testing.T) {
	f := &flakyLabels{ok: map[byte]bool{}, attempts: map[byte]int{}}
	m := testMetric(f, []string{"k"}, nil, nil)
	start := time.Unix(1000, 0)
	e := entries(1, 1, []uint64{7}, 2, []uint64{1})
	scrape := func(at time.Duration) ([]string, int) {
		m.started = start.Add(at)
		fam, st := m.build(e)
		return render(fam), st.DecodeErrors
	}
	if got, errs := scrape(0); len(got) != 0 || errs != 2 {
		t.Fatalf("first scrape: %q, %d errors, want nothing and 2", got, errs)
	}
	f.ok[1] = true // key 1's failure was transient
	if got, errs := scrape(999 * time.Millisecond); len(got) != 0 || errs != 0 {
		t.Errorf("before the retry: %q, %d errors, want nothing and 0", got, errs)
	}
	if got, errs := scrape(time.Second); !slices.Equal(got, []string{"k=x 7"}) || errs != 0 {
		t.Errorf("at the retry: %q, %d errors, want k=x 7 and 0 (the episode is counted already)", got, errs)
	}
	// Key 2 keeps failing: tried at 0s, 1s, 3s, 7s, 15s, 31s, 63s, then
	// every minute: 123s, 183s, 243s.
	for at := 1500 * time.Millisecond; at <= 300*time.Second; at += 500 * time.Millisecond {
		scrape(at)
	}
	if got, want := f.attempts[2], 10; got != want {
		t.Errorf("key 2 decoded %d times in 300s, want %d (backoff 1s doubling up to 1m)", got, want)
	}
	if f.attempts[1] != 7 {
		t.Errorf("key 1 decoded %d times, want 7: once decoded it is cached, and refreshed once a period (at 60s, 120s ... 300s)", f.attempts[1])
	}
	// A key that leaves and fails again is a new episode.
	m.build(entries(1, 1, []uint64{7}))
	m.started = start.Add(301 * time.Second)
	if _, st := m.build(e); st.DecodeErrors != 1 {
		t.Errorf("key 2 back in the map: %d errors, want 1", st.DecodeErrors)
	}
}

// TestBuildOnlineCPUs checks that a cpu-split metric exports the online
// CPUs only; per-CPU maps hold a value for every possible CPU.
func TestBuildOnlineCPUs(t *testing.T) {
	m := testMetric(fakeLabels{1: {"a"}}, []string{"k"}, nil, []string{"0", "1", "2"})
	m.setOnline([]int{0, 2})
	fam, _ := m.build(entries(3, 1, []uint64{4, 6, 8}))
	if got, want := render(fam), []string{"cpu=0,k=a 4", "cpu=2,k=a 8"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	m.online = func() ([]int, error) { return nil, errors.New("no sysfs") }
	m.readOnline()
	fam, _ = m.build(entries(3, 1, []uint64{4, 6, 8}))
	if got := render(fam); len(got) != 3 {
		t.Errorf("online CPUs unknown: got %q, want every CPU", got)
	}
}

// TestDecodedSize guards the per-entry memory: one decoded per map key.
func TestDecodedSize(t *testing.T) {
	if got := unsafe.Sizeof(decoded{}); got > 32 {
		t.Errorf("decoded is %d bytes, want at most 32", got)
	}
}

// TestCPULabelValuesSize checks the sizes a cpu label may have: the check
// before loading is lifecycle's TestCPULabelSize; this one guards Bind.
func TestCPULabelValuesSize(t *testing.T) {
	for _, size := range []uint{0, 2, 4, 8} {
		if _, err := cpuLabelValues(config.Label{Name: "cpu", Size: size, Decoders: []config.Decoder{{Name: "uint"}}}, decoder.NewEnv(), 2); err != nil {
			t.Errorf("size %d: %v", size, err)
		}
	}
	if _, err := cpuLabelValues(config.Label{Name: "cpu", Size: 16, Decoders: []config.Decoder{{Name: "hex"}}}, decoder.NewEnv(), 2); err == nil {
		t.Error("cpuLabelValues accepted size 16")
	}
}

// mutableLabels decodes one-byte keys from a table the test changes, as an
// interface rename or a module load changes what a decoder outputs; a
// missing key is a decode error, "skip" skips the label set.
type mutableLabels struct{ fakeLabels }

// TestDecodeRefresh checks that cached keys are decoded again once per
// refresh period, so that a label whose decoding changed (ifname after a
// rename, ksym after a module load) moves to its new series, and that the
// old series keeps what the key had counted while other keys keep it alive.
func TestDecodeRefresh(t *testing.T) {
	f := mutableLabels{fakeLabels{1: {"eth0"}, 2: {"eth0"}, 3: {"skip"}, 4: {"lo"}}}
	m := testMetric(f, []string{"k"}, nil, nil)
	start := time.Unix(1000, 0)
	e := entries(1, 1, []uint64{10}, 2, []uint64{5}, 3, []uint64{7}, 4, []uint64{1})
	for i, step := range []struct {
		name   string
		at     time.Duration
		change func()
		want   []string
	}{
		{"first scrape", 0, func() {}, []string{"k=eth0 15", "k=lo 1"}},
		{"renamed, within the period: cached", 59 * time.Second, func() { f.fakeLabels[1] = []string{"wan0"} }, []string{"k=eth0 15", "k=lo 1"}},
		{"the next period: key 1 moves, eth0 keeps its count", refreshEvery, func() {}, []string{"k=eth0 15", "k=lo 1", "k=wan0 10"}},
		{"a skipped key decodes now", 2 * refreshEvery, func() { f.fakeLabels[3] = []string{"lo"} }, []string{"k=eth0 15", "k=lo 8", "k=wan0 10"}},
		{"a failure keeps the labels", 3 * refreshEvery, func() { delete(f.fakeLabels, 4) }, []string{"k=eth0 15", "k=lo 8", "k=wan0 10"}},
		{"a key now skipped leaves its series", 4 * refreshEvery, func() { f.fakeLabels[2] = []string{"skip"} }, []string{"k=lo 8", "k=wan0 10"}},
	} {
		step.change()
		m.started = start.Add(step.at)
		fam, st := m.build(e)
		if got := render(fam); !slices.Equal(got, step.want) || st.DecodeErrors != 0 {
			t.Errorf("step %d (%s): got %q, %d errors, want %q, 0", i, step.name, got, st.DecodeErrors, step.want)
		}
	}
}

// TestDecodeRefreshSpread checks that a scrape decodes at most a part of a
// large map's keys again, and that every key is refreshed within a few
// scrapes.
func TestDecodeRefreshSpread(t *testing.T) {
	const n = 4 * refreshMin * refreshSpread
	calls := 0
	labels := countingLabels(func() { calls++ })
	e := bpfmap.NewEntries(4, 1)
	for i := range uint32(n) {
		e.Add(binary.LittleEndian.AppendUint32(nil, i), []uint64{1})
	}
	m := testMetric(labels, []string{"k"}, nil, nil)
	start := time.Unix(1000, 0)
	m.started = start
	m.build(e)
	calls = 0
	m.started = start.Add(refreshEvery)
	for scrape := range refreshSpread + 1 {
		m.build(e)
		if max := n / refreshSpread; calls > max*(scrape+1) {
			t.Fatalf("scrape %d: %d keys decoded again in all, want at most %d a scrape", scrape, calls, max)
		}
	}
	if calls != n {
		t.Errorf("%d keys decoded again after %d scrapes, want all %d", calls, refreshSpread+1, n)
	}
}

// countingLabels decodes every key to its first byte, calling count.
type countingLabels func()

func (c countingLabels) Decode(key []byte, out []string) ([]string, error) {
	c()
	return append(out, fmt.Sprint(key[0])), nil
}

// TestDecodeRefreshHistogram moves a histogram's keys (two buckets and the
// sum key) to a renamed series: the new series gets their counts, the
// buckets stay where they were.
func TestDecodeRefreshHistogram(t *testing.T) {
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMax: 1})
	f := fakeLabels{1: {"eth0", "0"}, 2: {"eth0", "1"}, 3: {"eth0", "2"}}
	m := testMetric(f, []string{"dev"}, &b, nil)
	e := entries(1, 1, []uint64{3}, 2, []uint64{1}, 3, []uint64{5})
	m.started = time.Unix(1000, 0)
	m.build(e)
	f[1], f[2], f[3] = []string{"wan0", "0"}, []string{"wan0", "1"}, []string{"wan0", "2"}
	m.started = m.started.Add(refreshEvery)
	fam, _ := m.build(e)
	if got, want := render(fam), []string{"dev=wan0 count=4 sum=5 1:3 2:4"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBuildBytesOf checks that one key field feeds three labels through
// bytes_of, each with its own decoders, and that the series are those of
// the field (two keys, two series), not of the labels.
func TestBuildBytesOf(t *testing.T) {
	ops := map[string]string{"1": "read", "2": "write"}
	labels := []config.Label{
		{Name: "op", Size: 1, Decoders: []config.Decoder{{Name: "uint"}}},
		{Name: "op_name", BytesOf: "op", Decoders: []config.Decoder{{Name: "uint"}, {Name: "static_map", StaticMap: ops}}},
		{Name: "op_hex", BytesOf: "op_name", Decoders: []config.Decoder{{Name: "hex"}}},
	}
	m, err := NewMapMetric(Options{Namespace: "ns", Env: decoder.NewEnv()}, "ops_total", "h", labels, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fam, st := m.build(entries(1, 1, []uint64{3}, 2, []uint64{5}))
	want := []string{"op=1,op_hex=01,op_name=read 3", "op=2,op_hex=02,op_name=write 5"}
	if got := render(fam); st.DecodeErrors != 0 || !slices.Equal(got, want) {
		t.Errorf("got %q (%d decode errors), want %q", got, st.DecodeErrors, want)
	}
}
