package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/attach"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/series"
)

// Options configure how units load and export.
type Options struct {
	// Namespace prefixes every metric name ("ebpfmon").
	Namespace string
	// KernelBTF overrides the running kernel's BTF for CO-RE (--btf.path).
	KernelBTF *btf.Spec
	// Env holds the system lookups decoders share.
	Env *decoder.Env
	// Pins pins the exported maps (--bpf.pin-path); nil pins nothing.
	Pins   *Pins
	Logger *slog.Logger
	// MaxSeries is the most label sets a metric exports when its
	// max_series is 0 (--metrics.max-series); 0: no bound.
	MaxSeries int
}

// series returns the options of a metric whose max_series is maxSeries;
// log receives what event counters report.
func (o Options) series(log *slog.Logger, maxSeries int) series.Options {
	if maxSeries == 0 {
		maxSeries = o.MaxSeries
	}
	return series.Options{Namespace: o.Namespace, Env: o.Env, Logger: log, MaxSeries: maxSeries}
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
	metrics     []*series.MapMetric
	events      []*series.EventCounter
	cgroupIDMap io.Closer
	pins        *PinHealth            // nil without --bpf.pin-path
	pendingPins []pendingPin          // to pin in place of incompatible pins: CommitPins
	maps        map[string]*mapHealth // by map name, for every metric and event counter
	last        atomic.Pointer[scrapeResult]
	log         *slog.Logger
}

// mapHealth is what went wrong with one map's labels.
type mapHealth struct {
	decodeErrors atomic.Uint64 // failure episodes (see series.GatherStats)
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
		return nil, validateErr(cfg, err)
	}
	if len(cfg.Kaddrs) > 0 {
		if err := setKaddrs(cfg, spec, opts.Env.Kallsyms()); err != nil {
			return nil, loadErr(cfg.Path, err)
		}
	}
	if err := setConstants(cfg, spec); err != nil {
		return nil, validateErr(cfg, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("config", cfg.Name)
	coll, pins, pending, err := loadPinned(cfg, spec, opts, logger)
	if err != nil {
		return nil, err
	}
	u := &Unit{cfg: cfg, coll: coll, pins: pins, pendingPins: pending, log: logger}
	if err := u.bindMetrics(protos); err != nil {
		u.Close()
		return nil, loadErr(cfg.BPFPath, err)
	}
	if err := u.startEvents(opts); err != nil {
		u.Close()
		return nil, loadErr(cfg.Path, err)
	}
	if err := u.startCgroupIDMap(opts.Env); err != nil {
		u.Close()
		return nil, loadErr(cfg.Path, err)
	}
	u.maps = map[string]*mapHealth{}
	for _, s := range u.sources() {
		u.maps[s.MapName()] = &mapHealth{}
	}
	if cfg.Tracing != nil && len(cfg.Tracing.Spans) > 0 {
		u.log.Warn("tracing.spans are validated but not exported yet; the ring buffers are not read", "spans", len(cfg.Tracing.Spans))
	}
	u.attachAll(spec)
	return u, nil
}

// Name is the config name.
func (u *Unit) Name() string { return u.cfg.Name }

// Config is the unit's config; it must not be changed.
func (u *Unit) Config() *config.Config { return u.cfg }

// newMetrics builds every metric's decoders; maps are bound after loading.
func newMetrics(cfg *config.Config, spec *ebpf.CollectionSpec, opts Options) ([]*series.MapMetric, error) {
	var out []*series.MapMetric
	var errs []error
	add := func(path, name, help string, labels []config.Label, b *series.Buckets, maxSeries int) {
		key, cpu := layoutOf(labels, b != nil, spec.Maps[name])
		m, err := series.NewMapMetric(opts.series(nil, maxSeries), name, help, key, cpu, b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", cfg.Path, path, err))
			return
		}
		out = append(out, m)
	}
	for i, c := range cfg.Metrics.Counters {
		if !c.PerfEventArray { // event counters start after loading
			add(fmt.Sprintf("metrics.counters[%d]", i), c.Name, c.Help, c.Labels, nil, c.MaxSeries)
		}
	}
	for i, h := range cfg.Metrics.Histograms {
		path := fmt.Sprintf("metrics.histograms[%d]", i)
		b, err := series.NewBuckets(h)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", cfg.Path, path, err))
			continue
		}
		add(path, h.Name, h.Help, h.Labels, &b, h.MaxSeries)
	}
	return out, errors.Join(errs...)
}

// bindMetrics binds every metric to its loaded map.
func (u *Unit) bindMetrics(ms []*series.MapMetric) error {
	for _, m := range ms {
		if err := m.Bind(u.coll.Maps[m.MapName()]); err != nil {
			return fmt.Errorf("%s: map %s: %w", u.cfg.Path, m.MapName(), err)
		}
	}
	u.metrics = ms
	return nil
}

// startEvents starts reading the records of every perf_event_array
// counter, before the programs are attached so none is missed.
func (u *Unit) startEvents(opts Options) error {
	for i, c := range u.cfg.Metrics.Counters {
		if !c.PerfEventArray {
			continue
		}
		e, err := series.NewEventCounter(opts.series(u.log, c.MaxSeries), c, u.coll.Maps[c.Name], u.coll.Maps[series.LostMapName(c.Name)])
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
	var pods podSource
	if c.Selector != nil {
		r, err := env.Kube()
		if err != nil {
			return fmt.Errorf("%s: cgroup_id_map.selector: %w", u.cfg.Path, err)
		}
		if !r.Online() {
			return fmt.Errorf("%s: %w", u.cfg.Path, errSelectorOffline)
		}
		pods = r
	}
	resolver, err := env.Cgroups()
	if err == nil {
		u.cgroupIDMap, err = startCgroupIDMap(c, u.coll.Maps[c.Name], resolver.Root(), 0, pods, u.log)
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
	for _, s := range u.sources() {
		fam, st, err := gatherSource(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(fam.Metric) > 0 { // an empty family is invalid exposition
			fams = append(fams, fam)
		}
		u.noteDecodeErrors(s.MapName(), st)
	}
	err := errors.Join(errs...)
	u.last.Store(&scrapeResult{duration: time.Since(start), ok: err == nil})
	return fams, err
}

// noteDecodeErrors counts the decode failures of one gather of a map and
// logs them: at warn the first time for the map, at debug afterwards.
func (u *Unit) noteDecodeErrors(mapName string, st series.GatherStats) {
	if st.DecodeErrors == 0 {
		return
	}
	h := u.maps[mapName]
	h.decodeErrors.Add(uint64(st.DecodeErrors))
	level := slog.LevelDebug
	if h.warned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	u.log.Log(context.Background(), level, "keys whose labels failed to decode are left out (map keys are retried after 1s, doubling up to 1m; event records are not); see ebpfmon_decoder_errors_total",
		"map", mapName, "count", st.DecodeErrors, "first", st.FirstErr)
}

// sources are the unit's exported metrics: the map metrics, then the
// event counters.
func (u *Unit) sources() []series.Source {
	out := make([]series.Source, 0, len(u.metrics)+len(u.events))
	for _, m := range u.metrics {
		out = append(out, m)
	}
	for _, e := range u.events {
		out = append(out, e)
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
	for _, s := range u.sources() {
		errs = append(errs, s.Close())
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
