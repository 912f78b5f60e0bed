package decoder

import "testing"

func TestInetIP(t *testing.T) {
	runCases(t, testEnv(t), one("inet_ip"), []decodeCase{
		{name: "IPv4", in: []byte{10, 0, 0, 1}, want: "10.0.0.1"},
		{name: "IPv4 zero", in: []byte{0, 0, 0, 0}, want: "0.0.0.0"},
		{name: "IPv6", in: []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, want: "2001:db8::1"},
		{name: "IPv6 loopback", in: append(make([]byte, 15), 1), want: "::1"},
		{name: "IPv4-mapped prints as IPv4", in: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7}, want: "192.0.2.7"},
		{name: "5 bytes", in: []byte{1, 2, 3, 4, 5}, wantErr: "inet_ip: want 4 or 16 bytes, got 5"},
		{name: "empty", in: nil, wantErr: "got 0"},
	})
}
