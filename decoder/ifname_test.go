package decoder

import "testing"

func TestIfname(t *testing.T) {
	runCases(t, testEnv(t), one("ifname"), []decodeCase{
		{name: "loopback is index 1 in every namespace", in: u32(1), want: "lo"},
		{name: "cached", in: u32(1), want: "lo"},
		{name: "zero", in: u32(0), want: "unknown:0"},
		{name: "unused index", in: u32(0x7ffffff0), want: "unknown:2147483632"},
		{name: "above int32", in: u32(0xffffffff), want: "unknown:4294967295"},
		{name: "2 bytes", in: u16(1), wantErr: "ifname: want 4 bytes, got 2"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}
