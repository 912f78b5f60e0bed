package series

import (
	"fmt"

	"github.com/ebpfmon/ebpfmon/decoder"
)

// A counter without labels is one global count, as ebpf_exporter exports
// it: the value at key 0 of a one-entry array (or per-CPU array, whose
// values are summed), with a u32 key. Larger key spaces need labels saying
// what each key means, so checking the config against its object refuses
// any other map.

// globalKey is the label decoder of a counter without labels: key 0 has
// no labels; any other key (none, in a one-entry array) is skipped.
type globalKey struct{}

// Decode implements labelDecoder.
func (globalKey) Decode(key []byte, out []string) ([]string, error) {
	if len(key) != 4 || key[0]|key[1]|key[2]|key[3] != 0 {
		return out, fmt.Errorf("key %x of a counter without labels, want u32 0: %w", key, decoder.ErrSkipLabelSet)
	}
	return out, nil
}
