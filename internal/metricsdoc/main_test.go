package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/exporter"
)

// docPath is the committed reference, seen from this package's directory.
const docPath = "../../docs/metrics.md"

// TestDocIsCurrent fails when docs/metrics.md is not what the exporter's
// descriptors give: a metric added, renamed or re-described without
// `make metrics-doc`.
func TestDocIsCurrent(t *testing.T) {
	got, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("%v: run make metrics-doc", err)
	}
	if want := render(exporter.Reference("ebpfmon")); !bytes.Equal(got, want) {
		t.Errorf("docs/metrics.md is stale: run make metrics-doc\n%s", firstDiff(string(got), string(want)))
	}
}

// firstDiff shows the first line where have and want differ.
func firstDiff(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := range max(len(h), len(w)) {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl {
			return fmt.Sprintf("line %d:\n have: %s\n want: %s", i+1, hl, wl)
		}
	}
	return ""
}

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  exporter.MetricDoc
		row  string
	}{
		{"no labels", exporter.MetricDoc{Name: "x_up", Type: "gauge", Help: "Up."}, "| `x_up` | gauge |  | Up. |"},
		{"labels", exporter.MetricDoc{Name: "x_total", Type: "counter", Help: "N.", Labels: []string{"config", "map"}},
			"| `x_total` | counter | `config`, `map` | N. |"},
		{"const labels", exporter.MetricDoc{Name: "x_info", Type: "gauge", Help: "I.", Labels: []string{"version"}, ConstLabels: true},
			"| `x_info` | gauge | `version` (one value each per process) | I. |"},
		{"pipe and newline in help", exporter.MetricDoc{Name: "x", Type: "gauge", Help: "a|b\n  c"}, "| `x` | gauge |  | a\\|b c |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := string(render([]exporter.MetricDoc{tc.doc}))
			row := strings.TrimPrefix(out, header)
			if row != tc.row+"\n" {
				t.Errorf("row = %q, want %q", row, tc.row)
			}
		})
	}
}

// TestReferenceCoversHealthMetrics checks the reference has the metrics
// other parts of the project name (rules, dashboard, README), each once,
// typed as served.
func TestReferenceCoversHealthMetrics(t *testing.T) {
	docs := exporter.Reference("ebpfmon")
	byName := map[string]exporter.MetricDoc{}
	for _, d := range docs {
		if _, dup := byName[d.Name]; dup {
			t.Errorf("%s listed twice", d.Name)
		}
		byName[d.Name] = d
	}
	for _, tc := range []struct{ name, typ string }{
		{"ebpfmon_build_info", "gauge"},
		{"ebpfmon_config_loaded", "gauge"},
		{"ebpfmon_ebpf_program_attached", "gauge"},
		{"ebpfmon_ebpf_program_run_time_seconds_total", "counter"},
		{"ebpfmon_decoder_errors_total", "counter"},
		{"ebpfmon_events_lost_total", "counter"},
		{"ebpfmon_series_overflow_total", "counter"},
		{"ebpfmon_series_overflow_label_sets", "gauge"},
		{"ebpfmon_scrape_duration_seconds", "gauge"},
		{"ebpfmon_config_last_reload_successful", "gauge"},
	} {
		d, ok := byName[tc.name]
		switch {
		case !ok:
			t.Errorf("%s missing", tc.name)
		case d.Type != tc.typ:
			t.Errorf("%s: type %s, want %s", tc.name, d.Type, tc.typ)
		case d.Help == "":
			t.Errorf("%s: no help", tc.name)
		}
	}
}

func TestRunWritesFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "metrics.md")
	if code := run([]string{"-o", out}); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, render(exporter.Reference("ebpfmon"))) {
		t.Error("-o wrote something else than render")
	}
	if code := run([]string{"-o", filepath.Join(out, "no", "such")}); code != 1 {
		t.Errorf("run into a missing directory: exit %d, want 1", code)
	}
}
