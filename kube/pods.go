package kube

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultGrace is how long a deleted pod or service keeps resolving.
const DefaultGrace = 5 * time.Minute

// mirrorAnnotation is where a static pod's mirror in the API keeps the UID
// the kubelet gave the static pod, the one in its cgroup path.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// PodMeta is what the cache knows of a pod.
type PodMeta struct {
	UID       string // the pod's UID in the API (a mirror pod's own UID)
	Namespace string
	Name      string
	Node      string
	// Labels are shared with the cache: read them, never modify them.
	Labels map[string]string
}

// pod is one cache entry; immutable once stored, replaced on update.
type pod struct {
	meta       PodMeta
	peer       string       // namespace/name
	keys       []string     // the UIDs it is indexed by
	ips        []netip.Addr // indexed pod IPs; none for hostNetwork pods
	containers []container  // ids and names of its containers; a few, so a slice, smaller than a map
	ended      bool         // phase Succeeded or Failed: its IPs may be reused
	deleted    time.Time    // zero while in the API
}

// container is a container's id (no runtime scheme) and name.
type container struct{ id, name string }

// service is a service by ClusterIP.
type service struct {
	name    string // namespace/name
	deleted time.Time
}

// Pods caches the pods of one node, by pod UID and by pod IP, and services by
// ClusterIP. Informer event handlers write it, decoders read it per series;
// a lookup takes one read lock. A deleted pod or service keeps resolving for
// the grace period, then [Pods.Sweep] drops it. It is safe for concurrent
// use.
type Pods struct {
	grace time.Duration
	now   func() time.Time

	mu       sync.RWMutex
	byUID    map[string]*pod
	byIP     map[netip.Addr]*pod
	services map[netip.Addr]*service
	// byService lists, by namespace/name, the addresses in services that
	// hold the service, so that an event touches only its own entries.
	byService map[string][]netip.Addr

	// changes counts the pod changes: see [Pods.Changes].
	changes atomic.Uint64
}

// NewPods returns an empty cache whose deleted entries resolve for grace
// (0 or less: not at once, they stop resolving when deleted) as told by now
// (nil: time.Now; tests inject a clock).
func NewPods(grace time.Duration, now func() time.Time) *Pods {
	if now == nil {
		now = time.Now
	}
	return &Pods{
		grace:     max(grace, 0),
		now:       now,
		byUID:     map[string]*pod{},
		byIP:      map[netip.Addr]*pod{},
		services:  map[netip.Addr]*service{},
		byService: map[string][]netip.Addr{},
	}
}

// Lookup returns the pod with the given UID (as in its cgroup path: a static
// pod's hash finds its mirror pod) and the name of its container with the
// given id ("" when the id is "", the pod's sandbox, or not in the pod's
// status).
func (c *Pods) Lookup(uid, containerID string) (meta PodMeta, container string, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.byUID[uid]
	if p == nil || c.expired(p.deleted) {
		return PodMeta{}, "", false
	}
	return p.meta, p.containerName(containerID), true
}

// containerName returns the name of the container with the given id.
func (p *pod) containerName(id string) string {
	if id == "" {
		return ""
	}
	for _, c := range p.containers {
		if c.id == id {
			return c.name
		}
	}
	return ""
}

// Peer returns "namespace/name" of the pod or the service that has the
// address.
func (c *Pods) Peer(ip netip.Addr) (string, bool) {
	ip = ip.Unmap()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p := c.byIP[ip]; p != nil && !c.expired(p.deleted) {
		return p.peer, true
	}
	if s := c.services[ip]; s != nil && !c.expired(s.deleted) {
		return s.name, true
	}
	return "", false
}

// Len returns the number of pods in the cache, deleted ones not yet swept
// included.
func (c *Pods) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for key, p := range c.byUID {
		if key == p.keys[0] {
			n++
		}
	}
	return n
}

// Changes returns a counter that moves whenever a pod is added, updated,
// deleted or swept: a reader that saw the same value twice knows that no
// pod lookup changed in between (but the passing of a deleted pod's grace
// period, which moves it at the next [Pods.Sweep]). Services do not move it.
func (c *Pods) Changes() uint64 { return c.changes.Load() }

// expired reports whether an entry deleted at t no longer resolves.
func (c *Pods) expired(t time.Time) bool {
	return !t.IsZero() && c.now().Sub(t) >= c.grace
}

