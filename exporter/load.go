package exporter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// verifierTailLines is how much of a verifier log an error shows.
const verifierTailLines = 20

// loadCollection loads spec into the kernel, relocating against kernelBTF
// when it is set (else against the running kernel's BTF).
func loadCollection(spec *ebpf.CollectionSpec, kernelBTF *btf.Spec) (*ebpf.Collection, error) {
	opts := ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernelBTF}}
	coll, err := ebpf.NewCollectionWithOptions(spec, opts)
	if err != nil {
		return nil, explainLoad(err)
	}
	return coll, nil
}

// explainLoad adds the tail of the verifier log and a hint to load errors.
func explainLoad(err error) error {
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return fmt.Errorf("%w\nverifier log (last %d lines):\n%s", err, verifierTailLines, logTail(verr.Log, verifierTailLines))
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%w (this kernel lacks a feature the object needs)", err)
	}
	if strings.Contains(err.Error(), "operation not permitted") {
		return fmt.Errorf("%w (run as root or with CAP_BPF+CAP_PERFMON; fentry/fexit are refused on kernels without BPF trampolines)", err)
	}
	return err
}

func logTail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// LoadKernelBTF reads BTF from path (--btf.path); empty means the running
// kernel's, which cilium/ebpf finds by itself.
func LoadKernelBTF(path string) (*btf.Spec, error) {
	if path == "" {
		return nil, nil
	}
	spec, err := btf.LoadSpec(path)
	if err != nil {
		return nil, fmt.Errorf("--btf.path %s: %w", path, err)
	}
	return spec, nil
}
