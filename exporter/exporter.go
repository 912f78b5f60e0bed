package exporter

import (
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/internal/lograte"
	"github.com/ebpfmon/ebpfmon/lifecycle"
	"github.com/ebpfmon/ebpfmon/series"
)

// Exporter is the prometheus.Collector over every config: the metrics of
// each loaded unit plus health metrics for all configs, failed ones too.
type Exporter struct {
	opts     lifecycle.Options
	d        descs
	reserved map[string]string // names ebpfmon itself exports: name to owner (see names.go)

	// loadMu serialises Load and Reload: one config set is opened at a
	// time. mu guards what scrapes read; it is held only to read or swap
	// the lists, never while a unit opens, gathers or closes.
	loadMu sync.Mutex
	mu     sync.RWMutex
	units  []*entry           // loaded configs, in load order
	failed map[string]failure // configs whose last load failed: not loaded, or an older version runs
	reload reloadState
}

// entry is one loaded config: its unit, the hash of the files it was
// opened from, and the gathers using it (Close waits for them).
type entry struct {
	u      *lifecycle.Unit
	hash   sourceHash
	loaded time.Time // when u was opened
	users  sync.WaitGroup
}

// Log lines of one config (and program or map) at warn and above: logBurst
// at once, then one per logInterval, each saying how many were held back
// before it (see package lograte). A config failing at every reload or
// scrape cannot flood the log.
const (
	logBurst    = 5
	logInterval = time.Minute
)

// New returns an exporter with no configs. The log lines of each config,
// its units' included, are rate-limited (logBurst, logInterval).
func New(opts lifecycle.Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = slog.New(lograte.New(opts.Logger.Handler(), lograte.Options{
		Keys: []string{"config", "program", "map"}, Burst: logBurst, Interval: logInterval, MinLevel: slog.LevelWarn,
	}))
	e := &Exporter{opts: opts, d: newDescs(opts.Namespace), failed: map[string]failure{}}
	e.reserved = reservedNames(opts.Namespace, e.d.names)
	return e
}

// setFailed records that the last load of name failed with err, now.
func (e *Exporter) setFailed(name string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failed[labelValue(name)] = failure{err: err, at: time.Now()}
}

// labelValue is name as a label value (valid UTF-8).
func labelValue(name string) string { return strings.ToValidUTF8(name, "\uFFFD") }

// Units returns the loaded units.
func (e *Exporter) Units() []*lifecycle.Unit {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*lifecycle.Unit, len(e.units))
	for i, en := range e.units {
		out[i] = en.u
	}
	return out
}

// Failed returns the configs whose last load failed, sorted: not loaded,
// or an older version of them runs.
func (e *Exporter) Failed() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Sorted(maps.Keys(e.failed))
}

// acquire returns the loaded configs, each held until release: a reload
// that replaces one waits for the gathers holding it before closing it.
func (e *Exporter) acquire() (entries []*entry, release func()) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	entries = slices.Clone(e.units)
	for _, en := range entries {
		en.users.Add(1)
	}
	return entries, func() {
		for _, en := range entries {
			en.users.Done()
		}
	}
}

// Close closes every unit, and releases the pin directory.
func (e *Exporter) Close() {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	e.mu.Lock()
	units := e.units
	e.units = nil
	e.mu.Unlock()
	for _, en := range units {
		e.closeEntry(en)
	}
	if err := e.opts.Pins.Close(); err != nil {
		e.opts.Logger.Warn("close", "pin_path_lock", err)
	}
}

// closeEntry closes en's unit once the gathers using it are done; en must
// no longer be in the list.
func (e *Exporter) closeEntry(en *entry) {
	en.users.Wait()
	if err := en.u.Close(); err != nil {
		e.opts.Logger.Warn("close", "config", en.u.Name(), "err", err)
	}
}

