package lifecycle

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/attach"
	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/internal/regfile"
	"github.com/ebpfmon/ebpfmon/series"
	"github.com/ebpfmon/ebpfmon/usdt"
)

// supportedMapTypes are the map types counters and histograms can read.
var supportedMapTypes = []ebpf.MapType{
	ebpf.Hash, ebpf.LRUHash, ebpf.Array, ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash,
}

// LoadSpec reads cfg's compiled object and checks it against cfg, without
// touching the kernel. Its errors are *config.StageError: load (the
// object), or validate (the config against it, blaming NAME.yaml; a
// program that cannot be attached as it is, blaming NAME.bpf.o).
func LoadSpec(cfg *config.Config) (*ebpf.CollectionSpec, error) {
	raw, err := regfile.Read(cfg.BPFPath, MaxObjectSize)
	if err != nil {
		return nil, loadErr(cfg.BPFPath, fmt.Errorf("%w (want the object built from NAME.bpf.c: `make examples` or clang -target bpf)", err))
	}
	// usdt.ParseCollectionSpec is ebpf.LoadCollectionSpec plus the fix-ups
	// objects built with libbpf's usdt.bpf.h need; others are unchanged.
	spec, err := usdt.ParseCollectionSpec(raw)
	if err != nil {
		return nil, loadErr(cfg.BPFPath, fmt.Errorf("%s: not a usable BPF object (rebuild it with clang -target bpf -g): %w", cfg.BPFPath, err))
	}
	cfgErr, progErr := checkAgainst(cfg, spec), checkPrograms(spec)
	switch {
	case cfgErr != nil:
		return nil, validateErr(cfg, mismatch(cfg, errors.Join(cfgErr, progErr)))
	case progErr != nil: // nothing in the YAML can fix a program's section or verdict
		return nil, config.Staged(config.StageValidate, cfg.BPFPath, mismatch(cfg, progErr))
	}
	return spec, nil
}

// CheckSpec returns every mismatch between cfg and spec: missing maps,
// key sizes that differ from the labels, non-u64 values, unsupported map
// types, counters without labels over anything but a one-entry array,
// span ring buffers that are missing or not ring buffers, constants the
// object lacks or whose values do not fit their C types, program sections
// that cannot be attached.
func CheckSpec(cfg *config.Config, spec *ebpf.CollectionSpec) error {
	return mismatch(cfg, errors.Join(checkAgainst(cfg, spec), checkPrograms(spec)))
}

// mismatch says that err (nil stays nil) is why cfg does not match its
// object.
func mismatch(cfg *config.Config, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s does not match %s:\n%w", cfg.Path, cfg.BPFPath, err)
}

// checkAgainst returns the mismatches between cfg and spec that a change
// of cfg can fix: every check of CheckSpec but the programs'.
func checkAgainst(cfg *config.Config, spec *ebpf.CollectionSpec) error {
	var errs []error
	for i, c := range cfg.Metrics.Counters {
		path := fmt.Sprintf("metrics.counters[%d]", i)
		switch {
		case c.PerfEventArray:
			errs = append(errs, checkEventMap(spec, path, c.Name))
		case len(c.Labels) == 0:
			errs = append(errs, checkGlobalCount(spec, path, c.Name))
		default:
			errs = append(errs, checkMap(spec, path, c.Name, c.Labels, false))
		}
	}
	for i, h := range cfg.Metrics.Histograms {
		errs = append(errs, checkMap(spec, fmt.Sprintf("metrics.histograms[%d]", i), h.Name, h.Labels, true))
	}
	errs = append(errs, checkKaddrs(cfg, spec))
	errs = append(errs, checkConstants(cfg, spec))
	if cfg.CgroupIDMap != nil {
		errs = append(errs, checkCgroupIDMapSpec(spec, cfg.CgroupIDMap))
	}
	if cfg.Tracing != nil {
		errs = append(errs, checkSpanMaps(spec, cfg.Tracing.Spans))
	}
	return errors.Join(errs...)
}

