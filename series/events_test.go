package series

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

func testEvents(flush time.Duration) *EventCounter {
	e := &EventCounter{name: "ev", fullName: "ns_ev", help: "h", names: []string{"k"}, keySize: 1,
		labels: fakeLabels{1: {"a"}, 2: {"a"}, 3: {"b"}, 4: {"skip"}}, flush: flush, flushed: time.Now(),
		log: slog.New(slog.DiscardHandler)}
	e.reset()
	return e
}

func TestEventCount(t *testing.T) {
	e := testEvents(time.Hour)
	for _, rec := range [][]byte{{1, 0, 0, 0}, {2}, {3}, {3}, {4}, {9}, {}} {
		e.count(rec)
	}
	fam, st, _ := e.Gather()
	if got, want := render(fam), []string{"k=a 2", "k=b 2"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (padding ignored, equal label sets added up, skips left out)", got, want)
	}
	if st.DecodeErrors != 2 { // key 9 has no labels; the empty record is too short
		t.Errorf("decode errors = %d, want 2", st.DecodeErrors)
	}
	if _, st, _ = e.Gather(); st.DecodeErrors != 0 {
		t.Errorf("decode errors reported twice: %d", st.DecodeErrors)
	}
}

// TestEventDecodeErrorReported checks that a scrape reporting decode
// errors also gives the first error, for the warning logged once per map:
// records too short for the labels, then a key without labels.
func TestEventDecodeErrorReported(t *testing.T) {
	e := testEvents(time.Hour)
	e.keySize = 2
	e.count([]byte{1})
	e.count([]byte{9, 0})
	_, st, _ := e.Gather()
	if st.DecodeErrors != 2 || st.FirstErr == nil || !strings.Contains(st.FirstErr.Error(), "record is 1 bytes, the labels need 2") {
		t.Fatalf("gather: %d decode errors, first error %v; want 2 and the short record's error", st.DecodeErrors, st.FirstErr)
	}
	if _, st, _ = e.Gather(); st.DecodeErrors != 0 || st.FirstErr != nil {
		t.Errorf("second gather: %d decode errors, first error %v; want 0 and none (reported once)", st.DecodeErrors, st.FirstErr)
	}
}

// TestEventFlushAtScrape checks that the counts start over only after a
// scrape exported them: events after the last scrape, even once the flush
// interval has passed, are exported by the next scrape.
func TestEventFlushAtScrape(t *testing.T) {
	e := testEvents(time.Hour)
	e.count([]byte{1})
	if fam, _, _ := e.Gather(); !slices.Equal(render(fam), []string{"k=a 1"}) {
		t.Fatalf("first scrape: %q", render(fam))
	}
	e.flushed = time.Now().Add(-2 * time.Hour) // the interval passes ...
	e.count([]byte{3})                         // ... and an event comes before the next scrape
	if fam, _, _ := e.Gather(); !slices.Equal(render(fam), []string{"k=a 1", "k=b 1"}) {
		t.Errorf("the scrape after the interval lost events: %q, want k=a 1, k=b 1", render(fam))
	}
	if fam, _, _ := e.Gather(); len(fam.Metric) != 0 {
		t.Errorf("counts kept after the scrape that flushed them: %q", render(fam))
	}
	e.count([]byte{3})
	if fam, _, _ := e.Gather(); !slices.Equal(render(fam), []string{"k=b 1"}) {
		t.Errorf("after the flush: %q", render(fam))
	}
}

// keyLabels decodes a 4-byte key: keys below skipBelow are skipped, the
// others all decode to one label set.
type keyLabels struct{ skipBelow uint32 }

func (k keyLabels) Decode(key []byte, out []string) ([]string, error) {
	if binary.LittleEndian.Uint32(key) < k.skipBelow {
		return out, decoder.ErrSkipLabelSet
	}
	return append(out, "one"), nil
}

// ownLabels decodes every key to its own label set: its bytes in hex.
type ownLabels struct{}

func (ownLabels) Decode(key []byte, out []string) ([]string, error) {
	return append(out, fmt.Sprintf("%x", key)), nil
}

// TestEventSeriesBounded sends records with ever new label sets: beyond
// maxSeries they count in the overflow series, while the series already
// there go on counting, until the flush starts the counts over. Nothing is
// lost: the series add up to the records sent.
func TestEventSeriesBounded(t *testing.T) {
	e := testEvents(time.Hour)
	e.labels, e.keySize, e.maxSeries = ownLabels{}, 4, 3
	rec := make([]byte, 4)
	for i := range uint32(10) {
		binary.LittleEndian.PutUint32(rec, i)
		e.count(rec)
		binary.LittleEndian.PutUint32(rec, 0)
		e.count(rec)
	}
	binary.LittleEndian.PutUint32(rec, 9)
	e.count(rec) // a folded key again: counted, not folded again
	fam, _, _ := e.Gather()
	want := []string{"k=00000000 11", "k=01000000 1", "k=02000000 1", "k=__overflow__ 8"}
	if got := render(fam); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if lost := e.LostTotal(); lost != 0 {
		t.Errorf("lost = %d, want 0: folded records are counted", lost)
	}
	if f := e.Foldings(); f != 7 {
		t.Errorf("foldings = %d, want the 7 label sets folded", f)
	}
	e.flushed = time.Now().Add(-2 * time.Hour)
	e.Gather() // flushes
	binary.LittleEndian.PutUint32(rec, 9)
	e.count(rec)
	if fam, _, _ := e.Gather(); !slices.Equal(render(fam), []string{"k=09000000 1"}) {
		t.Errorf("after the flush: %q, want k=09000000 1", render(fam))
	}
}

