package exporter

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// perfBufferBytes is the per-CPU perf buffer size for event counters.
const perfBufferBytes = 64 << 10

// eventCounter is a perf_event_array counter: the program sends one record
// per event, whose first bytes are the labels' key layout, to a perf event
// array or a ring buffer. Records are counted by decoded label set, in
// process, and the counts start over every flush interval.
type eventCounter struct {
	name, fullName, help string
	names                []string
	labels               labelDecoder
	keySize              int
	flush                time.Duration
	src                  recordSource
	log                  *slog.Logger
	done                 chan struct{}
	lost                 atomic.Uint64
	failed               atomic.Uint64 // records that failed to decode, not yet reported

	mu      sync.Mutex
	byKey   map[string]*eventSeries // raw key -> its series (nil: skipped)
	byID    map[string]*eventSeries // decoded label set -> series
	order   []*eventSeries
	flushed time.Time
}

type eventSeries struct {
	pairs []*dto.LabelPair
	n     uint64
}

// recordSource yields raw records: a perf event array or a ring buffer.
type recordSource interface {
	// next blocks for a record; lost counts records dropped before it.
	next() (raw []byte, lost uint64, err error)
	Close() error
}

func newEventCounter(c config.Counter, m *ebpf.Map, opts Options, log *slog.Logger) (*eventCounter, error) {
	ls, err := decoder.NewLabelSet(c.Labels, opts.Env)
	if err != nil {
		return nil, err
	}
	src, err := newRecordSource(m)
	if err != nil {
		return nil, err
	}
	e := &eventCounter{
		name: c.Name, fullName: prometheus.BuildFQName(opts.Namespace, "", c.Name), help: c.Help,
		names: ls.Names(), labels: ls, keySize: ls.KeySize(), flush: c.FlushInterval,
		src: src, log: log, done: make(chan struct{}), flushed: time.Now(),
	}
	e.reset()
	go e.run()
	return e, nil
}

func newRecordSource(m *ebpf.Map) (recordSource, error) {
	switch m.Type() {
	case ebpf.PerfEventArray:
		r, err := perf.NewReader(m, perfBufferBytes)
		if err != nil {
			return nil, fmt.Errorf("perf reader: %w", err)
		}
		return &perfSource{r: r}, nil
	case ebpf.RingBuf:
		r, err := ringbuf.NewReader(m)
		if err != nil {
			return nil, fmt.Errorf("ring buffer reader: %w", err)
		}
		return &ringSource{r: r}, nil
	}
	return nil, fmt.Errorf("map type %s: perf_event_array counters read a perf event array or a ring buffer", m.Type())
}

type perfSource struct {
	r   *perf.Reader
	rec perf.Record
}

func (s *perfSource) next() ([]byte, uint64, error) {
	err := s.r.ReadInto(&s.rec)
	return s.rec.RawSample, s.rec.LostSamples, err
}

func (s *perfSource) Close() error { return s.r.Close() }

type ringSource struct {
	r   *ringbuf.Reader
	rec ringbuf.Record
}

func (s *ringSource) next() ([]byte, uint64, error) {
	err := s.r.ReadInto(&s.rec)
	return s.rec.RawSample, 0, err
}

func (s *ringSource) Close() error { return s.r.Close() }

// run counts records until the source is closed.
func (e *eventCounter) run() {
	defer close(e.done)
	for {
		raw, lost, err := e.src.next()
		switch {
		case errors.Is(err, os.ErrClosed) || errors.Is(err, perf.ErrClosed) || errors.Is(err, ringbuf.ErrClosed):
			return
		case err != nil:
			e.log.Warn("reading events", "map", e.name, "err", err)
			continue
		}
		e.lost.Add(lost)
		if len(raw) > 0 {
			e.count(raw)
		}
	}
}

// count adds one record. Perf records may be padded, so only the first
// keySize bytes are the key; a shorter record is a decode error.
func (e *eventCounter) count(raw []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.maybeFlush()
	if len(raw) < e.keySize {
		e.fail(fmt.Errorf("map %s: record is %d bytes, the labels need %d", e.name, len(raw), e.keySize))
		return
	}
	key := raw[:e.keySize]
	s, ok := e.byKey[string(key)]
	if !ok {
		var err error
		if s, err = e.series(key); err != nil {
			e.fail(err)
			return
		}
		e.byKey[string(key)] = s
	}
	if s != nil {
		s.n++
	}
}

// series decodes key into its series; nil when a decoder skips it.
func (e *eventCounter) series(key []byte) (*eventSeries, error) {
	values, err := e.labels.Decode(key, nil)
	if errors.Is(err, decoder.ErrSkipLabelSet) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("map %s key %x: %w", e.name, key, err)
	}
	id := strings.Join(values, "\xff")
	s, ok := e.byID[id]
	if !ok {
		s = &eventSeries{pairs: labelPairs(e.names, values)}
		e.byID[id] = s
		e.order = append(e.order, s)
	}
	return s, nil
}

func (e *eventCounter) fail(err error) {
	if e.failed.Add(1) == 1 {
		e.log.Debug("event decode error", "map", e.name, "err", err)
	}
}

// maybeFlush starts the counts over once the flush interval has passed.
func (e *eventCounter) maybeFlush() {
	if e.flush > 0 && time.Since(e.flushed) >= e.flush {
		e.reset()
		e.flushed = time.Now()
	}
}

func (e *eventCounter) reset() {
	e.byKey, e.byID, e.order = map[string]*eventSeries{}, map[string]*eventSeries{}, nil
}

func (e *eventCounter) metricName() string { return e.fullName }

// gather returns the counts so far.
func (e *eventCounter) gather() (*dto.MetricFamily, gatherStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.maybeFlush()
	f := newFamilyBuilder(e.fullName, e.help, dto.MetricType_COUNTER, len(e.order))
	for _, s := range e.order {
		f.counter(s.pairs, s.n)
	}
	return f.fam, gatherStats{decodeErrors: int(e.failed.Swap(0))}, nil
}

// close stops reading and waits for the reader goroutine.
func (e *eventCounter) close() error {
	err := e.src.Close()
	<-e.done
	return err
}
