package decoder

import (
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// newPodNamespace builds the "pod_namespace" decoder: a cgroup path in, the
// namespace of its pod out; "" when the cache does not know the pod (no
// API access: the path holds no namespace). It takes the not_pod option;
// see [podDecoder].
func newPodNamespace(conf config.Decoder, env *Env) (Decoder, error) {
	return newPodField(conf, env, podNamespace)
}

func podNamespace(info kube.PodInfo) string { return info.Meta.Namespace }
