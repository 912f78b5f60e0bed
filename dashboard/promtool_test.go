package dashboard

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promtool returns the path of Prometheus' promtool (make setup installs
// Debian's prometheus package). Without it the test skips, unless
// EBPFMON_REQUIRE_PRIVILEGED=1 (CI), where it fails.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("EBPFMON_REQUIRE_PRIVILEGED") == "1" {
			t.Fatalf("promtool not found (make setup installs it): %v", err)
		}
		t.Skipf("promtool not found (make setup installs it): %v", err)
	}
	return path
}

// promQL turns a dashboard query into plain PromQL, as
// grafana-dashboard-check.sh does: Grafana's interval variables become
// durations, label="$var" and label=~"$var" select anything, and
// label_values(selector, label) becomes count by (label) (selector).
func promQL(q string) string {
	q = strings.ReplaceAll(q, "$__rate_interval", "1m")
	q = regexp.MustCompile(`"\$\{?[A-Za-z_]\w*\}?"`).ReplaceAllString(q, `".*"`)
	q = strings.ReplaceAll(q, `=".*"`, `=~".*"`)
	if m := regexp.MustCompile(`^label_values\((.*),\s*([A-Za-z_]\w*)\)$`).FindStringSubmatch(q); m != nil {
		q = fmt.Sprintf("count by (%s) (%s)", m[2], m[1])
	}
	return q
}

// checkQueries runs promtool check rules on every query of the dashboard
// in raw, each as a recording rule: Prometheus' own parser must accept
// them all. It returns promtool's output and whether it failed.
func checkQueries(t *testing.T, raw []byte) (string, bool) {
	t.Helper()
	queries := exprs(t, raw)
	keys := make([]string, 0, len(queries))
	for k := range queries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, k := range keys {
		rules = append(rules, rule{fmt.Sprintf("dashboard:query_%d", i), promQL(queries[k])})
	}
	file := map[string]any{"groups": []map[string]any{{"name": "dashboard", "rules": rules}}}
	out, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(promtool(t), "check", "rules", path).CombinedOutput()
	if !strings.Contains(string(res), fmt.Sprintf("SUCCESS: %d rules found", len(rules))) && err == nil {
		t.Fatalf("promtool found not %d rules: %s", len(rules), res)
	}
	return string(res), err != nil
}

// TestQueriesParse: Prometheus' parser accepts every query of the
// dashboard of every bundled example (and of the committed one), and
// refuses a broken one (so the check can fail).
func TestQueriesParse(t *testing.T) {
	every := mustJSON(t, exampleConfigs(t), Options{Namespace: "ebpfmon"})
	committed, err := os.ReadFile(committedPath)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(every), "sum by (le) (rate(", "sum by (le) (rate((", 1)
	for _, tc := range []struct {
		name string
		raw  []byte
		fail bool
	}{
		{"every example", every, false},
		{"committed", committed, false},
		{"broken", []byte(broken), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := len(exprs(t, tc.raw)); n < 10 {
				t.Fatalf("only %d queries", n)
			}
			out, failed := checkQueries(t, tc.raw)
			if failed != tc.fail {
				t.Fatalf("promtool check rules failed: %v, want %v:\n%s", failed, tc.fail, out)
			}
		})
	}
}

func TestPromQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`rate(x{instance=~"$instance"}[$__rate_interval])`, `rate(x{instance=~".*"}[1m])`},
		{`x{pod="${pod}"}`, `x{pod=~".*"}`},
		{`label_values(x{a=~"$a", b=~"$b"}, b)`, `count by (b) (x{a=~".*", b=~".*"})`},
		{`label_values(ebpfmon_build_info, instance)`, `count by (instance) (ebpfmon_build_info)`},
	} {
		if got := promQL(tc.in); got != tc.want {
			t.Errorf("promQL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
