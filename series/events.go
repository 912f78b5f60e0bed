package series

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

const (
	// perfBufferBytes is the per-CPU perf buffer size for event counters.
	perfBufferBytes = 64 << 10
	// eventQueueLen is how many records wait between the reader, which
	// only copies them, and the decoder; beyond it records are dropped
	// (and counted as lost) rather than the reader waiting.
	eventQueueLen = 16 << 10
	// eventSlabBytes is the block the reader copies record keys into, so
	// that a record costs no allocation of its own.
	eventSlabBytes = 64 << 10
	// minRawKeys and rawKeysPerSeries bound the cache from raw record key
	// to series: minRawKeys plus rawKeysPerSeries per exported series.
	// When it is full it is emptied, and keys are decoded again.
	minRawKeys, rawKeysPerSeries = 1024, 4
)

// lostMapSuffix names the map in which a program counts the records it
// could not send (a full ring buffer): "<map>_lost", see
// include/events.bpf.h.
const lostMapSuffix = "_lost"

// LostMapName is the name of the lost-records map of event map name.
func LostMapName(name string) string { return name + lostMapSuffix }

// EventCounter is a perf_event_array counter: the program sends one record
// per event, whose first bytes are the labels' key layout, to a perf event
// array or a ring buffer. Records are counted by decoded label set, in
// process; a scrape after the flush interval exports the counts one last
// time and then starts them over.
//
// Unlike a map, whose max_entries bounds its keys, records may carry ever
// new label sets (a pid, an address, a random id): beyond maxSeries label
// sets, records of a new one count in the overflow series until the next
// flush, instead of memory growing until the process dies.
//
// A reader goroutine only copies records into a bounded queue: it never
// waits for a decoder, so a slow decoder (a cgroup walk) cannot make the
// kernel's buffers overflow; it drops records when the queue is full, and
// counts them. A decoder goroutine takes them from the queue.
type EventCounter struct {
	name, fullName, help string
	names                []string
	labels               labelDecoder
	keySize              int
	maxSeries            int // label sets kept between flushes, the rest folded; 0: no bound
	flush                time.Duration
	src                  recordSource
	lostMap              *ebpf.Map // records the program could not send, or nil
	log                  *slog.Logger
	queue                chan []byte
	readerDone, done     chan struct{}
	kernelLost           atomic.Uint64 // records the perf buffers dropped
	dropped              atomic.Uint64 // records the queue had no room for
	foldings             atomic.Uint64 // keys decoded to a label set beyond maxSeries
	programLost          atomic.Uint64 // last sum read from lostMap

	mu         sync.Mutex
	failed     int                     // records that failed to decode, not yet reported
	firstErr   error                   // the first of them
	byKey      map[string]*eventSeries // raw key -> its series (nil: skipped); bounded by rawKeyCap
	byID       map[string]*eventSeries // decoded label set -> series, the overflow series apart
	order      []*eventSeries          // the series, the overflow series apart
	over       *eventSeries            // the overflow series, nil until a label set folds
	warnedFull bool                    // the series limit was logged
	flushed    time.Time
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

// NewEventCounter starts counting the records of m. lost is the map named
// LostMapName(c.Name) in which the program counts the records it could not
// send, or nil.
func NewEventCounter(opts Options, c config.Counter, m, lost *ebpf.Map) (*EventCounter, error) {
	ls, err := decoder.NewLabelSet(c.Labels, opts.Env)
	if err != nil {
		return nil, err
	}
	src, err := newRecordSource(m)
	if err != nil {
		return nil, err
	}
	e := &EventCounter{
		name: c.Name, fullName: prometheus.BuildFQName(opts.Namespace, "", c.Name), help: c.Help,
		names: ls.Names(), labels: ls, keySize: ls.KeySize(), maxSeries: opts.MaxSeries, flush: c.FlushInterval,
		src: src, lostMap: lost, log: opts.Logger, flushed: time.Now(),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.start(eventQueueLen)
	return e, nil
}

// start starts the reader and the decoder, with a queue of queueLen
// records between them.
func (e *EventCounter) start(queueLen int) {
	e.reset()
	e.queue = make(chan []byte, queueLen)
	e.readerDone, e.done = make(chan struct{}), make(chan struct{})
	go e.read()
	go e.decode()
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

// read copies records into the queue until the source is closed, then
// closes the queue. Perf records may be padded, so only the first keySize
// bytes are kept; a shorter record is kept whole, for the decoder to
// report.
func (e *EventCounter) read() {
	defer close(e.readerDone)
	defer close(e.queue)
	var slab []byte
	for {
		raw, lost, err := e.src.next()
		switch {
		case errors.Is(err, os.ErrClosed) || errors.Is(err, perf.ErrClosed) || errors.Is(err, ringbuf.ErrClosed):
			return
		case err != nil:
			e.log.Warn("reading events", "map", e.name, "err", err)
			continue
		}
		e.kernelLost.Add(lost)
		if len(raw) == 0 {
			continue
		}
		n := min(len(raw), e.keySize)
		if len(slab) < n {
			slab = make([]byte, max(eventSlabBytes, n))
		}
		rec := slab[:n:n]
		slab = slab[n:]
		copy(rec, raw)
		select {
		case e.queue <- rec:
		default:
			if e.dropped.Add(1) == 1 {
				e.log.Warn("event records dropped: decoding falls behind the events; see events_lost_total", "map", e.name, "queue", cap(e.queue))
			}
		}
	}
}

// decode counts the queued records until the queue is closed.
func (e *EventCounter) decode() {
	defer close(e.done)
	for rec := range e.queue {
		e.countSafely(rec)
	}
}

// countSafely is count, with a panic (a decoder bug) counted as a record
// that failed to decode instead of ending the process.
func (e *EventCounter) countSafely(rec []byte) {
	defer func() {
		if r := recover(); r != nil {
			e.fail(fmt.Errorf("map %s: decoding a record panicked (a bug in ebpfmon, please report it with this message): %v", e.name, r))
		}
	}()
	e.count(rec)
}

// count adds one record, rec: its first keySize bytes (fewer is a decode
// error). A key not seen yet is decoded without holding the lock, so that
// a slow decoder never holds up a scrape.
func (e *EventCounter) count(rec []byte) {
	if len(rec) < e.keySize {
		e.fail(fmt.Errorf("map %s: record is %d bytes, the labels need %d", e.name, len(rec), e.keySize))
		return
	}
	key := rec[:e.keySize]
	e.mu.Lock()
	s, ok := e.byKey[string(key)]
	if ok && s != nil {
		s.n++
	}
	e.mu.Unlock()
	if ok {
		return
	}
	values, err := decodeLabels(e.labels, key, nil)
	switch {
	case errors.Is(err, decoder.ErrSkipLabelSet):
		values = nil
	case err != nil:
		e.fail(fmt.Errorf("map %s key %x: %w", e.name, key, err))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if values != nil {
		s = e.series(values)
		s.n++
	}
	e.remember(key, s)
}

// series returns the series of a decoded label set, made if new; the
// overflow series when it is new and maxSeries are kept already, or when
// its values are those of the overflow series.
func (e *EventCounter) series(values []string) *eventSeries {
	id := strings.Join(values, "\xff")
	if s, ok := e.byID[id]; ok {
		return s
	}
	if e.maxSeries > 0 && len(e.order) >= e.maxSeries || isOverflow(values) {
		return e.fold()
	}
	s := &eventSeries{pairs: labelPairs(e.names, values)}
	e.byID[id] = s
	e.order = append(e.order, s)
	return s
}

// fold counts a key whose label set is folded and returns the overflow
// series, made if new; it warns the first time; e.mu is held.
func (e *EventCounter) fold() *eventSeries {
	e.foldings.Add(1)
	if !e.warnedFull {
		e.warnedFull = true
		e.log.Warn("event counter at its series limit: records with a new label set count in its "+OverflowValue+" series until the next flush, see series_overflow_total; lower the labels' cardinality or flush_interval, or raise max_series",
			"map", e.name, "series", e.maxSeries, "flush_interval", e.flush)
	}
	if e.over == nil {
		values := make([]string, len(e.names))
		for i := range values {
			values[i] = OverflowValue
		}
		e.over = &eventSeries{pairs: labelPairs(e.names, values)}
	}
	return e.over
}

// remember caches the series of a raw key (nil: skipped). The cache is
// bounded by the series exported: when full it is emptied, which costs
// decoding again, not memory.
func (e *EventCounter) remember(key []byte, s *eventSeries) {
	if len(e.byKey) >= e.rawKeyCap() {
		clear(e.byKey)
	}
	e.byKey[string(key)] = s
}

// rawKeyCap is how many raw keys the cache may hold.
func (e *EventCounter) rawKeyCap() int { return minRawKeys + rawKeysPerSeries*len(e.order) }

// fail counts a record that failed to decode; the next gather reports
// the count and the first error.
func (e *EventCounter) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failed++; e.failed == 1 {
		e.firstErr = err
	}
}

func (e *EventCounter) reset() {
	e.byKey, e.byID, e.order, e.over = map[string]*eventSeries{}, map[string]*eventSeries{}, nil, nil
}

// MetricName is the counter's name, with namespace.
func (e *EventCounter) MetricName() string { return e.fullName }

// MapName is the name of the map the records come from.
func (e *EventCounter) MapName() string { return e.name }

// Gather returns the counts so far; once the flush interval has passed
// since the last flush, it starts them over after exporting them, so that
// no event goes unexported.
func (e *EventCounter) Gather() (*dto.MetricFamily, GatherStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.order)
	if e.over != nil {
		n++
	}
	f := newFamilyBuilder(e.fullName, e.help, dto.MetricType_COUNTER, n)
	for _, s := range e.order {
		f.counter(s.pairs, s.n)
	}
	if e.over != nil {
		f.counter(e.over.pairs, e.over.n)
	}
	if e.flush > 0 && time.Since(e.flushed) >= e.flush {
		e.reset()
		e.flushed = time.Now()
	}
	st := GatherStats{DecodeErrors: e.failed, FirstErr: e.firstErr}
	e.failed, e.firstErr = 0, nil
	return f.fam, st, nil
}

// LostTotal is every record lost so far: dropped by the perf buffers,
// not sent by the program (counted in its lost map), or dropped because
// decoding fell behind.
func (e *EventCounter) LostTotal() uint64 {
	return e.kernelLost.Load() + e.dropped.Load() + e.readProgramLost()
}

// Foldings is how many keys have decoded to a label set beyond the cap,
// counted in the overflow series: a key counts once while ebpfmon's cache
// of keys holds it, so about once per folded label set and flush interval
// (again when the cache is emptied, and once per key when several keys
// decode to one label set).
func (e *EventCounter) Foldings() uint64 { return e.foldings.Load() }

// readProgramLost sums the program's lost map over CPUs; when it cannot be
// read, the last sum read.
func (e *EventCounter) readProgramLost() uint64 {
	if e.lostMap == nil {
		return 0
	}
	var sum uint64
	var err error
	if e.lostMap.Type() == ebpf.PerCPUArray {
		var per []uint64
		if err = e.lostMap.Lookup(uint32(0), &per); err == nil {
			for _, v := range per {
				sum += v
			}
		}
	} else {
		err = e.lostMap.Lookup(uint32(0), &sum)
	}
	if err != nil {
		e.log.Debug("reading the lost records map", "map", LostMapName(e.name), "err", err)
		return e.programLost.Load()
	}
	e.programLost.Store(sum)
	return sum
}

// Close stops reading, lets the decoder count what was queued, and waits
// for both goroutines.
func (e *EventCounter) Close() error {
	err := e.src.Close()
	<-e.readerDone
	<-e.done
	return err
}
