package series

import "fmt"

// decodeLabels is l.Decode with a panic (a bug in a decoder, on bytes it
// did not expect) turned into an error of that key: the key is left out
// and counted as a decode error, like any key that fails to decode, and
// the other keys, the metric's state and the process go on.
func decodeLabels(l labelDecoder, key []byte, out []string) (values []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			values, err = nil, fmt.Errorf("decoder panicked (a bug in ebpfmon, please report it with this message): %v", r)
		}
	}()
	return l.Decode(key, out)
}
