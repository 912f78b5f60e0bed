package decoder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// Pods of the hand-fed cache: two namespaces, a pod with two containers,
// and one deleted (still within the grace period) whose cgroup lives on.
const (
	webUID    = "0b8c6e1a-1111-4a4a-9c9c-000000000001"
	ledgerUID = "0b8c6e1a-2222-4a4a-9c9c-000000000002"
	goneUID   = "0b8c6e1a-3333-4a4a-9c9c-000000000003"
	strayUID  = "0b8c6e1a-4444-4a4a-9c9c-000000000004" // in no cache
)

var (
	webCID     = strings.Repeat("a1", 32)
	ledgerCID  = strings.Repeat("b2", 32)
	sidecarCID = strings.Repeat("c3", 32)
	goneCID    = strings.Repeat("d4", 32)
	sandboxCID = strings.Repeat("e5", 32) // a container no status lists
)

// Cgroup paths of those pods, in the layouts the cgroup decoder outputs.
var (
	webPath     = "/kubepods/burstable/pod" + webUID + "/" + webCID // cgroupfs driver, relative
	webMount    = "/sys/fs/cgroup/unified/kubepods/burstable/pod" + webUID + "/" + webCID
	webPodLevel = "/kubepods/burstable/pod" + webUID
	ledgerPath  = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
		strings.ReplaceAll(ledgerUID, "-", "_") + ".slice/cri-containerd-" + ledgerCID + ".scope"
	sidecarPath = "/kubepods/pod" + ledgerUID + "/crio-" + sidecarCID
	conmonPath  = "/kubepods/pod" + ledgerUID + "/crio-conmon-" + sidecarCID
	sandboxPath = "/kubepods/pod" + ledgerUID + "/" + sandboxCID
	gonePath    = "/kubepods/besteffort/pod" + goneUID + "/" + goneCID
	strayPath   = "/kubepods/besteffort/pod" + strayUID + "/" + webCID[:60] + "ffff"
	systemPath  = "/system.slice/cron.service"
)

// k8sPod returns a running pod with the given containers (name, id pairs)
// and addresses.
func k8sPod(ns, name, uid string, ips []string, containers ...string) *kube.Pod {
	k := &kube.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)},
		Spec:       kube.PodSpec{NodeName: "node-a"},
		Status:     kube.PodStatus{Phase: "Running"},
	}
	for i := 0; i+1 < len(containers); i += 2 {
		k.Status.ContainerStatuses = append(k.Status.ContainerStatuses,
			kube.ContainerStatus{Name: containers[i], ContainerID: "containerd://" + containers[i+1]})
	}
	for _, ip := range ips {
		k.Status.PodIPs = append(k.Status.PodIPs, kube.PodIP{IP: ip})
	}
	return k
}

// testPods returns the hand-fed cache, with "shop/gone" deleted now, and
// the clock to move past its grace period.
func testPods(tb testing.TB) (*kube.Pods, *time.Time) {
	tb.Helper()
	now := time.Unix(1_700_000_000, 0)
	pods := kube.NewPods(time.Minute, func() time.Time { return now })
	pods.SetPod(k8sPod("shop", "web", webUID, []string{"10.1.0.5"}, "app", webCID))
	pods.SetPod(k8sPod("bank", "ledger", ledgerUID, []string{"10.1.0.6", "fd00::6"}, "ledger", ledgerCID, "sidecar", sidecarCID))
	gone := k8sPod("shop", "gone", goneUID, []string{"10.1.0.7"}, "worker", goneCID)
	pods.SetPod(gone)
	pods.DeletePod(gone)
	pods.SetService(&kube.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bank", Name: "api"},
		Spec:       kube.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00:96::a"}},
	})
	return pods, &now
}

// kubeEnv is testEnv with the hand-fed cache behind the pod decoders.
func kubeEnv(tb testing.TB) (*Env, *time.Time) {
	pods, now := testPods(tb)
	return testEnv(tb, WithKubeResolver(kube.NewResolverWith(pods))), now
}

