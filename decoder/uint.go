package decoder

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/ebpfmon/ebpfmon/config"
)

// uintDecoder (YAML "uint") takes a raw unsigned integer of 1, 2, 4 or 8
// bytes in host byte order (little-endian on amd64 and arm64) and outputs it
// as decimal text: {0x2a, 0, 0, 0} -> "42". Other sizes are an error.
type uintDecoder struct{}

func newUint(config.Decoder, *Env) (Decoder, error) { return uintDecoder{}, nil }

func (uintDecoder) Decode(in []byte) ([]byte, error) {
	v, err := rawUint(in)
	if err != nil {
		return nil, err
	}
	return strconv.AppendUint(nil, v, 10), nil
}

// rawUint reads a host byte order unsigned integer of 1, 2, 4 or 8 bytes.
func rawUint(in []byte) (uint64, error) {
	switch len(in) {
	case 1:
		return uint64(in[0]), nil
	case 2:
		return uint64(binary.NativeEndian.Uint16(in)), nil
	case 4:
		return uint64(binary.NativeEndian.Uint32(in)), nil
	case 8:
		return binary.NativeEndian.Uint64(in), nil
	}
	return 0, fmt.Errorf("want 1, 2, 4 or 8 bytes, got %d", len(in))
}
