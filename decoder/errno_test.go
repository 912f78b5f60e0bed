package decoder

import (
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestErrno(t *testing.T) {
	runCases(t, testEnv(t), one("errno"), []decodeCase{
		{name: "ENOENT", in: []byte("2"), want: "ENOENT"},
		{name: "EAGAIN", in: []byte("11"), want: "EAGAIN"},
		{name: "zero has no name", in: []byte("0"), want: "unknown:0"},
		{name: "out of range", in: []byte("9999"), want: "unknown:9999"},
		{name: "huge", in: []byte("18446744073709551615"), want: "unknown:18446744073709551615"},
		{name: "negative", in: []byte("-2"), wantErr: `errno: want a decimal number, got "-2"`},
		{name: "empty", in: nil, wantErr: "want a decimal number"},
		{name: "raw bytes", in: []byte{2, 0, 0, 0}, wantErr: "want a decimal number"},
	})
	runCases(t, testEnv(t), withUint(config.Decoder{Name: "errno"}), []decodeCase{
		{name: "through uint", in: u32(13), want: "EACCES"},
	})
}