func TestPodDecoders(t *testing.T) {
	env, now := kubeEnv(t)
	offline := testEnv(t) // no API access
	type want struct{ pod, namespace, container string }
	tests := []struct {
		name     string
		path     string
		online   want
		offline  want
		expired  want // after the grace period of the deleted pod
		notFound bool // a cgroup outside every pod
	}{
		{name: "cgroupfs container", path: webPath,
			online:  want{"web", "shop", "app"},
			offline: want{webUID, "", webCID}},
		{name: "mount form", path: webMount,
			online:  want{"web", "shop", "app"},
			offline: want{webUID, "", webCID}},
		{name: "pod-level cgroup", path: webPodLevel,
			online:  want{"web", "shop", ""},
			offline: want{webUID, "", ""}},
		{name: "systemd containerd, other namespace", path: ledgerPath,
			online:  want{"ledger", "bank", "ledger"},
			offline: want{ledgerUID, "", ledgerCID}},
		{name: "second container of a pod", path: sidecarPath,
			online:  want{"ledger", "bank", "sidecar"},
			offline: want{ledgerUID, "", sidecarCID}},
		{name: "CRI-O conmon has no container", path: conmonPath,
			online:  want{"ledger", "bank", ""},
			offline: want{ledgerUID, "", ""}},
		{name: "container missing from the status gives its id", path: sandboxPath,
			online:  want{"ledger", "bank", sandboxCID},
			offline: want{ledgerUID, "", sandboxCID}},
		{name: "deleted pod within grace", path: gonePath,
			online:  want{"gone", "shop", "worker"},
			offline: want{goneUID, "", goneCID},
			expired: want{goneUID, "", goneCID}},
		{name: "pod the cache never saw", path: strayPath,
			online:  want{strayUID, "", webCID[:60] + "ffff"},
			offline: want{strayUID, "", webCID[:60] + "ffff"}},
		{name: "system service", path: systemPath, notFound: true},
		{name: "unresolved cgroup id", path: "unknown_cgroup_id:42", notFound: true},
		{name: "root", path: "/", notFound: true},
		{name: "empty", path: "", notFound: true},
	}
	decode := func(t *testing.T, env *Env, conf config.Decoder, path string) (string, error) {
		t.Helper()
		chain, err := NewChain([]config.Decoder{conf}, env)
		if err != nil {
			t.Fatal(err)
		}
		return chain.Decode([]byte(path))
	}
	check := func(t *testing.T, env *Env, path string, w want) {
		t.Helper()
		for name, v := range map[string]string{"pod": w.pod, "pod_namespace": w.namespace, "container": w.container} {
			if got, err := decode(t, env, config.Decoder{Name: name}, path); err != nil || got != v {
				t.Errorf("%s(%q) = %q, %v; want %q", name, path, got, err, v)
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.notFound {
				for _, name := range config.PodDecoders() {
					for notPod, v := range map[string]string{"": "", "empty": "", "path": tt.path} {
						if got, err := decode(t, env, config.Decoder{Name: name, NotPod: notPod}, tt.path); err != nil || got != v {
							t.Errorf("%s not_pod %q (%q) = %q, %v; want %q", name, notPod, tt.path, got, err, v)
						}
					}
					if got, err := decode(t, offline, config.Decoder{Name: name, NotPod: "skip"}, tt.path); !isSkip(err) {
						t.Errorf("%s not_pod skip (%q) = %q, %v; want the label set skipped", name, tt.path, got, err)
					}
				}
				return
			}
			check(t, env, tt.path, tt.online)
			check(t, offline, tt.path, tt.offline)
		})
	}
	*now = now.Add(time.Minute) // the deleted pod's grace period ends
	for _, tt := range tests {
		if tt.expired != (want{}) {
			t.Run(tt.name+" after grace", func(t *testing.T) { check(t, env, tt.path, tt.expired) })
		}
	}
}

func isSkip(err error) bool { return err == ErrSkipLabelSet }

