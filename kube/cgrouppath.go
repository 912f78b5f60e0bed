package kube

import "strings"

// CgroupKind says what a pod's cgroup holds.
type CgroupKind uint8

const (
	// NotPod is a cgroup outside every pod: a system service, a user
	// session, the kubepods parents and QoS cgroups.
	NotPod CgroupKind = iota
	// PodCgroup is the pod-level cgroup itself, or a child of it that is
	// not a container (nothing the kubelet or a runtime names).
	PodCgroup
	// ContainerCgroup is a container's cgroup, or one below it (crun's
	// "container" sub-cgroup, cgroups a container makes for itself). The
	// pod's sandbox (pause) container is one too: only the pod cache can
	// tell it apart, because the pod's status does not list its id.
	ContainerCgroup
	// MonitorCgroup is CRI-O's crio-conmon-<id> cgroup: conmon, the
	// monitor process of container <id>, not the container itself.
	MonitorCgroup
)

// String returns the kind's name.
func (k CgroupKind) String() string {
	switch k {
	case PodCgroup:
		return "pod"
	case ContainerCgroup:
		return "container"
	case MonitorCgroup:
		return "monitor"
	}
	return "not-pod"
}

// Runtimes, as in the scheme of a pod's status.containerStatuses[].containerID
// ("containerd://<id>").
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimeDocker     = "docker"
)

// CgroupRef is what a cgroup path says about a pod.
type CgroupRef struct {
	// Kind is what the cgroup holds; never NotPod in a parse result.
	Kind CgroupKind
	// PodUID is the pod's UID with dashes ("0b8c6e1a-..."), or, for a
	// static pod, the 32 hex digits of the hash the kubelet uses as its
	// UID (the API's mirror pod carries it in the kubernetes.io/config.mirror
	// annotation).
	PodUID string
	// ContainerID is the runtime's 64-hex-digit id of the container (for a
	// MonitorCgroup: of the container it monitors); "" for a PodCgroup.
	ContainerID string
	// Runtime is RuntimeContainerd, RuntimeCRIO or RuntimeDocker when the
	// cgroup's name says, "" when it does not (the cgroupfs driver names
	// containerd's and docker's containers by the bare id).
	Runtime string
}

// ParseCgroupPath reads a cgroup path and returns the pod it belongs to, or
// false for a cgroup outside every pod. The path may be relative to a cgroup
// root ("/kubepods/burstable/pod<uid>/<id>", what the cgroup decoder
// outputs), carry a mount point or a v1 controller in front
// ("/sys/fs/cgroup/memory/kubepods/...", "/sys/fs/cgroup/unified/..."), or a
// parent cgroup of a node that runs in a container
// ("/system.slice/docker-<node>.scope/kubelet.slice/..."). The layouts it
// knows:
//
//	cgroupfs driver: .../kubepods[/besteffort|/burstable]/pod<uid>/<id>
//	                 CRI-O: .../pod<uid>/crio-<id>, .../pod<uid>/crio-conmon-<id>
//	systemd driver:  .../kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_with_underscores>.slice/
//	                 cri-containerd-<id>.scope | crio-<id>.scope | crio-conmon-<id>.scope | docker-<id>.scope
//	kind:            /kubelet.slice/kubelet-kubepods.slice/.../kubelet-kubepods-<qos>-pod<uid>.slice/...
//
// The first (outermost) pod cgroup in the path wins: a pod that runs its own
// cluster (kind in a pod) is the pod the node's informer knows. It never
// fails on odd input; it returns false.
func ParseCgroupPath(path string) (CgroupRef, bool) {
	underKubepods := false
	rest := path
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "/")
		if uid, ok := podUID(part, underKubepods); ok {
			ref := CgroupRef{Kind: PodCgroup, PodUID: uid}
			next, _, _ := strings.Cut(rest, "/")
			parseContainer(next, &ref)
			return ref, true
		}
		if strings.Contains(part, "kubepods") {
			underKubepods = true
		}
	}
	return CgroupRef{}, false
}

// podUID returns the normalised pod UID if part names a pod cgroup: systemd's
// "<...>kubepods<...>-pod<uid_>.slice", or cgroupfs' "pod<uid>" below a
// kubepods cgroup.
func podUID(part string, underKubepods bool) (string, bool) {
	if name, ok := strings.CutSuffix(part, ".slice"); ok {
		i := strings.LastIndex(name, "-pod")
		if i < 0 || !strings.Contains(name[:i], "kubepods") {
			return "", false
		}
		return normaliseUID(name[i+len("-pod"):])
	}
	if uid, ok := strings.CutPrefix(part, "pod"); ok && underKubepods {
		return normaliseUID(uid)
	}
	return "", false
}

// normaliseUID turns systemd's underscores back into dashes, lowercases, and
// accepts a UUID (8-4-4-4-12 hex digits) or a static pod's 32 hex digits.
func normaliseUID(s string) (string, bool) {
	switch len(s) {
	case 32:
		if !isHex(s) {
			return "", false
		}
		return strings.ToLower(s), true
	case 36:
		for i := range len(s) {
			switch c := s[i]; i {
			case 8, 13, 18, 23:
				if c != '-' && c != '_' {
					return "", false
				}
			default:
				if !isHexByte(c) {
					return "", false
				}
			}
		}
		// Allocates only for systemd's underscores or uppercase digits.
		return strings.ToLower(strings.ReplaceAll(s, "_", "-")), true
	}
	return "", false
}

// parseContainer fills in the container if part, the cgroup below the pod's,
// names one; otherwise ref stays a PodCgroup.
func parseContainer(part string, ref *CgroupRef) {
	// The runtimes' names for a container's cgroup, before the id;
	// crio-conmon- before crio-.
	prefixes := [...]struct {
		prefix  string
		runtime string
		kind    CgroupKind
	}{
		{"cri-containerd-", RuntimeContainerd, ContainerCgroup},
		{"crio-conmon-", RuntimeCRIO, MonitorCgroup},
		{"crio-", RuntimeCRIO, ContainerCgroup},
		{"docker-", RuntimeDocker, ContainerCgroup},
	}
	name := strings.TrimSuffix(part, ".scope")
	runtime, kind := "", ContainerCgroup
	for _, p := range prefixes {
		if id, ok := strings.CutPrefix(name, p.prefix); ok {
			name, runtime, kind = id, p.runtime, p.kind
			break
		}
	}
	if len(name) != 64 || !isHex(name) {
		return
	}
	ref.Kind, ref.ContainerID, ref.Runtime = kind, strings.ToLower(name), runtime
}

func isHex(s string) bool {
	for i := range len(s) {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
