package attach

import (
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// uprobe attaches to uprobe/PATH:SYMBOL[+OFFSET].
func uprobe(target string, prog *ebpf.Program, opts Options) (io.Closer, error) {
	return userProbe(target, prog, opts, false)
}

// uretprobe attaches to uretprobe/PATH:SYMBOL.
func uretprobe(target string, prog *ebpf.Program, opts Options) (io.Closer, error) {
	return userProbe(target, prog, opts, true)
}

func userProbe(target string, prog *ebpf.Program, opts Options, ret bool) (io.Closer, error) {
	path, symbol, offset, err := parseUprobe(target)
	if err != nil {
		return nil, err
	}
	resolved, err := resolveLibrary(path, libraryDirs(opts.Root))
	if err != nil {
		return nil, err
	}
	exe, err := link.OpenExecutable(resolved)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", resolved, err)
	}
	uopts := &link.UprobeOptions{Offset: offset}
	var l link.Link
	if ret {
		l, err = exe.Uretprobe(symbol, prog, uopts)
	} else {
		l, err = exe.Uprobe(symbol, prog, uopts)
	}
	if err != nil {
		return nil, hookError("uprobe", resolved+":"+symbol, err, "check the symbol with `nm -D "+resolved+"`")
	}
	return l, nil
}

func checkUprobe(target string) error {
	_, _, _, err := parseUprobe(target)
	return err
}

// parseUprobe splits "PATH:SYMBOL[+OFFSET]". PATH may itself hold no colon.
func parseUprobe(target string) (path, symbol string, offset uint64, err error) {
	path, rest, ok := strings.Cut(target, ":")
	if !ok || path == "" {
		return "", "", 0, fmt.Errorf("want uprobe/PATH:SYMBOL[+OFFSET], got %q", target)
	}
	symbol, offset, err = symbolOffset(rest)
	return path, symbol, offset, err
}
