package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// NodeNameEnv is the environment variable that names the node to watch when
// [Options.Node] is empty; a DaemonSet sets it from the downward API
// (fieldRef: spec.nodeName).
const NodeNameEnv = "NODE_NAME"

// Options configure [NewResolver].
type Options struct {
	// Node is the node whose pods are watched; "" reads $NODE_NAME.
	Node string
	// Services also watches services, cluster-wide, so that Peer names
	// ClusterIPs.
	Services bool
	// Grace is how long a deleted pod keeps resolving: 0 is DefaultGrace,
	// a negative value none.
	Grace time.Duration
	// Config is where the API is and how to authenticate; nil uses the
	// in-cluster config (the pod's service account, KUBERNETES_SERVICE_HOST
	// and _PORT).
	Config *rest.Config
	// Logger receives the one warning about missing API access; nil
	// discards it.
	Logger *slog.Logger
	// Now is the clock of the grace period; nil is time.Now.
	Now func() time.Time
	// SyncTimeout bounds how long NewResolver waits for the informers'
	// first list, so that the first scrapes do not label pods by UID
	// with an empty namespace: 0 is DefaultSyncTimeout, a negative value
	// does not wait.
	SyncTimeout time.Duration
}

// DefaultSyncTimeout is how long NewResolver waits, by default, for the
// informers' first list.
const DefaultSyncTimeout = 10 * time.Second

// PodInfo is what a cgroup path resolves to.
type PodInfo struct {
	// Ref is what the path itself says: pod UID, container id, runtime.
	Ref CgroupRef
	// Known reports whether the pod is in the cache; without it Meta is
	// zero and only Ref is known.
	Known bool
	// Meta is the pod's namespace, name, node and labels.
	Meta PodMeta
	// Container is the container's name; "" for a pod-level cgroup, CRI-O's
	// conmon, the pod's sandbox (pause) container, or an unknown pod.
	Container string
}

// Resolver resolves cgroup paths to pods and IPs to pods or services. It is
// safe for concurrent use; lookups take one read lock.
type Resolver struct {
	pods   *Pods          // nil without API access
	synced func() bool    // nil without API access
	stats  []*apiCounters // one per informer; none without API access
}

// NewResolver returns a Resolver fed by a node-scoped pod informer that runs
// until ctx ends. Without API access (no client and no in-cluster config) it
// logs one warning and returns a Resolver that resolves from the cgroup path
// alone. With API access, an unset node is an error: watching every pod of
// the cluster from every node is what the node scope avoids.
func NewResolver(ctx context.Context, opts Options) (*Resolver, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	if cfg == nil {
		var err error
		cfg, err = inClusterConfig()
		if err != nil {
			logger.Warn("no Kubernetes API access: pod decoders give the pod UID and container id from the cgroup path, and peers stay unresolved",
				"reason", err)
			return &Resolver{}, nil
		}
	}
	node := opts.Node
	if node == "" {
		node = os.Getenv(NodeNameEnv)
	}
	if node == "" {
		return nil, fmt.Errorf("kube: the node to watch is unknown: set --kube.node-name, or %s from the downward API (env valueFrom fieldRef fieldPath: spec.nodeName)", NodeNameEnv)
	}
	grace := opts.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	client, err := newRESTClient(cfg)
	if err != nil {
		return nil, err
	}
	pods := NewPods(grace, opts.Now)
	synced, stats, err := watchPods(ctx, client, node, opts.Services, pods, logger)
	if err != nil {
		return nil, err
	}
	go sweepEvery(ctx, pods, max(grace/2, 10*time.Second))
	waitSynced(ctx, opts.SyncTimeout, synced, pods, node, logger)
	return &Resolver{pods: pods, synced: synced, stats: stats}, nil
}

