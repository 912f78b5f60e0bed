package exporter

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// aggregate sums entries with equal label sets into series.
type aggregate struct {
	m      *metric
	order  []string
	values map[string]*sample
}

type sample struct {
	d     *decoded
	cpu   int
	value uint64
	hist  histogram
}

func newAggregate(m *metric) *aggregate {
	return &aggregate{m: m, values: map[string]*sample{}}
}

// add folds one entry's values (one per CPU) into its series.
func (a *aggregate) add(d *decoded, values []uint64) {
	if !a.m.perCPU {
		var sum uint64
		for _, v := range values {
			sum += v
		}
		a.fold(d.id, d, -1, sum)
		return
	}
	for cpu, v := range values {
		a.fold(d.id+"\xff"+strconv.Itoa(cpu), d, cpu, v)
	}
}

func (a *aggregate) fold(id string, d *decoded, cpu int, v uint64) {
	s, ok := a.values[id]
	if !ok {
		s = &sample{d: d, cpu: cpu}
		a.values[id] = s
		a.order = append(a.order, id)
	}
	if a.m.buckets != nil {
		s.hist.add(a.m.buckets, d.bucket, v)
	} else {
		s.value += v
	}
}

// emit sends every series.
func (a *aggregate) emit(ch chan<- prometheus.Metric) {
	for _, id := range a.order {
		s := a.values[id]
		out := &series{desc: a.m.desc, pairs: s.d.pairs}
		if a.m.perCPU {
			names := append(append([]string(nil), a.m.names...), "cpu")
			values := append(append([]string(nil), s.d.values...), strconv.Itoa(s.cpu))
			out.pairs = labelPairs(names, values)
		}
		if a.m.buckets != nil {
			out.hist = histogramProto(a.m.buckets, &s.hist)
		} else {
			out.value = float64(s.value)
		}
		ch <- out
	}
}
