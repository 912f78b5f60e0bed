package kube

import (
	"bytes"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
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
	if err == nil || !strings.Contains(err.Error(), NodeNameEnv) {
		t.Fatalf("err = %v, want one naming %s", err, NodeNameEnv)
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
