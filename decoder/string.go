package decoder

import (
	"bytes"

	"github.com/ebpfmon/ebpfmon/config"
)

// stringDecoder (YAML "string") takes a raw C string buffer and outputs the
// bytes before the first NUL, or all of them if there is none:
// "bash\x00\x00..." -> "bash".
type stringDecoder struct{}

func newString(config.Decoder, *Env) (Decoder, error) { return stringDecoder{}, nil }

func (stringDecoder) Decode(in []byte) ([]byte, error) {
	if i := bytes.IndexByte(in, 0); i >= 0 {
		return in[:i], nil
	}
	return in, nil
}
