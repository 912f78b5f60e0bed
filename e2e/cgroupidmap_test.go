package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCgroupIDMap runs a program that counts execs only in the cgroups of
// its cgroup_id_map: ebpfmon fills the map from the regexps, before and
// after it started, and leaves out cgroups that do not match.
func TestCgroupIDMap(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cg.yaml"), readFile(t, "testdata/cgfilter.yaml"))
	compileBPF(t, "cgfilter", dir, "cg")
	root, _ := cgroupMounts(t)
	before := newCgroup(t, root, "idmap-before")
	other := newCgroup(t, root, "other")
	in := start(t, "--config.dir="+dir, "--config.strict")
	after := newCgroup(t, root, "idmap-after") // must be picked up while running

	label := func(cg string) map[string]string { return map[string]string{"cgroup": "/" + filepath.Base(cg)} }
	ms := in.eventually(t, "execs counted in the matching cgroups", func() {
		for _, cg := range []string{before, other, after} {
			run(t, intoCgroup(t, cg), "true")
		}
	}, func(ms metrics) bool {
		return ms.sum("ebpfmon_filtered_execs_total", label(before)) > 0 && ms.sum("ebpfmon_filtered_execs_total", label(after)) > 0
	})
	if n := len(ms.series("ebpfmon_filtered_execs_total", label(other))); n != 0 {
		t.Errorf("a cgroup no regexp matches was counted: %v", ms.series("ebpfmon_filtered_execs_total", label(other)))
	}
	if !strings.Contains(in.logText(), "^/ebpfmon-never-there$") || !strings.Contains(in.logText(), "matches no cgroup") {
		t.Errorf("no warning for the regexp that matches nothing:\n%s", in.logText())
	}
}

// TestCgroupIDMapFullMetric makes three cgroups match a cgroup_id_map with
// room for two, a hash and an LRU hash (ebpf_exporter's example uses one):
// both load, ebpfmon_cgroup_id_map_full must say the map is full, a
// warning must name the fix, and full must clear once a cgroup is removed.
func TestCgroupIDMapFullMetric(t *testing.T) {
	for _, tc := range []struct {
		src, fix, atLoad string // the program; what the warning recommends; an info line at load
	}{
		{"cgfilter_small", "raise max_entries", ""},
		{"cgfilter_lru", "declare the map BPF_MAP_TYPE_HASH with max_entries above the number of matching cgroups", "the map is an LRU hash"},
	} {
		t.Run(tc.src, func(t *testing.T) { testCgroupIDMapFull(t, tc.src, tc.fix, tc.atLoad) })
	}
}

// testCgroupIDMapFull is TestCgroupIDMapFullMetric for one program.
func testCgroupIDMapFull(t *testing.T, src, fix, atLoad string) {
	dir := t.TempDir()
	// Only this test's cgroups match, whatever else runs at the same time.
	what := "idmapfull-" + strings.ReplaceAll(src, "_", "")
	only := fmt.Sprintf("^/ebpfmon-e2e-%s-[abc]-%d-", what, os.Getpid())
	writeFile(t, filepath.Join(dir, "cg.yaml"), strings.Replace(readFile(t, "testdata/cgfilter.yaml"), "^/ebpfmon-e2e-idmap-", only, 1))
	compileBPF(t, src, dir, "cg")
	if out, ok := check(t, "--config.dir="+dir, "--config.strict"); !ok {
		t.Fatalf("--config.check refused %s:\n%s", src, out)
	}
	root, _ := cgroupMounts(t)
	cgs := []string{newCgroup(t, root, what+"-a"), newCgroup(t, root, what+"-b"), newCgroup(t, root, what+"-c")}
	in := start(t, "--config.dir="+dir, "--config.strict")
	health := map[string]string{"config": "cg", "map": "cgroup_filter"}
	ms := in.scrape(t)
	if v := ms.sum("ebpfmon_cgroup_id_map_full", health); v != 1 {
		t.Errorf("ebpfmon_cgroup_id_map_full = %v with 3 matching cgroups and room for 2, want 1", v)
	}
	if v := ms.sum("ebpfmon_cgroup_id_map_update_errors_total", health); v < 1 {
		t.Errorf("ebpfmon_cgroup_id_map_update_errors_total = %v, want >= 1", v)
	}
	logs := in.logText()
	for _, want := range []string{"the map is full", "left_out=1", fix, atLoad} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if err := os.Remove(cgs[0]); err != nil {
		t.Fatal(err)
	}
	in.eventually(t, "full cleared once a cgroup is gone", nil, func(ms metrics) bool {
		return ms.sum("ebpfmon_cgroup_id_map_full", health) == 0
	})
}
