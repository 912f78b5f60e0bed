package exporter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// labelDecoder splits a raw key into decoded label values.
type labelDecoder interface {
	Decode(key []byte, out []string) ([]string, error)
}

// metric exports one map as a counter or a histogram. Scrapes may run in
// parallel; mu serialises them per map, as they share buffers and slots.
type metric struct {
	name     string // the map name
	fullName string // the metric name, with namespace
	help     string
	names    []string // label names, without bucket and cpu
	labels   labelDecoder
	reader   *bpfmap.Reader
	buckets  *buckets // nil for counters
	perCPU   bool     // split values by a "cpu" label

	mu      sync.Mutex
	entries *bpfmap.Entries
	cache   map[string]*decoded
	slots   slots
	gen     uint64
	order   []int
	scratch []string
}

// decoded is what a raw key decodes to, cached across scrapes until the key
// leaves the map.
type decoded struct {
	slot   int  // index into slots.all
	bucket int  // histograms: index into buckets.keys, or sumBucket/ignoredBucket
	skip   bool // a decoder dropped this label set
	gen    uint64
}

// gatherStats counts what one gather saw.
type gatherStats struct {
	decodeErrors int
	firstErr     error
}

// gather reads the map and returns its metric family. Keys that fail to
// decode are counted and left out; the rest are exported.
func (m *metric) gather() (*dto.MetricFamily, gatherStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st gatherStats
	if err := m.reader.Read(m.entries); err != nil {
		return nil, st, fmt.Errorf("map %s: %w", m.name, err)
	}
	m.gen++
	m.order = m.order[:0]
	for i := range m.entries.Len() {
		d, err := m.decode(m.entries.Key(i))
		if err != nil {
			st.decodeErrors++
			if st.firstErr == nil {
				st.firstErr = err
			}
			continue
		}
		if !d.skip {
			m.add(d, m.entries.Values(i))
		}
	}
	m.sweep()
	return m.family(), st, nil
}

// add folds one entry's values (one per CPU) into its slot.
func (m *metric) add(d *decoded, values []uint64) {
	s := m.slots.all[d.slot]
	if s.seen != m.gen {
		m.resetSlot(s, len(values))
		m.order = append(m.order, d.slot)
	}
	if !m.perCPU {
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
	if m.perCPU {
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

// decode returns the cached decoding of key, decoding it on a miss.
func (m *metric) decode(key []byte) (*decoded, error) {
	if d, ok := m.cache[string(key)]; ok {
		d.gen = m.gen
		return d, nil
	}
	values, err := m.labels.Decode(key, m.scratch[:0])
	m.scratch = values
	d := &decoded{gen: m.gen}
	switch {
	case errors.Is(err, decoder.ErrSkipLabelSet):
		d.skip = true
	case err != nil:
		return nil, fmt.Errorf("map %s key %x: %w", m.name, key, err)
	default:
		if err := m.resolve(d, values); err != nil {
			return nil, fmt.Errorf("map %s key %x: %w", m.name, key, err)
		}
	}
	m.cache[string(key)] = d
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
		if m.perCPU {
			return cpuPairs(m.names, values, m.entries.CPUs)
		}
		return [][]*dto.LabelPair{labelPairs(m.names, values)}
	})
	return nil
}

// sweep forgets keys that were not in the map this time.
func (m *metric) sweep() {
	for k, d := range m.cache {
		if d.gen != m.gen {
			if !d.skip {
				m.slots.release(d.slot)
			}
			delete(m.cache, k)
		}
	}
}
