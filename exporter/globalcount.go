package exporter

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/decoder"
)

// A counter without labels is one global count, as ebpf_exporter exports
// it: the value at key 0 of a one-entry array (or per-CPU array, whose
// values are summed), with a u32 key. Larger key spaces need labels saying
// what each key means, so any other map is refused.

// checkGlobalCount checks the map of a counter without labels.
func checkGlobalCount(spec *ebpf.CollectionSpec, path, name string) error {
	m, ok := spec.Maps[name]
	if !ok {
		return fmt.Errorf("%s: no map named %q in the object (maps: %s)", path, name, mapNames(spec))
	}
	var errs []error
	if m.ValueSize != 8 {
		errs = append(errs, fmt.Errorf("%s: map value is %d bytes, want 8 (a u64 count)", path, m.ValueSize))
	}
	if (m.Type != ebpf.Array && m.Type != ebpf.PerCPUArray) || m.KeySize != 4 || m.MaxEntries != 1 {
		errs = append(errs, fmt.Errorf("%s.labels: empty, so the map must hold one global count: an Array or PerCPUArray with a u32 key and max_entries 1, "+
			"but %s is a %s with %d-byte keys and max_entries %d: add labels describing the key", path, name, m.Type, m.KeySize, m.MaxEntries))
	}
	return errors.Join(errs...)
}

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
