package exporter

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
)

// MetricDoc describes one metric ebpfmon exports about itself.
type MetricDoc struct {
	Name, Type, Help string
	// Labels are the label names, in order; ConstLabels says they have
	// one value per process (build_info's).
	Labels      []string
	ConstLabels bool
}

// Reference returns the metrics ebpfmon exports about itself with
// namespace ns, by name: the health metrics, as declared in newDescs, and
// build_info, as its collector gathers it. The Go and process metrics
// (go_*, process_*) are client_golang's and are left out.
func Reference(ns string) []MetricDoc {
	docs := slices.Clone(newDescs(ns).docs)
	reg := prometheus.NewRegistry()
	if err := reg.Register(versioncollector.NewCollector(ns)); err == nil {
		fams, _ := reg.Gather() // a family that fails to gather is left out
		for _, f := range fams {
			doc := MetricDoc{Name: f.GetName(), Type: strings.ToLower(f.GetType().String()), Help: f.GetHelp(), ConstLabels: true}
			if ms := f.GetMetric(); len(ms) > 0 {
				for _, l := range ms[0].GetLabel() {
					doc.Labels = append(doc.Labels, l.GetName())
				}
			}
			docs = append(docs, doc)
		}
	}
	slices.SortFunc(docs, func(a, b MetricDoc) int { return strings.Compare(a.Name, b.Name) })
	return docs
}

// typeName is t as the exposition format's # TYPE line writes it.
func typeName(t prometheus.ValueType) string {
	switch t {
	case prometheus.CounterValue:
		return "counter"
	case prometheus.GaugeValue:
		return "gauge"
	}
	return "untyped"
}
