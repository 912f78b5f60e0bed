package kube

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testPod returns a running pod on node-a with one container "app" whose
// runtime id is cid, at the given IP ("" for none).
func testPod(name, podUID, ip string) *Pod {
	k := &Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID(podUID),
			Labels: map[string]string{"app": name},
		},
		Spec: PodSpec{NodeName: "node-a"},
		Status: PodStatus{
			Phase: "Running",
			ContainerStatuses: []ContainerStatus{
				{Name: "app", ContainerID: "containerd://" + cid},
			},
		},
	}
	if ip != "" {
		k.Status.PodIP = ip
		k.Status.PodIPs = []PodIP{{IP: ip}}
	}
	return k
}

func TestPodsLookup(t *testing.T) {
	const prevID = "aaaa0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376"
	const initID = "bbbb0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376"
	k := testPod("web", uid, "10.88.0.7")
	k.Status.ContainerStatuses[0].LastState.Terminated = &ContainerStateTerminated{ContainerID: "cri-o://" + prevID}
	k.Status.InitContainerStatuses = []ContainerStatus{{Name: "setup", ContainerID: "docker://" + initID}}
	c := NewPods(time.Minute, nil)
	c.SetPod(k)

	tests := []struct {
		name, uid, cid string
		wantOK         bool
		wantContainer  string
	}{
		{"container", uid, cid, true, "app"},
		{"previous-instance", uid, prevID, true, "app"},
		{"init-container", uid, initID, true, "setup"},
		{"pod-level", uid, "", true, ""},
		{"sandbox", uid, nodeID, true, ""},
		{"unknown-pod", staticUID, cid, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta, container, ok := c.Lookup(tt.uid, tt.cid)
			if ok != tt.wantOK || container != tt.wantContainer {
				t.Fatalf("Lookup = %+v, %q, %v; want %q, %v", meta, container, ok, tt.wantContainer, tt.wantOK)
			}
			if ok && (meta.Namespace != "shop" || meta.Name != "web" || meta.Node != "node-a" || meta.Labels["app"] != "web") {
				t.Fatalf("meta = %+v", meta)
			}
		})
	}
}

