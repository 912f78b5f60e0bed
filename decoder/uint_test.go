package decoder

import "testing"

func TestUint(t *testing.T) {
	runCases(t, testEnv(t), one("uint"), []decodeCase{
		{name: "u8", in: []byte{0xff}, want: "255"},
		{name: "u16", in: u16(0x1234), want: "4660"},
		{name: "u32", in: u32(42), want: "42"},
		{name: "u64 max", in: u64(^uint64(0)), want: "18446744073709551615"},
		{name: "u64 zero", in: u64(0), want: "0"},
		{name: "little-endian layout", in: []byte{0x01, 0x02, 0, 0}, want: "513"},
		{name: "3 bytes", in: []byte{1, 2, 3}, wantErr: "uint: want 1, 2, 4 or 8 bytes, got 3"},
		{name: "16 bytes", in: make([]byte, 16), wantErr: "got 16"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}
