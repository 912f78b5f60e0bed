package exporter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/attach"
	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// Options configure how units load and export.
type Options struct {
	// Namespace prefixes every metric name ("ebpfmon").
	Namespace string
	// KernelBTF overrides the running kernel's BTF for CO-RE (--btf.path).
	KernelBTF *btf.Spec
	// Env holds the system lookups decoders share.
	Env    *decoder.Env
	Logger *slog.Logger
}

// program is one loaded program and its link.
type program struct {
	name, section string
	prog          *ebpf.Program
	id            ebpf.ProgramID
	tag           string
	infoOK        bool // id and tag are known
	link          io.Closer
	err           error
}

// Unit is one config loaded into the kernel: its programs, links and
// metrics. Units are independent: each opens and closes on its own.
type Unit struct {
	cfg         *config.Config
	coll        *ebpf.Collection
	programs    []*program
	metrics     []*metric
	events      []*eventCounter
	cgroupIDMap io.Closer
	maps        map[string]*mapHealth // by map name, for every metric and event counter
	last        atomic.Pointer[scrapeResult]
	log         *slog.Logger
}

// mapHealth is what went wrong with one map's labels.
type mapHealth struct {
	decodeErrors atomic.Uint64 // failure episodes (see gatherStats)
	warned       atomic.Bool   // the first failure was logged at warn
}

// Open checks cfg against its object, builds its decoders, loads the
// object and attaches every program. A program that fails to attach does
// not fail the unit (see AttachErrors); anything else does, and what was
// opened is closed again.
func Open(cfg *config.Config, opts Options) (*Unit, error) {
	spec, err := LoadSpec(cfg)
	if err != nil {
		return nil, err
	}
	protos, err := newMetrics(cfg, spec, opts)
	if err != nil {
		return nil, err
	}
	if len(cfg.Kaddrs) > 0 {
		if err := setKaddrs(cfg, spec, opts.Env.Kallsyms()); err != nil {
			return nil, err
		}
	}
	coll, err := loadCollection(spec, opts.KernelBTF)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.BPFPath, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u := &Unit{cfg: cfg, coll: coll, log: logger.With("config", cfg.Name)}
	if err := u.bindMetrics(protos); err != nil {
		u.Close()
		return nil, err
	}
	if err := u.startEvents(opts); err != nil {
		u.Close()
		return nil, err
	}
	if err := u.startCgroupIDMap(opts.Env); err != nil {
		u.Close()
		return nil, err
	}
	u.maps = map[string]*mapHealth{}
	for _, s := range u.mapSources() {
		u.maps[s.mapName] = &mapHealth{}
	}
	if cfg.Tracing != nil && len(cfg.Tracing.Spans) > 0 {
		u.log.Warn("tracing.spans are validated but not exported yet; the ring buffers are not read", "spans", len(cfg.Tracing.Spans))
	}
	u.attachAll(spec)
	return u, nil
}

// Name is the config name.
func (u *Unit) Name() string { return u.cfg.Name }

// newMetrics builds every metric's decoders; maps are bound after loading.
func newMetrics(cfg *config.Config, spec *ebpf.CollectionSpec, opts Options) ([]*metric, error) {
	var out []*metric
	var errs []error
	add := func(path, name, help string, labels []config.Label, b *buckets) {
		key, cpu := layoutOf(labels, b != nil, spec.Maps[name])
		m, err := newMetric(opts, name, help, key, cpu, b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", cfg.Path, path, err))
			return
		}
		out = append(out, m)
	}
	for i, c := range cfg.Metrics.Counters {
		if !c.PerfEventArray { // event counters start after loading
			add(fmt.Sprintf("metrics.counters[%d]", i), c.Name, c.Help, c.Labels, nil)
		}
	}
	for i, h := range cfg.Metrics.Histograms {
		path := fmt.Sprintf("metrics.histograms[%d]", i)
		b, err := newBuckets(h)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", cfg.Path, path, err))
			continue
		}
		add(path, h.Name, h.Help, h.Labels, &b)
	}
	return out, errors.Join(errs...)
}

