package exporter

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/attach"
	"github.com/ebpfmon/ebpfmon/config"
)

// supportedMapTypes are the map types counters and histograms can read.
var supportedMapTypes = []ebpf.MapType{
	ebpf.Hash, ebpf.LRUHash, ebpf.Array, ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash,
}

// LoadSpec reads cfg's compiled object and checks it against cfg, without
// touching the kernel.
func LoadSpec(cfg *config.Config) (*ebpf.CollectionSpec, error) {
	if _, err := os.Stat(cfg.BPFPath); err != nil {
		return nil, fmt.Errorf("%s: %w (build it with `make examples` or clang -target bpf)", cfg.BPFPath, err)
	}
	spec, err := ebpf.LoadCollectionSpec(cfg.BPFPath)
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable BPF object (rebuild it with clang -target bpf -g): %w", cfg.BPFPath, err)
	}
	if err := CheckSpec(cfg, spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// CheckSpec returns every mismatch between cfg and spec: missing maps,
// key sizes that differ from the labels, non-u64 values, unsupported map
// types, program sections that cannot be attached.
func CheckSpec(cfg *config.Config, spec *ebpf.CollectionSpec) error {
	var errs []error
	for _, c := range cfg.Metrics.Counters {
		path := "metrics.counters[" + c.Name + "]"
		if c.PerfEventArray {
			errs = append(errs, fmt.Errorf("%s: perf_event_array counters are not supported yet", path))
			continue
		}
		errs = append(errs, checkMap(spec, path, c.Name, c.Labels))
	}
	for _, h := range cfg.Metrics.Histograms {
		errs = append(errs, checkMap(spec, "metrics.histograms["+h.Name+"]", h.Name, h.Labels))
	}
	if len(cfg.Kaddrs) > 0 {
		errs = append(errs, errors.New("kaddrs: not supported yet, remove it or use a build with kaddrs support"))
	}
	if cfg.CgroupIDMap != nil {
		errs = append(errs, errors.New("cgroup_id_map: not supported yet, remove it or use a build with cgroup_id_map support"))
	}
	for name, p := range spec.Programs {
		if err := attach.Check(p.SectionName); err != nil {
			errs = append(errs, fmt.Errorf("program %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s does not match %s:\n%w", cfg.Path, cfg.BPFPath, err)
	}
	return nil
}

// checkMap checks one metric's map: it exists, has a supported type, u64
// values and a key laid out exactly as the labels say.
func checkMap(spec *ebpf.CollectionSpec, path, name string, labels []config.Label) error {
	m, ok := spec.Maps[name]
	if !ok {
		return fmt.Errorf("%s: no map named %q in the object (maps: %s)", path, name, mapNames(spec))
	}
	var errs []error
	if !supported(m.Type) {
		errs = append(errs, fmt.Errorf("%s: map type %s is not supported, want one of %v", path, m.Type, supportedMapTypes))
	}
	if m.ValueSize != 8 {
		errs = append(errs, fmt.Errorf("%s: map value is %d bytes, want 8 (a u64 count)", path, m.ValueSize))
	}
	if want := keySize(labels); int(m.KeySize) != want {
		errs = append(errs, fmt.Errorf("%s: map key is %d bytes but the labels' size+padding add up to %d: %s", path, m.KeySize, want, layout(labels)))
	}
	if cpuLabel(labels) && !isPerCPU(m.Type) {
		errs = append(errs, fmt.Errorf("%s: label \"cpu\" with size 0 splits per-CPU values, but map type %s is not per-CPU", path, m.Type))
	}
	return errors.Join(errs...)
}

func supported(t ebpf.MapType) bool {
	for _, s := range supportedMapTypes {
		if t == s {
			return true
		}
	}
	return false
}

func isPerCPU(t ebpf.MapType) bool {
	return t == ebpf.PerCPUHash || t == ebpf.PerCPUArray || t == ebpf.LRUCPUHash
}

// keySize is the key length the labels describe.
func keySize(labels []config.Label) int {
	n := 0
	for _, l := range labels {
		n += int(l.Size + l.Padding)
	}
	return n
}

// cpuLabel reports whether labels end in the size-0 "cpu" label that asks for
// per-CPU values to be split (for histograms it stands before the bucket).
func cpuLabel(labels []config.Label) bool {
	for _, l := range labels {
		if l.Name == "cpu" && l.Size == 0 {
			return true
		}
	}
	return false
}

// keyLabels are the labels stored in the key: all but the size-0 cpu label.
func keyLabels(labels []config.Label) []config.Label {
	out := make([]config.Label, 0, len(labels))
	for _, l := range labels {
		if l.Size > 0 || l.Padding > 0 {
			out = append(out, l)
		}
	}
	return out
}

func layout(labels []config.Label) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s=%d+%d", l.Name, l.Size, l.Padding)
	}
	return strings.Join(parts, " ")
}

func mapNames(spec *ebpf.CollectionSpec) string {
	var names []string
	for n := range spec.Maps {
		if !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
