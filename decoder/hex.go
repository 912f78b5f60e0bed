package decoder

import (
	"encoding/hex"

	"github.com/ebpfmon/ebpfmon/config"
)

// hexDecoder (YAML "hex") takes raw bytes and outputs them as lowercase hex
// text, in order: {0xde, 0xad} -> "dead". Empty input gives "".
type hexDecoder struct{}

func newHex(config.Decoder, *Env) (Decoder, error) { return hexDecoder{}, nil }

func (hexDecoder) Decode(in []byte) ([]byte, error) {
	return hex.AppendEncode(nil, in), nil
}
