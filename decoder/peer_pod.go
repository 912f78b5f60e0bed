package decoder

import (
	"fmt"
	"net/netip"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/kube"
)

// peerPodDecoder (YAML "peer_pod") takes an IPv4 or IPv6 address as text,
// the output of inet_ip, and outputs "namespace/pod" of the pod with that
// address on this node's informer, or "namespace/service" for a ClusterIP.
// An address of no known pod or service (outside the cluster, a node, a
// hostNetwork pod, a pod on another node, or any address without API
// access) gives the unknown_peer option: "external" (the default), the
// address unchanged (ip), or the series left out (skip,
// [ErrSkipLabelSet]). A deleted pod's address resolves for the grace
// period, unless a running pod has taken it.
type peerPodDecoder struct {
	resolver *kube.Resolver
	unknown  string
}

func newPeerPod(conf config.Decoder, env *Env) (Decoder, error) {
	unknown, err := option("unknown_peer", conf.UnknownPeer, config.PeerExternal, config.PeerIP, config.PeerSkip)
	if err != nil {
		return nil, err
	}
	r, err := env.Kube()
	if err != nil {
		return nil, err
	}
	return peerPodDecoder{resolver: r, unknown: unknown}, nil
}

func (d peerPodDecoder) Decode(in []byte) ([]byte, error) {
	ip, err := netip.ParseAddr(string(in))
	if err != nil {
		return nil, fmt.Errorf("want an IP address as text (the output of inet_ip), got %q", in)
	}
	if name, ok := d.resolver.Peer(ip); ok {
		return []byte(name), nil
	}
	switch d.unknown {
	case config.PeerIP:
		return in, nil
	case config.PeerSkip:
		return nil, ErrSkipLabelSet
	}
	return []byte(config.PeerExternal), nil
}
