package decoder

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ebpfmon/ebpfmon/config"
)

// maxKeySize bounds the key size a label set accepts; BPF map keys are far
// smaller in practice.
const maxKeySize = 1 << 20

// ErrKeySize is returned when a key's length is not the label set's
// [LabelSet.KeySize].
var ErrKeySize = errors.New("key size mismatch")

// LabelSet splits map keys into label fields and decodes each. Build it once
// per metric with [NewLabelSet]; it is safe for concurrent use.
type LabelSet struct {
	fields  []field
	names   []string
	keySize int
}

// field is one label: where its bytes are in the key and how to decode them.
type field struct {
	name   string
	offset int
	size   int
	chain  Chain
}

// NewLabelSet builds the decoders of every label. A label of size zero, a
// total key size over 1 MiB, a first decoder that cannot take the label's
// size (uint on 3 bytes, ksym on 4, errno or static_map on raw bytes), or a
// later decoder that cannot take what the one before outputs (uint after
// uint, errno after string) is an error, so that a config that would fail
// on every key, or give garbage, fails when it loads. Decoders that
// need a system lookup (kallsyms, cgroups, pci.ids) load it here, through
// env. A label with no decoders outputs its raw bytes, made valid UTF-8
// (config validation is expected to require decoders; this only keeps a
// LabelSet from failing on such a label).
//
// A label with BytesOf decodes the bytes of the earlier label it names
// (through that label's BytesOf, if it has one) and takes no key bytes of
// its own; naming an unknown or a later label is an error.
func NewLabelSet(labels []config.Label, env *Env) (*LabelSet, error) {
	ls := &LabelSet{fields: make([]field, 0, len(labels)), names: make([]string, 0, len(labels))}
	total := uint64(0)
	for i, l := range labels {
		f, err := place(l, ls.fields, total)
		if err != nil {
			return nil, fmt.Errorf("labels[%d] %q: %w", i, l.Name, err)
		}
		total += uint64(l.Size) + uint64(l.Padding)
		if uint64(l.Size) > maxKeySize || uint64(l.Padding) > maxKeySize || total > maxKeySize {
			return nil, fmt.Errorf("labels[%d] %q: key size over %d bytes", i, l.Name, maxKeySize)
		}
		if err := checkChain(l.Decoders, uint(f.size)); err != nil {
			return nil, fmt.Errorf("labels[%d] %q: %w", i, l.Name, err)
		}
		if f.chain, err = NewChain(l.Decoders, env); err != nil {
			return nil, fmt.Errorf("labels[%d] %q: %w", i, l.Name, err)
		}
		ls.fields = append(ls.fields, f)
		ls.names = append(ls.names, l.Name)
	}
	ls.keySize = int(total)
	return ls, nil
}

// place returns where label l's bytes are: at offset, or, for a bytes_of
// label, where those of the earlier field it names are.
func place(l config.Label, earlier []field, offset uint64) (field, error) {
	if l.BytesOf == "" {
		if l.Size == 0 {
			return field{}, errors.New("size is zero")
		}
		return field{name: l.Name, offset: int(offset), size: int(l.Size)}, nil
	}
	if l.Size != 0 || l.Padding != 0 {
		return field{}, fmt.Errorf("size or padding given with bytes_of %q", l.BytesOf)
	}
	i := slices.IndexFunc(earlier, func(f field) bool { return f.name == l.BytesOf })
	if i < 0 {
		return field{}, fmt.Errorf("bytes_of %q: no such label before it", l.BytesOf)
	}
	return field{name: l.Name, offset: earlier[i].offset, size: earlier[i].size}, nil
}

// KeySize returns the key length the labels describe: the sum of every
// label's size and padding (bytes_of labels have neither).
func (ls *LabelSet) KeySize() int { return ls.keySize }

// Names returns the label names, in key order.
func (ls *LabelSet) Names() []string { return slices.Clone(ls.names) }

// Decode appends one value per label to out and returns the extended slice
// (pass out[:0] to reuse a buffer). A key of the wrong length is an error
// wrapping [ErrKeySize]. When a decoder skips the label set the error wraps
// [ErrSkipLabelSet]; other decoder errors are wrapped with the label name.
// On error the returned slice is out unchanged.
func (ls *LabelSet) Decode(key []byte, out []string) ([]string, error) {
	if len(key) != ls.keySize {
		return out, fmt.Errorf("%w: key is %d bytes, labels %v want %d", ErrKeySize, len(key), ls.names, ls.keySize)
	}
	n := len(out)
	for _, f := range ls.fields {
		value, err := f.chain.Decode(key[f.offset : f.offset+f.size])
		if err != nil {
			return out[:n], fmt.Errorf("label %q: %w", f.name, err)
		}
		out = append(out, value)
	}
	return out, nil
}
