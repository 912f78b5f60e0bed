package series

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/bpfmap"
)

// panicky decodes like fakeLabels, but panics on the keys in panics (a
// decoder bug) while *armed.
type panicky struct {
	fakeLabels
	panics []byte
	armed  *bool
}

func (p panicky) Decode(key []byte, out []string) ([]string, error) {
	if *p.armed && slices.Contains(p.panics, key[0]) {
		var m map[string]int
		m["x"] = 1 // a runtime error, as a real bug would be
	}
	return p.fakeLabels.Decode(key, out)
}

// buildSafely is build, a panic reported as an error (as gatherSource
// would, with the metric then lost for the scrape).
func buildSafely(m *MapMetric, e *bpfmap.Entries) (fam *dto.MetricFamily, st GatherStats, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("build panicked: %v", r)
		}
	}()
	fam, st = m.build(e)
	return fam, st, nil
}

// TestDecoderPanic checks that a decoder panicking on one key (a bug)
// costs that key only: it is a decode error of its scrape, the other keys
// are exported, and later scrapes, once the decoder stops panicking, give
// each key's values to its own series and survive keys leaving. A panic
// used to leave a half-made cache entry behind that counted the key in
// another series (slot 0) and, once the key left, made every scrape
// panic.
func TestDecoderPanic(t *testing.T) {
	labels := fakeLabels{1: {"a"}, 2: {"c"}, 3: {"b"}}
	for _, tc := range []struct {
		name    string
		panics  []byte
		scrapes []*bpfmap.Entries
		armed   []bool // the decoder panics during this scrape
		want    [][]string
		errors  []int // decode errors per scrape
	}{
		{"one key, once", []byte{2},
			[]*bpfmap.Entries{
				entries(1, 1, []uint64{10}, 3, []uint64{1}),
				entries(1, 1, []uint64{11}, 2, []uint64{5}, 3, []uint64{2}),
				entries(1, 1, []uint64{12}, 2, []uint64{6}, 3, []uint64{3}),
				entries(1, 3, []uint64{4}),
			},
			[]bool{false, true, false, false},
			[][]string{{"k=a 10", "k=b 1"}, {"k=a 11", "k=b 2"}, {"k=a 12", "k=b 3", "k=c 6"}, {"k=b 4"}},
			[]int{0, 1, 0, 0}},
		{"every key", []byte{1, 2, 3},
			[]*bpfmap.Entries{
				entries(1, 1, []uint64{10}, 2, []uint64{5}),
				entries(1, 1, []uint64{11}, 2, []uint64{6}),
				entries(1, 3, []uint64{1}),
			},
			[]bool{true, false, false},
			[][]string{nil, {"k=a 11", "k=c 6"}, {"k=b 1"}},
			[]int{2, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			armed := false
			m := testMetric(panicky{labels, tc.panics, &armed}, []string{"k"}, nil, nil)
			for i, e := range tc.scrapes {
				armed = tc.armed[i]
				m.started = m.started.Add(retryMax) // failed keys are retried
				fam, st, err := buildSafely(m, e)
				if err != nil {
					t.Errorf("scrape %d: %v", i, err)
					continue
				}
				if got := render(fam); !slices.Equal(got, tc.want[i]) {
					t.Errorf("scrape %d: got %q, want %q", i, got, tc.want[i])
				}
				if st.DecodeErrors != tc.errors[i] || tc.errors[i] > 0 && !strings.Contains(st.FirstErr.Error(), "decoder panicked") {
					t.Errorf("scrape %d: %d decode errors (first %v), want %d naming the panic", i, st.DecodeErrors, st.FirstErr, tc.errors[i])
				}
			}
		})
	}
}

// TestEventDecoderPanic checks a decoder panicking on a record is a
// decode error of that record, the others counted.
func TestEventDecoderPanic(t *testing.T) {
	armed := true
	e := testEvents(0)
	e.labels = panicky{fakeLabels{1: {"a"}, 3: {"b"}}, []byte{3}, &armed}
	for _, rec := range [][]byte{{1}, {3}, {1}} {
		e.countSafely(rec)
	}
	fam, st, err := e.Gather()
	if got, want := render(fam), []string{"k=a 2"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if st.DecodeErrors != 1 || !strings.Contains(st.FirstErr.Error(), "panicked") {
		t.Errorf("decode errors %d (first %v), want 1 naming the panic", st.DecodeErrors, st.FirstErr)
	}
}
