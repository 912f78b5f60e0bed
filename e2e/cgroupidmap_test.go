package e2e

import (
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
