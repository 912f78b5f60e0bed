package lifecycle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/usdt"
)

// verifierTailLines is how much of a verifier log an error shows.
const verifierTailLines = 20

// loadPinned loads spec as loadCollection does, against the pins of cfg's
// exported maps (see Pins; none when opts.Pins is nil), and pins the maps
// that had no pin; those to pin in place of incompatible pins are
// returned, for Unit.CommitPins. The health is nil without pins.
func loadPinned(cfg *config.Config, spec *ebpf.CollectionSpec, opts Options, log *slog.Logger) (*ebpf.Collection, *PinHealth, []pendingPin, error) {
	plan, err := opts.Pins.plan(cfg, spec, log)
	if err != nil {
		return nil, nil, nil, loadErr(opts.Pins.Dir(cfg.Name), fmt.Errorf("config %s: %w", cfg.Name, err))
	}
	defer plan.close()
	coll, err := loadCollection(spec, opts.KernelBTF, plan.replacements())
	if err != nil {
		return nil, nil, nil, loadErr(cfg.BPFPath, fmt.Errorf("load %s: %w", cfg.BPFPath, err))
	}
	pins, pending, err := plan.pin(coll)
	if err != nil {
		coll.Close()
		return nil, nil, nil, loadErr(plan.dir, fmt.Errorf("config %s: %w", cfg.Name, err))
	}
	if pins != nil {
		log.Info("pinned maps", "dir", plan.dir, "reused", pins.Reused, "created", pins.Created, "replaced", pins.Replaced)
	}
	return coll, pins, pending, nil
}

// loadCollection loads spec into the kernel, relocating against kernelBTF
// when it is set (else against the running kernel's BTF), with the maps
// of pinned in place of those of the same names.
func loadCollection(spec *ebpf.CollectionSpec, kernelBTF *btf.Spec, pinned map[string]*ebpf.Map) (*ebpf.Collection, error) {
	if err := usdt.PrepareLoad(spec); err != nil {
		return nil, err
	}
	opts := ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernelBTF}, MapReplacements: pinned}
	coll, err := ebpf.NewCollectionWithOptions(spec, opts)
	if err != nil {
		return nil, explainLoad(err, spec)
	}
	return coll, nil
}

// explainLoad adds the tail of the verifier log or a hint to load errors.
func explainLoad(err error, spec *ebpf.CollectionSpec) error {
	var verr *ebpf.VerifierError
	switch {
	case !hostByteOrder(spec.ByteOrder):
		return fmt.Errorf("%w: the object is %s, this host is not: rebuild it with clang -target bpf (the host's byte order)", err, spec.ByteOrder)
	case errors.As(err, &verr):
		return fmt.Errorf("%w\nverifier log (last %d lines):\n%s", err, verifierTailLines, logTail(verr.Log, verifierTailLines))
	case errors.Is(err, ebpf.ErrNotSupported):
		if target := missingBTFTarget(err, spec); target != "" {
			return fmt.Errorf("%w: this kernel's BTF has no hook %q: check the name in /sys/kernel/tracing/available_events "+
				"(tp_btf) or available_filter_functions (fentry/fexit), or use a hook this kernel has", err, target)
		}
		return fmt.Errorf("%w (this kernel lacks a feature the object needs)", err)
	case errors.Is(err, unix.EPERM):
		if progs := trampolinePrograms(spec); len(progs) > 0 {
			return fmt.Errorf("%w: the kernel refused fentry/fexit program(s) %s: it has no usable BPF trampolines "+
				"(missing CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, or disabled); use a tp_btf, tracepoint or kprobe section instead", err, strings.Join(progs, ", "))
		}
		return fmt.Errorf("%w (run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE on kernels before 5.11)", err)
	}
	return err
}

// missingBTFTarget returns the attach target of a BTF tracing program
// (tp_btf, fentry, fexit) that err reports as not supported: cilium/ebpf
// says so when the target is not in the kernel's BTF.
func missingBTFTarget(err error, spec *ebpf.CollectionSpec) string {
	for _, p := range spec.Programs {
		if p.Type == ebpf.Tracing && p.AttachTo != "" && strings.Contains(err.Error(), " "+p.AttachTo+" not supported") {
			return p.AttachTo
		}
	}
	return ""
}

// hostByteOrder reports whether order is this host's byte order (nil, as
// in a spec built by hand, counts as the host's).
func hostByteOrder(order binary.ByteOrder) bool {
	if order == nil {
		return true
	}
	b := []byte{1, 0}
	return order.Uint16(b) == binary.NativeEndian.Uint16(b)
}

// trampolinePrograms names the programs that need BPF trampolines.
func trampolinePrograms(spec *ebpf.CollectionSpec) []string {
	var names []string
	for name, p := range spec.Programs {
		switch p.AttachType {
		case ebpf.AttachTraceFEntry, ebpf.AttachTraceFExit, ebpf.AttachModifyReturn:
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func logTail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// MaxObjectSize is the largest NAME.bpf.o LoadSpec reads; objects are
// rarely more than a few MiB.
const MaxObjectSize = 256 << 20

// MaxBTFSize is the largest --btf.path file LoadKernelBTF accepts: a
// vmlinux with debug information can be hundreds of MiB; only its .BTF
// section is read (a raw BTF file, a few MiB, is read whole).
const MaxBTFSize = 1 << 30

// LoadKernelBTF reads BTF (raw, or an ELF's .BTF section) from path
// (--btf.path); empty means the running kernel's, which cilium/ebpf finds
// by itself. path must be a regular file (or a symlink to one) of at most
// MaxBTFSize bytes: a FIFO or a device is an error, not a read that blocks.
func LoadKernelBTF(path string) (*btf.Spec, error) {
	if path == "" {
		return nil, nil
	}
	f, err := regfile.Open(path, MaxBTFSize)
	if err != nil {
		return nil, fmt.Errorf("--btf.path: %w (want a BTF file such as /sys/kernel/btf/vmlinux, or a vmlinux with a .BTF section)", err)
	}
	defer f.Close()
	spec, err := btf.LoadSpecFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("--btf.path %s: %w", path, err)
	}
	return spec, nil
}
