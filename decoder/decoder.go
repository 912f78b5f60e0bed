package decoder

import (
	"errors"

	"github.com/ebpfmon/ebpfmon/config"
)

// Decoder turns one label's input into its output. The first decoder of a
// chain gets the raw key field (little-endian kernel bytes); each later one
// gets the previous decoder's output.
type Decoder interface {
	Decode(in []byte) ([]byte, error)
}

// ErrSkipLabelSet is returned when a decoder asks for the whole label set
// (the map entry) to be left out of the metric, e.g. a regexp that matched
// nothing. It is not counted as a decoder error.
var ErrSkipLabelSet = errors.New("label set skipped by decoder")

// keep the import used until the registry lands.
var _ = config.Decoder{}
