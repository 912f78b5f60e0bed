package attach

import (
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// parseTracepoint splits "CATEGORY/NAME".
func parseTracepoint(target string) (group, name string, err error) {
	group, name, ok := strings.Cut(target, "/")
	if !ok || group == "" || name == "" {
		return "", "", fmt.Errorf("want tracepoint/CATEGORY/NAME, got %q", target)
	}
	return group, name, nil
}

func checkTracepoint(target string) error {
	_, _, err := parseTracepoint(target)
	return err
}

// tracepoint attaches to tracepoint/CATEGORY/NAME through tracefs.
func tracepoint(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	group, name, err := parseTracepoint(target)
	if err != nil {
		return nil, err
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
