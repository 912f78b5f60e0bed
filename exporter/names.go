package exporter

import (
	"fmt"
	"maps"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/config"
)

// Map metrics skip client_golang's registry (see Gatherer), so the name
// clashes it would catch are checked here, when a config loads: a metric
// may not export a name that ebpfmon itself or another config exports,
// counting the series a histogram x adds (x_bucket, x_sum, x_count) and
// those of the runtime's summaries. Clashes within one config are
// refused by config.Validate.

// RuntimeCollectors returns the collectors of ebpfmon's own process
// metrics, served beside the configs' metrics: build info (named with
// namespace ns), the Go runtime and the process. The exporter reserves
// every name they export, so register exactly these.
func RuntimeCollectors(ns string) []prometheus.Collector {
	return []prometheus.Collector{
		versioncollector.NewCollector(ns),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
}

// reservedNames maps every name ebpfmon itself exports to its owner: the
// families RuntimeCollectors(ns) gather, with their series names, and the
// health metrics (health, full names). The collectors are gathered once,
// so the names are theirs rather than a list kept by hand.
func reservedNames(ns string, health []string) map[string]string {
	reserved := map[string]string{}
	for _, n := range prometheusSeries {
		reserved[n] = "Prometheus itself, for every target it scrapes"
	}
	for _, n := range health {
		reserved[n] = "ebpfmon's own health metrics"
	}
	reg := prometheus.NewRegistry()
	for _, c := range RuntimeCollectors(ns) {
		_ = reg.Register(c) // they cannot clash; a failure only leaves names out
	}
	fams, _ := reg.Gather() // families that failed to gather are left out
	for _, f := range fams {
		for _, n := range familySeries(f.GetName(), f.GetType()) {
			reserved[n] = "ebpfmon's own runtime metrics (Go, process, build info)"
		}
	}
	return reserved
}

// prometheusSeries are the series Prometheus adds for every target it
// scrapes; a metric of the same name (possible with an empty
// --metrics.namespace) would collide with them.
var prometheusSeries = []string{
	"up", "scrape_duration_seconds", "scrape_samples_scraped",
	"scrape_samples_post_metric_relabeling", "scrape_series_added",
	"scrape_timeout_seconds", "scrape_sample_limit", "scrape_body_size_bytes",
}

// familySeries lists the names a family of type typ puts in the text
// exposition: its own and its series'.
func familySeries(name string, typ dto.MetricType) []string {
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return config.SeriesNames(name, true)
	case dto.MetricType_SUMMARY:
		return []string{name, name + "_sum", name + "_count"}
	}
	return []string{name}
}

// checkNamesAgainst refuses cfg if it exports a name that ebpfmon or one
// of the loaded configs exports.
func (e *Exporter) checkNamesAgainst(loaded []*config.Config, cfg *config.Config) error {
	taken := maps.Clone(e.reserved)
	for _, l := range loaded {
		for _, m := range exportedMetrics(l) {
			for _, n := range config.SeriesNames(prometheus.BuildFQName(e.opts.Namespace, "", m.name), m.histogram) {
				taken[n] = "config " + l.Name
			}
		}
	}
	for _, m := range exportedMetrics(cfg) {
		full := prometheus.BuildFQName(e.opts.Namespace, "", m.name)
		for _, n := range config.SeriesNames(full, m.histogram) {
			if owner, ok := taken[n]; ok {
				return fmt.Errorf("config %s: %s %s: metric %s exports %s, which %s already exports: rename the map (or set --metrics.namespace)",
					cfg.Name, cfg.Path, m.path, full, n, owner)
			}
		}
	}
	return nil
}

// exportedMetric is one metric a config exports.
type exportedMetric struct {
	path, name string // field path, such as metrics.counters[0]; map name
	histogram  bool
}

// exportedMetrics lists the metrics cfg exports.
func exportedMetrics(cfg *config.Config) []exportedMetric {
	var out []exportedMetric
	for i, c := range cfg.Metrics.Counters {
		out = append(out, exportedMetric{fmt.Sprintf("metrics.counters[%d]", i), c.Name, false})
	}
	for i, h := range cfg.Metrics.Histograms {
		out = append(out, exportedMetric{fmt.Sprintf("metrics.histograms[%d]", i), h.Name, true})
	}
	return out
}
