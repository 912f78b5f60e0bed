package lifecycle

import (
	"maps"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfmon/ebpfmon/series"
)

// Health is a snapshot of what a unit reports about itself, which the
// collector exports as health metrics.
type Health struct {
	Config       string
	LastScrape   *Scrape            // nil before the first Gather
	DecodeErrors []MapCount         // per map of a metric or event counter, by map name
	Programs     []ProgramHealth    // in attach (name) order
	EventsLost   []MapCount         // per event counter, in config order
	Overflow     []MetricOverflow   // per metric and event counter, map metrics first
	CgroupIDMap  *CgroupIDMapHealth // nil without a cgroup_id_map
	Pins         *PinHealth         // nil without --bpf.pin-path
}

// Scrape is how the last Gather went.
type Scrape struct {
	Duration time.Duration
	OK       bool // every map could be read
}

// MapCount is a count for one map.
type MapCount struct {
	Map   string
	Count uint64
}

// MetricOverflow is what a metric's cap (max_series) folded into its
// overflow series.
type MetricOverflow struct {
	Metric   string // the metric name, with namespace
	Foldings uint64 // label sets folded so far (see series.MapMetric.Foldings, series.EventCounter.Foldings)
	Folded   int    // map metrics: label sets folded at the last gather
	IsMap    bool   // a map metric, which knows Folded; not an event counter
}

// ProgramHealth is one program of the unit.
type ProgramHealth struct {
	Name    string // valid UTF-8
	Section string // the ELF section: the hook it attaches to
	ID      ebpf.ProgramID
	Tag     string
	InfoOK  bool               // ID and Tag are known
	Err     error              // why it is not attached; nil when it is
	Stats   *ebpf.ProgramStats // run time and count; nil when not asked for or unavailable
}

// Health returns the unit's health now. With stats, it asks the kernel
// for each program's run time and count (kernel.bpf_stats_enabled must
// be on); what it cannot tell is left nil and logged at debug.
func (u *Unit) Health(stats bool) Health {
	h := Health{Config: u.Name(), Pins: u.pins}
	if last := u.last.Load(); last != nil {
		h.LastScrape = &Scrape{Duration: last.duration, OK: last.ok}
	}
	for _, m := range slices.Sorted(maps.Keys(u.maps)) {
		h.DecodeErrors = append(h.DecodeErrors, MapCount{m, u.maps[m].decodeErrors.Load()})
	}
	for _, p := range u.programs {
		ph := ProgramHealth{Name: p.name, Section: p.section, ID: p.id, Tag: p.tag, InfoOK: p.infoOK, Err: p.err}
		if stats {
			ph.Stats = u.readStats(p)
		}
		h.Programs = append(h.Programs, ph)
	}
	for _, e := range u.events {
		h.EventsLost = append(h.EventsLost, MapCount{e.MapName(), e.LostTotal()})
	}
	h.Overflow = u.overflow()
	if c, ok := u.cgroupIDMapHealth(); ok {
		h.CgroupIDMap = &c
	}
	return h
}

// overflow reports what each metric's cap folded.
func (u *Unit) overflow() []MetricOverflow {
	out := make([]MetricOverflow, 0, len(u.metrics)+len(u.events))
	for _, m := range u.metrics {
		out = append(out, MetricOverflow{Metric: m.MetricName(), Foldings: m.Foldings(), Folded: m.Folded(), IsMap: true})
	}
	for _, e := range u.events {
		out = append(out, MetricOverflow{Metric: e.MetricName(), Foldings: e.Foldings()})
	}
	return out
}

// readStats returns p's run time and count, or nil (logged) when the
// kernel cannot tell them.
func (u *Unit) readStats(p *program) *ebpf.ProgramStats {
	stats, err := p.prog.Stats()
	if err != nil {
		u.log.Debug("program stats unavailable: run time and count left out", "program", p.name, "err", err)
		return nil
	}
	return stats
}

// DebugMaps reads every map metric of the unit afresh, for /maps.
func (u *Unit) DebugMaps() []series.DebugMap {
	var out []series.DebugMap
	for _, m := range u.metrics {
		out = append(out, m.Debug(u.Name()))
	}
	return out
}
