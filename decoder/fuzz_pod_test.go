package decoder

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

// podChains are the pod decoders over one Env, each with the not_pod
// option a check needs.
type podChains struct {
	podPath, podSkip, namespace, container Chain
}

func newPodChains(tb testing.TB, env *Env) podChains {
	tb.Helper()
	chain := func(name, notPod string) Chain {
		c, err := NewChain([]config.Decoder{{Name: name, NotPod: notPod}}, env)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	return podChains{
		podPath:   chain("pod", config.NotPodPath),
		podSkip:   chain("pod", config.NotPodSkip),
		namespace: chain("pod_namespace", ""),
		container: chain("container", config.NotPodSkip),
	}
}

// fromPath reports whether v is in the cgroup path, as kube reads ids
// from it: lowercased and, for a pod UID from a systemd slice name, with
// '-' for '_'.
func fromPath(path, v string) bool {
	path = strings.ToLower(path)
	return strings.Contains(path, v) || strings.Contains(path, strings.ReplaceAll(v, "-", "_"))
}

// checkPod decodes one cgroup path with every pod decoder of c, whose
// cache knows pods (names ns/pod -> containers), and checks that they
// agree: a cgroup outside every pod is so for all of them (not_pod
// honoured), a pod's name is one the cache knows or the UID in the path,
// its namespace one the cache knows (only for a pod the cache names), its
// container one of the pod's or the id in the path.
func checkPod(t *testing.T, c podChains, known map[string][]string, path string) {
	t.Helper()
	pod, err := c.podPath.Decode([]byte(path))
	if err != nil {
		t.Fatalf("pod not_pod path (%q): %v", path, err)
	}
	_, skipErr := c.podSkip.Decode([]byte(path))
	ns, nsErr := c.namespace.Decode([]byte(path))
	container, cErr := c.container.Decode([]byte(path))
	if nsErr != nil || (skipErr != nil && !errors.Is(skipErr, ErrSkipLabelSet)) || (cErr != nil && !errors.Is(cErr, ErrSkipLabelSet)) {
		t.Fatalf("(%q): pod_namespace %v, pod not_pod skip %v, container %v", path, nsErr, skipErr, cErr)
	}
	notPod := errors.Is(skipErr, ErrSkipLabelSet)
	if errors.Is(cErr, ErrSkipLabelSet) != notPod {
		t.Fatalf("(%q): pod not_pod skip %v but container not_pod skip %v", path, skipErr, cErr)
	}
	if notPod {
		if pod != valid([]byte(path)) || ns != "" {
			t.Fatalf("(%q) outside every pod: pod not_pod path %q, pod_namespace %q", path, pod, ns)
		}
		return
	}
	if pod == "" || len(pod) > len(path) {
		t.Fatalf("(%q): pod %q", path, pod)
	}
	containers, named := known[ns+"/"+pod]
	switch {
	case ns == "" && !fromPath(path, pod):
		t.Fatalf("(%q): pod %q, neither known nor in the path", path, pod)
	case ns != "" && !named:
		t.Fatalf("(%q): pod %s/%s, which the cache does not hold", path, ns, pod)
	case container != "" && !slices.Contains(containers, container) && !fromPath(path, container):
		t.Fatalf("(%q): container %q, neither one of pod %s/%s's nor in the path", path, container, ns, pod)
	}
}

// FuzzPodDecoders feeds arbitrary cgroup paths to the pod, pod_namespace
// and container decoders, over the hand-fed cache of pod_test.go and with
// no API access, and to peer_pod arbitrary address text; see checkPod and
// checkPeer for what must hold.
func FuzzPodDecoders(f *testing.F) {
	for _, p := range []string{webPath, webMount, webPodLevel, ledgerPath, sidecarPath, conmonPath, sandboxPath, gonePath, strayPath, systemPath,
		"unknown_cgroup_id:42", "/", "",
		// Real paths: kubelet with the systemd driver and CRI-O, k3s, docker on cgroup v1 (as the mount form).
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1d2c3b_4a5e_4f60_8a7b_9c0d1e2f3a4b.slice/crio-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0.scope",
		"/kubepods/burstable/pod6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
		"/sys/fs/cgroup/systemd/kubepods/besteffort/pod6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b/docker-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0.scope",
		"/system.slice/containerd.service", "/user.slice/user-0.slice/session-1.scope", "/kubepods.slice"} {
		f.Add(p, "10.1.0.5")
	}
	for _, ip := range []string{"fd00::6", "10.96.0.10", "fd00:96::a", "10.1.0.7", "192.0.2.1", "::ffff:10.1.0.5", "fe80::1%eth0", "1.2.3", ""} {
		f.Add(webPath, ip)
	}
	env, _ := kubeEnv(f)
	online, offline := newPodChains(f, env), newPodChains(f, testEnv(f))
	known := map[string][]string{"shop/web": {"app"}, "bank/ledger": {"ledger", "sidecar"}, "shop/gone": {"worker"}}
	peers := newPeerChains(f, env)
	offPeers := newPeerChains(f, testEnv(f))
	f.Fuzz(func(t *testing.T, path, ip string) {
		checkPod(t, online, known, path)
		checkPod(t, offline, nil, path)
		checkPeer(t, peers, []string{"shop/web", "bank/ledger", "shop/gone", "bank/api"}, ip)
		checkPeer(t, offPeers, nil, ip)
	})
}

// peerChains are peer_pod with each unknown_peer option.
type peerChains struct{ external, ip, skip Chain }

func newPeerChains(tb testing.TB, env *Env) peerChains {
	tb.Helper()
	chain := func(unknown string) Chain {
		c, err := NewChain([]config.Decoder{{Name: "peer_pod", UnknownPeer: unknown}}, env)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	return peerChains{external: chain(""), ip: chain(config.PeerIP), skip: chain(config.PeerSkip)}
}

// checkPeer decodes address text with peer_pod: text that is no address
// is an error (not a skip); an address gives one of the known names, and
// the same name whatever unknown_peer says, or else "external", the
// address unchanged, or the label set skipped, as unknown_peer says.
func checkPeer(t *testing.T, c peerChains, known []string, ip string) {
	t.Helper()
	ext, extErr := c.external.Decode([]byte(ip))
	asIP, ipErr := c.ip.Decode([]byte(ip))
	skip, skipErr := c.skip.Decode([]byte(ip))
	if _, err := netip.ParseAddr(ip); err != nil {
		for _, e := range []error{extErr, ipErr, skipErr} {
			if e == nil || errors.Is(e, ErrSkipLabelSet) {
				t.Fatalf("peer_pod(%q): %v, want an error for text that is no address", ip, e)
			}
		}
		return
	}
	if extErr != nil || ipErr != nil {
		t.Fatalf("peer_pod(%q): %v, %v", ip, extErr, ipErr)
	}
	if slices.Contains(known, ext) {
		if asIP != ext || skip != ext || skipErr != nil {
			t.Fatalf("peer_pod(%q) = %q, but with unknown_peer ip %q, skip %q, %v", ip, ext, asIP, skip, skipErr)
		}
		return
	}
	if ext != config.PeerExternal || asIP != valid([]byte(ip)) || !errors.Is(skipErr, ErrSkipLabelSet) {
		t.Fatalf("peer_pod(%q) = %q, unknown_peer ip %q, skip %v; want external, the address, skipped", ip, ext, asIP, skipErr)
	}
}
