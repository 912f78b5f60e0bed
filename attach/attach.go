package attach

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf"
)

// ErrUnknownSection is returned for an ELF section name no attacher handles.
var ErrUnknownSection = errors.New("unknown section")

// attacher links prog to the hook described by target, the part of the
// section name after the prefix.
type attacher func(target string, prog *ebpf.Program) (io.Closer, error)

type kind struct {
	prefix string
	attach attacher
}

// kinds maps section prefixes to attachers; longer prefixes first where one
// is a prefix of another.
var kinds = []kind{
	{"tracepoint/", tracepoint},
	{"tp/", tracepoint},
	{"raw_tracepoint/", rawTracepoint},
	{"raw_tp/", rawTracepoint},
	{"tp_btf/", tracing},
	{"fentry/", tracing},
	{"fexit/", tracing},
	{"kprobe/", kprobe},
	{"kretprobe/", kretprobe},
	{"uprobe/", uprobe},
	{"uretprobe/", uretprobe},
	{"perf_event/", perfEvent},
	{"xdp/", xdp},
}

// Prefixes lists the section prefixes this package can attach, for messages.
func Prefixes() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.prefix
	}
	return out
}

func lookup(section string) (attacher, string, error) {
	for _, k := range kinds {
		if target, ok := strings.CutPrefix(section, k.prefix); ok {
			if target == "" {
				return nil, "", fmt.Errorf("section %q: %w: nothing after %q (want %sTARGET)", section, ErrUnknownSection, k.prefix, k.prefix)
			}
			return k.attach, target, nil
		}
	}
	return nil, "", fmt.Errorf("section %q: %w: want one of %s", section, ErrUnknownSection, strings.Join(Prefixes(), " "))
}

// Check reports whether section names a hook kind this package attaches,
// without touching the kernel.
func Check(section string) error {
	_, _, err := lookup(section)
	return err
}

// Program attaches prog to the hook its ELF section names.
func Program(section string, prog *ebpf.Program) (io.Closer, error) {
	fn, target, err := lookup(section)
	if err != nil {
		return nil, err
	}
	c, err := fn(target, prog)
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", section, err)
	}
	return c, nil
}

// closers closes several closers as one, in reverse order.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		errs = append(errs, cs[i].Close())
	}
	return errors.Join(errs...)
}