func TestPodsPeer(t *testing.T) {
	const uid2 = "0b8c6e1a-0000-4000-8000-000000000002"
	dual := testPod("dual", uid, "10.88.0.7")
	dual.Status.PodIPs = append(dual.Status.PodIPs, PodIP{IP: "fd00::7"})
	host := testPod("host", uid2, "10.250.0.2")
	host.Spec.HostNetwork = true
	svc := &Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec:       ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00:96::10"}},
	}
	headless := &Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec:       ServiceSpec{ClusterIP: "None"},
	}
	c := NewPods(time.Minute, nil)
	c.SetPod(dual)
	c.SetPod(host)
	c.SetService(svc)
	c.SetService(headless)

	tests := []struct {
		ip     string
		want   string
		wantOK bool
	}{
		{"10.88.0.7", "shop/dual", true},
		{"fd00::7", "shop/dual", true},
		{"::ffff:10.88.0.7", "shop/dual", true},
		{"10.250.0.2", "", false}, // hostNetwork: the node's address, not the pod's
		{"10.96.0.10", "shop/api", true},
		{"fd00:96::10", "shop/api", true},
		{"1.1.1.1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got, ok := c.Peer(netip.MustParseAddr(tt.ip))
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("Peer(%s) = %q, %v; want %q, %v", tt.ip, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestPodsIPReuse(t *testing.T) {
	const uid2 = "0b8c6e1a-0000-4000-8000-000000000002"
	ip := netip.MustParseAddr("10.88.0.7")
	clock := newFakeClock()
	c := NewPods(time.Minute, clock.Now)

	done := testPod("job", uid, "10.88.0.7")
	c.SetPod(done)
	done = done.DeepCopy()
	done.Status.Phase = "Succeeded"
	c.SetPod(done)
	if got, _ := c.Peer(ip); got != "shop/job" {
		t.Fatalf("ended pod before reuse: Peer = %q, want shop/job", got)
	}
	c.SetPod(testPod("web", uid2, "10.88.0.7"))
	c.SetPod(done) // a later update of the ended pod must not take the IP back
	if got, _ := c.Peer(ip); got != "shop/web" {
		t.Fatalf("after reuse: Peer = %q, want shop/web", got)
	}
	c.DeletePod(done)
	clock.Add(2 * time.Minute)
	c.Sweep() // expiring the old pod must not drop the new one's IP
	if got, _ := c.Peer(ip); got != "shop/web" {
		t.Fatalf("after sweep: Peer = %q, want shop/web", got)
	}
}

func TestPodsMirror(t *testing.T) {
	k := testPod("etcd-node-a", uid, "")
	k.Annotations = map[string]string{mirrorAnnotation: staticUID}
	c := NewPods(time.Minute, nil)
	c.SetPod(k)
	for _, key := range []string{uid, staticUID} {
		if meta, _, ok := c.Lookup(key, ""); !ok || meta.Name != "etcd-node-a" || meta.UID != uid {
			t.Errorf("Lookup(%s) = %+v, %v", key, meta, ok)
		}
	}
	if n := c.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

func TestPodsServiceGrace(t *testing.T) {
	clock := newFakeClock()
	c := NewPods(time.Minute, clock.Now)
	svc := &Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec:       ServiceSpec{ClusterIP: "10.96.0.10"},
	}
	ip := netip.MustParseAddr("10.96.0.10")
	c.SetService(svc)
	c.DeleteService(svc)
	clock.Add(59 * time.Second)
	if _, ok := c.Peer(ip); !ok {
		t.Fatal("deleted service stopped resolving inside the grace period")
	}
	clock.Add(time.Second)
	if _, ok := c.Peer(ip); ok {
		t.Fatal("deleted service still resolves after the grace period")
	}
}

// TestWatchPods runs the informer against a fake API server: a pod is
// added, gets its container, is deleted, resolves through the grace period,
// then not; a bookmark passes; and the informer made one list and one watch,
// both node-scoped.
func TestWatchPods(t *testing.T) {
	api := newFakeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client, err := newRESTClient(api.config())
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	c := NewPods(5*time.Minute, clock.Now)
	synced, stats, err := watchPods(ctx, client, "node-a", false, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sync", synced)

	k := testPod("web", uid, "10.88.0.7")
	k.Status.ContainerStatuses = nil // not started yet
	api.put(k)
	waitFor(t, "add", func() bool { _, _, ok := c.Lookup(uid, ""); return ok })

	api.bookmark("pods", "Pod")
	k.Status.ContainerStatuses = []ContainerStatus{{Name: "app", ContainerID: "containerd://" + cid}}
	api.put(k)
	waitFor(t, "update", func() bool { _, name, _ := c.Lookup(uid, cid); return name == "app" })

	api.remove("pods", "shop", "web")
	waitFor(t, "delete", func() bool { return deletedAt(c, uid) })
	clock.Add(5*time.Minute - time.Second)
	if _, name, ok := c.Lookup(uid, cid); !ok || name != "app" {
		t.Fatalf("deleted pod inside the grace period: %q, %v", name, ok)
	}
	if _, ok := c.Peer(netip.MustParseAddr("10.88.0.7")); !ok {
		t.Fatal("deleted pod's IP stopped resolving inside the grace period")
	}
	clock.Add(time.Second)
	if _, _, ok := c.Lookup(uid, cid); ok {
		t.Fatal("deleted pod still resolves after the grace period")
	}
	c.Sweep()
	if n := c.Len(); n != 0 {
		t.Fatalf("after Sweep: Len = %d, want 0", n)
	}
	checkListAndWatch(t, api.requestsOf("pods"), "spec.nodeName=node-a")
	if r := api.requestsOf("services"); len(r) != 0 {
		t.Errorf("services requested without Services: %+v", r)
	}
	want := APIStats{Resource: "pods", Lists: 1, Watches: 1, Added: 1, Updated: 1, Deleted: 1}
	if len(stats) != 1 || stats[0].snapshot() != want {
		t.Errorf("stats %+v, want one informer with %+v", stats, want)
	}
}

// TestWatchServices runs the service informer against a fake API server: a
// service's ClusterIPs resolve, a deleted one's through the grace period,
// from one list and one watch of every namespace.
func TestWatchServices(t *testing.T) {
	api := newFakeAPI(t)
	api.put(&Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec:       ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00:96::10"}},
	})
	client, err := newRESTClient(api.config())
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	c := NewPods(time.Minute, clock.Now)
	synced, stats, err := watchPods(t.Context(), client, "node-a", true, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sync", synced)
	if got, ok := c.Peer(netip.MustParseAddr("fd00:96::10")); got != "shop/api" || !ok {
		t.Fatalf("listed service: Peer = %q, %v", got, ok)
	}
	api.put(&Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"}, Spec: ServiceSpec{ClusterIP: "10.96.0.11"}})
	waitFor(t, "add", func() bool { _, ok := c.Peer(netip.MustParseAddr("10.96.0.11")); return ok })
	api.remove("services", "shop", "api")
	waitFor(t, "delete", func() bool {
		clock.Add(time.Minute)
		_, ok := c.Peer(netip.MustParseAddr("10.96.0.10"))
		return !ok
	})
	checkListAndWatch(t, api.requestsOf("services"), "")
	checkListAndWatch(t, api.requestsOf("pods"), "spec.nodeName=node-a")
	if len(stats) != 2 {
		t.Fatalf("%d informers counted, want pods and services", len(stats))
	}
	if got, want := stats[1].snapshot(), (APIStats{Resource: "services", Lists: 1, Watches: 1, Added: 2, Deleted: 1}); got != want {
		t.Errorf("services stats %+v, want %+v", got, want)
	}
}

// checkListAndWatch checks that requests are one list then one watch, with
// the field selector.
func checkListAndWatch(t *testing.T, requests []apiRequest, selector string) {
	t.Helper()
	want := []apiRequest{{requests[0].resource, false, selector}, {requests[0].resource, true, selector}}
	if !reflect.DeepEqual(requests, want) {
		t.Errorf("requests %+v, want one list and one watch: %+v", requests, want)
	}
}

// deletedAt reports whether the cache holds uid as deleted.
func deletedAt(c *Pods, uid string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.byUID[uid]
	return p != nil && !p.deleted.IsZero()
}

// waitFor polls cond until it holds; the informer delivers events on its own
// goroutine. It fails after 30 s rather than hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSlimKeepsWhatTheCacheReads: the informer's transform drops metadata,
// never what newPod reads.
func TestSlimKeepsWhatTheCacheReads(t *testing.T) {
	k := testPod("etcd", uid, "10.88.0.7")
	k.Annotations = map[string]string{mirrorAnnotation: staticUID, "other": "x"}
	k.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
	k.Finalizers = []string{"x"}
	k.Status.PodIPs = append(k.Status.PodIPs, PodIP{IP: "fd00::7"})
	k.Status.ContainerStatuses[0].LastState.Terminated = &ContainerStateTerminated{ContainerID: "containerd://" + nodeID}
	k.Status.InitContainerStatuses = []ContainerStatus{{Name: "init", ContainerID: "containerd://" + nodeID[:60] + "0000"}}
	k.Status.EphemeralContainerStatuses = []ContainerStatus{{Name: "debug", ContainerID: "containerd://" + cid[:60] + "ffff"}}
	want := newPod(k)
	slimmed, err := slim(k.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	s := slimmed.(*Pod)
	if got := newPod(s); !reflect.DeepEqual(want, got) {
		t.Fatalf("slimmed pod gives %+v, want %+v", got, want)
	}
	if s.ManagedFields != nil || len(s.Annotations) != 1 || s.Finalizers != nil {
		t.Fatalf("slim kept unread fields: %+v", s.ObjectMeta)
	}
	if other, err := slim("not a pod"); err != nil || other != "not a pod" {
		t.Fatalf("slim(non-pod) = %v, %v", other, err)
	}
}

// TestPodsServiceIndex: services are indexed by name so that an event
// touches only that service's addresses; the index follows ClusterIP
// changes, deletion, reuse of a deleted service's address and the sweep,
// and leaves nothing behind.
func TestPodsServiceIndex(t *testing.T) {
	clock := newFakeClock()
	c := NewPods(time.Minute, clock.Now)
	svc := func(name string, ips ...string) *Service {
		return &Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: ServiceSpec{ClusterIPs: ips}}
	}
	peer := func(ip string) string {
		name, _ := c.Peer(netip.MustParseAddr(ip))
		return name
	}
	const n = 10_000
	for i := range n {
		c.SetService(svc(fmt.Sprint("svc-", i), fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)))
	}
	if got := peer("10.96.39.250"); got != "shop/svc-9999" {
		t.Fatalf("Peer(10.96.39.250) = %q, want shop/svc-9999", got)
	}
	c.SetService(svc("svc-0", "10.97.0.1", "fd00::1")) // ClusterIPs changed
	if got := peer("10.96.0.1"); got != "" {
		t.Errorf("the old ClusterIP of svc-0 resolves to %q", got)
	}
	if got := peer("fd00::1"); got != "shop/svc-0" {
		t.Errorf("Peer(fd00::1) = %q, want shop/svc-0", got)
	}
	c.DeleteService(svc("svc-1"))
	c.SetService(svc("reuser", "10.96.0.2")) // takes the deleted svc-1's address
	c.DeleteService(svc("svc-2"))
	if got, other := peer("10.96.0.2"), peer("10.96.0.3"); got != "shop/reuser" || other != "shop/svc-2" {
		t.Errorf("Peer = %q, %q; want shop/reuser, and shop/svc-2 within its grace", got, other)
	}
	clock.Add(time.Minute)
	c.Sweep()
	if got := peer("10.96.0.3"); got != "" {
		t.Errorf("svc-2 resolves to %q after the grace period", got)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if _, ok := c.byService["shop/svc-1"]; ok {
		t.Error("svc-1, its address reused, is still indexed")
	}
	if _, ok := c.byService["shop/svc-2"]; ok {
		t.Error("svc-2, swept, is still indexed")
	}
	indexed := 0
	for name, ips := range c.byService {
		for _, ip := range ips {
			if s := c.services[ip]; s == nil || s.name != name {
				t.Errorf("byService[%s] lists %s, which services gives to %v", name, ip, s)
			}
			indexed++
		}
	}
	if indexed != len(c.services) {
		t.Errorf("byService lists %d addresses, services has %d", indexed, len(c.services))
	}
}

// TestPodsChanges checks that the change counter moves with every pod
// change a selector may see (added, relabelled, deleted, swept) and not
// with services or lookups.
func TestPodsChanges(t *testing.T) {
	clock := newFakeClock()
	c := NewPods(time.Minute, clock.Now)
	r := NewResolverWith(c)
	last := r.Changes()
	step := func(what string, moves bool, f func()) {
		t.Helper()
		f()
		now := r.Changes()
		if moved := now != last; moved != moves {
			t.Errorf("%s: counter %d -> %d, want moved %v", what, last, now, moves)
		}
		last = now
	}
	k := testPod("web", uid, "10.88.0.7")
	step("add", true, func() { c.SetPod(k) })
	step("lookup", false, func() { r.PodByUID(uid) })
	relabelled := k.DeepCopy()
	relabelled.Labels = map[string]string{"app": "db"}
	step("relabel", true, func() { c.SetPod(relabelled) })
	if meta, ok := r.PodByUID(uid); !ok || meta.Labels["app"] != "db" || meta.Namespace != "shop" {
		t.Errorf("PodByUID after relabel = %+v, %v", meta, ok)
	}
	step("service", false, func() {
		c.SetService(&Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: ServiceSpec{ClusterIP: "10.96.0.1"}})
	})
	step("delete", true, func() { c.DeletePod(k) })
	if _, ok := r.PodByUID(uid); !ok {
		t.Error("deleted pod not found inside its grace period")
	}
	step("sweep inside grace", false, c.Sweep)
	clock.Add(time.Minute)
	step("sweep after grace", true, c.Sweep)
	if _, ok := r.PodByUID(uid); ok {
		t.Error("swept pod still found")
	}
	if off := NewResolverWith(nil); off.Changes() != 0 {
		t.Error("Changes without API access is not 0")
	} else if _, ok := off.PodByUID(uid); ok {
		t.Error("PodByUID without API access found a pod")
	}
}
