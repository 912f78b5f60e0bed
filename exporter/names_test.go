package exporter

import (
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// TestReservedNames checks that the names ebpfmon itself exports come from
// the real collectors, series names included.
func TestReservedNames(t *testing.T) {
	e := New(lifecycle.Options{Namespace: "ebpfmon"})
	for _, n := range []string{
		"go_goroutines", "go_gc_duration_seconds", "go_gc_duration_seconds_sum", "go_gc_duration_seconds_count",
		"go_memstats_alloc_bytes", "process_open_fds", "process_cpu_seconds_total", "ebpfmon_build_info",
		"ebpfmon_scrape_success", "ebpfmon_config_loaded",
	} {
		if _, ok := e.reserved[n]; !ok {
			t.Errorf("%s is not reserved", n)
		}
	}
}

// TestCheckNames checks name clashes with ebpfmon's own metrics and
// across configs, histogram suffixes both ways.
func TestCheckNames(t *testing.T) {
	label := []config.Label{{Name: "x", Size: 4, Decoders: []config.Decoder{{Name: "uint"}}}}
	counter := func(name string) *config.Config {
		return &config.Config{Name: "new", Path: "new.yaml", Metrics: config.Metrics{Counters: []config.Counter{{Name: name, Help: "h", Labels: label}}}}
	}
	histogram := func(cfgName, name string) *config.Config {
		return &config.Config{Name: cfgName, Path: cfgName + ".yaml", Metrics: config.Metrics{Histograms: []config.Histogram{{Name: name, Help: "h", Labels: label}}}}
	}
	for _, tc := range []struct {
		name   string
		ns     string
		loaded *config.Config // another config, already loaded; nil for none
		cfg    *config.Config
		want   string // "" for no clash
	}{
		{"prometheus's own series, no namespace", "", nil, counter("up"), "config new: new.yaml metrics.counters[0]: metric up exports up, which Prometheus itself"},
		{"go runtime, no namespace", "", nil, counter("go_goroutines"), "config new: new.yaml metrics.counters[0]: metric go_goroutines exports go_goroutines, which ebpfmon's own runtime metrics"},
		{"process, no namespace", "", nil, counter("process_open_fds"), "metric process_open_fds exports process_open_fds"},
		{"go runtime, namespaced", "ebpfmon", nil, counter("go_goroutines"), ""},
		{"go namespace", "go", nil, counter("goroutines"), "metric go_goroutines exports go_goroutines"},
		{"histogram over a runtime summary", "", nil, histogram("new", "go_gc_duration_seconds"), "exports go_gc_duration_seconds"},
		{"counter over a runtime summary's sum", "", nil, counter("go_gc_duration_seconds_sum"), "exports go_gc_duration_seconds_sum"},
		{"health metric", "ebpfmon", nil, counter("scrape_success"), "metric ebpfmon_scrape_success exports ebpfmon_scrape_success, which ebpfmon's own health metrics already exports"},
		{"build info", "ebpfmon", nil, counter("build_info"), "exports ebpfmon_build_info"},
		{"counter beside another config's histogram", "ebpfmon", histogram("old", "io"), counter("io_bucket"), "metric ebpfmon_io_bucket exports ebpfmon_io_bucket, which config old already exports"},
		{"histogram beside another config's counter", "ebpfmon", counter("io_count"), histogram("new", "io"), "metric ebpfmon_io exports ebpfmon_io_count, which config new already exports"},
		{"same name in two configs", "ebpfmon", counter("io"), counter("io"), "which config new already exports"},
		{"distinct names", "ebpfmon", histogram("old", "io"), counter("io_total"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(lifecycle.Options{Namespace: tc.ns})
			var loaded []*config.Config
			if tc.loaded != nil {
				loaded = append(loaded, tc.loaded)
			}
			err := e.checkNamesAgainst(loaded, tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no clash, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
