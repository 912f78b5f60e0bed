package decoder

import "testing"

func TestHex(t *testing.T) {
	runCases(t, testEnv(t), one("hex"), []decodeCase{
		{name: "bytes in order", in: []byte{0xde, 0xad, 0xbe, 0xef}, want: "deadbeef"},
		{name: "leading zero", in: []byte{0x01}, want: "01"},
		{name: "non-UTF-8 input", in: []byte{0xff, 0xfe}, want: "fffe"},
		{name: "empty", in: nil, want: ""},
	})
}
