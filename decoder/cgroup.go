package decoder

import (
	"errors"
	"fmt"

	"github.com/ebpfmon/ebpfmon/cgroup"
	"github.com/ebpfmon/ebpfmon/config"
)

// cgroupDecoder (YAML "cgroup") takes a cgroup id as decimal text, the
// output of uint on bpf_get_current_cgroup_id(), and outputs the cgroup's
// path relative to the cgroup2 mount: "/system.slice/foo.service", "/" for
// the root. An id unknown even after a (rate-limited) rescan gives
// "unknown_cgroup_id:ID", as in ebpf_exporter. Note that ebpf_exporter
// outputs absolute paths under /sys/fs/cgroup instead. Building it locates
// the cgroup mount: none is an error then.
type cgroupDecoder struct {
	resolver *cgroup.Resolver
}

func newCgroup(_ config.Decoder, env *Env) (Decoder, error) {
	resolver, err := env.Cgroups()
	if err != nil {
		return nil, err
	}
	return cgroupDecoder{resolver: resolver}, nil
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
	return []byte(path), nil
}
