package decoder

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"

	"github.com/ebpfmon/ebpfmon/config"
)

// ifnameDecoder (YAML "ifname") takes a raw 4-byte network interface index
// and outputs the interface name in the exporter's network namespace:
// 1 -> "lo". An index with no interface (one deleted since, or from another
// namespace) gives "unknown:INDEX", as in ebpf_exporter. Found names are
// cached, as in ebpf_exporter, so a renamed interface keeps its old name.
type ifnameDecoder struct {
	mu    sync.Mutex
	names map[uint32]string
}

func newIfname(config.Decoder, *Env) (Decoder, error) {
	return &ifnameDecoder{names: map[uint32]string{}}, nil
}

func (d *ifnameDecoder) Decode(in []byte) ([]byte, error) {
	if len(in) != 4 {
		return nil, fmt.Errorf("want 4 bytes, got %d", len(in))
	}
	index := binary.NativeEndian.Uint32(in)
	d.mu.Lock()
	name, ok := d.names[index]
	d.mu.Unlock()
	if ok {
		return []byte(name), nil
	}
	if index == 0 || index > 1<<31-1 {
		return fmt.Appendf(nil, "unknown:%d", index), nil
	}
	iface, err := net.InterfaceByIndex(int(index))
	if err != nil { // net gives no distinct error for a missing index
		return fmt.Appendf(nil, "unknown:%d", index), nil
	}
	d.mu.Lock()
	d.names[index] = iface.Name
	d.mu.Unlock()
	return []byte(iface.Name), nil
}
