package decoder

import (
	"fmt"
	"net/netip"

	"github.com/ebpfmon/ebpfmon/config"
)

// inetIPDecoder (YAML "inet_ip") takes a raw address in network byte order,
// 4 bytes for IPv4 or 16 for IPv6, and outputs its text form: "10.0.0.1",
// "2001:db8::1". An IPv4-mapped IPv6 address prints as IPv4, like Go's
// net.IP that ebpf_exporter uses. Other sizes are an error.
type inetIPDecoder struct{}

func newInetIP(config.Decoder, *Env) (Decoder, error) { return inetIPDecoder{}, nil }

func (inetIPDecoder) Decode(in []byte) ([]byte, error) {
	switch len(in) {
	case 4:
		return netip.AddrFrom4([4]byte(in)).AppendTo(nil), nil
	case 16:
		return netip.AddrFrom16([16]byte(in)).Unmap().AppendTo(nil), nil
	}
	return nil, fmt.Errorf("want 4 or 16 bytes, got %d", len(in))
}
