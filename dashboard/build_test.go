package dashboard

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

// loadYAML writes each name: YAML text as NAME.yaml in a new directory
// and loads them with package config, in the order given.
func loadYAML(t testing.TB, configs ...[2]string) []*config.Config {
	t.Helper()
	dir := t.TempDir()
	var out []*config.Config
	for _, c := range configs {
		if err := os.WriteFile(filepath.Join(dir, c[0]+".yaml"), []byte(c[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(dir, c[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cfg)
	}
	return out
}

// exampleConfigs loads bundled examples; none named: every one.
func exampleConfigs(t testing.TB, names ...string) []*config.Config {
	t.Helper()
	dir := filepath.Join("..", "examples")
	if len(names) == 0 {
		var err error
		if names, err = config.Names(dir); err != nil {
			t.Fatal(err)
		}
	}
	var out []*config.Config
	for _, n := range names {
		cfg, err := config.Load(dir, n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cfg)
	}
	return out
}

func mustJSON(t testing.TB, cfgs []*config.Config, opts Options) []byte {
	t.Helper()
	out, err := JSON(cfgs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	counterYAML = `metrics:
  counters:
    - name: timer_starts_total
      help: Timers started
      labels:
        - {name: function, size: 8, decoders: [{name: ksym}]}
        - {name: cpu, size: 0, decoders: [{name: uint}]}
`
	globalYAML = `metrics:
  counters:
    - name: sent_bytes_total
      help: Bytes sent
`
	histogramYAML = `metrics:
  histograms:
    - name: bio_latency_seconds
      help: Block I/O latency
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 26
      bucket_multiplier: 0.000001
      labels:
        - {name: device, size: 4, decoders: [{name: majorminor}]}
        - {name: bucket, size: 4, decoders: [{name: uint}]}
`
	podYAML = `metrics:
  counters:
    - name: pod_execs_total
      help: Execs by pod
      labels:
        - {name: namespace, size: 8, decoders: [{name: uint}, {name: cgroup}, {name: pod_namespace}]}
        - {name: pod, bytes_of: namespace, decoders: [{name: uint}, {name: cgroup}, {name: pod}]}
  histograms:
    - name: pod_connect_seconds
      help: Connect latency by pod
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 20
      labels:
        - {name: pod, size: 8, decoders: [{name: uint}, {name: cgroup}, {name: pod}]}
        - {name: bucket, size: 8, decoders: [{name: uint}]}
`
	eventsYAML = `metrics:
  counters:
    - name: exec_events_total
      help: Execs
      perf_event_array: true
      labels:
        - {name: comm, size: 16, decoders: [{name: string}]}
`
)

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name    string
		configs [][2]string
		opts    Options
		exprs   []string // each must be a panel query
		legends []string // each must be a legend
		absent  []string // no query may contain these
		vars    []string // the variables, in order
		units   []string // each must be a panel's unit
	}{
		{
			name:    "counter",
			configs: [][2]string{{"timers", counterYAML}},
			opts:    Options{Namespace: "ebpfmon"},
			exprs: []string{
				`sum by (function, cpu) (rate(ebpfmon_timer_starts_total{instance=~"$instance"}[$__rate_interval]))`,
				`sum by (config) (ebpfmon_config_loaded{instance=~"$instance"})`,
				`sum by (config) (ebpfmon_ebpf_program_attached{instance=~"$instance"})`,
				`sum by (config, program) (rate(ebpfmon_ebpf_program_run_time_seconds_total{instance=~"$instance"}[$__rate_interval])) / sum by (config, program) (rate(ebpfmon_ebpf_program_run_count_total{instance=~"$instance"}[$__rate_interval]))`,
				`sum by (config, map) (rate(ebpfmon_decoder_errors_total{instance=~"$instance"}[$__rate_interval]))`,
				`max by (config) (ebpfmon_scrape_duration_seconds{instance=~"$instance"})`,
			},
			legends: []string{"function={{function}} cpu={{cpu}}", "{{config}}"},
			absent:  []string{"events_lost", "namespace", "pod"},
			vars:    []string{"datasource", "instance"},
			units:   []string{"cps", "s", "short"},
		},
		{
			name:    "counter without labels, other namespace",
			configs: [][2]string{{"net", globalYAML}},
			opts:    Options{Namespace: "ebpf_exporter"},
			exprs: []string{
				`sum (rate(ebpf_exporter_sent_bytes_total{instance=~"$instance"}[$__rate_interval]))`,
				`label_values(ebpf_exporter_build_info, instance)`,
				`max by (config) (ebpf_exporter_scrape_duration_seconds{instance=~"$instance"})`,
			},
			legends: []string{"ebpf_exporter_sent_bytes_total"},
			absent:  []string{"ebpfmon_"},
			vars:    []string{"datasource", "instance"},
			units:   []string{"Bps"},
		},
		{
			name:    "histogram",
			configs: [][2]string{{"biolatency", histogramYAML}},
			opts:    Options{Namespace: "ebpfmon"},
			exprs: []string{
				`sum by (le) (rate(ebpfmon_bio_latency_seconds_bucket{instance=~"$instance"}[$__rate_interval]))`,
				`histogram_quantile(0.5, sum by (le) (rate(ebpfmon_bio_latency_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`,
				`histogram_quantile(0.9, sum by (le) (rate(ebpfmon_bio_latency_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`,
				`histogram_quantile(0.99, sum by (le) (rate(ebpfmon_bio_latency_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`,
			},
			legends: []string{"{{le}}", "p50", "p90", "p99"},
			absent:  []string{"bucket)", "by (le, bucket"},
			vars:    []string{"datasource", "instance"},
			units:   []string{"s"},
		},
		{
			name:    "pod labels make variables",
			configs: [][2]string{{"timers", counterYAML}, {"pods", podYAML}},
			opts:    Options{Namespace: "ebpfmon"},
			exprs: []string{
				`sum by (namespace, pod) (rate(ebpfmon_pod_execs_total{instance=~"$instance", namespace=~"$namespace", pod=~"$pod"}[$__rate_interval]))`,
				`histogram_quantile(0.99, sum by (le) (rate(ebpfmon_pod_connect_seconds_bucket{instance=~"$instance", pod=~"$pod"}[$__rate_interval])))`,
				`sum by (function, cpu) (rate(ebpfmon_timer_starts_total{instance=~"$instance"}[$__rate_interval]))`,
				`label_values(ebpfmon_pod_execs_total{instance=~"$instance"}, namespace)`,
				// pod_connect_seconds has no namespace: its pods are not filtered by one
				`label_values({__name__=~"ebpfmon_pod_execs_total|ebpfmon_pod_connect_seconds_count", instance=~"$instance"}, pod)`,
			},
			legends: []string{"namespace={{namespace}} pod={{pod}}"},
			vars:    []string{"datasource", "instance", "namespace", "pod"},
		},
		{
			name:    "event counters add events lost",
			configs: [][2]string{{"procevents", eventsYAML}},
			opts:    Options{Namespace: "ebpfmon"},
			exprs: []string{
				`sum by (config, map) (rate(ebpfmon_events_lost_total{instance=~"$instance"}[$__rate_interval]))`,
				`sum by (comm) (rate(ebpfmon_exec_events_total{instance=~"$instance"}[$__rate_interval]))`,
			},
			vars: []string{"datasource", "instance"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := loadYAML(t, tc.configs...)
			d, err := Build(cfgs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var exprs, legends, units, vars []string
			for _, p := range d.Panels {
				for _, tg := range p.Targets {
					exprs, legends = append(exprs, tg.Expr), append(legends, tg.LegendFormat)
				}
				if p.FieldConfig != nil {
					if u, ok := p.FieldConfig.Defaults["unit"].(string); ok {
						units = append(units, u)
					}
				}
			}
			for _, v := range d.Templating.List {
				vars = append(vars, v.Name)
				exprs = append(exprs, v.Query)
			}
			wantAll(t, "query", exprs, tc.exprs)
			wantAll(t, "legend", legends, tc.legends)
			wantAll(t, "unit", units, tc.units)
			if !slices.Equal(vars, tc.vars) {
				t.Errorf("variables %q, want %q", vars, tc.vars)
			}
			for _, a := range tc.absent {
				for _, e := range exprs {
					if strings.Contains(e, a) {
						t.Errorf("query %q contains %q", e, a)
					}
				}
			}
			raw := mustJSON(t, cfgs, tc.opts)
			if p := checkStructure(raw); len(p) > 0 {
				t.Errorf("structure: %q", p)
			}
		})
	}
}

func wantAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no %s %q among:\n%s", what, w, strings.Join(got, "\n"))
		}
	}
}

func TestBuildLayout(t *testing.T) {
	// timers: one counter; biolatency: two histograms; pods: one counter, one histogram.
	cfgs := append(exampleConfigs(t, "timers", "biolatency"), loadYAML(t, [2]string{"pods", podYAML})...)
	d, err := Build(cfgs, Options{Namespace: "ebpfmon"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range d.Panels {
		got = append(got, p.Type)
	}
	want := []string{"row", "timeseries", "timeseries", "timeseries", "timeseries", "timeseries", // health: 5, no events lost
		"row", "timeseries", // timers
		"row", "heatmap", "timeseries", "heatmap", "timeseries", // biolatency
		"row", "timeseries", "heatmap", "timeseries"} // pods: the counter, then the histogram on a line of its own
	if !slices.Equal(got, want) {
		t.Fatalf("panels %q, want %q", got, want)
	}
	for i, p := range d.Panels {
		if p.ID != i+1 {
			t.Errorf("panel %d %q has id %d, want ids in layout order", i, p.Title, p.ID)
		}
	}
	// The last row: row at y, counter at (0, y+1), histogram pair below it.
	last := d.Panels[len(d.Panels)-4:]
	y := last[0].GridPos.Y
	wantPos := []GridPos{{1, 24, 0, y}, {8, 12, 0, y + 1}, {8, 12, 0, y + 9}, {8, 12, 12, y + 9}}
	for i, p := range last {
		if p.GridPos != wantPos[i] {
			t.Errorf("%s %q at %+v, want %+v", p.Type, p.Title, p.GridPos, wantPos[i])
		}
	}
}

func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		configs [][2]string
		want    string
	}{
		{"config twice", [][2]string{{"timers", counterYAML}, {"timers", counterYAML}}, "config timers given twice"},
		{"metric twice", [][2]string{{"a", counterYAML}, {"b", counterYAML}}, "config b: metric ebpfmon_timer_starts_total is also config a's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := loadYAML(t, tc.configs[:1]...)
			more := loadYAML(t, tc.configs[1:]...)
			_, err := Build(append(cfgs, more...), Options{Namespace: "ebpfmon"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// TestStable: the same configs give the same bytes, built again; and the
// options name the dashboard.
func TestStable(t *testing.T) {
	cfgs := exampleConfigs(t)
	a := mustJSON(t, cfgs, Options{Namespace: "ebpfmon"})
	b := mustJSON(t, exampleConfigs(t), Options{Namespace: "ebpfmon"})
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same configs differ")
	}
	if !bytes.HasSuffix(a, []byte("}\n")) || !bytes.Contains(a, []byte(`"uid": "ebpfmon"`)) {
		t.Fatal("want a final newline and the default uid")
	}
	c := mustJSON(t, cfgs, Options{Namespace: "ebpfmon", Title: "T", UID: "u1"})
	if !bytes.Contains(c, []byte(`"title": "T"`)) || !bytes.Contains(c, []byte(`"uid": "u1"`)) {
		t.Fatal("title and uid not taken from the options")
	}
}

// TestEveryExample: the dashboard of all bundled examples is well formed.
func TestEveryExample(t *testing.T) {
	raw := mustJSON(t, exampleConfigs(t), Options{Namespace: "ebpfmon"})
	if p := checkStructure(raw); len(p) > 0 {
		t.Fatalf("structure:\n%s", strings.Join(p, "\n"))
	}
}
