package series

import (
	"sort"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// labelPairs pairs names with values, sorted by name as Prometheus wants.
func labelPairs(names, values []string) []*dto.LabelPair {
	pairs := make([]*dto.LabelPair, len(names))
	for i := range names {
		pairs[i] = &dto.LabelPair{Name: proto.String(names[i]), Value: proto.String(values[i])}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return pairs
}

// familyBuilder builds one metric family, allocating its samples in slabs.
// Label pairs are shared with the slots, which never change them.
type familyBuilder struct {
	fam      *dto.MetricFamily
	metrics  []dto.Metric
	counters []dto.Counter
	floats   []float64
}

func newFamilyBuilder(name, help string, typ dto.MetricType, n int) *familyBuilder {
	f := &familyBuilder{
		fam:     &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: typ.Enum(), Metric: make([]*dto.Metric, 0, n)},
		metrics: make([]dto.Metric, n),
	}
	if typ == dto.MetricType_COUNTER {
		f.counters, f.floats = make([]dto.Counter, n), make([]float64, n)
	}
	return f
}

func (f *familyBuilder) next(pairs []*dto.LabelPair) *dto.Metric {
	i := len(f.fam.Metric)
	m := &f.metrics[i]
	m.Label = pairs
	f.fam.Metric = append(f.fam.Metric, m)
	return m
}

func (f *familyBuilder) counter(pairs []*dto.LabelPair, v uint64) {
	i := len(f.fam.Metric)
	m := f.next(pairs)
	f.floats[i] = float64(v)
	f.counters[i].Value = &f.floats[i]
	m.Counter = &f.counters[i]
}

// histogram adds one histogram series: h plus carry (nil for none).
func (f *familyBuilder) histogram(pairs []*dto.LabelPair, b *Buckets, h, carry *histogram) {
	f.next(pairs).Histogram = histogramProto(b, h, carry)
}

// histogramProto builds the exposition form of one histogram series, h
// plus carry (nil for none).
func histogramProto(b *Buckets, h, carry *histogram) *dto.Histogram {
	cum, count, sum := h.cumulative(b, carry)
	out := &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(sum)}
	out.Bucket = make([]*dto.Bucket, len(cum))
	slab := make([]dto.Bucket, len(cum))
	for i := range cum {
		slab[i].CumulativeCount = &cum[i]
		slab[i].UpperBound = &b.bounds[i] // shared, never written
		out.Bucket[i] = &slab[i]
	}
	return out
}
