package lifecycle

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/internal/testenv"
	"github.com/ebpfmon/ebpfmon/kube"
)

// testSelector selects the web pods, front or back, of team-a and team-b.
func testSelector() *config.PodSelector {
	return &config.PodSelector{
		Namespaces:  []string{"team-a", "team-b"},
		MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []config.LabelRequirement{
			{Key: "tier", Operator: "In", Values: []string{"front", "back"}},
		},
	}
}

// kubePod returns a pod of the API with a UID, namespace and labels.
func kubePod(uid, namespace string, labels map[string]string) *kube.Pod {
	return &kube.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "pod-" + uid[:8], Namespace: namespace, UID: types.UID(uid), Labels: labels,
	}}
}

// podUIDs are the UIDs of the test pods, by letter.
var podUIDs = map[string]string{
	"a": "0a0a0a0a-0000-4000-8000-00000000000a",
	"b": "0b0b0b0b-0000-4000-8000-00000000000b",
	"c": "0c0c0c0c-0000-4000-8000-00000000000c",
	"d": "0d0d0d0d-0000-4000-8000-00000000000d",
	"e": "0e0e0e0e-0000-4000-8000-00000000000e",
	"f": "0f0f0f0f-0000-4000-8000-00000000000f",
}

// containerID returns a 64-hex-digit container id made of c.
func containerID(c string) string { return strings.Repeat(c, 64) }

// systemdPod returns the systemd driver's path of a pod's cgroup under
// base, and of its containers'.
func systemdPod(base, uid string, containers ...string) []string {
	pod := base + "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	out := []string{pod}
	for _, c := range containers {
		out = append(out, pod+"/cri-containerd-"+containerID(c)+".scope")
	}
	return out
}

// cgroupfsPod returns the cgroupfs driver's path of a pod's cgroup under
// base, and of its containers'.
func cgroupfsPod(base, uid string, containers ...string) []string {
	pod := base + "/kubepods/burstable/pod" + uid
	out := []string{pod}
	for _, c := range containers {
		out = append(out, pod+"/"+containerID(c))
	}
	return out
}

// fakePods is a podSource whose answers a test sets.
type fakePods struct {
	online, synced bool
	changes        uint64
	pods           map[string]kube.PodMeta
	lookups        int
}

func (f *fakePods) Online() bool    { return f.online }
func (f *fakePods) Synced() bool    { return f.synced }
func (f *fakePods) Changes() uint64 { return f.changes }
func (f *fakePods) PodByUID(uid string) (kube.PodMeta, bool) {
	f.lookups++
	m, ok := f.pods[uid]
	return m, ok
}

