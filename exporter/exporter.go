package exporter

import (
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/config"
)

// Exporter is the prometheus.Collector over every config: the metrics of
// each loaded unit plus health metrics for all configs, failed ones too.
type Exporter struct {
	opts     Options
	d        descs
	reserved map[string]string // names ebpfmon itself exports: name to owner (see names.go)

	mu     sync.RWMutex
	units  []*Unit
	failed map[string]error
}

// New returns an exporter with no configs.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Exporter{opts: opts, d: newDescs(opts.Namespace), failed: map[string]error{}}
	e.reserved = reservedNames(opts.Namespace, e.d.names)
	return e
}

// Load reads config name from dir, opens it and adds it. On failure the
// config is recorded as failed (it shows in config_loaded 0) and the
// error, naming the config and what to fix, is returned.
func (e *Exporter) Load(dir, name string) (*Unit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.open(dir, name)
	if err != nil {
		e.failed[strings.ToValidUTF8(name, "\uFFFD")] = err // a label value
		return nil, err
	}
	delete(e.failed, name)
	e.units = append(e.units, u)
	return u, nil
}

func (e *Exporter) open(dir, name string) (*Unit, error) {
	cfg, err := config.Load(dir, name)
	if err != nil {
		return nil, err
	}
	if err := e.checkNames(cfg); err != nil {
		return nil, err
	}
	return Open(cfg, e.opts)
}

// Units returns the loaded units.
func (e *Exporter) Units() []*Unit {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]*Unit(nil), e.units...)
}

// Close closes every unit.
func (e *Exporter) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, u := range e.units {
		if err := u.Close(); err != nil {
			e.opts.Logger.Warn("close", "config", u.Name(), "err", err)
		}
	}
	e.units = nil
}

// Gatherer returns what /metrics serves: every unit's map metrics, read
// in parallel, then reg (which holds the exporter's health metrics). Map
// metrics skip client_golang's registry, whose sorting and consistency
// checks cost more than reading a 100k-entry map; their consistency is
// ensured when configs load (valid names, one config per metric name,
// equal label sets merged).
func (e *Exporter) Gatherer(reg prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		units := e.Units()
		results := make([][]*dto.MetricFamily, len(units))
		var wg sync.WaitGroup
		for i, u := range units {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fams, err := u.Gather()
				if err != nil {
					e.opts.Logger.Error("scrape failed", "config", u.Name(), "err", err)
				}
				results[i] = fams
			}()
		}
		wg.Wait()
		fams, err := reg.Gather()
		for _, r := range results {
			fams = append(fams, r...)
		}
		return fams, err
	})
}

// Describe sends nothing: the health metrics come and go with configs.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect sends the health metrics of every config, failed ones too.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	statsOn := bpfStatsEnabled()
	for _, u := range e.units {
		e.collectUnit(ch, u, statsOn)
	}
	for name := range e.failed {
		ch <- prometheus.MustNewConstMetric(e.d.loaded, prometheus.GaugeValue, 0, name)
	}
}

