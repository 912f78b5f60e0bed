package e2e

import (
	"testing"
)

// TestCgroupMountPaths runs the exec example with --decoder.cgroup-paths=mount
// and checks that the cgroup label of an exec in a new cgroup is the
// cgroup's full path under the cgroup2 mount, as ebpf_exporter prints it.
func TestCgroupMountPaths(t *testing.T) {
	in := start(t, "--config.dir="+examplesDir, "--config.names=exec", "--decoder.cgroup-paths=mount")
	v2root, _ := cgroupMounts(t)
	dir := newCgroup(t, v2root, "mountpaths")
	attr := intoCgroup(t, dir)
	const fam = "ebpfmon_execs_by_cgroup_total"
	full := map[string]string{"cgroup": dir}
	after := in.eventually(t, "execs in cgroup "+dir, func() {
		run(t, attr, "true")
	}, func(ms metrics) bool { return ms.sum(fam, full) >= 1 })
	for _, v := range after.labelValues(fam, "cgroup") {
		if len(v) < len(v2root) || v[:len(v2root)] != v2root {
			t.Errorf("%s{cgroup=%q}: want every path under the cgroup2 mount %s", fam, v, v2root)
		}
	}
}
