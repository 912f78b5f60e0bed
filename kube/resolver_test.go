package kube

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestResolverOffline(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	var logs bytes.Buffer
	r, err := NewResolver(t.Context(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if r.Online() || !r.Synced() {
		t.Fatalf("Online = %v, Synced = %v; want false, true", r.Online(), r.Synced())
	}
	if n := strings.Count(logs.String(), "no Kubernetes API access"); n != 1 {
		t.Fatalf("%d warnings about API access, want 1:\n%s", n, logs.String())
	}
	path := "/kubepods/burstable/pod" + uid + "/" + cid
	info, ok := r.Pod(path)
	want := PodInfo{Ref: CgroupRef{Kind: ContainerCgroup, PodUID: uid, ContainerID: cid}}
	if !ok || !reflect.DeepEqual(info, want) {
		t.Fatalf("Pod(%q) = %+v, %v; want %+v", path, info, ok, want)
	}
	if _, ok := r.Pod("/system.slice/sshd.service"); ok {
		t.Fatal("a system service resolved to a pod")
	}
	if _, ok := r.Peer(netip.MustParseAddr("10.88.0.7")); ok {
		t.Fatal("Peer resolved without API access")
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Fatalf("lookups logged:\n%s", logs.String())
	}
}

func TestResolverNeedsNode(t *testing.T) {
	t.Setenv(NodeNameEnv, "")
	_, err := NewResolver(t.Context(), Options{Config: &rest.Config{Host: "http://127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), NodeNameEnv) || !strings.Contains(err.Error(), "--kube.node-name") {
		t.Fatalf("err = %v, want one naming %s and --kube.node-name", err, NodeNameEnv)
	}
}

func TestResolverOnline(t *testing.T) {
	t.Setenv(NodeNameEnv, "node-a")
	api := newFakeAPI(t)
	api.put(testPod("web", uid, "10.88.0.7"))
	clock := newFakeClock()
	r, err := NewResolver(t.Context(), Options{Config: api.config(), Grace: -1, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sync", r.Synced)
	systemd := "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidSystem + ".slice"
	tests := []struct {
		name, path    string
		wantContainer string
	}{
		{"container", systemd + "/cri-containerd-" + cid + ".scope", "app"},
		{"pod-level", systemd, ""},
		{"conmon", systemd + "/crio-conmon-" + cid + ".scope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := r.Pod(tt.path)
			if !ok || !info.Known || info.Meta.Namespace != "shop" || info.Meta.Name != "web" || info.Container != tt.wantContainer {
				t.Fatalf("Pod = %+v, %v; want shop/web container %q", info, ok, tt.wantContainer)
			}
		})
	}
	if got, ok := r.Peer(netip.MustParseAddr("10.88.0.7")); !ok || got != "shop/web" {
		t.Fatalf("Peer = %q, %v", got, ok)
	}

	// Grace -1: a deleted pod stops resolving at once, to what the path says.
	api.remove("pods", "shop", "web")
	waitFor(t, "delete", func() bool { info, _ := r.Pod(systemd); return !info.Known })
	clock.Add(time.Hour)
	info, ok := r.Pod(systemd)
	if !ok || info.Ref.PodUID != uid || info.Known {
		t.Fatalf("deleted pod: %+v, %v", info, ok)
	}
}

// syncLog is a log buffer that informer goroutines write while the test
// reads it.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *syncLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// TestResolverForbidden: an API that refuses the list (RBAC: 403) leaves
// the Resolver online but not available (ebpfmon_kube_api_available 0),
// and the failure is logged once, however often the informer retries.
func TestResolverForbidden(t *testing.T) {
	api := newFakeAPI(t)
	api.put(testPod("web", uid, "10.88.0.7"))
	api.fail(http.StatusForbidden)
	var logs syncLog
	r, err := NewResolver(t.Context(), Options{Node: "node-a", Config: api.config(), Logger: logs.logger(), SyncTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a retried list", func() bool { return len(api.requestsOf("pods")) >= 2 })
	waitFor(t, "two failures counted", func() bool { s := r.APIStats(); return len(s) == 1 && s[0].Errors >= 2 })
	if s := r.APIStats()[0]; s.Lists < s.Errors || s.Watches != 0 || s.Added != 0 {
		t.Errorf("stats %+v, want only failed lists", s)
	}
	if !r.Online() || r.Available() {
		t.Errorf("Online = %v, Available = %v; want true, false", r.Online(), r.Available())
	}
	if n := strings.Count(logs.String(), "cannot list or watch pods"); n != 1 {
		t.Errorf("%d warnings about the failed list, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "forbidden") || !strings.Contains(logs.String(), "has not synced yet") {
		t.Errorf("the warnings do not give the API's error and the sync timeout:\n%s", logs.String())
	}
}

// TestResolverWaitsForSync: NewResolver returns once the first list is in,
// so the first scrapes label pods by name, not by UID with namespace "".
func TestResolverWaitsForSync(t *testing.T) {
	api := newFakeAPI(t)
	api.put(testPod("web", uid, "10.88.0.7"))
	api.beforeList(func() { time.Sleep(200 * time.Millisecond) }) // a slow API server
	r, err := NewResolver(t.Context(), Options{Node: "node-a", Config: api.config()})
	if err != nil {
		t.Fatal(err)
	}
	path := "/kubepods/burstable/pod" + uid + "/" + cid
	if info, _ := r.Pod(path); !r.Available() || !info.Known || info.Meta.Namespace != "shop" {
		t.Fatalf("right after NewResolver: Available = %v, Pod = %+v; want synced, shop/web", r.Available(), info)
	}
}

// TestResolverSyncTimeout: a list that never comes delays NewResolver by
// the sync timeout only, with a warning.
func TestResolverSyncTimeout(t *testing.T) {
	api := newFakeAPI(t)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) }) // runs before the server's cleanup
	api.beforeList(func() { <-stuck })
	var logs syncLog
	r, err := NewResolver(t.Context(), Options{Node: "node-a", Config: api.config(), Logger: logs.logger(), SyncTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Synced() || !strings.Contains(logs.String(), "the pod cache has not synced yet") {
		t.Errorf("Synced = %v, logs:\n%s\nwant not synced and a warning", r.Synced(), logs.String())
	}
}

// TestResolverNoPodsOnNode: a node name no pod has (a typo) syncs with no
// pods: that is worth a warning, once.
func TestResolverNoPodsOnNode(t *testing.T) {
	api := newFakeAPI(t)
	api.put(testPod("web", uid, "10.88.0.7")) // on node-a
	var logs syncLog
	r, err := NewResolver(t.Context(), Options{Node: "node-typo", Config: api.config(), Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Available() {
		t.Fatal("not synced after NewResolver")
	}
	if n := strings.Count(logs.String(), "the API lists no pod on this node"); n != 1 || !strings.Contains(logs.String(), "node=node-typo") {
		t.Errorf("%d warnings about an empty node, want 1 naming it:\n%s", n, logs.String())
	}

	var quiet syncLog
	if _, err := NewResolver(t.Context(), Options{Node: "node-a", Config: api.config(), Logger: quiet.logger()}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.String(), "no pod") {
		t.Errorf("a node with pods warned:\n%s", quiet.String())
	}
}
