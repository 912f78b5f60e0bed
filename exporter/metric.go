package exporter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// labelDecoder splits a raw key into decoded label values.
type labelDecoder interface {
	Decode(key []byte, out []string) ([]string, error)
}

// metric exports one map as a counter or a histogram. Scrapes may run in
// parallel; mu serialises them per map, as they share buffers and slots.
type metric struct {
	name      string // the map name
	fullName  string // the metric name, with namespace
	help      string
	names     []string // label names, without bucket and cpu
	keyNames  []string // label names of the key, bucket included
	labels    labelDecoder
	reader    *bpfmap.Reader
	buckets   *buckets      // nil for counters
	cpu       *config.Label // the "cpu" label splitting per-CPU values, or nil
	env       *decoder.Env
	cpuValues []string // the cpu label's value per CPU, set when the map is bound

	mu      sync.Mutex
	closed  bool
	entries *bpfmap.Entries
	cache   map[string]*decoded
	slots   slots
	gen     uint64
	hits    int
	order   []int
	scratch []string
}

// decoded is what a raw key decodes to, cached across scrapes until the key
// leaves the map. Keys that fail to decode are cached too, so each is
// counted as a decode error once, not once per scrape.
type decoded struct {
	slot   int  // index into slots.all
	bucket int  // histograms: index into buckets.keys, or sumBucket/ignoredBucket
	skip   bool // left out: a decoder dropped the label set, or decoding failed
	failed bool
	gen    uint64
}

// gatherStats counts what one gather saw.
type gatherStats struct {
	decodeErrors int // keys that failed to decode for the first time
	firstErr     error
}

var errClosed = errors.New("closed")

// gather reads the map and returns its metric family.
func (m *metric) gather() (*dto.MetricFamily, gatherStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, gatherStats{}, fmt.Errorf("map %s: %w", m.name, errClosed)
	}
	if err := m.reader.Read(m.entries); err != nil {
		return nil, gatherStats{}, fmt.Errorf("map %s: read: %w", m.name, err)
	}
	fam, st := m.build(m.entries)
	return fam, st, nil
}

func (m *metric) metricName() string { return m.fullName }

// close stops further gathers; it waits for one in progress.
func (m *metric) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
}

// build turns raw entries into the metric family: decode keys (cached),
// add up equal label sets, assemble histograms. Keys that fail to decode
// are counted and left out; the rest are exported.
func (m *metric) build(e *bpfmap.Entries) (*dto.MetricFamily, gatherStats) {
	var st gatherStats
	m.gen++
	m.hits = 0
	m.order = m.order[:0]
	for i := range e.Len() {
		d, err := m.decode(e.Key(i))
		if err != nil {
			st.decodeErrors++
			if st.firstErr == nil {
				st.firstErr = err
			}
		}
		if !d.skip {
			m.add(d, e.Values(i))
		}
	}
	m.sweep()
	return m.family(), st
}

// add folds one entry's values (one per CPU) into its slot.
func (m *metric) add(d *decoded, values []uint64) {
	s := m.slots.all[d.slot]
	if s.seen != m.gen {
		m.resetSlot(s, len(values))
		m.order = append(m.order, d.slot)
	}
	if m.cpuValues == nil {
		var sum uint64
		for _, v := range values {
			sum += v
		}
		m.addValue(s, d, 0, sum)
		return
	}
	for c, v := range values {
		m.addValue(s, d, c, v)
	}
}

func (m *metric) addValue(s *slot, d *decoded, cpu int, v uint64) {
	if m.buckets != nil {
		s.hists[cpu].add(m.buckets, d.bucket, v)
	} else {
		s.sums[cpu] += v
	}
}

func (m *metric) resetSlot(s *slot, cpus int) {
	s.seen = m.gen
	n := 1
	if m.cpuValues != nil {
		n = cpus
	}
	if m.buckets == nil {
		s.sums = append(s.sums[:0], make([]uint64, n)...)
		return
	}
	if len(s.hists) != n {
		s.hists = make([]histogram, n)
	}
	for i := range s.hists {
		s.hists[i].reset()
	}
}

// family builds the exposition of the slots filled this scrape.
func (m *metric) family() *dto.MetricFamily {
	typ := dto.MetricType_COUNTER
	if m.buckets != nil {
		typ = dto.MetricType_HISTOGRAM
	}
	n := 0
	for _, i := range m.order {
		n += len(m.slots.all[i].pairs)
	}
	f := newFamilyBuilder(m.fullName, m.help, typ, n)
	for _, i := range m.order {
		s := m.slots.all[i]
		for c, pairs := range s.pairs {
			if m.buckets != nil {
				f.histogram(pairs, m.buckets, &s.hists[c])
			} else {
				f.counter(pairs, s.sums[c])
			}
		}
	}
	return f.fam
}

// decode returns the cached decoding of key, decoding it on a miss. A
// failure is returned once, with a decoded that skips the key.
func (m *metric) decode(key []byte) (*decoded, error) {
	if d, ok := m.cache[string(key)]; ok {
		if d.gen != m.gen {
			d.gen = m.gen
			m.hits++
		}
		return d, nil
	}
	d := &decoded{gen: m.gen}
	m.cache[string(key)] = d
	m.hits++
	values, err := m.labels.Decode(key, m.scratch[:0])
	m.scratch = values
	if err == nil {
		err = m.resolve(d, values)
	}
	switch {
	case errors.Is(err, decoder.ErrSkipLabelSet):
		d.skip = true
	case err != nil:
		d.skip, d.failed = true, true
		return d, fmt.Errorf("map %s key %x: %w", m.name, key, err)
	}
	return d, nil
}

// resolve fills d's bucket and slot from the decoded label values.
func (m *metric) resolve(d *decoded, values []string) error {
	if m.buckets != nil {
		last := values[len(values)-1]
		key, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return fmt.Errorf("bucket label %q is not a number: decode it with uint", last)
		}
		d.bucket = m.buckets.index(key)
		values = values[:len(values)-1]
	}
	d.slot = m.slots.acquire(strings.Join(values, "\xff"), func() [][]*dto.LabelPair {
		if m.cpuValues != nil {
			return cpuPairs(m.names, values, m.cpuValues)
		}
		return [][]*dto.LabelPair{labelPairs(m.names, values)}
	})
	return nil
}

// sweep forgets keys that were not in the map this time; when every
// cached key was seen there is nothing to forget.
func (m *metric) sweep() {
	if m.hits == len(m.cache) {
		return
	}
	for k, d := range m.cache {
		if d.gen != m.gen {
			if !d.skip {
				m.slots.release(d.slot)
			}
			delete(m.cache, k)
		}
	}
}
