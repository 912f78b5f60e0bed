package decoder

import "testing"

func TestDname(t *testing.T) {
	runCases(t, testEnv(t), one("dname"), []decodeCase{
		{name: "empty is the root", in: nil, want: "."},
		{name: "root label only", in: []byte("\x00"), want: "."},
		{name: "one label", in: []byte("\x03com"), want: "com"},
		{name: "two labels", in: []byte("\x07example\x03com"), want: "example.com"},
		{name: "stops at root label in a padded field", in: []byte("\x07example\x03com\x00\x00\x00\x05junk!"), want: "example.com"},
		{name: "label past the end returns input", in: []byte("\x05com"), want: "\x05com"},
		{name: "invalid UTF-8 in a label", in: []byte("\x03a\xffb"), want: "a\uFFFDb"},
		{name: "dots inside labels kept", in: []byte("\x03a.b\x01c"), want: "a.b.c"},
	})
}
