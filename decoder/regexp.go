package decoder

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/ebpfmon/ebpfmon/config"
)

// regexpDecoder (YAML "regexp") takes text and tries the regexps option in
// order. The first that matches decides the output: the input unchanged,
// as in ebpf_exporter, or, if the regexp has a capture group, what its
// first group matched, an ebpfmon extension ("^(kswapd).*$" turns "kswapd0"
// into "kswapd"; ebpf_exporter would output "kswapd0"). When none matches
// the label set is skipped ([ErrSkipLabelSet]). Regexps use Go syntax and
// are compiled at load time.
type regexpDecoder struct {
	res []*regexp.Regexp
}

func newRegexp(conf config.Decoder, _ *Env) (Decoder, error) {
	if len(conf.Regexps) == 0 {
		return nil, errors.New("regexps option is empty")
	}
	d := regexpDecoder{res: make([]*regexp.Regexp, 0, len(conf.Regexps))}
	for i, expr := range conf.Regexps {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("regexps[%d]: %w", i, err)
		}
		d.res = append(d.res, re)
	}
	return d, nil
}

func (d regexpDecoder) Decode(in []byte) ([]byte, error) {
	for _, re := range d.res {
		m := re.FindSubmatch(in)
		switch {
		case m == nil:
			continue
		case len(m) > 1:
			return m[1], nil
		default:
			return in, nil
		}
	}
	return nil, ErrSkipLabelSet
}
