package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommands: serve stays the default command, so every invocation
// without a command keeps working; dashboard takes --output.
func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		command, out   string
		listen, config string
	}{
		{nil, "serve", "", ":9435", "examples"},
		{[]string{"--config.dir=/x", "--web.listen-address=127.0.0.1:1"}, "serve", "", "127.0.0.1:1", "/x"},
		{[]string{"serve", "--config.dir=/x"}, "serve", "", ":9435", "/x"},
		{[]string{"dashboard"}, "dashboard", "-", ":9435", "examples"},
		{[]string{"--config.dir=/x", "dashboard", "-o", "d.json"}, "dashboard", "d.json", ":9435", "/x"},
		{[]string{"dashboard", "--output=d.json", "--config.dir=/y"}, "dashboard", "d.json", ":9435", "/y"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f, err := parseFlags(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			listen := strings.Join(f.listen, ",")
			if f.command != tc.command || f.dashboardOutput != tc.out || listen != tc.listen || f.configDir != tc.config {
				t.Fatalf("command %q output %q listen %q dir %q, want %q %q %q %q",
					f.command, f.dashboardOutput, listen, f.configDir, tc.command, tc.out, tc.listen, tc.config)
			}
		})
	}
	if _, err := parseFlags([]string{"--output=x"}); err == nil {
		t.Fatal("--output accepted without the dashboard command")
	}
}

// dashboardRows returns the row titles and queries of a dashboard.
func dashboardRows(t *testing.T, raw []byte) (rows []string, exprs string) {
	t.Helper()
	var d struct {
		Panels []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
		}
		for _, tg := range p.Targets {
			exprs += tg.Expr + "\n"
		}
	}
	return rows, exprs
}

func TestDashboardCommand(t *testing.T) {
	examples := filepath.Join("..", "..", "examples")
	extra := t.TempDir()
	writeFile(t, filepath.Join(extra, "forks.yaml"), "metrics:\n  counters:\n    - name: forks_total\n      help: Forks\n")
	broken := t.TempDir()
	writeFile(t, filepath.Join(broken, "bad.yaml"), "metrics:\n  counters:\n    - name: x_total\n      hlep: typo\n")
	namesFile := filepath.Join(t.TempDir(), "names")
	writeFile(t, namesFile, "runqlat # a comment\nexec\n")
	for _, tc := range []struct {
		name   string
		args   []string
		rows   []string // row titles, in order
		expr   string   // in some query
		absent string   // in no query
		err    string
	}{
		{name: "names filter", args: []string{"--config.names=timers,syscalls"},
			rows: []string{"ebpfmon health", "timers", "syscalls"}, expr: "ebpfmon_timer_starts_total", absent: "runq"},
		{name: "names file", args: []string{"--config.names-file=" + namesFile},
			rows: []string{"ebpfmon health", "runqlat", "exec"}, expr: "ebpfmon_run_queue_latency_seconds_bucket"},
		{name: "extra dir", args: []string{"--config.names=timers", "--config.extra-dir=" + extra},
			rows: []string{"ebpfmon health", "timers", "forks"}, expr: "rate(ebpfmon_forks_total"},
		{name: "namespace", args: []string{"--config.names=timers", "--metrics.namespace=ebpf_exporter"},
			rows: []string{"ebpfmon health", "timers"}, expr: "ebpf_exporter_timer_starts_total", absent: "ebpfmon_"},
		{name: "every example", args: nil, expr: "ebpfmon_xdp_packets_total"},
		{name: "unknown config", args: []string{"--config.names=timers,nosuch"}, err: "nosuch.yaml"},
		{name: "bad config", args: []string{"--config.dir=" + broken}, err: `bad.yaml:4: unknown field "hlep"`},
		{name: "empty dir", args: []string{"--config.dir=" + t.TempDir()}, err: "no NAME.yaml files"},
		{name: "clash", args: []string{"--config.names=exec", "--config.extra-dir=" + examples}, err: "config exec given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"dashboard"}, tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "--config.dir=") {
				args = append(args, "--config.dir="+examples)
			}
			f, err := parseFlags(args)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = writeDashboard(f, &out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rows, exprs := dashboardRows(t, out.Bytes())
			if tc.rows != nil && strings.Join(rows, ",") != strings.Join(tc.rows, ",") {
				t.Errorf("rows %q, want %q", rows, tc.rows)
			}
			if !strings.Contains(exprs, tc.expr) || (tc.absent != "" && strings.Contains(exprs, tc.absent)) {
				t.Errorf("queries want %q, not %q:\n%s", tc.expr, tc.absent, exprs)
			}
		})
	}
}

// TestDashboardOutput: --output writes the file (what stdout gets), and
// run returns 1 when it cannot.
func TestDashboardOutput(t *testing.T) {
	examples := filepath.Join("..", "..", "examples")
	path := filepath.Join(t.TempDir(), "d.json")
	if code := run([]string{"dashboard", "--config.dir=" + examples, "--config.names=timers", "--output=" + path}); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseFlags([]string{"dashboard", "--config.dir=" + examples, "--config.names=timers"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := writeDashboard(f, &stdout); err != nil || !bytes.Equal(got, stdout.Bytes()) {
		t.Fatalf("--output and stdout differ (%v)", err)
	}
	if code := run([]string{"dashboard", "--config.dir=" + examples, "--output=" + filepath.Join(path, "x")}); code != 1 {
		t.Fatalf("exit status %d writing below a file, want 1", code)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
