package exporter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// labelDecoder splits a raw key into decoded label values.
type labelDecoder interface {
	Decode(key []byte, out []string) ([]string, error)
}

// metric exports one map as a counter or a histogram. Collect may run from
// parallel scrapes; mu serialises them per map, as they share buffers.
type metric struct {
	name    string
	desc    *prometheus.Desc
	names   []string // exported label names, without bucket and cpu
	labels  labelDecoder
	reader  *bpfmap.Reader
	buckets *buckets // nil for counters
	perCPU  bool     // split values by a "cpu" label

	mu      sync.Mutex
	entries *bpfmap.Entries
	cache   map[string]*decoded
	gen     uint64
	scratch []string
}

// decoded is what a raw key decodes to, cached across scrapes until the key
// is no longer in the map.
type decoded struct {
	id     string           // the series identity: label values joined
	pairs  []*dto.LabelPair // sorted label pairs
	values []string         // label values, for the per-CPU split
	bucket int              // histograms: index into buckets.keys, or sumBucket/ignoredBucket
	skip   bool             // a decoder dropped this label set
	gen    uint64
}

// collectStats counts what one collect saw.
type collectStats struct {
	decodeErrors int
	firstErr     error
}

func (m *metric) collect(ch chan<- prometheus.Metric) (collectStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st collectStats
	if err := m.reader.Read(m.entries); err != nil {
		return st, fmt.Errorf("map %s: %w", m.name, err)
	}
	m.gen++
	out := newAggregate(m)
	for i := range m.entries.Len() {
		d, err := m.decode(m.entries.Key(i))
		if err != nil {
			st.decodeErrors++
			if st.firstErr == nil {
				st.firstErr = err
			}
			continue
		}
		if d.skip {
			continue
		}
		out.add(d, m.entries.Values(i))
	}
	m.sweep()
	out.emit(ch)
	return st, nil
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
		if d, err = m.newDecoded(values); err != nil {
			return nil, fmt.Errorf("map %s key %x: %w", m.name, key, err)
		}
	}
	m.cache[string(key)] = d
	return d, nil
}

func (m *metric) newDecoded(values []string) (*decoded, error) {
	d := &decoded{gen: m.gen}
	if m.buckets != nil {
		last := values[len(values)-1]
		key, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bucket label %q is not a number: decode it with uint", last)
		}
		d.bucket = m.buckets.index(key)
		values = values[:len(values)-1]
	}
	d.values = append([]string(nil), values...)
	d.id = strings.Join(values, "\xff")
	if !m.perCPU {
		d.pairs = labelPairs(m.names, values)
	}
	return d, nil
}

// sweep forgets keys that were not in the map this time.
func (m *metric) sweep() {
	for k, d := range m.cache {
		if d.gen != m.gen {
			delete(m.cache, k)
		}
	}
}
