package decoder

import (
	"github.com/ebpfmon/ebpfmon/config"
)

// dnameDecoder (YAML "dname") takes a raw DNS name in wire format (length
// prefixed labels, as in a DNS query) and outputs it dotted:
// "\x07example\x03com\x00" -> "example.com". The name ends at the zero
// length root label or at the end of the field; the root name alone, or an
// empty field, gives ".". A label running past the field returns the input
// unchanged, as in ebpf_exporter.
type dnameDecoder struct{}

func newDname(config.Decoder, *Env) (Decoder, error) { return dnameDecoder{}, nil }

func (dnameDecoder) Decode(in []byte) ([]byte, error) {
	var out []byte
	for off := 0; off < len(in); {
		n := int(in[off])
		off++
		if n == 0 {
			break
		}
		if off+n > len(in) {
			return in, nil
		}
		if len(out) > 0 {
			out = append(out, '.')
		}
		out = append(out, in[off:off+n]...)
		off += n
	}
	if len(out) == 0 {
		return []byte("."), nil
	}
	return out, nil
}
