package exporter

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// series is one exported sample: a counter or a histogram with label pairs
// built once per label set and shared between scrapes (never mutated).
type series struct {
	desc  *prometheus.Desc
	pairs []*dto.LabelPair
	value float64
	hist  *dto.Histogram
}

func (s *series) Desc() *prometheus.Desc { return s.desc }

func (s *series) Write(out *dto.Metric) error {
	out.Label = s.pairs
	if s.hist != nil {
		out.Histogram = s.hist
	} else {
		out.Counter = &dto.Counter{Value: proto.Float64(s.value)}
	}
	return nil
}

// labelPairs pairs names with values, sorted by name as Prometheus wants.
func labelPairs(names, values []string) []*dto.LabelPair {
	pairs := make([]*dto.LabelPair, len(names))
	for i := range names {
		pairs[i] = &dto.LabelPair{Name: proto.String(names[i]), Value: proto.String(values[i])}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return pairs
}

// histogramProto builds the exposition form of one histogram series.
func histogramProto(b *buckets, h *histogram) *dto.Histogram {
	cum, count, sum := h.cumulative(b)
	out := &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(sum)}
	out.Bucket = make([]*dto.Bucket, len(cum))
	for i := range cum {
		out.Bucket[i] = &dto.Bucket{CumulativeCount: proto.Uint64(cum[i]), UpperBound: proto.Float64(b.bounds[i])}
	}
	return out
}
