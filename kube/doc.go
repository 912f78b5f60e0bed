// Package kube tells which Kubernetes pod and container a cgroup belongs to,
// and which pod or service owns an IP address.
//
// It has three parts, one file each, and the API types they share:
//
//   - [ParseCgroupPath] (cgrouppath.go) reads a cgroup path, as the cgroup
//     decoder outputs it, and returns the pod UID, the container id and the
//     runtime that the kubelet and the container runtime wrote into it. It
//     needs no API access and knows every layout the kubelet makes: the
//     cgroupfs and systemd drivers, containerd, CRI-O and docker naming,
//     cgroup v1, v2 and hybrid hosts, and clusters nested in a container
//     (kind, minikube, k3d).
//   - [Pods] (pods.go) is a cache of pod metadata keyed by pod UID and by pod
//     IP, plus services by ClusterIP. A deleted pod keeps resolving for a
//     grace period so that the last counts of its series keep their labels.
//   - [Resolver] (resolver.go) joins the two: Pod(cgroupPath) and Peer(ip).
//     [NewResolver] feeds the cache from a node-scoped informer
//     (informer.go: one watch on spec.nodeName=$NODE_NAME, services
//     cluster-wide only if asked). Without API access it says so once and
//     resolves from the cgroup path alone.
//   - [Pod] and [Service] (api.go) are the fields of core/v1 pods and
//     services that the cache reads, decoded from the API's JSON by a
//     client-go REST client whose scheme knows only them. The package uses
//     client-go's rest and tools/cache, never its typed clientset or
//     k8s.io/api: their schemes register every API group, and made the
//     binary 54 MB bigger.
package kube