// TestPodSelectionWant checks which cgroups a selector picks, without the
// kernel: every cgroup of a selected pod, whatever the layout, and none of
// a pod in another namespace, without the labels, unknown, or of no pod.
func TestPodSelectionWant(t *testing.T) {
	f := &fakePods{online: true, synced: true, pods: map[string]kube.PodMeta{
		podUIDs["a"]: {Namespace: "team-a", Labels: map[string]string{"app": "web", "tier": "front"}},
		podUIDs["b"]: {Namespace: "team-b", Labels: map[string]string{"app": "web", "tier": "back", "x": "y"}},
		podUIDs["c"]: {Namespace: "team-b", Labels: map[string]string{"app": "db", "tier": "back"}},
		podUIDs["d"]: {Namespace: "team-c", Labels: map[string]string{"app": "web", "tier": "front"}},
		podUIDs["f"]: {Namespace: "team-a", Labels: map[string]string{"app": "web"}},
	}}
	var logs logBuffer
	s, err := newPodSelection(testSelector(), f, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	paths := map[uint64]string{}
	wantIDs := map[uint64]string{}
	add := func(selected bool, ps ...string) {
		for _, p := range ps {
			id := uint64(len(paths) + 1)
			paths[id] = p
			if selected {
				wantIDs[id] = p
			}
		}
	}
	add(true, systemdPod("", podUIDs["a"], "1", "2")...)
	add(true, systemdPod("", podUIDs["a"], "1")[1]+"/init.scope") // a container's own sub-cgroup
	add(true, cgroupfsPod("/nested", podUIDs["b"], "3")...)
	add(false, systemdPod("", podUIDs["c"], "4")...)  // other labels
	add(false, cgroupfsPod("", podUIDs["d"], "5")...) // other namespace
	add(false, cgroupfsPod("", podUIDs["e"], "6")...) // unknown to the cache
	add(false, cgroupfsPod("", podUIDs["f"], "7")...) // no tier label
	add(false, "/", "/system.slice/cron.service", "/kubepods", "/kubepods/burstable")

	got := s.want(paths)
	if !maps.Equal(got, wantIDs) {
		t.Errorf("want() = %v\nwant %v", got, wantIDs)
	}
	if len(s.selected) != 2 || s.cgroups != len(wantIDs) {
		t.Errorf("counts: %d pods, %d cgroups; want 2, %d", len(s.selected), s.cgroups, len(wantIDs))
	}
	if f.lookups != 6 {
		t.Errorf("%d cache lookups, want 6: one per pod", f.lookups)
	}
	if s.moved() {
		t.Error("moved without a change")
	}
	f.changes++
	if !s.moved() {
		t.Error("not moved after a change")
	}

	// Relabel a out; d moves into team-a.
	f.pods[podUIDs["a"]] = kube.PodMeta{Namespace: "team-a", Labels: map[string]string{"app": "web", "tier": "middle"}}
	f.pods[podUIDs["d"]] = kube.PodMeta{Namespace: "team-a", Labels: map[string]string{"app": "web", "tier": "front"}}
	got = s.want(paths)
	for id, p := range paths {
		inA, inD := strings.Contains(p, strings.ReplaceAll(podUIDs["a"], "-", "_")), strings.Contains(p, podUIDs["d"])
		if _, ok := got[id]; ok != (inD || wantIDs[id] != "" && !inA) {
			t.Errorf("after relabelling, %s selected: %v", p, ok)
		}
	}
	if s.moved() {
		t.Error("moved after want, without a change")
	}
	if !strings.Contains(logs.String(), "pods selected changed") || !strings.Contains(logs.String(), "added=1 removed=1") {
		t.Errorf("the change was not logged:\n%s", logs.String())
	}
}

// TestPodSelectionUnsynced checks that a cache not synced yet is said
// once, and its sync logged and seen as a move.
func TestPodSelectionUnsynced(t *testing.T) {
	f := &fakePods{online: true, pods: map[string]kube.PodMeta{}}
	var logs logBuffer
	s, err := newPodSelection(testSelector(), f, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	paths := map[uint64]string{1: cgroupfsPod("", podUIDs["a"])[0]}
	for range 3 {
		if got := s.want(paths); len(got) != 0 {
			t.Fatalf("want() = %v before the pod is known", got)
		}
	}
	if n := strings.Count(logs.String(), "has not synced yet"); n != 1 {
		t.Errorf("%d warnings about the unsynced cache, want 1:\n%s", n, logs.String())
	}
	f.synced = true
	f.pods[podUIDs["a"]] = kube.PodMeta{Namespace: "team-a", Labels: map[string]string{"app": "web", "tier": "back"}}
	if !s.moved() {
		t.Fatal("a cache that synced is not a move")
	}
	if got := s.want(paths); len(got) != 1 {
		t.Errorf("want() = %v after the sync", got)
	}
	if !strings.Contains(logs.String(), "the pod cache has synced") || !strings.Contains(logs.String(), "pods_selected=1") {
		t.Errorf("the sync was not logged with its counts:\n%s", logs.String())
	}
}

// TestCgroupIDMapSelectorOffline: a selector needs API access, and says so
// naming the config file.
func TestCgroupIDMapSelectorOffline(t *testing.T) {
	cfg := &config.CgroupIDMap{Name: "ids", Type: config.CgroupIDMapHash, Selector: testSelector()}
	if _, err := newSelection(cfg, nil, nil); !errors.Is(err, errSelectorOffline) {
		t.Errorf("nil pods: err = %v", err)
	}
	if _, err := newSelection(cfg, kube.NewResolverWith(nil), nil); !errors.Is(err, errSelectorOffline) {
		t.Errorf("offline resolver: err = %v", err)
	}
	u := &Unit{cfg: &config.Config{Name: "sel", Path: "/etc/ebpfmon/sel.yaml", CgroupIDMap: cfg}}
	err := u.startCgroupIDMap(decoder.NewEnv(decoder.WithKubeResolver(kube.NewResolverWith(nil))))
	want := "/etc/ebpfmon/sel.yaml: cgroup_id_map.selector needs the Kubernetes API: run in a pod with NODE_NAME and RBAC, or use regexps"
	if err == nil || err.Error() != want {
		t.Errorf("Unit without API access: err = %v, want %q", err, want)
	}
}

// makeCgroups creates the cgroup directories paths (each after its
// parent), removed at the end of the test, children first.
func makeCgroups(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.MkdirAll(p, 0o755); err != nil {
			testenv.Unavailable(t, "create cgroup: %v", err)
		}
	}
}

// removeCgroupTree removes dir and every cgroup below it, deepest first.
func removeCgroupTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// idsOf returns the cgroup ids of dirs.
func idsOf(t *testing.T, dirs ...[]string) map[uint64]bool {
	t.Helper()
	out := map[uint64]bool{}
	for _, ds := range dirs {
		for _, d := range ds {
			out[ino(t, d)] = true
		}
	}
	return out
}

// TestCgroupIDMapSelector fills a real hash map from fake kubepods cgroups
// and a pod cache fed by hand: the map holds exactly the cgroups of the
// selected pods, follows a relabelling in and out, takes a new pod's
// cgroups, and drops a deleted pod's when they go. It runs under the real
// cgroup2 root, and under a temporary directory (inode numbers stand for
// cgroup ids) where nothing else changes, so that only the pod cache's
// change counter can carry a relabelling to the map: under the real root a
// scan caused by other cgroups' churn may carry it first.
func TestCgroupIDMapSelector(t *testing.T) {
	testenv.Privileged(t)
	t.Run("cgroup2", func(t *testing.T) {
		root := cgroup2Root(t)
		testCgroupIDMapSelector(t, root.Path, fmt.Sprintf("ebpfmon-test-selector-%d-%d", os.Getpid(), time.Now().UnixNano()))
	})
	t.Run("quiet-tree", func(t *testing.T) { testCgroupIDMapSelector(t, t.TempDir(), "test") })
}

func testCgroupIDMapSelector(t *testing.T, root, dir string) {
	const interval = 100 * time.Millisecond
	const propagation = 5 * time.Second // generous: the whole real hierarchy is scanned
	base := filepath.Join(root, dir)
	t.Cleanup(func() {
		if err := removeCgroupTree(base); err != nil {
			t.Errorf("remove test cgroups: %v", err)
		}
	})
	a := systemdPod(base, podUIDs["a"], "1", "2")
	b := cgroupfsPod(base, podUIDs["b"], "3")
	c := systemdPod(base, podUIDs["c"], "4")
	d := cgroupfsPod(base, podUIDs["d"], "5")
	makeCgroups(t, append(append(append(a, b...), c...), d...)...)

	pods := kube.NewPods(time.Minute, nil)
	front := map[string]string{"app": "web", "tier": "front"}
	pods.SetPod(kubePod(podUIDs["a"], "team-a", front))
	pods.SetPod(kubePod(podUIDs["b"], "team-b", map[string]string{"app": "web", "tier": "back"}))
	pods.SetPod(kubePod(podUIDs["c"], "team-a", map[string]string{"app": "db", "tier": "front"}))
	pods.SetPod(kubePod(podUIDs["d"], "team-c", front))
	// f is known before its cgroups exist.
	pods.SetPod(kubePod(podUIDs["f"], "team-b", front))

	m := newHashMap(t, 64)
	var logs logBuffer
	cfg := &config.CgroupIDMap{Name: "cgroup_ids", Type: config.CgroupIDMapHash, Selector: testSelector()}
	closer, err := startCgroupIDMap(cfg, m, root, interval, kube.NewResolverWith(pods), logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	expect := func(what string, want map[uint64]bool) {
		t.Helper()
		took := waitFor(t, propagation, what, func() bool { return maps.Equal(hashKeys(t, m), want) })
		t.Logf("%s: after %v, %d cgroups in the map", what, took, len(want))
	}
	if got, want := hashKeys(t, m), idsOf(t, a, b); !maps.Equal(got, want) {
		t.Fatalf("after start the map holds %v, want %v (pods a and b)", got, want)
	}
	if !strings.Contains(logs.String(), "pods_selected=2 cgroups_selected=5") {
		t.Errorf("the fill was not logged with its counts:\n%s", logs.String())
	}

	// Let the watcher's confirmation scans pass, so that what follows is
	// seen by the pod cache's counter, not by a scan of the hierarchy.
	time.Sleep(3 * interval)
	relabelled := kubePod(podUIDs["a"], "team-a", map[string]string{"app": "web", "tier": "middle"})
	pods.SetPod(relabelled)
	expect("pod a relabelled out", idsOf(t, b))

	time.Sleep(3 * interval)
	pods.SetPod(kubePod(podUIDs["c"], "team-a", front))
	expect("pod c relabelled in", idsOf(t, b, c))

	f := systemdPod(base, podUIDs["f"], "6")
	makeCgroups(t, f...)
	expect("new pod f's cgroups", idsOf(t, b, c, f))

	pods.DeletePod(kubePod(podUIDs["b"], "team-b", nil))
	time.Sleep(3 * interval)
	if got, want := hashKeys(t, m), idsOf(t, b, c, f); !maps.Equal(got, want) {
		t.Errorf("a deleted pod whose cgroups remain left the map: holds %v, want %v", got, want)
	}
	if err := removeCgroupTree(filepath.Dir(b[0])); err != nil {
		t.Fatal(err)
	}
	expect("pod b's cgroups removed", idsOf(t, c, f))

	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		quietTree := strings.Contains(line, "not a cgroup2 filesystem") && !strings.HasPrefix(root, "/sys/")
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") && !quietTree {
			t.Errorf("error or warning logged: %s", line)
		}
	}
}

