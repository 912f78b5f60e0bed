package decoder

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ebpfmon/ebpfmon/cgroup"
	"github.com/ebpfmon/ebpfmon/config"
)

// cgroupDecoder (YAML "cgroup") takes a cgroup id as decimal text, the
// output of uint on bpf_get_current_cgroup_id(), and outputs the cgroup's
// path relative to the cgroup2 mount: "/system.slice/foo.service", "/" for
// the root. With [WithCgroupMountPaths] it outputs ebpf_exporter's form
// instead, the mount point followed by that path:
// "/sys/fs/cgroup/system.slice/foo.service", "/sys/fs/cgroup" for the root.
// A removed cgroup's id keeps its last path for the Env's cgroup grace
// period ([WithCgroupGrace]), so a deleted pod's last counts keep their
// labels. An id unknown even after a (rate-limited) rescan gives
// "unknown_cgroup_id:ID", as in ebpf_exporter. Building it locates the
// cgroup mount: none is an error then.
type cgroupDecoder struct {
	resolver *cgroup.Resolver
	prefix   string // the mount point with WithCgroupMountPaths, else ""
}

func newCgroup(_ config.Decoder, env *Env) (Decoder, error) {
	resolver, err := env.Cgroups()
	if err != nil {
		return nil, err
	}
	d := cgroupDecoder{resolver: resolver}
	if env.cgroupMount {
		d.prefix = filepath.Clean(resolver.Root())
	}
	return d, nil
}

func (d cgroupDecoder) Decode(in []byte) ([]byte, error) {
	id, err := parseText(in)
	if err != nil {
		return nil, err
	}
	path, err := d.resolver.Path(id)
	if errors.Is(err, cgroup.ErrNotFound) {
		return fmt.Appendf(nil, "unknown_cgroup_id:%d", id), nil
	}
	if err != nil {
		return nil, err
	}
	if d.prefix != "" {
		return []byte(mountPath(d.prefix, path)), nil
	}
	return []byte(path), nil
}

// mountPath puts the mount point in front of a path relative to it: the
// mount point itself for "/".
func mountPath(mount, rel string) string {
	if rel == "/" {
		return mount
	}
	return strings.TrimSuffix(mount, "/") + rel
}
