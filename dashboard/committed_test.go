package dashboard

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// committedPath is the dashboard `make dashboard` writes.
const committedPath = "../deploy/grafana/ebpfmon.json"

// chartNames returns the Helm chart's default config.names: the examples
// a Kubernetes install runs, which the committed dashboard covers.
func chartNames(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "helm", "ebpfmon", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config struct {
			Names []string `yaml:"names"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	if len(values.Config.Names) == 0 {
		t.Fatal("values.yaml: no config.names")
	}
	return values.Config.Names
}

// TestCommittedDashboard: deploy/grafana/ebpfmon.json is what the
// generator writes for the chart's default examples, and well formed.
func TestCommittedDashboard(t *testing.T) {
	want := mustJSON(t, exampleConfigs(t, chartNames(t)...), Options{Namespace: "ebpfmon"})
	got, err := os.ReadFile(committedPath)
	if err != nil {
		t.Fatalf("%v: run make dashboard", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the generator writes for the chart's config.names %q: run make dashboard (and commit it)", committedPath, chartNames(t))
	}
	if p := checkStructure(got); len(p) > 0 {
		t.Fatalf("%s: %q", committedPath, p)
	}
}
