package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// podsYAML reads the exec example's execs_by_cgroup_total map into four
// labels from its one cgroup id field (bytes_of): the cgroup path, and the
// pod, namespace and container the path belongs to. Cgroups of no pod are
// left out (not_pod: skip).
const podsYAML = `metrics:
  counters:
    - name: execs_by_cgroup_total
      help: Programs executed, by pod
      labels:
        - name: cgroup
          size: 8
          decoders: [{name: uint}, {name: cgroup}]
        - name: pod
          bytes_of: cgroup
          decoders: [{name: uint}, {name: cgroup}, {name: pod, not_pod: skip}]
        - name: namespace
          bytes_of: cgroup
          decoders: [{name: uint}, {name: cgroup}, {name: pod_namespace}]
        - name: container
          bytes_of: cgroup
          decoders: [{name: uint}, {name: cgroup}, {name: container}]
`

// TestPodDecodersWithoutAPI runs the pod decoders on a host without
// Kubernetes API access: an exec in a fake kubepods/pod<uid>/<id> cgroup
// is labelled with the pod UID and the container id from the path, an
// empty namespace, and ebpfmon says once that it has no API access.
func TestPodDecodersWithoutAPI(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // never in a cluster, even in a CI pod
	dir := t.TempDir()
	obj, err := os.ReadFile(filepath.Join(examplesDir, "exec.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "pods.bpf.o"), string(obj))
	writeFile(t, filepath.Join(dir, "pods.yaml"), podsYAML)

	const uid = "0b8c6e1a-5b7d-4c1e-9f3a-2d4e6f8a0b1c"
	cid := strings.Repeat("0123456789abcdef", 4)
	root, _ := cgroupMounts(t)
	kubepods := newCgroup(t, root, "kubepods")
	container := subCgroup(t, subCgroup(t, kubepods, "pod"+uid), cid)

	in := start(t, "--config.dir="+dir, "--config.strict")
	const fam = "ebpfmon_execs_by_cgroup_total"
	want := map[string]string{
		"cgroup":    strings.TrimPrefix(container, root),
		"pod":       uid,
		"namespace": "",
		"container": cid,
	}
	ms := in.eventually(t, "an exec labelled with the pod UID and container id", func() {
		run(t, intoCgroup(t, container), "true")
	}, func(ms metrics) bool { return ms.sum(fam, want) >= 1 })
	// not_pod: skip leaves out every cgroup of no pod (real pods of this
	// machine, such as a k8s lab's, may add series of their own).
	for _, v := range ms.labelValues(fam, "cgroup") {
		if !strings.Contains(v, "kubepods") {
			t.Errorf("%s{cgroup=%q}: a cgroup of no pod is exported, want it skipped (not_pod: skip)", fam, v)
		}
	}
	if got := ms.sum("ebpfmon_kube_api_available", nil); len(ms.series("ebpfmon_kube_api_available", nil)) != 1 || got != 0 {
		t.Errorf("ebpfmon_kube_api_available = %v (%d series), want one series, 0", got, len(ms.series("ebpfmon_kube_api_available", nil)))
	}
	if n := strings.Count(in.logText(), "no Kubernetes API access"); n != 1 {
		t.Errorf("the missing API access is logged %d times, want once:\n%s", n, in.logText())
	}
}
