package dashboard

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// rateWindow is the range of every rate(): Grafana's, at least four
// scrape intervals.
const rateWindow = "[$__rate_interval]"

// healthRow adds the row of ebpfmon's own metrics (README, "Metrics about
// ebpfmon"). Events lost only when some config has event counters: no
// other config exports that metric.
func healthRow(l *layout, ns string, events bool) {
	name := func(n string) string { return prometheus.BuildFQName(ns, "", n) }
	sel := `{instance=~"$instance"}`
	l.row("ebpfmon health")
	l.add(timeseries("Configs loaded",
		"Instances where each config is loaded ("+name("config_loaded")+"); a config that failed is 0 (the log says why).",
		"short", query(fmt.Sprintf("sum by (config) (%s%s)", name("config_loaded"), sel), "{{config}}")))
	l.add(timeseries("Programs attached",
		"Programs attached to their hooks, per config ("+name("ebpf_program_attached")+").",
		"short", query(fmt.Sprintf("sum by (config) (%s%s)", name("ebpf_program_attached"), sel), "{{config}}")))
	l.add(timeseries("Program run time per event",
		"Average time a program runs per event: rate of "+name("ebpf_program_run_time_seconds_total")+" over rate of "+
			name("ebpf_program_run_count_total")+". Only while sysctl kernel.bpf_stats_enabled=1 (which costs some time per event).",
		"s", query(fmt.Sprintf("sum by (config, program) (rate(%s%s%s)) / sum by (config, program) (rate(%s%s%s))",
			name("ebpf_program_run_time_seconds_total"), sel, rateWindow, name("ebpf_program_run_count_total"), sel, rateWindow),
			"{{config}} {{program}}")))
	l.add(timeseries("Decoder errors",
		"Map keys (and event records) whose labels failed to decode, per second ("+name("decoder_errors_total")+"): --log.level=debug or /maps (--debug) shows which.",
		"cps", query(fmt.Sprintf("sum by (config, map) (rate(%s%s%s))", name("decoder_errors_total"), sel, rateWindow), "{{config}} {{map}}")))
	l.add(timeseries("Scrape duration",
		"How long the last read and decode of each config's maps took, the slowest instance ("+name("scrape_duration_seconds")+").",
		"s", query(fmt.Sprintf("max by (config) (%s%s)", name("scrape_duration_seconds"), sel), "{{config}}")))
	if events {
		l.add(timeseries("Events lost",
			"Records of event counters lost per second ("+name("events_lost_total")+"): a full perf or ring buffer, or ebpfmon's decode queue full.",
			"cps", query(fmt.Sprintf("sum by (config, map) (rate(%s%s%s))", name("events_lost_total"), sel, rateWindow), "{{config}} {{map}}")))
	}
}

// configRow adds the row of one config: a rate panel per counter, then a
// heatmap and a quantiles panel per histogram, each pair on a line.
func configRow(l *layout, config string, metrics []metric, vars *variables) {
	l.row(config)
	for _, m := range metrics {
		if !m.histogram {
			l.add(counterPanel(m, vars.selector(m)))
		}
	}
	for _, m := range metrics {
		if m.histogram {
			l.newLine()
			sel := vars.selector(m)
			l.add(heatmapPanel(m, sel))
			l.add(quantilePanel(m, sel))
		}
	}
}

// counterPanel is the per-second rate of a counter, summed by its labels.
func counterPanel(m metric, sel string) Panel {
	expr := fmt.Sprintf("sum%s (rate(%s%s%s))", by(m.labels), m.name, sel, rateWindow)
	return timeseries(m.name, m.help+" (per second)", counterUnit(m.name), query(expr, legend(m.labels, m.name)))
}

// heatmapPanel draws a histogram's buckets over time.
func heatmapPanel(m metric, sel string) Panel {
	t := query(fmt.Sprintf("sum by (le) (rate(%s_bucket%s%s))", m.name, sel, rateWindow), "{{le}}")
	t.Format, t.RefID = "heatmap", "A"
	return Panel{
		Type: "heatmap", Title: m.name, Description: m.help + " (observations per second, by bucket)",
		Datasource: promDatasource(),
		FieldConfig: &FieldConfig{Defaults: map[string]any{
			"custom": map[string]any{"hideFrom": map[string]any{"legend": false, "tooltip": false, "viz": false}},
		}, Overrides: []any{}},
		Options: map[string]any{
			"calculate": false,
			"cellGap":   1,
			"color": map[string]any{
				"exponent": 0.5, "fill": "dark-orange", "mode": "scheme", "reverse": false,
				"scale": "exponential", "scheme": "Oranges", "steps": 64,
			},
			"filterValues": map[string]any{"le": 1e-9},
			"legend":       map[string]any{"show": true},
			"rowsFrame":    map[string]any{"layout": "auto"},
			"tooltip":      map[string]any{"mode": "single", "showColorScale": false, "yHistogram": false},
			"yAxis":        map[string]any{"axisPlacement": "left", "reverse": false, "unit": valueUnit(m.name)},
		},
		Targets: []Target{t},
	}
}

// quantilePanel draws a histogram's p50, p90 and p99 over every series
// the selector picks.
func quantilePanel(m metric, sel string) Panel {
	var targets []Target
	for _, q := range []struct{ q, legend string }{{"0.5", "p50"}, {"0.9", "p90"}, {"0.99", "p99"}} {
		targets = append(targets, query(fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s_bucket%s%s)))", q.q, m.name, sel, rateWindow), q.legend))
	}
	return timeseries(m.name+" p50, p90, p99", m.help+" (quantiles estimated from the buckets)", valueUnit(m.name), targets...)
}

// timeseries is a line panel with the given queries, refIds from A.
func timeseries(title, description, unit string, targets ...Target) Panel {
	for i := range targets {
		targets[i].RefID = string(rune('A' + i))
	}
	return Panel{
		Type: "timeseries", Title: title, Description: description, Datasource: promDatasource(),
		FieldConfig: &FieldConfig{Defaults: map[string]any{
			"custom": map[string]any{"drawStyle": "line", "fillOpacity": 10, "lineWidth": 1, "showPoints": "never", "spanNulls": false},
			"unit":   unit,
		}, Overrides: []any{}},
		Options: map[string]any{
			"legend":  map[string]any{"calcs": []string{}, "displayMode": "list", "placement": "bottom", "showLegend": true},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
		},
		Targets: targets,
	}
}

// query is a range query; its refId is set by the panel.
func query(expr, legendFormat string) Target {
	return Target{Datasource: *promDatasource(), Expr: expr, LegendFormat: legendFormat, Range: true}
}

// by is " by (a, b)" for labels, "" for none.
func by(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	return " by (" + strings.Join(labels, ", ") + ")"
}

// legend names a series by its labels: "{{a}}" for one label,
// "a={{a}} b={{b}}" for more, the metric's name for none.
func legend(labels []string, name string) string {
	switch len(labels) {
	case 0:
		return name
	case 1:
		return "{{" + labels[0] + "}}"
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l + "={{" + l + "}}"
	}
	return strings.Join(parts, " ")
}

// valueUnit is the Grafana unit of an observed value, from the metric
// name's unit suffix (Prometheus naming: _seconds, _bytes).
func valueUnit(name string) string {
	switch {
	case strings.HasSuffix(name, "_seconds"):
		return "s"
	case strings.HasSuffix(name, "_bytes"):
		return "bytes"
	}
	return "short"
}

// counterUnit is the Grafana unit of a counter's rate.
func counterUnit(name string) string {
	if strings.HasSuffix(name, "_bytes_total") {
		return "Bps"
	}
	return "cps"
}
