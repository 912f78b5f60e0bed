package attach

import (
	"fmt"
	"io"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// xdp attaches to xdp/IFNAME; the kernel picks native mode where the driver
// has it and generic (skb) mode otherwise.
func xdp(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	iface, err := net.InterfaceByName(target)
	if err != nil {
		return nil, fmt.Errorf("xdp interface %q: %w: %w (see `ip link`)", target, ErrHookMissing, err)
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: iface.Index})
	if err != nil {
		return nil, hookError("xdp", target, err, "XDP links need Linux 5.9+")
	}
	return l, nil
}
