package kube

import (
	"strings"
	"testing"
)

// Ids in the shapes the kubelet and the runtimes write them.
const (
	uid       = "74c13223-5a00-11e9-b385-42010a80018d"
	uidSystem = "74c13223_5a00_11e9_b385_42010a80018d" // the systemd driver's spelling
	staticUID = "5f2b0e1c9a3d4e6f8a7b6c5d4e3f2a1b"     // a static pod's hash
	cid       = "34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376"
	nodeID    = "d5d9ee5cf5ec9520d182418b737fb11f3aa6b739e91d7cb6ecd6786f6a2bcbd1"
)

func TestParseCgroupPath(t *testing.T) {
	container := func(runtime string) CgroupRef {
		return CgroupRef{Kind: ContainerCgroup, PodUID: uid, ContainerID: cid, Runtime: runtime}
	}
	pod := CgroupRef{Kind: PodCgroup, PodUID: uid}
	monitor := CgroupRef{Kind: MonitorCgroup, PodUID: uid, ContainerID: cid, Runtime: RuntimeCRIO}
	systemdBurstable := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidSystem + ".slice"

	tests := []struct {
		name string
		path string
		want CgroupRef // Kind NotPod: ParseCgroupPath returns false
	}{
		// cgroupfs driver: containerd and docker name the container by its bare id.
		{"cgroupfs/containerd/v2", "/kubepods/besteffort/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/containerd/v1", "/sys/fs/cgroup/memory/kubepods/besteffort/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/containerd/v1-joined-controllers", "/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/containerd/hybrid", "/sys/fs/cgroup/unified/kubepods/burstable/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/containerd/guaranteed", "/kubepods/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/docker/v1", "/sys/fs/cgroup/pids/kubepods/burstable/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/docker/v2", "/kubepods/burstable/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/docker/hybrid", "/sys/fs/cgroup/unified/kubepods/pod" + uid + "/" + cid, container("")},
		{"cgroupfs/cri-o/v2", "/kubepods/burstable/pod" + uid + "/crio-" + cid, container(RuntimeCRIO)},
		{"cgroupfs/cri-o/v1", "/sys/fs/cgroup/cpu/kubepods/burstable/pod" + uid + "/crio-" + cid, container(RuntimeCRIO)},
		{"cgroupfs/cri-o/hybrid", "/sys/fs/cgroup/unified/kubepods/besteffort/pod" + uid + "/crio-" + cid, container(RuntimeCRIO)},
		{"cgroupfs/cri-o/conmon", "/kubepods/burstable/pod" + uid + "/crio-conmon-" + cid, monitor},

		// systemd driver.
		{"systemd/containerd/v2", systemdBurstable + "/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"systemd/containerd/v1", "/sys/fs/cgroup/net_cls,net_prio" + systemdBurstable + "/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"systemd/containerd/hybrid", "/sys/fs/cgroup/unified" + systemdBurstable + "/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"systemd/containerd/besteffort", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidSystem + ".slice/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"systemd/containerd/guaranteed", "/kubepods.slice/kubepods-pod" + uidSystem + ".slice/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"systemd/cri-o/v2", systemdBurstable + "/crio-" + cid + ".scope", container(RuntimeCRIO)},
		{"systemd/cri-o/v1", "/sys/fs/cgroup/memory" + systemdBurstable + "/crio-" + cid + ".scope", container(RuntimeCRIO)},
		{"systemd/cri-o/hybrid", "/sys/fs/cgroup/unified" + systemdBurstable + "/crio-" + cid + ".scope", container(RuntimeCRIO)},
		{"systemd/cri-o/crun-subcgroup", systemdBurstable + "/crio-" + cid + ".scope/container", container(RuntimeCRIO)},
		{"systemd/cri-o/conmon", systemdBurstable + "/crio-conmon-" + cid + ".scope", monitor},
		{"systemd/docker/v2", systemdBurstable + "/docker-" + cid + ".scope", container(RuntimeDocker)},
		{"systemd/docker/v1", "/sys/fs/cgroup/cpu,cpuacct/kubepods.slice/kubepods-pod" + uidSystem + ".slice/docker-" + cid + ".scope", container(RuntimeDocker)},
		{"systemd/docker/hybrid", "/sys/fs/cgroup/unified" + systemdBurstable + "/docker-" + cid + ".scope", container(RuntimeDocker)},

		// Nodes in containers and other cgroup roots.
		{"kind/v2", "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + uidSystem + ".slice/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"kind/seen-from-host", "/system.slice/docker-" + nodeID + ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + uidSystem + ".slice/cri-containerd-" + cid + ".scope", container(RuntimeContainerd)},
		{"minikube/docker-driver", "/docker/" + nodeID + systemdBurstable + "/crio-" + cid + ".scope", container(RuntimeCRIO)},
		{"cgroup-root", "/k8s/kubepods/burstable/pod" + uid + "/" + cid, container("")},
		{"nested-cluster-outer-pod-wins", "/kubepods/burstable/pod" + uid + "/" + cid + "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod0b8c6e1a_0000_4000_8000_000000000000.slice/cri-containerd-" + nodeID + ".scope", container("")},
		{"container-own-subcgroup", "/kubepods/pod" + uid + "/" + cid + "/init.scope", container("")},

		// Pod-level cgroups.
		{"pod/cgroupfs", "/kubepods/besteffort/pod" + uid, pod},
		{"pod/cgroupfs-trailing-slash", "/kubepods/besteffort/pod" + uid + "/", pod},
		{"pod/systemd", systemdBurstable, pod},
		{"pod/systemd-v1", "/sys/fs/cgroup/memory" + systemdBurstable, pod},
		{"pod/unknown-child", systemdBurstable + "/init.scope", pod},
		{"pod/short-id", "/kubepods/pod" + uid + "/34dc0b5e", pod},
		{"pod/uppercase", "/kubepods/pod" + strings.ToUpper(uid), pod},
		{"static-pod/cgroupfs", "/kubepods/burstable/pod" + staticUID + "/" + cid, CgroupRef{Kind: ContainerCgroup, PodUID: staticUID, ContainerID: cid}},
		{"static-pod/systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + staticUID + ".slice", CgroupRef{Kind: PodCgroup, PodUID: staticUID}},

		// Not pods.
		{"root", "/", CgroupRef{}},
		{"empty", "", CgroupRef{}},
		{"kubepods", "/kubepods", CgroupRef{}},
		{"qos", "/kubepods/burstable", CgroupRef{}},
		{"qos-slice", "/kubepods.slice/kubepods-besteffort.slice", CgroupRef{}},
		{"system-service", "/system.slice/containerd.service", CgroupRef{}},
		{"docker-container", "/system.slice/docker-" + cid + ".scope", CgroupRef{}},
		{"k3s-agent", "/k3s", CgroupRef{}},
		{"kubelet", "/kubelet.slice/kubelet.service", CgroupRef{}},
		{"user-session", "/user.slice/user-1000.slice/session-2.scope", CgroupRef{}},
		{"pod-outside-kubepods", "/system.slice/pod" + uid + "/" + cid, CgroupRef{}},
		{"slice-outside-kubepods", "/machine.slice/machine-pod" + uidSystem + ".slice", CgroupRef{}},
		{"bad-uid", "/kubepods/burstable/pod74c13223-5a00-11e9-b385-42010a80018z/" + cid, CgroupRef{}},
		{"uid-dash-misplaced", "/kubepods/burstable/pod74c132235-a00-11e9-b385-42010a80018d", CgroupRef{}},
		{"unknown-cgroup-id", "unknown_cgroup_id:4026531835", CgroupRef{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseCgroupPath(tt.path)
			if ok != (tt.want.Kind != NotPod) || got != tt.want {
				t.Errorf("ParseCgroupPath(%q) = %+v, %v; want %+v", tt.path, got, ok, tt.want)
			}
		})
	}
}

func FuzzParseCgroupPath(f *testing.F) {
	for _, s := range []string{
		"/kubepods/besteffort/pod" + uid + "/" + cid,
		"/kubepods.slice/kubepods-pod" + uidSystem + ".slice/crio-conmon-" + cid + ".scope",
		"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + uidSystem + ".slice/cri-containerd-" + cid + ".scope",
		"/kubepods/pod" + staticUID + "/docker-" + cid,
		"/", "", "//kubepods//pod",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		ref, ok := ParseCgroupPath(path)
		if !ok {
			if ref != (CgroupRef{}) {
				t.Fatalf("not a pod but %+v", ref)
			}
			return
		}
		if !isUUID(ref.PodUID) && !(len(ref.PodUID) == 32 && isLowerHex(ref.PodUID)) {
			t.Fatalf("pod UID %q is neither a UUID nor a static pod's hash", ref.PodUID)
		}
		switch ref.Kind {
		case PodCgroup:
			if ref.ContainerID != "" || ref.Runtime != "" {
				t.Fatalf("pod-level cgroup with a container: %+v", ref)
			}
		case ContainerCgroup, MonitorCgroup:
			if len(ref.ContainerID) != 64 || !isLowerHex(ref.ContainerID) {
				t.Fatalf("container id %q is not 64 hex digits", ref.ContainerID)
			}
		default:
			t.Fatalf("kind %v in a parse result", ref.Kind)
		}
	})
}

// isUUID reports whether s is a lowercase UUID, 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isLowerHex(s[i : i+1]) {
				return false
			}
		}
	}
	return true
}

func isLowerHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}
