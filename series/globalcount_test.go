package series

import (
	"errors"
	"testing"

	"github.com/ebpfmon/ebpfmon/decoder"
)

// TestGlobalKey checks the label decoder of a counter without labels.
func TestGlobalKey(t *testing.T) {
	for _, tc := range []struct {
		key  []byte
		skip bool
	}{
		{[]byte{0, 0, 0, 0}, false},
		{[]byte{1, 0, 0, 0}, true},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0}, true},
		{nil, true},
	} {
		out, err := globalKey{}.Decode(tc.key, []string{"kept"})
		if len(out) != 1 || errors.Is(err, decoder.ErrSkipLabelSet) != tc.skip || (err != nil) != tc.skip {
			t.Errorf("Decode(%x) = %q, %v; want skip %v", tc.key, out, err, tc.skip)
		}
	}
}