// Gatherer returns what /metrics serves: every unit's map metrics, read
// in parallel, then reg (which holds the exporter's health metrics). Map
// metrics skip client_golang's registry, whose sorting and consistency
// checks cost more than reading a 100k-entry map; their consistency is
// ensured when configs load (valid names, one config per metric name,
// equal label sets merged).
func (e *Exporter) Gatherer(reg prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		units, release := e.acquire()
		defer release()
		results := make([][]*dto.MetricFamily, len(units))
		var wg sync.WaitGroup
		for i, en := range units {
			u := en.u
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.gatherUnit(u)
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

// unitGatherer is what Gatherer reads of a unit.
type unitGatherer interface {
	Name() string
	Gather() ([]*dto.MetricFamily, error)
}

// gatherUnit gathers one unit, logging its errors. A panic (a bug) is
// logged and leaves the unit's metrics out of this scrape: the other
// units, and the process, go on. (The unit recovers panics of its maps
// itself and counts them as failed scrapes; this catches the rest.)
func (e *Exporter) gatherUnit(u unitGatherer) (fams []*dto.MetricFamily) {
	defer func() {
		if r := recover(); r != nil {
			e.opts.Logger.Error("scrape panicked (a bug in ebpfmon, please report it with this message); the config's metrics are left out of this scrape",
				"config", u.Name(), "panic", r, "stack", string(debug.Stack()))
			fams = nil
		}
	}()
	fams, err := u.Gather()
	if err != nil {
		e.opts.Logger.Error("scrape failed", "config", u.Name(), "err", err)
	}
	return fams
}

// Describe sends nothing: the health metrics come and go with configs.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect sends the health metrics of every config, failed ones too.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	statsOn := bpfStatsEnabled()
	loaded := map[string]bool{}
	for _, en := range e.units {
		name := en.u.Name()
		loaded[name] = true
		h := en.u.Health(statsOn)
		e.collectUnit(ch, h)
		_, failed := e.failed[name]
		ch <- e.d.lastLoadOK.metric(boolValue(!failed), name)
		e.collectState(ch, name, unitState(h))
	}
	for name := range e.failed {
		if !loaded[name] {
			ch <- e.d.loaded.metric(0, name)
			ch <- e.d.lastLoadOK.metric(0, name)
			e.collectState(ch, name, StateFailed)
		}
	}
	e.reload.collect(ch, e.d)
	e.collectKube(ch)
}

// collectKube reports whether the pod decoders have API access and have
// listed the node's pods (kube.Resolver.Available), once a
// config has used one: before, no Resolver exists and nothing is sent.
// With API access it adds the informers' load on the API server and the
// size of the pod cache.
func (e *Exporter) collectKube(ch chan<- prometheus.Metric) {
	if e.opts.Env == nil {
		return
	}
	r := e.opts.Env.KubeResolver()
	if r == nil {
		return
	}
	ch <- e.d.kubeAPIAvailable.metric(boolValue(r.Available()))
	if !r.Online() {
		return
	}
	ch <- e.d.kubePods.metric(float64(r.CachedPods()))
	for _, s := range r.APIStats() {
		counter := func(d desc, v uint64, labels ...string) {
			ch <- d.metric(float64(v), append([]string{s.Resource}, labels...)...)
		}
		counter(e.d.kubeRequests, s.Lists, "list")
		counter(e.d.kubeRequests, s.Watches, "watch")
		counter(e.d.kubeErrors, s.Errors)
		counter(e.d.kubeEvents, s.Added, "added")
		counter(e.d.kubeEvents, s.Updated, "updated")
		counter(e.d.kubeEvents, s.Deleted, "deleted")
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (e *Exporter) collectUnit(ch chan<- prometheus.Metric, h lifecycle.Health) {
	name := h.Config
	if last := h.LastScrape; last != nil {
		success := 0.0
		if last.OK {
			success = 1
		}
		ch <- e.d.scrapeDuration.metric(last.Duration.Seconds(), name)
		ch <- e.d.scrapeSuccess.metric(success, name)
	}
	ch <- e.d.enabled.metric(1, name)
	ch <- e.d.loaded.metric(1, name)
	for _, m := range h.DecodeErrors {
		ch <- e.d.decoderErrors.metric(float64(m.Count), name, m.Map)
	}
	for _, p := range h.Programs {
		e.collectProgram(ch, name, p)
	}
	for _, ev := range h.EventsLost {
		ch <- e.d.eventsLost.metric(float64(ev.Count), name, ev.Map)
	}
	e.collectOverflow(ch, name, h.Overflow)
	if c := h.CgroupIDMap; c != nil {
		full := 0.0
		if c.Full {
			full = 1
		}
		ch <- e.d.cgroupIDMapFull.metric(full, name, c.Map)
		ch <- e.d.cgroupIDMapErrors.metric(float64(c.UpdateErrors), name, c.Map)
	}
	if p := h.Pins; p != nil {
		ch <- e.d.pinnedMaps.metric(float64(p.Reused), name, "reused")
		ch <- e.d.pinnedMaps.metric(float64(p.Created), name, "created")
		ch <- e.d.pinnedMaps.metric(float64(p.Replaced), name, "replaced")
	}
}

// collectOverflow sends what each metric's cap folded.
func (e *Exporter) collectOverflow(ch chan<- prometheus.Metric, config string, metrics []lifecycle.MetricOverflow) {
	for _, o := range metrics {
		ch <- e.d.seriesOverflow.metric(float64(o.Foldings), config, o.Metric)
		if o.IsMap {
			ch <- e.d.seriesFolded.metric(float64(o.Folded), config, o.Metric)
		}
	}
}

// collectProgram sends the metrics of one program of config. What the
// kernel could not tell (its id and tag, its run time and count) is left
// out, not sent as 0; the unit logged why.
func (e *Exporter) collectProgram(ch chan<- prometheus.Metric, config string, p lifecycle.ProgramHealth) {
	id := ""
	if p.InfoOK {
		id = strconv.FormatUint(uint64(p.ID), 10)
		ch <- e.d.programInfo.metric(1, config, p.Name, id, p.Tag)
	}
	attached := 0.0
	if p.Err == nil {
		attached = 1
	}
	ch <- e.d.programAttached.metric(attached, config, p.Name, id)
	if p.Stats == nil {
		return
	}
	ch <- e.d.programRunTime.metric(p.Stats.Runtime.Seconds(), config, p.Name, id)
	ch <- e.d.programRunCount.metric(float64(p.Stats.RunCount), config, p.Name, id)
}

// WriteDebugMaps writes every map of every loaded config as JSON: raw keys,
// decoded labels and values, read now. It is for debugging configs.
func (e *Exporter) WriteDebugMaps(w io.Writer) error {
	var out []series.DebugMap
	units, release := e.acquire()
	defer release()
	for _, en := range units {
		out = append(out, en.u.DebugMaps()...)
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
	names                                                         []string    // full names, reserved
	docs                                                          []MetricDoc // in the order declared
	enabled, loaded, scrapeDuration, scrapeSuccess, decoderErrors desc
	programInfo, programAttached, programRunTime, programRunCount desc
	eventsLost, cgroupIDMapFull, cgroupIDMapErrors                desc
	lastLoadOK, lastReloadOK, lastReloadTime, reloads             desc
	configState, configErrorInfo                                  desc
	kubeAPIAvailable, kubeRequests, kubeErrors, kubeEvents        desc
	kubePods, pinnedMaps                                          desc
	seriesOverflow, seriesFolded                                  desc
}

// desc is one of the exporter's own metrics: its descriptor and its type.
type desc struct {
	*prometheus.Desc
	typ prometheus.ValueType
}

// metric is the sample v of d with the given label values.
func (d desc) metric(v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d.Desc, d.typ, v, labels...)
}

// newDescs declares the exporter's own metrics, with namespace ns; each
// one's type is declared here once (gauge or counter), and is what
// Collect sends and docs/metrics.md says.
func newDescs(ns string) descs {
	var names []string
	var docs []MetricDoc
	metric := func(typ prometheus.ValueType) func(name, help string, labels ...string) desc {
		return func(name, help string, labels ...string) desc {
			full := prometheus.BuildFQName(ns, "", name)
			names = append(names, full)
			docs = append(docs, MetricDoc{Name: full, Type: typeName(typ), Help: help, Labels: labels})
			return desc{prometheus.NewDesc(full, help, labels, nil), typ}
		}
	}
	gauge, counter := metric(prometheus.GaugeValue), metric(prometheus.CounterValue)
	prog := []string{"config", "program", "id"}
	out := descs{
		enabled:           gauge("enabled_configs", "The configs that are loaded and exported.", "name"),
		loaded:            gauge("config_loaded", "Whether a version of the config is loaded (1) or none is (0, see the log); see config_last_load_successful for whether it is the one on disk, ebpf_program_attached for its programs.", "config"),
		lastLoadOK:        gauge("config_last_load_successful", "Whether the last load of the config's files, at startup or by a reload, succeeded (1) or failed (0, see the log; with config_loaded 1 the version before still runs).", "config"),
		configState:       gauge("config_state", "The config's state, one series per state, 1 on the current one (select with == 1): loaded (a version runs, every program attached), partial (a version runs, some program is not attached: see ebpf_program_attached) or failed (no version runs: see config_error_info and /status).", "config", "state"),
		configErrorInfo:   gauge("config_error_info", "Present (1) while the last load of the config failed, with the stage that failed: parse (NAME.yaml unreadable, not YAML, an unknown field), validate (a config rule, or the config against its object), load (NAME.bpf.o missing or corrupt, CO-RE, map creation), verifier (the kernel refused a program) or attach (--config.strict: a program not attached). With config_state{state=\"failed\"} 0 an older version still runs. /status shows the error and the verifier log.", "config", "stage"),
		lastReloadOK:      gauge("config_last_reload_successful", "Whether the last load or reload of the configs succeeded: every config on disk loaded (1), or one failed or the config directory could not be read (0)."),
		lastReloadTime:    gauge("config_last_reload_success_timestamp_seconds", "When the configs last loaded or reloaded successfully, in seconds since the epoch."),
		reloads:           counter("config_reloads_total", "Reloads of the configs (SIGHUP, POST /-/reload, or a change in the config directory), by result: success or failure (a config failed; those that did not were reloaded).", "result"),
		scrapeDuration:    gauge("scrape_duration_seconds", "How long the last read and decode of the config's maps took.", "config"),
		scrapeSuccess:     gauge("scrape_success", "Whether every map of the config could be read in the last scrape.", "config"),
		decoderErrors:     counter("decoder_errors_total", "Map keys whose labels failed to decode, by map. A failing key counts once per failure episode, not once per scrape: it is left out and retried (after 1s, doubling up to 1m) and counts again only if it fails after leaving the map. Event counters count each failed record.", "config", "map"),
		programInfo:       gauge("ebpf_program_info", "Loaded eBPF programs.", "config", "program", "id", "tag"),
		programAttached:   gauge("ebpf_program_attached", "Whether the program is attached to its hook.", prog...),
		programRunTime:    counter("ebpf_program_run_time_seconds_total", "Time the program ran (needs kernel.bpf_stats_enabled=1).", prog...),
		programRunCount:   counter("ebpf_program_run_count_total", "Times the program ran (needs kernel.bpf_stats_enabled=1).", prog...),
		cgroupIDMapFull:   gauge("cgroup_id_map_full", "Whether the last scan left cgroups matching the cgroup_id_map out of it for lack of room (their events go unfiltered): raise the map's max_entries.", "config", "map"),
		cgroupIDMapErrors: counter("cgroup_id_map_update_errors_total", "Failed updates and deletes of the cgroup_id_map (a full map counts once per cgroup left out per scan).", "config", "map"),
		kubeAPIAvailable:  gauge("kube_api_available", "Whether the pod, pod_namespace, container and peer_pod decoders have Kubernetes API access and have listed this node's pods (1), or resolve from cgroup paths alone (0: no API access, the list failing or not in yet; pod UIDs and container ids, empty namespaces, every peer unknown). Absent until a config uses one of these decoders."),
		kubeRequests:      counter("kube_api_requests_total", "Requests of the pod (and service) informers to the Kubernetes API server, by resource and verb (list, watch): one list and one long-lived watch per resource when all is well; growth means watches keep breaking (see the log).", "resource", "verb"),
		kubeErrors:        counter("kube_api_request_errors_total", "Lists and watches of the pod (and service) informers that failed (RBAC, API server unreachable), by resource.", "resource"),
		kubeEvents:        counter("kube_watch_events_total", "Objects the informers received from the API server, by resource and type (added, updated, deleted); the first list counts as added.", "resource", "type"),
		kubePods:          gauge("kube_cached_pods", "Pods in the pod decoders' cache: this node's pods, and deleted ones still in their grace period (--kube.pod-grace)."),
		pinnedMaps:        gauge("pinned_maps", "With --bpf.pin-path, the config's exported maps by what its running version's load did with their pins: reused (the counts continued), created (there was none) or replaced (the map's definition had changed, so its counts restarted from zero; the log names the map, the old and the new definition).", "config", "outcome"),
		eventsLost:        counter("events_lost_total", "Records of perf_event_array counters lost: dropped by a full perf buffer, not sent by the program (a full ring buffer, counted in its MAP_lost map, see include/events.bpf.h), or dropped by ebpfmon when decoding falls behind.", "config", "map"),
		seriesOverflow:    counter("series_overflow_total", "Label sets folded into the metric's overflow series (every label __overflow__, the values summed) because the metric had max_series (or --metrics.max-series) label sets already. A map metric counts a label set once when it is folded, again if it comes back after its keys all left the map; an event counter counts each new key whose label set is folded, about once per label set and flush_interval.", "config", "metric"),
		seriesFolded:      gauge("series_overflow_label_sets", "Label sets of a map metric folded into its overflow series at the last scrape (0: none; event counters do not keep them, see series_overflow_total).", "config", "metric"),
	}
	// build_info comes from the version collector.
	out.names = append(names, prometheus.BuildFQName(ns, "", "build_info"))
	out.docs = docs
	return out
}
