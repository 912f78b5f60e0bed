package decoder

import (
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// newContainer builds the "container" decoder: a cgroup path in, the name
// of the container out, as in the pod's spec. A container the cache cannot
// name (no API access, a container not yet in the pod's status, the pod's
// sandbox) gives the container id from the path; a pod-level cgroup and
// CRI-O's conmon give "". It takes the not_pod option; see [podDecoder].
func newContainer(conf config.Decoder, env *Env) (Decoder, error) {
	return newPodField(conf, env, containerName)
}

func containerName(info kube.PodInfo) string {
	if info.Container != "" {
		return info.Container
	}
	if info.Ref.Kind == kube.ContainerCgroup {
		return info.Ref.ContainerID
	}
	return ""
}
