package attach

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// kprobe attaches to kprobe/FUNC[+OFFSET].
func kprobe(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	symbol, offset, err := symbolOffset(target)
	if err != nil {
		return nil, err
	}
	l, err := link.Kprobe(symbol, prog, &link.KprobeOptions{Offset: offset})
	if err != nil {
		return nil, hookError("kprobe", target, err, kprobeHint)
	}
	return l, nil
}

// kretprobe attaches to kretprobe/FUNC.
func kretprobe(target string, prog *ebpf.Program, _ Options) (io.Closer, error) {
	l, err := link.Kretprobe(target, prog, nil)
	if err != nil {
		return nil, hookError("kretprobe", target, err, kprobeHint)
	}
	return l, nil
}

const kprobeHint = "kprobes need CONFIG_KPROBES and a function listed in /sys/kernel/tracing/available_filter_functions; prefer a tracepoint where one exists"

func checkSymbolOffset(target string) error {
	_, _, err := symbolOffset(target)
	return err
}

// symbolOffset splits "SYMBOL+OFFSET"; the offset may be decimal or 0x hex.
func symbolOffset(s string) (string, uint64, error) {
	symbol, off, ok := strings.Cut(s, "+")
	if symbol == "" {
		return "", 0, fmt.Errorf("missing symbol in %q", s)
	}
	if !ok {
		return symbol, 0, nil
	}
	offset, err := strconv.ParseUint(off, 0, 64)
	if err != nil {
		return "", 0, fmt.Errorf("bad offset in %q: %w", s, err)
	}
	return symbol, offset, nil
}
