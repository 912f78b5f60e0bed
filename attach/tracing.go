package attach

import (
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// tracing attaches tp_btf, fentry and fexit programs. Their target was
// resolved against BTF when the program was loaded, so only the link is left.
func tracing(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		return nil, hookError("BTF tracing hook", target, err, "tp_btf needs Linux 5.5+, fentry/fexit need BPF trampolines (x86_64 5.5+, arm64 6.0+)")
	}
	return l, nil
}