// newMetric builds a metric whose map key holds the key labels; a non-nil
// cpu label splits per-CPU values by CPU.
func newMetric(opts Options, name, help string, key []config.Label, cpu *config.Label, b *buckets) (*metric, error) {
	ls, err := decoder.NewLabelSet(key, opts.Env)
	if err != nil {
		return nil, err
	}
	m := &metric{
		name: name, fullName: prometheus.BuildFQName(opts.Namespace, "", name), help: help,
		labels: ls, buckets: b, cpu: cpu, env: opts.Env, now: time.Now, online: bpfmap.OnlineCPUs,
		cache: map[string]*decoded{}, slots: slots{ids: map[string]int{}},
	}
	if len(key) == 0 { // a counter without labels: one global count at key 0
		m.labels = globalKey{}
	}
	for _, l := range key {
		m.names = append(m.names, l.Name)
	}
	m.keyNames = slices.Clone(m.names)
	if b != nil { // the last key label is the bucket
		m.names = m.names[:len(m.names)-1]
	}
	return m, nil
}

func (u *Unit) bindMetrics(ms []*metric) error {
	for _, m := range ms {
		r, err := bpfmap.NewReader(u.coll.Maps[m.name])
		if err != nil {
			return fmt.Errorf("%s: map %s: %w", u.cfg.Path, m.name, err)
		}
		m.reader, m.entries = r, r.NewEntries()
		if m.cpu != nil {
			if m.cpuValues, err = cpuLabelValues(*m.cpu, m.env, r.CPUs()); err != nil {
				return fmt.Errorf("%s: map %s: %w", u.cfg.Path, m.name, err)
			}
		}
	}
	u.metrics = ms
	return nil
}

// cpuLabelSizes are the sizes a per-CPU "cpu" label may have: 0 (ebpfmon's
// spelling) or ebpf_exporter's 2, decoded from the CPU number as a u16, and
// 4 or 8, as a u32 or u64.
var cpuLabelSizes = []uint{0, 2, 4, 8}

