// Package dashboard owns the Grafana dashboard ebpfmon generates from its
// configs (the `ebpfmon dashboard` command, and deploy/grafana/ebpfmon.json
// for the bundled examples).
//
// Build takes parsed configs (package config; no BPF object and no kernel
// needed) and returns a dashboard: a row of ebpfmon's own health metrics
// (configs loaded, programs attached, program run time per event, decoder
// errors, scrape duration and, when a config has event counters, events
// lost), then a row per config with a rate panel per counter, summed by the
// counter's labels, and per histogram a heatmap of its buckets and a panel
// of its p50, p90 and p99. Metric names are those the exporter serves: the
// namespace (--metrics.namespace), "_", the map name; a histogram's series
// are NAME_bucket, NAME_sum and NAME_count.
//
// Every query names its data source through the ${datasource} variable and
// selects instance=~"$instance". Metrics with a namespace or pod label also
// select namespace=~"$namespace" and pod=~"$pod"; those variables exist only
// when some metric has the label, and list the label's values of exactly
// those metrics. Multi-value variables with "All" as ".*" keep series whose
// label is empty (a pod decoder without API access).
//
// The output depends on nothing but the configs and Options: panel ids
// count up in layout order, and encoding is deterministic, so the same
// configs give the same bytes (the committed dashboard is checked against a
// fresh one).
package dashboard
