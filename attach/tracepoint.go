package attach

import (
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// tracepoint attaches to tracepoint/CATEGORY/NAME through tracefs.
func tracepoint(target string, prog *ebpf.Program) (io.Closer, error) {
	group, name, ok := strings.Cut(target, "/")
	if !ok || group == "" || name == "" {
		return nil, fmt.Errorf("want tracepoint/CATEGORY/NAME, got %q", target)
	}
	if err := ensureTracefs(); err != nil {
		return nil, err
	}
	l, err := link.Tracepoint(group, name, prog, nil)
	if err != nil {
		return nil, hookError("tracepoint", target, err, "see /sys/kernel/tracing/events for the tracepoints of this kernel")
	}
	return l, nil
}