func TestPeerPod(t *testing.T) {
	env, now := kubeEnv(t)
	offline := testEnv(t)
	tests := []struct {
		name, ip          string
		online, external  string // unknown_peer external (default) and ip
		offline, expired  string
		skipUnknownOnline bool
	}{
		{name: "pod", ip: "10.1.0.5", online: "shop/web", offline: "external"},
		{name: "pod in another namespace, IPv6", ip: "fd00::6", online: "bank/ledger", offline: "external"},
		{name: "ClusterIP", ip: "10.96.0.10", online: "bank/api", offline: "external"},
		{name: "IPv6 ClusterIP", ip: "fd00:96::a", online: "bank/api", offline: "external"},
		{name: "deleted pod within grace", ip: "10.1.0.7", online: "shop/gone", offline: "external", expired: "external"},
		{name: "unknown address", ip: "192.0.2.1", online: "external", offline: "external"},
		{name: "IPv4-mapped IPv6 of a pod", ip: "::ffff:10.1.0.5", online: "shop/web", offline: "external"},
	}
	decode := func(t *testing.T, env *Env, conf config.Decoder, ip string) (string, error) {
		t.Helper()
		chain, err := NewChain([]config.Decoder{conf}, env)
		if err != nil {
			t.Fatal(err)
		}
		return chain.Decode([]byte(ip))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := config.Decoder{Name: "peer_pod"}
			if got, err := decode(t, env, peer, tt.ip); err != nil || got != tt.online {
				t.Errorf("online peer_pod(%q) = %q, %v; want %q", tt.ip, got, err, tt.online)
			}
			if got, err := decode(t, offline, peer, tt.ip); err != nil || got != tt.offline {
				t.Errorf("offline peer_pod(%q) = %q, %v; want %q", tt.ip, got, err, tt.offline)
			}
			wantIP := tt.online
			if tt.online == "external" {
				wantIP = tt.ip
			}
			if got, err := decode(t, env, config.Decoder{Name: "peer_pod", UnknownPeer: "ip"}, tt.ip); err != nil || got != wantIP {
				t.Errorf("unknown_peer ip: peer_pod(%q) = %q, %v; want %q", tt.ip, got, err, wantIP)
			}
			got, err := decode(t, env, config.Decoder{Name: "peer_pod", UnknownPeer: "skip"}, tt.ip)
			if tt.online == "external" != isSkip(err) || !isSkip(err) && got != tt.online {
				t.Errorf("unknown_peer skip: peer_pod(%q) = %q, %v", tt.ip, got, err)
			}
		})
	}
	*now = now.Add(time.Minute)
	for _, tt := range tests {
		if tt.expired != "" {
			t.Run(tt.name+" after grace", func(t *testing.T) {
				if got, err := decode(t, env, config.Decoder{Name: "peer_pod"}, tt.ip); err != nil || got != tt.expired {
					t.Errorf("peer_pod(%q) = %q, %v; want %q", tt.ip, got, err, tt.expired)
				}
			})
		}
	}
	t.Run("not an address", func(t *testing.T) {
		if got, err := decode(t, env, config.Decoder{Name: "peer_pod"}, "10.1.0"); err == nil || !strings.Contains(err.Error(), `peer_pod: want an IP address as text (the output of inet_ip), got "10.1.0"`) {
			t.Errorf("peer_pod(10.1.0) = %q, %v; want an error", got, err)
		}
	})
}

