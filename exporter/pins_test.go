package exporter

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebpfmon/ebpfmon/lifecycle"
)

// TestPinnedMapsMetric checks ebpfmon_pinned_maps: a series per outcome,
// zeros included, for a config loaded with --bpf.pin-path, and none for a
// config loaded without it. The unit's side is lifecycle's TestPins.
func TestPinnedMapsMetric(t *testing.T) {
	e := New(lifecycle.Options{Namespace: "ebpfmon"})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(healthCollector{e, []lifecycle.Health{
		{Config: "pinned", Pins: &lifecycle.PinHealth{Reused: 2, Replaced: 1}},
		{Config: "unpinned"},
	}})
	const want = `# HELP ebpfmon_pinned_maps ` + "With --bpf.pin-path, the config's exported maps by what its running version's load did with their pins: reused (the counts continued), created (there was none) or replaced (the map's definition had changed, so its counts restarted from zero; the log names the map, the old and the new definition)." + `
# TYPE ebpfmon_pinned_maps gauge
ebpfmon_pinned_maps{config="pinned",outcome="created"} 0
ebpfmon_pinned_maps{config="pinned",outcome="replaced"} 1
ebpfmon_pinned_maps{config="pinned",outcome="reused"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ebpfmon_pinned_maps"); err != nil {
		t.Error(err)
	}
}