// checkPrograms returns the programs of spec that cannot be attached as
// they are: an unknown section, a verdict that drops packets. The object
// is what to fix.
func checkPrograms(spec *ebpf.CollectionSpec) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(spec.Programs)) {
		if err := attach.CheckProgram(spec.Programs[name]); err != nil {
			errs = append(errs, fmt.Errorf("program %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
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
	key, cpu := layoutOf(labels, histogram, m)
	errs = append(errs, checkCPULabel(path, labels, cpu))
	if want := config.KeySize(key); m.KeySize != uint32(want) {
		errs = append(errs, fmt.Errorf("%s: map key is %d bytes but the labels' size+padding add up to %d: %s; make the labels' sizes match the key's C struct", path, m.KeySize, want, layout(key)))
	}
	for _, l := range key {
		if l.PerCPU() {
			errs = append(errs, fmt.Errorf("%s: label \"cpu\" with size 0 splits per-CPU values, but map type %s is not per-CPU (or the label is not last)", path, m.Type))
		}
	}
	return errors.Join(errs...)
}

// checkCPULabel refuses a per-CPU "cpu" label (cpu, one of labels, as
// layoutOf found it; nil for none) of a size the CPU number cannot be
// given as. path is the metric's field path.
func checkCPULabel(path string, labels []config.Label, cpu *config.Label) error {
	if cpu == nil || series.CPULabelSizeOK(cpu.Size) {
		return nil
	}
	i := 0
	for j := range labels {
		if &labels[j] == cpu {
			i = j
		}
	}
	return fmt.Errorf("%s.labels[%d].size: %d for the per-CPU label %q, whose bytes the map key lacks: want 0, 2, 4 or 8 (the CPU number as a u16, u32 or u64)",
		path, i, cpu.Size, cpu.Name)
}

// A counter without labels is one global count, as ebpf_exporter exports
// it (see package series): the value at key 0 of a one-entry array (or
// per-CPU array), with a u32 key. Larger key spaces need labels saying
// what each key means, so any other map is refused.

// checkGlobalCount checks the map of a counter without labels.
func checkGlobalCount(spec *ebpf.CollectionSpec, path, name string) error {
	m, ok := spec.Maps[name]
	if !ok {
		return fmt.Errorf("%s: no map named %q in the object (maps: %s)", path, name, mapNames(spec))
	}
	var errs []error
	if m.ValueSize != 8 {
		errs = append(errs, fmt.Errorf("%s: map value is %d bytes, want 8 (a u64 count)", path, m.ValueSize))
	}
	if (m.Type != ebpf.Array && m.Type != ebpf.PerCPUArray) || m.KeySize != 4 || m.MaxEntries != 1 {
		errs = append(errs, fmt.Errorf("%s.labels: empty, so the map must hold one global count: an Array or PerCPUArray with a u32 key and max_entries 1, "+
			"but %s is a %s with %d-byte keys and max_entries %d: add labels describing the key", path, name, m.Type, m.KeySize, m.MaxEntries))
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
	return checkLostMap(spec, path, name)
}

// checkLostMap checks, if the object has one, the map in which the program
// of event counter name counts the records it could not send: an array or
// per-CPU array of one u64 at u32 key 0. path is the counter's field path.
func checkLostMap(spec *ebpf.CollectionSpec, path, name string) error {
	m, ok := spec.Maps[series.LostMapName(name)]
	if !ok {
		return nil
	}
	if (m.Type != ebpf.Array && m.Type != ebpf.PerCPUArray) || m.KeySize != 4 || m.ValueSize != 8 || m.MaxEntries < 1 {
		return fmt.Errorf("%s: map %s counts the records the program could not send to %s, so it must be a PERCPU_ARRAY (or ARRAY) of u32 -> u64 with max_entries >= 1, not a %s of %d-byte keys and %d-byte values: declare it with EVENTS_LOST_MAP(%s) from include/events.bpf.h, or rename it",
			path, series.LostMapName(name), name, m.Type, m.KeySize, m.ValueSize, name)
	}
	return nil
}

// checkSpanMaps checks that every span's ring buffer is in the object and
// is a ring buffer.
func checkSpanMaps(spec *ebpf.CollectionSpec, spans []config.Span) error {
	var errs []error
	for i, s := range spans {
		path := fmt.Sprintf("tracing.spans[%d].ringbuf", i)
		m, ok := spec.Maps[s.RingBuf]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: no map named %q in the object (maps: %s)", path, s.RingBuf, mapNames(spec)))
		case m.Type != ebpf.RingBuf:
			errs = append(errs, fmt.Errorf("%s: map %q is a %s, want a RingBuf (BPF_MAP_TYPE_RINGBUF) the program writes span records to", path, s.RingBuf, m.Type))
		}
	}
	return errors.Join(errs...)
}

// layoutOf splits labels into those read from the map key and, for per-CPU
// maps, the "cpu" label the exporter fills in itself: the last label (the
// one before the bucket for histograms), named cpu, whose bytes the key
// lacks. That is size 0, or ebpf_exporter's size 2; never a bytes_of
// label, which decodes key bytes of an earlier label. bytes_of labels add
// nothing to the key size.
func layoutOf(labels []config.Label, histogram bool, m *ebpf.MapSpec) (key []config.Label, cpu *config.Label) {
	pos := len(labels) - 1
	if histogram {
		pos--
	}
	if pos < 0 || !bpfmap.PerCPU(m.Type) || labels[pos].Name != "cpu" || labels[pos].BytesOf != "" {
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
		if l.BytesOf != "" { // takes no key bytes
			parts[i] = fmt.Sprintf("%s=bytes_of(%s)", l.Name, l.BytesOf)
		}
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