// checkCPULabel refuses a per-CPU "cpu" label (cpu, one of labels, as
// layoutOf found it; nil for none) of a size the CPU number cannot be
// given as. path is the metric's field path.
func checkCPULabel(path string, labels []config.Label, cpu *config.Label) error {
	if cpu == nil || slices.Contains(cpuLabelSizes, cpu.Size) {
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

// cpuLabelValues decodes the "cpu" label of every CPU: its decoders get the
// CPU number as a little-endian u16 (ebpf_exporter's 2-byte layout) or, for
// a label of size 4 or 8, as a u32 or u64.
func cpuLabelValues(l config.Label, env *decoder.Env, cpus int) ([]string, error) {
	if !slices.Contains(cpuLabelSizes, l.Size) {
		return nil, fmt.Errorf("per-CPU label %q has size %d, want 0, 2, 4 or 8", l.Name, l.Size)
	}
	l.Size = max(l.Size, 2)
	ls, err := decoder.NewLabelSet([]config.Label{l}, env)
	if err != nil {
		return nil, err
	}
	out := make([]string, cpus)
	raw := make([]byte, 8)
	for c := range out {
		binary.LittleEndian.PutUint64(raw, uint64(c))
		v, err := ls.Decode(raw[:l.Size], nil)
		if err != nil {
			return nil, fmt.Errorf("cpu %d: %w", c, err)
		}
		out[c] = v[0]
	}
	return out, nil
}

// startEvents starts reading the records of every perf_event_array
// counter, before the programs are attached so none is missed.
func (u *Unit) startEvents(opts Options) error {
	for i, c := range u.cfg.Metrics.Counters {
		if !c.PerfEventArray {
			continue
		}
		e, err := newEventCounter(c, u.coll.Maps[c.Name], u.coll.Maps[lostMapName(c.Name)], opts, u.log)
		if err != nil {
			return fmt.Errorf("%s: metrics.counters[%d]: %w", u.cfg.Path, i, err)
		}
		u.events = append(u.events, e)
	}
	return nil
}

// startCgroupIDMap fills the config's cgroup_id_map, if any, and keeps it
// current, before the programs are attached so they see it from the start.
func (u *Unit) startCgroupIDMap(env *decoder.Env) error {
	c := u.cfg.CgroupIDMap
	if c == nil {
		return nil
	}
	resolver, err := env.Cgroups()
	if err == nil {
		u.cgroupIDMap, err = startCgroupIDMap(c, u.coll.Maps[c.Name], resolver.Root(), 0, u.log)
	}
	if err != nil {
		return fmt.Errorf("%s: cgroup_id_map: %w", u.cfg.Path, err)
	}
	return nil
}

// attachAll attaches every program in name order, recording failures.
func (u *Unit) attachAll(spec *ebpf.CollectionSpec) {
	names := make([]string, 0, len(u.coll.Programs))
	for name := range u.coll.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		// ELF symbol names are untrusted bytes; label values must be UTF-8.
		p := &program{name: strings.ToValidUTF8(name, "\uFFFD"), section: spec.Programs[name].SectionName, prog: u.coll.Programs[name]}
		u.readInfo(p)
		p.link, p.err = attach.Program(p.section, p.prog, attach.Options{Maps: u.coll.Maps})
		if p.err != nil {
			p.err = fmt.Errorf("config %s: program %s: %w", u.cfg.Name, name, p.err)
			u.log.Error("attach failed", "program", name, "section", p.section, "err", p.err)
		} else {
			u.log.Info("attached", "program", name, "section", p.section, "id", p.id)
		}
		u.programs = append(u.programs, p)
	}
}

// readInfo fills p's id and tag. Without them ebpf_program_info is left
// out for p (rather than exported with id 0), and the reason logged.
func (u *Unit) readInfo(p *program) {
	info, err := p.prog.Info()
	if err != nil {
		u.log.Debug("program info unavailable: ebpf_program_info left out", "program", p.name, "err", err)
		return
	}
	id, ok := info.ID()
	if !ok {
		u.log.Debug("program id unavailable (kernel older than 4.13): ebpf_program_info left out", "program", p.name)
		return
	}
	p.id, p.tag, p.infoOK = id, info.Tag, true
}

// AttachErrors lists the programs that failed to attach.
func (u *Unit) AttachErrors() []error {
	var errs []error
	for _, p := range u.programs {
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	return errs
}

// Gather reads every map of the unit and returns its metric families. A map
// that cannot be read or a key that cannot be decoded never stops the other
// maps or keys; map read errors are returned with what could be read. The
// time it took and whether it succeeded feed the health metrics.
func (u *Unit) Gather() ([]*dto.MetricFamily, error) {
	start := time.Now()
	var fams []*dto.MetricFamily
	var errs []error
	for _, m := range u.mapSources() {
		fam, st, err := m.gather()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(fam.Metric) > 0 { // an empty family is invalid exposition
			fams = append(fams, fam)
		}
		u.noteDecodeErrors(m.mapName, st)
	}
	err := errors.Join(errs...)
	u.last.Store(&scrapeResult{duration: time.Since(start), ok: err == nil})
	return fams, err
}

// noteDecodeErrors counts the decode failures of one gather of a map and
// logs them: at warn the first time for the map, at debug afterwards.
func (u *Unit) noteDecodeErrors(mapName string, st gatherStats) {
	if st.decodeErrors == 0 {
		return
	}
	h := u.maps[mapName]
	h.decodeErrors.Add(uint64(st.decodeErrors))
	level := slog.LevelDebug
	if h.warned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	u.log.Log(context.Background(), level, "map keys whose labels failed to decode are left out and retried (1s, doubling up to 1m); see ebpfmon_decoder_errors_total",
		"map", mapName, "count", st.decodeErrors, "first", st.firstErr)
}

// source is one exported metric: a map read at scrape time, or events
// counted as they come.
type source interface {
	gather() (*dto.MetricFamily, gatherStats, error)
	metricName() string
}

func (u *Unit) sources() []source {
	out := make([]source, 0, len(u.metrics)+len(u.events))
	for _, m := range u.metrics {
		out = append(out, m)
	}
	for _, e := range u.events {
		out = append(out, e)
	}
	return out
}

// mapSource is a source with the name of the map it reads.
type mapSource struct {
	source
	mapName string
}

func (u *Unit) mapSources() []mapSource {
	out := make([]mapSource, 0, len(u.metrics)+len(u.events))
	for _, m := range u.metrics {
		out = append(out, mapSource{m, m.name})
	}
	for _, e := range u.events {
		out = append(out, mapSource{e, e.name})
	}
	return out
}

// scrapeResult is how the last gather went.
type scrapeResult struct {
	duration time.Duration
	ok       bool
}

// Close detaches every program and releases the maps and programs; it
// waits for gathers in progress and makes later ones fail.
func (u *Unit) Close() error {
	var errs []error
	if u.cgroupIDMap != nil {
		errs = append(errs, u.cgroupIDMap.Close())
	}
	for _, m := range u.metrics {
		m.close()
	}
	for _, e := range u.events {
		errs = append(errs, e.close())
	}
	for i := len(u.programs) - 1; i >= 0; i-- {
		if l := u.programs[i].link; l != nil {
			errs = append(errs, l.Close())
		}
	}
	if u.coll != nil {
		u.coll.Close()
	}
	return errors.Join(errs...)
}
