package exporter

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/attach"
	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/usdt"
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
	// usdt.LoadCollectionSpec is ebpf.LoadCollectionSpec plus the fix-ups
	// objects built with libbpf's usdt.bpf.h need; others are unchanged.
	spec, err := usdt.LoadCollectionSpec(cfg.BPFPath)
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
	for i, c := range cfg.Metrics.Counters {
		path := fmt.Sprintf("metrics.counters[%d]", i)
		if c.PerfEventArray {
			errs = append(errs, checkEventMap(spec, path, c.Name))
			continue
		}
		errs = append(errs, checkMap(spec, path, c.Name, c.Labels, false))
	}
	for i, h := range cfg.Metrics.Histograms {
		errs = append(errs, checkMap(spec, fmt.Sprintf("metrics.histograms[%d]", i), h.Name, h.Labels, true))
	}
	errs = append(errs, checkKaddrs(cfg, spec))
	if cfg.CgroupIDMap != nil {
		errs = append(errs, checkCgroupIDMapSpec(spec, cfg.CgroupIDMap))
	}
	for _, name := range slices.Sorted(maps.Keys(spec.Programs)) {
		if err := attach.Check(spec.Programs[name].SectionName); err != nil {
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
func checkMap(spec *ebpf.CollectionSpec, path, name string, labels []config.Label, histogram bool) error {
	m, ok := spec.Maps[name]
	if !ok {
		return fmt.Errorf("%s: no map named %q in the object (maps: %s)", path, name, mapNames(spec))
	}
	var errs []error
	if !slices.Contains(supportedMapTypes, m.Type) {
		errs = append(errs, fmt.Errorf("%s: map type %s is not supported, want one of %v", path, m.Type, supportedMapTypes))
	}
	if m.ValueSize != 8 {
		errs = append(errs, fmt.Errorf("%s: map value is %d bytes, want 8 (a u64 count)", path, m.ValueSize))
	}
	key, _ := layoutOf(labels, histogram, m)
	if want := config.KeySize(key); m.KeySize != uint32(want) {
		errs = append(errs, fmt.Errorf("%s: map key is %d bytes but the labels' size+padding add up to %d: %s", path, m.KeySize, want, layout(key)))
	}
	for _, l := range key {
		if l.PerCPU() {
			errs = append(errs, fmt.Errorf("%s: label \"cpu\" with size 0 splits per-CPU values, but map type %s is not per-CPU (or the label is not last)", path, m.Type))
		}
	}
	return errors.Join(errs...)
}

// checkEventMap checks the map of a perf_event_array counter.
func checkEventMap(spec *ebpf.CollectionSpec, path, name string) error {
	m, ok := spec.Maps[name]
	if !ok {
		return fmt.Errorf("%s: no map named %q in the object (maps: %s)", path, name, mapNames(spec))
	}
	if m.Type != ebpf.PerfEventArray && m.Type != ebpf.RingBuf {
		return fmt.Errorf("%s: perf_event_array is set but map type is %s, want PerfEventArray or RingBuf", path, m.Type)
	}
	return nil
}

// layoutOf splits labels into those read from the map key and, for per-CPU
// maps, the "cpu" label the exporter fills in itself: the last label (the
// one before the bucket for histograms), named cpu, whose bytes the key
// lacks. That is size 0, or ebpf_exporter's size 2.
func layoutOf(labels []config.Label, histogram bool, m *ebpf.MapSpec) (key []config.Label, cpu *config.Label) {
	pos := len(labels) - 1
	if histogram {
		pos--
	}
	if pos < 0 || !bpfmap.PerCPU(m.Type) || labels[pos].Name != "cpu" {
		return labels, nil
	}
	rest := append(append([]config.Label(nil), labels[:pos]...), labels[pos+1:]...)
	if config.KeySize(rest) != uint(m.KeySize) {
		return labels, nil
	}
	return rest, &labels[pos]
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
	for _, n := range slices.Sorted(maps.Keys(spec.Maps)) {
		if !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
