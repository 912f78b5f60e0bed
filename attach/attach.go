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

// Options carry what some attachers need besides the program.
type Options struct {
	// Maps are the loaded object's maps, by name (USDT fills its spec maps).
	Maps map[string]*ebpf.Map
	// Root is prepended to uprobe and USDT paths, e.g. /proc/PID/root to
	// reach a container's files; empty means the host's /.
	Root string
}

// attacher links prog to the hook described by target, the part of the
// section name after the prefix.
type attacher func(target string, prog *ebpf.Program, opts Options) (io.Closer, error)

// checker parses a target without touching the kernel.
type checker func(target string) error

type kind struct {
	prefix  string
	check   checker
	attach  attacher
	verdict *verdictRule // the return values that let packets through, for hooks that decide them
}

// kinds maps section prefixes to attachers.
var kinds = []kind{
	{"tracepoint/", checkTracepoint, tracepoint, nil},
	{"tp/", checkTracepoint, tracepoint, nil},
	{"raw_tracepoint/", anyTarget, rawTracepoint, nil},
	{"raw_tp/", anyTarget, rawTracepoint, nil},
	{"tp_btf/", anyTarget, tracing, nil},
	{"fentry/", anyTarget, tracing, nil},
	{"fexit/", anyTarget, tracing, nil},
	{"kprobe/", checkSymbolOffset, kprobe, nil},
	{"kretprobe/", anyTarget, kretprobe, nil},
	{"uprobe/", checkUprobe, uprobe, nil},
	{"uretprobe/", checkUprobe, uretprobe, nil},
	{"usdt/", checkUSDT, usdtAttach, nil},
	{"perf_event/", checkPerfEvent, perfEvent, nil},
	{"xdp/", anyTarget, xdp, &xdpVerdict},
	{"cgroup_skb/", checkCgroupSKB, cgroupSKB, &cgroupSKBVerdict},
}

func anyTarget(string) error { return nil }

// Prefixes lists the section prefixes this package can attach, for messages.
func Prefixes() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.prefix
	}
	return out
}

func lookup(section string) (kind, string, error) {
	for _, k := range kinds {
		if target, ok := strings.CutPrefix(section, k.prefix); ok {
			if target == "" {
				return k, "", fmt.Errorf("section %q: %w: nothing after %q (want %sTARGET)", section, ErrUnknownSection, k.prefix, k.prefix)
			}
			return k, target, nil
		}
	}
	return kind{}, "", fmt.Errorf("section %q: %w: want one of %s", section, ErrUnknownSection, strings.Join(Prefixes(), " "))
}

// Check reports whether section names a hook kind this package attaches
// and its target parses, without touching the kernel.
func Check(section string) error {
	k, target, err := lookup(section)
	if err != nil {
		return err
	}
	if err := k.check(target); err != nil {
		return fmt.Errorf("section %q: %w", section, err)
	}
	return nil
}

// CheckProgram checks, without the kernel, what [Check] checks of the
// program's section, and, for hooks whose return value decides the fate of
// packets (cgroup_skb/, xdp/), that the program cannot return a constant
// that drops them (or, for xdp, sends them elsewhere) on any path.
func CheckProgram(prog *ebpf.ProgramSpec) error {
	if err := Check(prog.SectionName); err != nil {
		return err
	}
	k, _, _ := lookup(prog.SectionName)
	if k.verdict == nil {
		return nil
	}
	if err := checkVerdicts(prog.Instructions, *k.verdict); err != nil {
		return fmt.Errorf("section %q: %w", prog.SectionName, err)
	}
	return nil
}

// Program attaches prog to the hook its ELF section names.
func Program(section string, prog *ebpf.Program, opts Options) (io.Closer, error) {
	k, target, err := lookup(section)
	if err != nil {
		return nil, err
	}
	c, err := k.attach(target, prog, opts)
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
