package exporter

import (
	"fmt"
	"log/slog"
	"os"
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
	opts Options
	d    descs

	mu     sync.RWMutex
	units  []*Unit
	failed map[string]error
}

// New returns an exporter with no configs.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Exporter{opts: opts, d: newDescs(opts.Namespace), failed: map[string]error{}}
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

// checkNames refuses, before anything is loaded, a config exporting a
// metric that ebpfmon or another config already exports.
func (e *Exporter) checkNames(cfg *config.Config) error {
	taken := map[string]string{}
	for _, n := range e.d.names {
		taken[n] = "ebpfmon itself"
	}
	for _, u := range e.units {
		for _, m := range u.sources() {
			taken[m.metricName()] = "config " + u.Name()
		}
	}
	for _, n := range metricNames(cfg) {
		full := prometheus.BuildFQName(e.opts.Namespace, "", n)
		if owner, ok := taken[full]; ok {
			return fmt.Errorf("config %s: metric %s is already exported by %s: rename the map", cfg.Name, full, owner)
		}
	}
	return nil
}

// metricNames lists the map names cfg exports.
func metricNames(cfg *config.Config) []string {
	var names []string
	for _, c := range cfg.Metrics.Counters {
		names = append(names, c.Name)
	}
	for _, h := range cfg.Metrics.Histograms {
		names = append(names, h.Name)
	}
	return names
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
	ch <- prometheus.MustNewConstMetric(e.d.decoderErrors, prometheus.CounterValue, float64(u.decodeErrors.Load()), name)
	for _, p := range u.programs {
		e.collectProgram(ch, name, p, statsOn)
	}
	for _, ev := range u.events {
		ch <- prometheus.MustNewConstMetric(e.d.eventsLost, prometheus.CounterValue, float64(ev.lost.Load()), name, ev.name)
	}
}

func (e *Exporter) collectProgram(ch chan<- prometheus.Metric, config string, p *program, statsOn bool) {
	id := strconv.FormatUint(uint64(p.id), 10)
	attached := 0.0
	if p.err == nil {
		attached = 1
	}
	ch <- prometheus.MustNewConstMetric(e.d.programInfo, prometheus.GaugeValue, 1, config, p.name, id, p.tag)
	ch <- prometheus.MustNewConstMetric(e.d.programAttached, prometheus.GaugeValue, attached, config, p.name, id)
	if !statsOn {
		return
	}
	stats, err := p.prog.Stats()
	if err != nil {
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
	eventsLost                                                    *prometheus.Desc
}

func newDescs(ns string) descs {
	var names []string
	d := func(name, help string, labels ...string) *prometheus.Desc {
		names = append(names, prometheus.BuildFQName(ns, "", name))
		return prometheus.NewDesc(names[len(names)-1], help, labels, nil)
	}
	prog := []string{"config", "program", "id"}
	out := descs{
		enabled:         d("enabled_configs", "The configs that are loaded and exported.", "name"),
		loaded:          d("config_loaded", "Whether the config loaded (1) or failed (0, see the log); see ebpf_program_attached for its programs.", "config"),
		scrapeDuration:  d("scrape_duration_seconds", "How long the last read and decode of the config's maps took.", "config"),
		scrapeSuccess:   d("scrape_success", "Whether every map of the config could be read in the last scrape.", "config"),
		decoderErrors:   d("decoder_errors_total", "Map keys whose labels failed to decode (each counted once while it stays in the map).", "config"),
		programInfo:     d("ebpf_program_info", "Loaded eBPF programs.", "config", "program", "id", "tag"),
		programAttached: d("ebpf_program_attached", "Whether the program is attached to its hook.", prog...),
		programRunTime:  d("ebpf_program_run_time_seconds_total", "Time the program ran (needs kernel.bpf_stats_enabled=1).", prog...),
		programRunCount: d("ebpf_program_run_count_total", "Times the program ran (needs kernel.bpf_stats_enabled=1).", prog...),
		eventsLost:      d("events_lost_total", "Records of perf_event_array counters the kernel dropped (perf buffer full).", "config", "map"),
	}
	// build_info comes from the version collector.
	out.names = append(names, prometheus.BuildFQName(ns, "", "build_info"))
	return out
}