// waitSynced waits up to timeout (0: DefaultSyncTimeout; negative: not at
// all) for the informers' first list, and warns if it does not come in
// time. Once they have synced, whenever that is, it warns if the node has
// no pods: ebpfmon's own pod runs there, so the node name is likely wrong.
func waitSynced(ctx context.Context, timeout time.Duration, synced func() bool, pods *Pods, node string, logger *slog.Logger) {
	done := make(chan struct{})
	go func() {
		if !cache.WaitForCacheSync(ctx.Done(), synced) {
			return
		}
		if pods.Len() == 0 {
			logger.Warn("the API lists no pod on this node: check --kube.node-name (or NODE_NAME); pods will be labelled by UID, with an empty namespace",
				"node", node)
		}
		close(done)
	}()
	if timeout < 0 {
		return
	}
	if timeout == 0 {
		timeout = DefaultSyncTimeout
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-t.C:
		logger.Warn("the pod cache has not synced yet: until it does, pods are labelled by UID, with an empty namespace, and ebpfmon_kube_api_available is 0",
			"node", node, "waited", timeout)
	}
}

// NewResolverWith returns a Resolver over a cache that the caller feeds
// (tests, or the caller's own informer), synced from the start. A nil
// cache gives a Resolver without API access, as [NewResolver] does when it
// finds none.
func NewResolverWith(pods *Pods) *Resolver { return &Resolver{pods: pods} }

// inClusterConfig returns the config of the pod's service account.
func inClusterConfig() (*rest.Config, error) {
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, errors.New("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset")
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	return cfg, nil
}

// Online reports whether the Resolver is configured with API access
// (whether or not the API answers: see [Resolver.Available]).
func (r *Resolver) Online() bool { return r.pods != nil }

// Available reports whether the Resolver has API access and its informers
// have listed every pod (and service) once: false without API access, and
// while the lists fail (RBAC, the API server down) or have not come yet.
func (r *Resolver) Available() bool { return r.pods != nil && r.Synced() }

// Synced reports whether the informers have listed every pod (and service)
// once; before, lookups of existing pods may miss. Without API access it is
// true.
func (r *Resolver) Synced() bool { return r.synced == nil || r.synced() }

// APIStats returns what each informer has asked of the API server and
// received so far; nothing without API access.
func (r *Resolver) APIStats() []APIStats {
	out := make([]APIStats, 0, len(r.stats))
	for _, c := range r.stats {
		out = append(out, c.snapshot())
	}
	return out
}

// CachedPods returns how many pods the cache holds, deleted ones in their
// grace period included; 0 without API access.
func (r *Resolver) CachedPods() int {
	if r.pods == nil {
		return 0
	}
	return r.pods.Len()
}

// Pod resolves a cgroup path (see [ParseCgroupPath] for the forms). It
// returns false for a cgroup outside every pod. A pod the cache does not know
// (no API access, not synced yet, gone longer than the grace period) gives
// Known false and only what the path says.
func (r *Resolver) Pod(cgroupPath string) (PodInfo, bool) {
	ref, ok := ParseCgroupPath(cgroupPath)
	if !ok {
		return PodInfo{}, false
	}
	info := PodInfo{Ref: ref}
	if r.pods == nil {
		return info, true
	}
	meta, container, known := r.pods.Lookup(ref.PodUID, ref.ContainerID)
	if !known {
		return info, true
	}
	info.Known, info.Meta = true, meta
	if ref.Kind == ContainerCgroup {
		info.Container = container
	}
	return info, true
}

// Peer returns "namespace/name" of the pod (or, when services are watched,
// the service) with the address; false for an address the cache does not
// know and always without API access.
func (r *Resolver) Peer(ip netip.Addr) (string, bool) {
	if r.pods == nil {
		return "", false
	}
	return r.pods.Peer(ip)
}

// PodByUID returns the pod with the UID (as in a cgroup path: see
// [CgroupRef.PodUID]) from the cache, deleted pods within their grace
// period included; false when the cache does not know it, and always
// without API access.
func (r *Resolver) PodByUID(uid string) (PodMeta, bool) {
	if r.pods == nil {
		return PodMeta{}, false
	}
	meta, _, ok := r.pods.Lookup(uid, "")
	return meta, ok
}

// Changes returns the pod cache's change counter (see [Pods.Changes]);
// always 0 without API access.
func (r *Resolver) Changes() uint64 {
	if r.pods == nil {
		return 0
	}
	return r.pods.Changes()
}
