// Package series builds the Prometheus metrics of one config: it turns what
// its maps hold into counters and histograms. It does not load, attach or
// close anything; package lifecycle builds the sources before loading,
// binds them to the loaded maps and gathers them. In data-flow order:
//
//	source.go      Source, what every exported metric is; Options
//	metric.go      a map metric (MapMetric): read raw entries (package
//	               bpfmap), decode keys (cached, decoded again once a
//	               minute so that renames show; failures retried with
//	               backoff), add up equal label sets
//	globalcount.go the key of a counter without labels (key 0)
//	slots.go       the series of a metric, resolved once per key; what keys
//	               that left had counted is carried, so series never go down
//	histogram.go   bucket layout (Buckets) and cumulative counts (pure)
//	events.go      perf_event_array counters (EventCounter): records counted
//	               by label set as they come
//	series.go      the exposition (dto) form of counters and histograms
//	debug.go       one map's raw entries and their decoding, for /maps
package series
