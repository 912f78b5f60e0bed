package decoder

import (
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestStaticMap(t *testing.T) {
	ops := map[string]string{"1": "read", "2": "write"}
	t.Run("strict", func(t *testing.T) {
		runCases(t, testEnv(t), withUint(config.Decoder{Name: "static_map", StaticMap: ops}), []decodeCase{
			{name: "known", in: []byte{1}, want: "read"},
			{name: "other known", in: []byte{2}, want: "write"},
			{name: "unknown", in: []byte{3}, want: "unknown:3"},
		})
	})
	t.Run("allow_unknown", func(t *testing.T) {
		runCases(t, testEnv(t), withUint(config.Decoder{Name: "static_map", StaticMap: ops, AllowUnknown: true}), []decodeCase{
			{name: "known", in: []byte{2}, want: "write"},
			{name: "unknown passes through", in: []byte{3}, want: "3"},
		})
	})
	t.Run("text input", func(t *testing.T) {
		conf := []config.Decoder{{Name: "string"}, {Name: "static_map", StaticMap: map[string]string{"": "empty", "0x1": "one"}}}
		runCases(t, testEnv(t), conf, []decodeCase{
			{name: "empty key", in: []byte("\x00"), want: "empty"},
			{name: "hex-looking key", in: []byte("0x1"), want: "one"},
			{name: "invalid UTF-8 unknown", in: []byte("\xff"), want: "unknown:\uFFFD"},
		})
	})
}
