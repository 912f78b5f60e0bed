package decoder

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// podDecoder (YAML "pod") takes a cgroup path, the output of the cgroup
// decoder (relative to the cgroup2 root, or with the mount point in
// front; any runtime, cgroup driver and cgroup version kube knows), and
// outputs the name of the pod whose cgroup it is, or is below. The
// pod_namespace and container decoders are the same with another field.
//
// A pod the cache does not know (no API access, the informer not synced
// yet, or deleted longer ago than the grace period) gives the pod UID from
// the path; its namespace is "" and its container the container id from
// the path. A cgroup outside every pod (a system service, the kubepods
// parents, "unknown_cgroup_id:N") gives the not_pod option: "" (empty,
// the default), the input unchanged (path), or the series left out (skip,
// [ErrSkipLabelSet]).
//
// Building the first pod, pod_namespace, container or peer_pod decoder
// makes the Env's [kube.Resolver] (see [Env.Kube]).
type podDecoder struct {
	resolver *kube.Resolver
	field    func(kube.PodInfo) string
	notPod   string
}

func newPod(conf config.Decoder, env *Env) (Decoder, error) {
	return newPodField(conf, env, podName)
}

// podName is the pod's name, or its UID when the cache does not know it.
func podName(info kube.PodInfo) string {
	if info.Known {
		return info.Meta.Name
	}
	return info.Ref.PodUID
}

// newPodField builds a decoder outputting field of the pod.
func newPodField(conf config.Decoder, env *Env, field func(kube.PodInfo) string) (Decoder, error) {
	notPod, err := option("not_pod", conf.NotPod, config.NotPodEmpty, config.NotPodPath, config.NotPodSkip)
	if err != nil {
		return nil, err
	}
	r, err := env.Kube()
	if err != nil {
		return nil, err
	}
	return podDecoder{resolver: r, field: field, notPod: notPod}, nil
}

func (d podDecoder) Decode(in []byte) ([]byte, error) {
	if info, ok := d.resolver.Pod(string(in)); ok {
		return []byte(d.field(info)), nil
	}
	switch d.notPod {
	case config.NotPodPath:
		return in, nil
	case config.NotPodSkip:
		return nil, ErrSkipLabelSet
	}
	return nil, nil
}

// option returns a decoder option's value v, or the first of allowed (the
// default) when v is empty; a value not allowed is an error naming the
// option.
func option(name, v string, allowed ...string) (string, error) {
	switch {
	case v == "":
		return allowed[0], nil
	case slices.Contains(allowed, v):
		return v, nil
	}
	return "", fmt.Errorf("%s: unknown %q, want %s", name, v, strings.Join(allowed, "|"))
}