// SetPod adds or updates a pod.
func (c *Pods) SetPod(k *Pod) {
	p := newPod(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.changes.Add(1)
	if old := c.byUID[string(k.UID)]; old != nil {
		c.unindex(old)
	}
	for _, key := range p.keys {
		c.byUID[key] = p
	}
	for _, ip := range p.ips {
		// A pod that ended gives its IP up: it keeps it only until a
		// running pod claims it.
		if cur := c.byIP[ip]; cur != nil && p.ended && !cur.ended && cur.deleted.IsZero() {
			continue
		}
		c.byIP[ip] = p
	}
}

// DeletePod marks a pod deleted: it resolves for the grace period.
func (c *Pods) DeletePod(k *Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.byUID[string(k.UID)]
	if old == nil || !old.deleted.IsZero() {
		return
	}
	gone := *old
	gone.deleted = c.now()
	c.replace(old, &gone)
	c.changes.Add(1)
}

// SetService adds or updates a service's ClusterIPs; headless services have
// none. It costs the service's own addresses, not a scan of every service.
func (c *Pods) SetService(k *Service) {
	s := &service{name: k.Namespace + "/" + k.Name}
	ips := clusterIPs(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ip := range c.byService[s.name] { // ClusterIPs rarely change, but may
		if cur := c.services[ip]; cur != nil && cur.name == s.name {
			delete(c.services, ip)
		}
	}
	delete(c.byService, s.name)
	for _, ip := range ips {
		if cur := c.services[ip]; cur != nil { // a deleted service's address, reused
			c.unlistServiceIP(cur.name, ip)
		}
		c.services[ip] = s
	}
	if len(ips) > 0 {
		c.byService[s.name] = ips
	}
}

// DeleteService marks a service deleted: it resolves for the grace period.
func (c *Pods) DeleteService(k *Service) {
	name := k.Namespace + "/" + k.Name
	c.mu.Lock()
	defer c.mu.Unlock()
	gone := &service{name: name, deleted: c.now()}
	for _, ip := range c.byService[name] {
		if cur := c.services[ip]; cur != nil && cur.name == name && cur.deleted.IsZero() {
			c.services[ip] = gone
		}
	}
}

// unlistServiceIP removes ip from the addresses of the service name.
func (c *Pods) unlistServiceIP(name string, ip netip.Addr) {
	ips := slices.DeleteFunc(c.byService[name], func(a netip.Addr) bool { return a == ip })
	if len(ips) == 0 {
		delete(c.byService, name)
		return
	}
	c.byService[name] = ips
}

// Sweep drops the pods and services whose grace period has passed.
func (c *Pods) Sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.byUID {
		if c.expired(p.deleted) {
			c.unindex(p)
			c.changes.Add(1)
		}
	}
	for ip, s := range c.services {
		if c.expired(s.deleted) {
			delete(c.services, ip)
			c.unlistServiceIP(s.name, ip)
		}
	}
}

// replace puts p where old was, in every index that points to old.
func (c *Pods) replace(old, p *pod) {
	for _, key := range old.keys {
		if c.byUID[key] == old {
			c.byUID[key] = p
		}
	}
	for _, ip := range old.ips {
		if c.byIP[ip] == old {
			c.byIP[ip] = p
		}
	}
}

// unindex removes p from every index that still points to it.
func (c *Pods) unindex(p *pod) {
	for _, key := range p.keys {
		if c.byUID[key] == p {
			delete(c.byUID, key)
		}
	}
	for _, ip := range p.ips {
		if c.byIP[ip] == p {
			delete(c.byIP, ip)
		}
	}
}

// newPod builds a cache entry from the API's pod.
func newPod(k *Pod) *pod {
	p := &pod{
		meta: PodMeta{
			UID:       string(k.UID),
			Namespace: k.Namespace,
			Name:      k.Name,
			Node:      k.Spec.NodeName,
			Labels:    k.Labels,
		},
		peer:       k.Namespace + "/" + k.Name,
		keys:       []string{string(k.UID)},
		containers: containerNames(&k.Status),
		ended:      k.Status.Phase == "Succeeded" || k.Status.Phase == "Failed",
	}
	if h := k.Annotations[mirrorAnnotation]; h != "" && h != string(k.UID) {
		p.keys = append(p.keys, strings.ToLower(h))
	}
	if !k.Spec.HostNetwork { // a hostNetwork pod has the node's IP
		p.ips = podIPs(&k.Status)
	}
	return p
}

// containerNames lists the ids and names of a pod's containers (init, app and
// ephemeral; the running and the last terminated instance).
func containerNames(s *PodStatus) []container {
	var names []container
	for _, list := range [][]ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses, s.EphemeralContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if id := containerID(cs.ContainerID); id != "" {
				names = append(names, container{id, cs.Name})
			}
			if t := cs.LastState.Terminated; t != nil {
				if id := containerID(t.ContainerID); id != "" {
					names = append(names, container{id, cs.Name})
				}
			}
		}
	}
	return slices.Clip(names)
}

// containerID strips the runtime scheme from a status's container id:
// "containerd://<id>", "cri-o://<id>", "docker://<id>" give "<id>".
func containerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		s = id
	}
	return strings.ToLower(s)
}

// podIPs returns a pod's addresses, IPv4 and IPv6.
func podIPs(s *PodStatus) []netip.Addr {
	var ips []netip.Addr
	add := func(v string) {
		if ip, err := netip.ParseAddr(v); err == nil && !slices.Contains(ips, ip.Unmap()) {
			ips = append(ips, ip.Unmap())
		}
	}
	for _, a := range s.PodIPs {
		add(a.IP)
	}
	add(s.PodIP)
	return ips
}

// clusterIPs returns a service's ClusterIPs; none for a headless one.
func clusterIPs(k *Service) []netip.Addr {
	var ips []netip.Addr
	for _, v := range append([]string{k.Spec.ClusterIP}, k.Spec.ClusterIPs...) {
		if ip, err := netip.ParseAddr(v); err == nil && !slices.Contains(ips, ip.Unmap()) {
			ips = append(ips, ip.Unmap())
		}
	}
	return ips
}
