package decoder

import (
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestRegexp(t *testing.T) {
	env := testEnv(t)
	chain := func(res ...string) []config.Decoder {
		return []config.Decoder{{Name: "string"}, {Name: "regexp", Regexps: res}}
	}
	t.Run("capture groups, an ebpfmon extension", func(t *testing.T) {
		runCases(t, env, chain(`^(kswapd).*$`, `^(systemd.*)$`, `^.*$`), []decodeCase{
			{name: "first group", in: []byte("kswapd0\x00"), want: "kswapd"},
			{name: "group is whole match", in: []byte("systemd-journal\x00"), want: "systemd-journal"},
			{name: "catch-all", in: []byte("bash\x00"), want: "bash"},
			{name: "empty input matches catch-all", in: []byte("\x00"), want: ""},
		})
	})
	t.Run("filter", func(t *testing.T) {
		runCases(t, env, chain(`^systemd-journal$`, `^syslog-ng$`), []decodeCase{
			{name: "kept", in: []byte("syslog-ng\x00"), want: "syslog-ng"},
			{name: "skipped", in: []byte("bash\x00"), wantSkip: true},
			{name: "empty skipped", in: nil, wantSkip: true},
		})
	})
	t.Run("output", func(t *testing.T) {
		runCases(t, env, chain(`sys`), []decodeCase{
			{name: "unanchored match keeps the input, as in ebpf_exporter", in: []byte("xsysy"), want: "xsysy"},
		})
		runCases(t, env, chain(`^a(b)?(c)`), []decodeCase{
			{name: "first of several groups", in: []byte("abc"), want: "b"},
			{name: "first group did not participate", in: []byte("ac"), want: ""},
		})
	})
	t.Run("non-UTF-8 input", func(t *testing.T) {
		runCases(t, env, chain(`^(.)`), []decodeCase{
			{name: "invalid byte matches as one rune", in: []byte("\xffabc"), want: "\uFFFD"},
		})
	})
}
