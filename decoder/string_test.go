package decoder

import "testing"

func TestString(t *testing.T) {
	runCases(t, testEnv(t), one("string"), []decodeCase{
		{name: "NUL terminated", in: []byte("bash\x00\x00junk"), want: "bash"},
		{name: "no NUL", in: []byte("systemd-journal"), want: "systemd-journal"},
		{name: "leading NUL", in: []byte("\x00abc"), want: ""},
		{name: "empty", in: nil, want: ""},
		{name: "UTF-8 kept", in: []byte("café\x00"), want: "café"},
		{name: "invalid UTF-8 replaced", in: []byte("a\xff\xfeb\x00"), want: "a\uFFFDb"},
		{name: "truncated multibyte at end of field", in: []byte("ab\xc3"), want: "ab\uFFFD"},
	})
}