func (e *Exporter) collectUnit(ch chan<- prometheus.Metric, u *Unit, statsOn bool) {
	name := u.Name()
	if last := u.last.Load(); last != nil {
		success := 0.0
		if last.ok {
			success = 1
		}
		ch <- prometheus.MustNewConstMetric(e.d.scrapeDuration, prometheus.GaugeValue, last.duration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(e.d.scrapeSuccess, prometheus.GaugeValue, success, name)
	}
	ch <- prometheus.MustNewConstMetric(e.d.enabled, prometheus.GaugeValue, 1, name)
	ch <- prometheus.MustNewConstMetric(e.d.loaded, prometheus.GaugeValue, 1, name)
	for _, m := range slices.Sorted(maps.Keys(u.maps)) {
		ch <- prometheus.MustNewConstMetric(e.d.decoderErrors, prometheus.CounterValue, float64(u.maps[m].decodeErrors.Load()), name, m)
	}
	for _, p := range u.programs {
		e.collectProgram(ch, u, p, statsOn)
	}
	for _, ev := range u.events {
		ch <- prometheus.MustNewConstMetric(e.d.eventsLost, prometheus.CounterValue, float64(ev.lostTotal()), name, ev.name)
	}
	if h, ok := u.cgroupIDMapHealth(); ok {
		full := 0.0
		if h.full {
			full = 1
		}
		ch <- prometheus.MustNewConstMetric(e.d.cgroupIDMapFull, prometheus.GaugeValue, full, name, h.name)
		ch <- prometheus.MustNewConstMetric(e.d.cgroupIDMapErrors, prometheus.CounterValue, float64(h.updateErrors), name, h.name)
	}
}

// collectProgram sends the metrics of one program. What the kernel cannot
// tell (its id and tag, its run time and count) is left out, not sent as
// 0, and logged at debug.
func (e *Exporter) collectProgram(ch chan<- prometheus.Metric, u *Unit, p *program, statsOn bool) {
	config := u.Name()
	id := ""
	if p.infoOK {
		id = strconv.FormatUint(uint64(p.id), 10)
		ch <- prometheus.MustNewConstMetric(e.d.programInfo, prometheus.GaugeValue, 1, config, p.name, id, p.tag)
	}
	attached := 0.0
	if p.err == nil {
		attached = 1
	}
	ch <- prometheus.MustNewConstMetric(e.d.programAttached, prometheus.GaugeValue, attached, config, p.name, id)
	if !statsOn {
		return
	}
	stats, err := p.prog.Stats()
	if err != nil {
		u.log.Debug("program stats unavailable: run time and count left out", "program", p.name, "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(e.d.programRunTime, prometheus.CounterValue, stats.Runtime.Seconds(), config, p.name, id)
	ch <- prometheus.MustNewConstMetric(e.d.programRunCount, prometheus.CounterValue, float64(stats.RunCount), config, p.name, id)
}

// bpfStatsEnabled reads kernel.bpf_stats_enabled; run time and count are
// only exported while it is on.
func bpfStatsEnabled() bool {
	raw, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	return err == nil && strings.TrimSpace(string(raw)) == "1"
}

// descs are the exporter's own metrics.
type descs struct {
	names                                                         []string // full names, reserved
	enabled, loaded, scrapeDuration, scrapeSuccess, decoderErrors *prometheus.Desc
	programInfo, programAttached, programRunTime, programRunCount *prometheus.Desc
	eventsLost, cgroupIDMapFull, cgroupIDMapErrors                *prometheus.Desc
}

func newDescs(ns string) descs {
	var names []string
	d := func(name, help string, labels ...string) *prometheus.Desc {
		names = append(names, prometheus.BuildFQName(ns, "", name))
		return prometheus.NewDesc(names[len(names)-1], help, labels, nil)
	}
	prog := []string{"config", "program", "id"}
	out := descs{
		enabled:           d("enabled_configs", "The configs that are loaded and exported.", "name"),
		loaded:            d("config_loaded", "Whether the config loaded (1) or failed (0, see the log); see ebpf_program_attached for its programs.", "config"),
		scrapeDuration:    d("scrape_duration_seconds", "How long the last read and decode of the config's maps took.", "config"),
		scrapeSuccess:     d("scrape_success", "Whether every map of the config could be read in the last scrape.", "config"),
		decoderErrors:     d("decoder_errors_total", "Map keys whose labels failed to decode, by map. A failing key counts once per failure episode, not once per scrape: it is left out and retried (after 1s, doubling up to 1m) and counts again only if it fails after leaving the map. Event counters count each failed record.", "config", "map"),
		programInfo:       d("ebpf_program_info", "Loaded eBPF programs.", "config", "program", "id", "tag"),
		programAttached:   d("ebpf_program_attached", "Whether the program is attached to its hook.", prog...),
		programRunTime:    d("ebpf_program_run_time_seconds_total", "Time the program ran (needs kernel.bpf_stats_enabled=1).", prog...),
		programRunCount:   d("ebpf_program_run_count_total", "Times the program ran (needs kernel.bpf_stats_enabled=1).", prog...),
		cgroupIDMapFull:   d("cgroup_id_map_full", "Whether the last scan left cgroups matching the cgroup_id_map out of it for lack of room (their events go unfiltered): raise the map's max_entries.", "config", "map"),
		cgroupIDMapErrors: d("cgroup_id_map_update_errors_total", "Failed updates and deletes of the cgroup_id_map (a full map counts once per cgroup left out per scan).", "config", "map"),
		eventsLost:        d("events_lost_total", "Records of perf_event_array counters lost: dropped by a full perf buffer, not sent by the program (a full ring buffer, counted in its MAP_lost map, see include/events.bpf.h), or dropped by ebpfmon when decoding falls behind.", "config", "map"),
	}
	// build_info comes from the version collector.
	out.names = append(names, prometheus.BuildFQName(ns, "", "build_info"))
	return out
}
