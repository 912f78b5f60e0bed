package exporter

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/lifecycle"
	"github.com/ebpfmon/ebpfmon/series"
)

// Exporter is the prometheus.Collector over every config: the metrics of
// each loaded unit plus health metrics for all configs, failed ones too.
type Exporter struct {
	opts     lifecycle.Options
	d        descs
	reserved map[string]string // names ebpfmon itself exports: name to owner (see names.go)

	mu     sync.RWMutex
	units  []*lifecycle.Unit
	failed map[string]error
}

// New returns an exporter with no configs.
func New(opts lifecycle.Options) *Exporter {
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
func (e *Exporter) Load(dir, name string) (*lifecycle.Unit, error) {
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

func (e *Exporter) open(dir, name string) (*lifecycle.Unit, error) {
	cfg, err := config.Load(dir, name)
	if err != nil {
		return nil, err
	}
	if err := e.checkNames(cfg); err != nil {
		return nil, err
	}
	return lifecycle.Open(cfg, e.opts)
}

// Fail closes the loaded config name and records it as failed with err:
// its programs are detached and its metric names free for other configs
// (--config.strict and --config.check fail a config whose programs did
// not all attach).
func (e *Exporter) Fail(name string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, u := range e.units {
		if u.Name() != name {
			continue
		}
		if cerr := u.Close(); cerr != nil {
			e.opts.Logger.Warn("close", "config", name, "err", cerr)
		}
		e.units = append(e.units[:i], e.units[i+1:]...)
		break
	}
	e.failed[strings.ToValidUTF8(name, "\uFFFD")] = err
}

// Units returns the loaded units.
func (e *Exporter) Units() []*lifecycle.Unit {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]*lifecycle.Unit(nil), e.units...)
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
		e.collectUnit(ch, u.Health(statsOn))
	}
	for name := range e.failed {
		ch <- prometheus.MustNewConstMetric(e.d.loaded, prometheus.GaugeValue, 0, name)
	}
}

func (e *Exporter) collectUnit(ch chan<- prometheus.Metric, h lifecycle.Health) {
	name := h.Config
	if last := h.LastScrape; last != nil {
		success := 0.0
		if last.OK {
			success = 1
		}
		ch <- prometheus.MustNewConstMetric(e.d.scrapeDuration, prometheus.GaugeValue, last.Duration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(e.d.scrapeSuccess, prometheus.GaugeValue, success, name)
	}
	ch <- prometheus.MustNewConstMetric(e.d.enabled, prometheus.GaugeValue, 1, name)
	ch <- prometheus.MustNewConstMetric(e.d.loaded, prometheus.GaugeValue, 1, name)
	for _, m := range h.DecodeErrors {
		ch <- prometheus.MustNewConstMetric(e.d.decoderErrors, prometheus.CounterValue, float64(m.Count), name, m.Map)
	}
	for _, p := range h.Programs {
		e.collectProgram(ch, name, p)
	}
	for _, ev := range h.EventsLost {
		ch <- prometheus.MustNewConstMetric(e.d.eventsLost, prometheus.CounterValue, float64(ev.Count), name, ev.Map)
	}
	if c := h.CgroupIDMap; c != nil {
		full := 0.0
		if c.Full {
			full = 1
		}
		ch <- prometheus.MustNewConstMetric(e.d.cgroupIDMapFull, prometheus.GaugeValue, full, name, c.Map)
		ch <- prometheus.MustNewConstMetric(e.d.cgroupIDMapErrors, prometheus.CounterValue, float64(c.UpdateErrors), name, c.Map)
	}
}

// collectProgram sends the metrics of one program of config. What the
// kernel could not tell (its id and tag, its run time and count) is left
// out, not sent as 0; the unit logged why.
func (e *Exporter) collectProgram(ch chan<- prometheus.Metric, config string, p lifecycle.ProgramHealth) {
	id := ""
	if p.InfoOK {
		id = strconv.FormatUint(uint64(p.ID), 10)
		ch <- prometheus.MustNewConstMetric(e.d.programInfo, prometheus.GaugeValue, 1, config, p.Name, id, p.Tag)
	}
	attached := 0.0
	if p.Err == nil {
		attached = 1
	}
	ch <- prometheus.MustNewConstMetric(e.d.programAttached, prometheus.GaugeValue, attached, config, p.Name, id)
	if p.Stats == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(e.d.programRunTime, prometheus.CounterValue, p.Stats.Runtime.Seconds(), config, p.Name, id)
	ch <- prometheus.MustNewConstMetric(e.d.programRunCount, prometheus.CounterValue, float64(p.Stats.RunCount), config, p.Name, id)
}

// WriteDebugMaps writes every map of every loaded config as JSON: raw keys,
// decoded labels and values, read now. It is for debugging configs.
func (e *Exporter) WriteDebugMaps(w io.Writer) error {
	var out []series.DebugMap
	for _, u := range e.Units() {
		out = append(out, u.DebugMaps()...)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
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
		eventsLost:        d("events_lost_total", "Records of perf_event_array counters lost: dropped by a full perf buffer, not sent by the program (a full ring buffer, counted in its MAP_lost map, see include/events.bpf.h), or dropped by ebpfmon when decoding falls behind or a new label set finds the counter at its 100,000-series limit.", "config", "map"),
	}
	// build_info comes from the version collector.
	out.names = append(names, prometheus.BuildFQName(ns, "", "build_info"))
	return out
}
