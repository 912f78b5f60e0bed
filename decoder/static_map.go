package decoder

import (
	"errors"
	"fmt"

	"github.com/ebpfmon/ebpfmon/config"
)

// staticMapDecoder (YAML "static_map") takes text, usually from uint (raw
// key bytes are refused when the label set is built), and
// outputs its value in the static_map option: "1" -> "read". Text missing
// from the map gives "unknown:TEXT", or the text unchanged with
// allow_unknown: true, as in ebpf_exporter.
type staticMapDecoder struct {
	values       map[string]string
	allowUnknown bool
}

func newStaticMap(conf config.Decoder, _ *Env) (Decoder, error) {
	if len(conf.StaticMap) == 0 {
		return nil, errors.New("static_map option is empty")
	}
	if len(conf.StaticMap) > config.MaxStaticMapEntries {
		return nil, fmt.Errorf("static_map option has %d entries, at most %d", len(conf.StaticMap), config.MaxStaticMapEntries)
	}
	return staticMapDecoder{values: conf.StaticMap, allowUnknown: conf.AllowUnknown}, nil
}

func (d staticMapDecoder) Decode(in []byte) ([]byte, error) {
	if v, ok := d.values[string(in)]; ok {
		return []byte(v), nil
	}
	if d.allowUnknown {
		return in, nil
	}
	return append([]byte("unknown:"), in...), nil
}
