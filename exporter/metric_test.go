package exporter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

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

func testMetric(labels fakeLabels, names []string, b *buckets, cpuValues []string) *metric {
	return &metric{name: "m", fullName: "ns_m", help: "h", names: names, labels: labels, buckets: b, cpuValues: cpuValues,
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
			if st.decodeErrors != tc.errors {
				t.Errorf("decode errors = %d, want %d", st.decodeErrors, tc.errors)
			}
		})
	}
}

func TestBuildAcrossScrapes(t *testing.T) {
	m := testMetric(fakeLabels{1: {"a"}, 2: {"a"}, 3: {"b"}}, []string{"k"}, nil, nil)
	_, st := m.build(entries(1, 1, []uint64{1}, 2, []uint64{1}, 9, []uint64{1}))
	if st.decodeErrors != 1 {
		t.Fatalf("first scrape: %d decode errors, want 1", st.decodeErrors)
	}
	fam, st := m.build(entries(1, 1, []uint64{5}, 9, []uint64{1}))
	if st.decodeErrors != 0 {
		t.Errorf("a failing key is counted again: %d", st.decodeErrors)
	}
	if got := render(fam); !slices.Equal(got, []string{"k=a 5"}) {
		t.Errorf("after key 2 left: %q", got)
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
	b := newBuckets(config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 2, BucketMultiplier: 0.5})
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
	if st.decodeErrors != 1 || !strings.Contains(st.firstErr.Error(), "bucket label") {
		t.Errorf("a non-numeric bucket must be a decode error: %d, %v", st.decodeErrors, st.firstErr)
	}
}

func TestGatherAfterClose(t *testing.T) {
	m := testMetric(fakeLabels{}, nil, nil, nil)
	m.close()
	if _, _, err := m.gather(); !errors.Is(err, errClosed) {
		t.Fatalf("gather after close: %v", err)
	}
}