// TestEventOverflowLabels checks that records whose labels are those of
// the overflow series count in it, under the cap too, so that no series
// is exported twice once label sets fold.
func TestEventOverflowLabels(t *testing.T) {
	e := testEvents(time.Hour)
	e.labels, e.keySize, e.maxSeries = fakeLabels{0: {OverflowValue}, 1: {"a"}, 2: {"b"}, 3: {"c"}}, 4, 2
	for k := range byte(4) {
		e.count([]byte{k, 0, 0, 0})
	}
	fam, _, _ := e.Gather()
	if got, want := render(fam), []string{"k=__overflow__ 2", "k=a 1", "k=b 1"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestEventRawKeysBounded sends 200,000 distinct raw keys that are skipped
// or all decode to one series: the raw keys kept must stay bounded by the
// series exported.
func TestEventRawKeysBounded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		skipBelow uint32
		series    int
	}{
		{"all skipped", 1 << 31, 0},
		{"one series", 0, 1},
		{"half skipped", 100_000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEvents(time.Hour)
			e.labels, e.keySize = keyLabels{tc.skipBelow}, 4
			rec := make([]byte, 4)
			for i := range uint32(200_000) {
				binary.LittleEndian.PutUint32(rec, i)
				e.count(rec)
				e.count(rec)
			}
			limit := minRawKeys + rawKeysPerSeries*tc.series
			if len(e.byKey) > limit {
				t.Errorf("%d raw keys held for %d series, want at most %d", len(e.byKey), len(e.order), limit)
			}
			fam, _, _ := e.Gather()
			if len(fam.Metric) != tc.series {
				t.Fatalf("%d series, want %d", len(fam.Metric), tc.series)
			}
			if want := 2 * float64(200_000-min(tc.skipBelow, 200_000)); tc.series == 1 && fam.Metric[0].Counter.GetValue() != want {
				t.Errorf("count = %v, want %v: a full cache must not lose events", fam.Metric[0].Counter.GetValue(), want)
			}
		})
	}
}

// chanSource is a record source fed by a test.
type chanSource struct {
	recs   chan []byte
	closed chan struct{}
	once   sync.Once
}

func newChanSource() *chanSource {
	return &chanSource{recs: make(chan []byte), closed: make(chan struct{})}
}

func (s *chanSource) next() ([]byte, uint64, error) {
	select {
	case r := <-s.recs:
		return r, 0, nil
	case <-s.closed:
		return nil, 0, os.ErrClosed
	}
}

func (s *chanSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// blockingLabels is a decoder that waits for release, like a cgroup walk
// stuck on a busy cgroupfs.
type blockingLabels struct{ release chan struct{} }

func (b blockingLabels) Decode(key []byte, out []string) ([]string, error) {
	<-b.release
	return append(out, "x"), nil
}

// TestEventReaderNeverWaitsForDecoder blocks the decoder: the reader must
// keep taking records from the source (in the kernel, a perf buffer that
// is not read overflows), queue what it can and count the rest as lost.
func TestEventReaderNeverWaitsForDecoder(t *testing.T) {
	const records, queue = 100, 4
	src, release := newChanSource(), make(chan struct{})
	e := testEvents(time.Hour)
	e.src, e.labels = src, blockingLabels{release}
	e.start(queue)
	for i := range records {
		select {
		case src.recs <- []byte{byte(i), 0xaa}: // padded: only the key is kept
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatalf("the reader took %d of %d records, then waited for the blocked decoder", i, records)
		}
	}
	close(release)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	fam, _, _ := e.Gather()
	counted := 0.0
	for _, m := range fam.Metric {
		counted += m.Counter.GetValue()
	}
	dropped := e.dropped.Load()
	if dropped == 0 || counted+float64(dropped) != records {
		t.Errorf("counted %v and dropped %d of %d records; want some dropped (queue of %d) and every record either counted or dropped", counted, dropped, records, queue)
	}
	if e.LostTotal() != dropped {
		t.Errorf("lost = %d, want the %d dropped", e.LostTotal(), dropped)
	}
}

// TestEventProgramLost reads a real per-CPU lost map: the records the
// program could not send on each CPU add up into LostTotal.
func TestEventProgramLost(t *testing.T) {
	testenv.Privileged(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	per, want := make([]uint64, cpus), uint64(0)
	for i := range per {
		per[i] = uint64(i + 1)
		want += per[i]
	}
	if err := m.Put(uint32(0), per); err != nil {
		t.Fatal(err)
	}
	e := testEvents(time.Hour)
	e.lostMap = m
	e.kernelLost.Store(10)
	if got := e.LostTotal(); got != want+10 {
		t.Errorf("LostTotal = %d, want %d (program) + 10 (kernel)", got, want)
	}
}

// BenchmarkEventCount is the decoder goroutine's cost per record of a
// label set already seen (the common case).
func BenchmarkEventCount(b *testing.B) {
	e := testEvents(time.Hour)
	rec := []byte{1}
	e.count(rec)
	b.ReportAllocs()
	for b.Loop() {
		e.count(rec)
	}
}