var _ podSource = (*kube.Resolver)(nil)

// BenchmarkPodSelectionWant is what re-evaluating a selector costs, at a
// cgroup scan or after the pod cache changed: 10k cgroups, of which 4k
// belong to 1,000 pods (a pod cgroup and three containers each) in a real
// pod cache, half of them selected.
func BenchmarkPodSelectionWant(b *testing.B) {
	pods := kube.NewPods(time.Minute, nil)
	paths := map[uint64]string{}
	for i := range 1000 {
		uid := fmt.Sprintf("0b8c6e1a-0000-4000-8000-%012x", i)
		tier := map[bool]string{true: "front", false: "db"}[i%2 == 0]
		pods.SetPod(kubePod(uid, "team-a", map[string]string{"app": "web", "tier": tier}))
		for _, p := range systemdPod("", uid, fmt.Sprintf("%x", i%16), "a", "b") {
			paths[uint64(len(paths)+1)] = p
		}
	}
	for i := range 6000 {
		paths[uint64(len(paths)+1)] = fmt.Sprintf("/system.slice/unit-%d.service", i)
	}
	s, err := newPodSelection(testSelector(), kube.NewResolverWith(pods), nil)
	if err != nil {
		b.Fatal(err)
	}
	var want map[uint64]string
	b.ReportAllocs()
	for b.Loop() {
		want = s.want(paths)
	}
	b.ReportMetric(float64(len(want)), "cgroups_selected")
}
