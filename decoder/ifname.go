package decoder

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ebpfmon/ebpfmon/config"
)

const (
	// ifnameTTL is how long a found interface name is trusted before it is
	// looked up again, so that renames are followed and deleted
	// interfaces (whose index the kernel may give to a new one) dropped.
	ifnameTTL = 30 * time.Second
	// ifnameMaxCache bounds the names cached; a full cache is emptied.
	ifnameMaxCache = 4096
)

// ifnameDecoder (YAML "ifname") takes a raw 4-byte network interface index
// and outputs the interface name in the exporter's network namespace:
// 1 -> "lo". An index with no interface (one deleted since, or from another
// namespace) gives "unknown:INDEX", as in ebpf_exporter. Found names are
// cached for 30 s, at most 4096 of them: unlike ebpf_exporter, whose cache
// keeps a name forever, a renamed interface gets its new name and a deleted
// one becomes unknown within that time.
type ifnameDecoder struct {
	now    func() time.Time
	lookup func(index int) (string, error)

	mu    sync.Mutex
	names map[uint32]ifnameEntry
}

// ifnameEntry is a cached name and when it was looked up.
type ifnameEntry struct {
	name string
	at   time.Time
}

func newIfname(config.Decoder, *Env) (Decoder, error) {
	return &ifnameDecoder{now: time.Now, lookup: interfaceName, names: map[uint32]ifnameEntry{}}, nil
}

// interfaceName looks an interface index up in the calling thread's
// network namespace.
func interfaceName(index int) (string, error) {
	iface, err := net.InterfaceByIndex(index)
	if err != nil {
		return "", err
	}
	return iface.Name, nil
}

func (d *ifnameDecoder) Decode(in []byte) ([]byte, error) {
	if len(in) != 4 {
		return nil, fmt.Errorf("want 4 bytes, got %d", len(in))
	}
	index := binary.NativeEndian.Uint32(in)
	if index == 0 || index > 1<<31-1 {
		return fmt.Appendf(nil, "unknown:%d", index), nil
	}
	now := d.now()
	d.mu.Lock()
	e, ok := d.names[index]
	d.mu.Unlock()
	if ok && now.Sub(e.at) < ifnameTTL {
		return []byte(e.name), nil
	}
	name, err := d.lookup(int(index))
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil { // net gives no distinct error for a missing index
		delete(d.names, index)
		return fmt.Appendf(nil, "unknown:%d", index), nil
	}
	if len(d.names) >= ifnameMaxCache {
		clear(d.names)
	}
	d.names[index] = ifnameEntry{name: name, at: now}
	return []byte(name), nil
}