// TestPodLabelsFromOneField is the intended config: one cgroup id field
// read by three labels through bytes_of, and a peer address by two.
func TestPodLabelsFromOneField(t *testing.T) {
	pods, _ := testPods(t)
	cgroupRoot := t.TempDir()
	id := mkCgroup(t, cgroupRoot, webPath)
	env := testEnv(t, WithCgroupRoot(cgroupRoot), WithKubeResolver(kube.NewResolverWith(pods)))
	path := func(name string) []config.Decoder {
		return []config.Decoder{{Name: "uint"}, {Name: "cgroup"}, {Name: name}}
	}
	labels := []config.Label{
		{Name: "cgroup", Size: 8, Decoders: path("cgroup")[:2]},
		{Name: "namespace", BytesOf: "cgroup", Decoders: path("pod_namespace")},
		{Name: "pod", BytesOf: "cgroup", Decoders: path("pod")},
		{Name: "container", BytesOf: "cgroup", Decoders: path("container")},
		{Name: "daddr", Size: 4, Decoders: one("inet_ip")},
		{Name: "peer", BytesOf: "daddr", Decoders: []config.Decoder{{Name: "inet_ip"}, {Name: "peer_pod"}}},
	}
	ls, err := NewLabelSet(labels, env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ls.Decode(append(u64(id), 10, 96, 0, 10), nil)
	want := []string{webPath, "shop", "web", "app", "10.96.0.10", "bank/api"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Decode = %q, %v; want %q", got, err, want)
	}
}

// TestKubeResolverLazy checks that the Env makes its resolver only when a
// pod decoder is built, once, and that KubeResolver never makes it.
func TestKubeResolverLazy(t *testing.T) {
	r := kube.NewResolverWith(nil)
	env := testEnv(t, WithKubeResolver(r))
	if _, err := NewChain(withUint(config.Decoder{Name: "cgroup"}), env); err != nil {
		t.Fatal(err)
	}
	if got := env.KubeResolver(); got != nil {
		t.Fatalf("KubeResolver() = %p before any pod decoder, want nil", got)
	}
	for _, name := range []string{"pod", "container", "peer_pod"} {
		if _, err := New(config.Decoder{Name: name}, env); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.KubeResolver(); got != r {
		t.Fatalf("KubeResolver() = %p, want the injected %p", got, r)
	}
}

// TestKubeWithoutNode checks that API access without a node name fails the
// decoder's build, saying how to fix it.
func TestKubeWithoutNode(t *testing.T) {
	t.Setenv(kube.NodeNameEnv, "")
	env := NewEnv(WithKube(t.Context(), kube.Options{Config: &rest.Config{Host: "http://127.0.0.1:1"}}))
	_, err := New(config.Decoder{Name: "pod"}, env)
	if err == nil || !strings.Contains(err.Error(), `decoder "pod": kube: the node to watch is unknown: set --kube.node-name, or NODE_NAME`) {
		t.Fatalf("New(pod) error = %v", err)
	}
	if env.KubeResolver() != nil {
		t.Error("KubeResolver() is set after a failed make")
	}
}

// mkCgroup makes the cgroup path under a fake cgroup root and returns its
// id, the directory's inode.
func mkCgroup(tb testing.TB, root, path string) uint64 {
	tb.Helper()
	dir := filepath.Join(root, path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dirInode(tb, dir)
}

// TestPodGraceAcrossCgroupRemoval: a deleted pod's cgroup directory goes
// with it, and walks that no longer find it (another cgroup appearing
// triggers one) must not turn its key's labels into unknown_cgroup_id:N
// and not_pod for the grace period: the chain [uint, cgroup, pod] keeps
// giving the deleted pod's labels, as the kube cache does.
func TestPodGraceAcrossCgroupRemoval(t *testing.T) {
	pods, _ := testPods(t) // shop/gone: deleted, within its grace period
	root := t.TempDir()
	goneID := mkCgroup(t, root, gonePath)
	env := testEnv(t, WithCgroupRoot(root), WithKubeResolver(kube.NewResolverWith(pods)))
	chains := map[string]Chain{}
	for _, name := range []string{"cgroup", "pod", "pod_namespace", "container"} {
		confs := withUint(config.Decoder{Name: "cgroup"})
		if name != "cgroup" {
			confs = append(confs, config.Decoder{Name: name})
		}
		chain, err := NewChain(confs, env)
		if err != nil {
			t.Fatal(err)
		}
		chains[name] = chain
	}
	want := map[string]string{"cgroup": gonePath, "pod": "gone", "pod_namespace": "shop", "container": "worker"}
	check := func(when string) {
		t.Helper()
		for name, chain := range chains {
			if got, err := chain.Decode(u64(goneID)); err != nil || got != want[name] {
				t.Errorf("%s: %s = %q, %v; want %q", when, name, got, err, want[name])
			}
		}
	}
	check("before removal")
	// The new cgroup first: tmpfs would reuse the removed one's inode
	// number, which cgroupfs never does.
	newID := mkCgroup(t, root, webPath)
	if err := os.Remove(filepath.Join(root, gonePath)); err != nil {
		t.Fatal(err)
	}
	resolver, err := env.Cgroups()
	if err != nil {
		t.Fatal(err)
	}
	if err := resolver.Refresh(); err != nil { // what a lookup of newID does
		t.Fatal(err)
	}
	if got, err := chains["pod"].Decode(u64(newID)); err != nil || got != "web" {
		t.Fatalf("new cgroup: pod = %q, %v; want web", got, err)
	}
	check("after the cgroup's removal and a walk")
}
