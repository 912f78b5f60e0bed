package attach

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
)

// ErrHookMissing is wrapped by errors for hooks this kernel does not have.
var ErrHookMissing = errors.New("hook not available on this kernel")

// hookError explains a failed attach: a missing hook gets ErrHookMissing
// and a hint, anything else keeps its cause.
func hookError(kind, target string, err error, hint string) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%s %q: %w (%s): %w", kind, target, ErrHookMissing, hint, err)
	}
	return fmt.Errorf("%s %q: %w", kind, target, err)
}
