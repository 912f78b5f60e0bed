package exporter

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

func testEvents(flush time.Duration) *eventCounter {
	e := &eventCounter{name: "ev", fullName: "ns_ev", help: "h", names: []string{"k"}, keySize: 1,
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
	fam, st, _ := e.gather()
	if got, want := render(fam), []string{"k=a 2", "k=b 2"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (padding ignored, equal label sets added up, skips left out)", got, want)
	}
	if st.decodeErrors != 2 { // key 9 has no labels; the empty record is too short
		t.Errorf("decode errors = %d, want 2", st.decodeErrors)
	}
	if _, st, _ = e.gather(); st.decodeErrors != 0 {
		t.Errorf("decode errors reported twice: %d", st.decodeErrors)
	}
}

func TestEventFlushResets(t *testing.T) {
	e := testEvents(time.Hour)
	e.count([]byte{1})
	e.flushed = time.Now().Add(-2 * time.Hour)
	if fam, _, _ := e.gather(); len(fam.Metric) != 0 {
		t.Errorf("counts kept past the flush interval: %q", render(fam))
	}
	e.count([]byte{3})
	if fam, _, _ := e.gather(); !slices.Equal(render(fam), []string{"k=b 1"}) {
		t.Errorf("after the flush: %q", render(fam))
	}
}
