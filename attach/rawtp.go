package attach

import (
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// rawTracepoint attaches to raw_tp/NAME (Linux 4.17+).
func rawTracepoint(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: target, Program: prog})
	if err != nil {
		return nil, hookError("raw tracepoint", target, err, "see /sys/kernel/tracing/available_events for the tracepoints of this kernel")
	}
	return l, nil
}
