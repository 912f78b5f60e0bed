package attach

import (
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/cgroup"
)

// cgroupSKBTypes are the directions of cgroup_skb/DIRECTION sections, as
// libbpf names them.
var cgroupSKBTypes = map[string]ebpf.AttachType{
	"ingress": ebpf.AttachCGroupInetIngress,
	"egress":  ebpf.AttachCGroupInetEgress,
}

func checkCgroupSKB(target string) error {
	if _, ok := cgroupSKBTypes[target]; !ok {
		return fmt.Errorf("cgroup_skb direction %q: want cgroup_skb/ingress or cgroup_skb/egress", target)
	}
	return nil
}

// cgroupSKB attaches to cgroup_skb/ingress or cgroup_skb/egress of the
// cgroup2 root (found as the cgroup package finds it: /sys/fs/cgroup, or
// /sys/fs/cgroup/unified on hybrid hosts), so that the program sees the
// packets of every socket of every cgroup below it. It is a BPF link
// (Linux 5.7+), or a multi-attach program on older kernels, so other
// programs on the root (systemd's IP accounting, say) keep running. The
// program's return value is the verdict: 1 lets the packet through.
func cgroupSKB(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	typ, ok := cgroupSKBTypes[target]
	if !ok {
		return nil, checkCgroupSKB(target)
	}
	root, err := cgroup.FindRoot(cgroup.DefaultMountInfo)
	if err == nil && root.Version != 2 {
		err = errors.New("only cgroup v1 is mounted")
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup_skb %q: %w: %w (cgroup_skb programs attach to the cgroup2 root: mount it, e.g. mount -t cgroup2 none /sys/fs/cgroup/unified)", target, ErrHookMissing, err)
	}
	l, err := link.AttachCgroup(link.CgroupOptions{Path: root.Path, Attach: typ, Program: prog})
	if errors.Is(err, unix.EPERM) {
		return nil, fmt.Errorf("cgroup_skb %q: cgroup %s: %w (attaching cgroup_skb needs cap_net_admin, or root)", target, root.Path, err)
	}
	if err != nil {
		return nil, hookError("cgroup_skb", target, fmt.Errorf("cgroup %s: %w", root.Path, err), "cgroup_skb needs CONFIG_CGROUP_BPF")
	}
	return l, nil
}
