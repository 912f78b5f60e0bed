package series

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebpfmon/ebpfmon/bpfmap"
	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/decoder"
)

// labelDecoder splits a raw key into decoded label values.
type labelDecoder interface {
	Decode(key []byte, out []string) ([]string, error)
}

// Decode retries: a key whose labels failed to decode is tried again
// retryFirst after the failure, then after twice as long each time it fails
// again, up to retryMax. Failures are often transient (a sysfs read racing
// a hotplug, a cgroup walk racing a mkdir), and a key may stay in the map
// for ever.
const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

// Decode refreshes: what a key decodes to can change while it stays in the
// map (an interface renamed, a module loaded under a stack address, a cgroup
// renamed), and the decoders follow such changes, so every cached key is
// decoded again once per refreshEvery. A scrape decodes at most
// refreshMin or a refreshSpread-th of the cached keys again, whichever is
// more, so a large map spreads the work over a few scrapes.
const (
	refreshEvery  = time.Minute
	refreshMin    = 1024
	refreshSpread = 4
)

// MapMetric exports one map as a counter or a histogram. It is built from
// the config before the object is loaded (NewMapMetric), then bound to the
// loaded map (Bind). Scrapes may run in parallel; mu serialises them per
// map, as they share buffers and slots.
type MapMetric struct {
	name      string // the map name
	fullName  string // the metric name, with namespace
	help      string
	names     []string // label names, without bucket and cpu
	keyNames  []string // label names of the key, bucket included
	labels    labelDecoder
	reader    *bpfmap.Reader
	buckets   *Buckets      // nil for counters
	cpu       *config.Label // the "cpu" label splitting per-CPU values, or nil
	env       *decoder.Env
	cpuValues []string              // the cpu label's value per possible CPU, set when the map is bound
	now       func() time.Time      // the clock of decode retries
	online    func() ([]int, error) // the online CPUs, read each scrape of a split metric

	mu      sync.Mutex
	closed  bool
	entries *bpfmap.Entries
	cache   map[string]*decoded
	slots   slots
	over    overflow
	gen     uint32 // the scrape generation; wraps after 4e9 scrapes, harmlessly
	hits    int
	order   []int
	scratch []string
	started time.Time // when this scrape started, for retries
	epoch   uint16    // the refresh period; keys decoded in an older one are due
	nextAt  time.Time // when the next refresh period starts
	budget  int       // how many due keys this scrape may still decode again
	cpuOn   []bool    // split metrics: which CPUs are online (nil: all)

	foldings atomic.Uint64 // slots.foldings, for Foldings
	folded   atomic.Int64  // slots.folded, for Folded
}

// NewMapMetric builds the metric of map name, whose key holds the key
// labels (for histograms, the bucket last); a non-nil cpu label splits
// per-CPU values by CPU; b is nil for a counter. At most opts.MaxSeries
// label sets are exported (0: no bound), further ones fold into the
// overflow series. It touches no kernel: the map is bound after loading
// (Bind).
func NewMapMetric(opts Options, name, help string, key []config.Label, cpu *config.Label, b *Buckets) (*MapMetric, error) {
	ls, err := decoder.NewLabelSet(key, opts.Env)
	if err != nil {
		return nil, err
	}
	m := &MapMetric{
		name: name, fullName: prometheus.BuildFQName(opts.Namespace, "", name), help: help,
		labels: ls, buckets: b, cpu: cpu, env: opts.Env, now: time.Now, online: bpfmap.OnlineCPUs,
		cache: map[string]*decoded{}, slots: slots{ids: map[string]int{}, max: opts.MaxSeries},
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

// Bind makes the metric read the loaded map mp, and decodes the cpu
// label's value of each of its CPUs.
func (m *MapMetric) Bind(mp *ebpf.Map) error {
	r, err := bpfmap.NewReader(mp)
	if err != nil {
		return err
	}
	m.reader, m.entries = r, r.NewEntries()
	if m.cpu != nil {
		if m.cpuValues, err = cpuLabelValues(*m.cpu, m.env, r.CPUs()); err != nil {
			return err
		}
	}
	return nil
}

// cpuLabelSizes are the sizes a per-CPU "cpu" label may have: 0 (ebpfmon's
// spelling) or ebpf_exporter's 2, decoded from the CPU number as a u16, and
// 4 or 8, as a u32 or u64.
var cpuLabelSizes = []uint{0, 2, 4, 8}

// CPULabelSizeOK says whether a per-CPU "cpu" label of size bytes can be
// given the CPU number: 0, 2, 4 or 8 (as a u16, u32 or u64).
func CPULabelSizeOK(size uint) bool { return slices.Contains(cpuLabelSizes, size) }

// cpuLabelValues decodes the "cpu" label of every CPU: its decoders get the
// CPU number as a little-endian u16 (ebpf_exporter's 2-byte layout) or, for
// a label of size 4 or 8, as a u32 or u64.
func cpuLabelValues(l config.Label, env *decoder.Env, cpus int) ([]string, error) {
	if !CPULabelSizeOK(l.Size) {
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

// decoded is what a raw key decodes to, cached across scrapes until the key
// leaves the map, and decoded again once per refreshEvery. Keys that fail to decode are cached too, so each failure
// episode is counted once, and retried with backoff.
//
// It is kept as small as before carrying and retrying existed (32 bytes),
// as there is one per map entry and a scrape touches every one: what only
// some keys need is behind ext.
type decoded struct {
	last   uint64    // the key's value (its CPUs summed) at its last scrape
	ext    *keyExtra // per-CPU values of split metrics, retries of failed keys; else nil
	gen    uint32
	slot   int32  // index into slots.all
	bucket int32  // histograms: index into buckets.keys, or sumBucket, overflowBucket, ignoredBucket
	epoch  uint16 // the refresh period the key was last decoded in
	skip   bool   // left out: a decoder dropped the label set, or decoding failed
	failed bool
}

// keyExtra is what only some keys need.
type keyExtra struct {
	lastCPU   []uint64      // split metrics: the value of each CPU at the last scrape
	retryAt   time.Time     // failed keys: when to decode again
	retryWait time.Duration // and how long that was after the last try
}

// extra returns d's keyExtra, creating it.
func (d *decoded) extra() *keyExtra {
	if d.ext == nil {
		d.ext = &keyExtra{}
	}
	return d.ext
}

// GatherStats counts what one gather saw.
type GatherStats struct {
	DecodeErrors int   // keys that started failing to decode (once per failure episode)
	FirstErr     error // the first of them
}

var errClosed = errors.New("closed")

// Gather reads the map and returns its metric family.
func (m *MapMetric) Gather() (*dto.MetricFamily, GatherStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, GatherStats{}, fmt.Errorf("map %s: %w", m.name, errClosed)
	}
	if err := m.reader.Read(m.entries); err != nil {
		return nil, GatherStats{}, fmt.Errorf("map %s: read: %w", m.name, err)
	}
	if m.cpuValues != nil {
		m.readOnline()
	}
	m.started = m.now()
	fam, st := m.build(m.entries)
	return fam, st, nil
}

// readOnline refreshes which CPUs are online; CPUs go on and offline at
// run time. If the list cannot be read every CPU is exported.
func (m *MapMetric) readOnline() {
	cpus, err := m.online()
	if err != nil {
		m.cpuOn = nil
		return
	}
	m.setOnline(cpus)
}

// setOnline marks the given CPUs online, the others offline.
func (m *MapMetric) setOnline(cpus []int) {
	m.cpuOn = append(m.cpuOn[:0], make([]bool, len(m.cpuValues))...)
	for _, c := range cpus {
		if c < len(m.cpuOn) {
			m.cpuOn[c] = true
		}
	}
}

// MetricName is the metric's name, with namespace.
func (m *MapMetric) MetricName() string { return m.fullName }

// MapName is the name of the map the metric reads.
func (m *MapMetric) MapName() string { return m.name }

// Close stops further gathers; it waits for one in progress. It releases
// nothing: the map belongs to the loaded collection.
func (m *MapMetric) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// build turns raw entries into the metric family: decode keys (cached),
// add up equal label sets, assemble histograms. Keys that fail to decode
// are counted and left out; the rest are exported.
func (m *MapMetric) build(e *bpfmap.Entries) (*dto.MetricFamily, GatherStats) {
	var st GatherStats
	m.gen++
	m.hits = 0
	if !m.started.Before(m.nextAt) {
		m.epoch++
		m.nextAt = m.started.Add(refreshEvery)
	}
	m.budget = max(refreshMin, len(m.cache)/refreshSpread)
	m.order = m.order[:0]
	for i := range e.Len() {
		d, dup, err := m.decode(e.Key(i))
		if err != nil {
			st.DecodeErrors++
			if st.FirstErr == nil {
				st.FirstErr = err
			}
		}
		if !d.skip && !dup {
			m.add(d, e.Values(i))
		}
	}
	m.sweep()
	if m.slots.folded == 0 { // the overflow series is gone, and its carry
		m.over.carry = nil
	}
	m.foldings.Store(m.slots.foldings)
	m.folded.Store(int64(m.slots.folded))
	return m.family(), st
}

// add folds one entry's values (one per CPU) into its slot.
func (m *MapMetric) add(d *decoded, values []uint64) {
	s := m.slots.all[d.slot]
	if s.seen != m.gen {
		m.resetSlot(s)
		m.order = append(m.order, int(d.slot))
	}
	if m.cpuValues == nil {
		var sum uint64
		for _, v := range values {
			sum += v
		}
		m.observe(s, d, 0, &d.last, sum)
		return
	}
	lastCPU := d.ext.lastCPU
	for c, v := range values[:min(len(values), len(lastCPU))] {
		m.observe(s, d, c, &lastCPU[c], v)
	}
}

// observe adds key d's value v (of CPU cpu, or of all CPUs) to its slot;
// last is the key's value at its last scrape. A value below it means the
// key started over (deleted and inserted again since): what it had
// counted is carried.
func (m *MapMetric) observe(s *slot, d *decoded, cpu int, last *uint64, v uint64) {
	if v < *last {
		m.carry(s, d, cpu, *last)
	}
	*last = v
	if s.live.sums != nil { // a counter's slot, allocated: the common case
		s.live.sums[cpu] += v
		return
	}
	m.addTo(&s.live, d.bucket, cpu, v)
}

// carry keeps v, counted by key d at cpu before it left or started over,
// in its slot.
func (m *MapMetric) carry(s *slot, d *decoded, cpu int, v uint64) {
	if s.carry == nil {
		s.carry = &counts{}
	}
	m.addTo(s.carry, d.bucket, cpu, v)
}

// keepLast adds what key d counted at its last scrape to *c, made when
// first needed.
func (m *MapMetric) keepLast(c **counts, d *decoded) {
	var lastCPU []uint64
	if d.ext != nil {
		lastCPU = d.ext.lastCPU
	}
	if d.last == 0 && !slices.ContainsFunc(lastCPU, func(v uint64) bool { return v > 0 }) {
		return
	}
	if *c == nil {
		*c = &counts{}
	}
	if d.last > 0 {
		m.addTo(*c, d.bucket, 0, d.last)
	}
	for cpu, v := range lastCPU {
		if v > 0 {
			m.addTo(*c, d.bucket, cpu, v)
		}
	}
}

// addTo adds v to the series cpu (0 when not split) of c, at bucket for
// histograms.
func (m *MapMetric) addTo(c *counts, bucket int32, cpu int, v uint64) {
	n := 1
	if m.cpuValues != nil {
		n = len(m.cpuValues)
	}
	if m.buckets != nil {
		if c.hists == nil {
			c.hists = make([]histogram, n)
		}
		c.hists[cpu].add(m.buckets, int(bucket), v)
		return
	}
	if c.sums == nil {
		c.sums = make([]uint64, n)
	}
	c.sums[cpu] += v
}

func (m *MapMetric) resetSlot(s *slot) {
	s.seen = m.gen
	resetCounts(&s.live)
}

// family builds the exposition of the slots filled this scrape: what the
// keys hold plus what departed keys had counted, the folded slots summed
// into the overflow series (last); offline CPUs are left out.
func (m *MapMetric) family() *dto.MetricFamily {
	typ := dto.MetricType_COUNTER
	if m.buckets != nil {
		typ = dto.MetricType_HISTOGRAM
	}
	n := 0
	for _, i := range m.order {
		n += len(m.slots.all[i].pairs)
	}
	if m.slots.folded > 0 {
		n += m.seriesPerSlot()
		resetCounts(&m.over.sum)
	}
	f := newFamilyBuilder(m.fullName, m.help, typ, n)
	for _, i := range m.order {
		s := m.slots.all[i]
		if s.folded {
			m.foldSlot(s)
			continue
		}
		m.series(f, s.pairs, &s.live, s.carry)
	}
	if m.slots.folded > 0 {
		m.series(f, m.overflowPairs(), &m.over.sum, m.over.carry)
	}
	return f.fam
}

// series adds the series of one label set to f: live plus carry (nil for
// none), per CPU when split.
func (m *MapMetric) series(f *familyBuilder, pairs [][]*dto.LabelPair, live, carry *counts) {
	for c, p := range pairs {
		if m.cpuOn != nil && !m.cpuOn[c] {
			continue
		}
		if m.buckets != nil {
			var ch *histogram
			if carry != nil && carry.hists != nil {
				ch = &carry.hists[c]
			}
			f.histogram(p, m.buckets, liveHist(live, c), ch)
			continue
		}
		var v uint64
		if live.sums != nil {
			v = live.sums[c]
		}
		if carry != nil && carry.sums != nil {
			v += carry.sums[c]
		}
		f.counter(p, v)
	}
}

// liveHist is the histogram of series c of live, or an empty one.
func liveHist(live *counts, c int) *histogram {
	if live.hists == nil {
		return &histogram{}
	}
	return &live.hists[c]
}

// decode returns the cached decoding of key, decoding it on a miss and
// retrying a failed one when its backoff is over. A failure is returned
// only when the key starts failing, with a decoded that skips the key. dup
// says the key was already seen this scrape (iterating a map that changes
// can return a key twice).
func (m *MapMetric) decode(key []byte) (d *decoded, dup bool, err error) {
	d, ok := m.cache[string(key)]
	if !ok {
		d = &decoded{gen: m.gen, epoch: m.epoch}
		if m.cpuValues != nil {
			d.extra().lastCPU = make([]uint64, len(m.cpuValues))
		}
		err := m.resolveKey(d, key, retryFirst)
		m.cache[string(key)] = d // once resolved: never a half-made entry
		m.hits++
		return d, false, err
	}
	if d.gen == m.gen {
		return d, true, nil
	}
	d.gen = m.gen
	m.hits++
	switch {
	case d.failed:
		if !m.started.Before(d.ext.retryAt) {
			d.epoch = m.epoch
			_ = m.resolveKey(d, key, min(2*d.ext.retryWait, retryMax)) // the same episode: not counted again
		}
	case d.epoch != m.epoch && m.budget > 0:
		m.budget--
		m.refresh(d, key)
	}
	return d, false, nil
}

// refresh decodes a cached key again. If its labels changed the key moves
// to its new series, with its whole value (what it had counted stays in
// the old series while other keys keep that alive, as when a key leaves);
// a decoder may now skip it, or stop skipping it. A failure keeps the
// labels the key had: it may be as transient as the ones retried.
func (m *MapMetric) refresh(d *decoded, key []byte) {
	d.epoch = m.epoch
	values, err := decodeLabels(m.labels, key, m.scratch[:0])
	m.scratch = values
	skip := errors.Is(err, decoder.ErrSkipLabelSet)
	if err != nil && !skip {
		return
	}
	if !skip && !d.skip && m.slots.all[d.slot].id == m.seriesID(values) {
		return // unchanged: the common case
	}
	if !d.skip && m.slots.all[d.slot].folded {
		m.refold(d, values, skip)
		return
	}
	if !d.skip {
		m.depart(d)
	}
	m.restart(d)
	if !skip && m.resolve(d, values) == nil {
		d.skip = false
	}
}

// restart makes key d count from 0 in a label set to be resolved: it skips
// until resolved.
func (m *MapMetric) restart(d *decoded) {
	d.last = 0
	if d.ext != nil {
		clear(d.ext.lastCPU)
	}
	d.skip = true
}

// refold moves key d of a folded label set to its new label values (none
// when skip). If the new label set is folded too, the key stays in the
// overflow series and goes on counting from its value there: carrying what
// it had counted and adding its whole value again would count it twice in
// the one series. Else it leaves the overflow series as when it leaves the
// map. The new label set is resolved before the old one is released,
// which changes nothing of the cap: a folded label set holds no place.
func (m *MapMetric) refold(d *decoded, values []string, skip bool) {
	old := *d
	d.skip = true
	if !skip && m.resolve(d, values) == nil {
		d.skip = false
	}
	if !d.skip && m.slots.all[d.slot].folded && d.bucket == old.bucket {
		if s := m.slots.all[old.slot]; s.refs == 1 {
			m.leaveFolded(s, nil)
		}
		m.slots.release(int(old.slot), m.started)
		return
	}
	m.depart(&old)
	skipNow := d.skip
	m.restart(d)
	d.skip = skipNow
}

// seriesID identifies the series of decoded label values: the values
// without the bucket, joined.
func (m *MapMetric) seriesID(values []string) string {
	if m.buckets != nil {
		values = values[:len(values)-1]
	}
	return strings.Join(values, "\xff")
}

// resolveKey decodes key's labels into d. On failure d skips the key and
// is retried wait after this scrape.
func (m *MapMetric) resolveKey(d *decoded, key []byte, wait time.Duration) error {
	values, err := decodeLabels(m.labels, key, m.scratch[:0])
	m.scratch = values
	if err == nil {
		err = m.resolve(d, values)
	}
	d.skip, d.failed = false, false
	switch {
	case errors.Is(err, decoder.ErrSkipLabelSet):
		d.skip = true
	case err != nil:
		d.skip, d.failed = true, true
		x := d.extra()
		x.retryAt, x.retryWait = m.started.Add(wait), wait
		return fmt.Errorf("map %s key %x: %w", m.name, key, err)
	}
	return nil
}

// resolve fills d's bucket and slot from the decoded label values.
func (m *MapMetric) resolve(d *decoded, values []string) error {
	if m.buckets != nil {
		last := values[len(values)-1]
		key, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return fmt.Errorf("bucket label %q is not a number: decode it with uint", last)
		}
		d.bucket = int32(m.buckets.index(key))
	}
	id := m.seriesID(values)
	if m.buckets != nil {
		values = values[:len(values)-1]
	}
	d.slot = int32(m.slots.acquire(id, isOverflow(values), m.started, func() [][]*dto.LabelPair {
		if m.cpuValues != nil {
			return cpuPairs(m.names, values, m.cpuValues)
		}
		return [][]*dto.LabelPair{labelPairs(m.names, values)}
	}))
	return nil
}

// sweep forgets keys that were not in the map this time; when every
// cached key was seen there is nothing to forget.
func (m *MapMetric) sweep() {
	if m.hits == len(m.cache) {
		return
	}
	for k, d := range m.cache {
		if d.gen != m.gen {
			if !d.skip {
				m.depart(d)
			}
			delete(m.cache, k)
		}
	}
}

// depart releases the slot of a key that left the map, or whose labels
// changed. While other keys keep the series alive, what the key had
// counted stays in it as carry; when a folded label set's last key
// leaves, what it had counted stays in the overflow series.
func (m *MapMetric) depart(d *decoded) {
	switch s := m.slots.all[d.slot]; {
	case s.refs > 1:
		m.keepLast(&s.carry, d)
	case s.folded:
		m.leaveFolded(s, d)
	}
	m.slots.release(int(d.slot), m.started)
}

// Foldings is how many label sets have been folded into the overflow
// series so far: each counts once when folded, again if it comes back
// after its keys all left the map.
func (m *MapMetric) Foldings() uint64 { return m.foldings.Load() }

// Folded is how many label sets the last gather folded into the overflow
// series.
func (m *MapMetric) Folded() int { return int(m.folded.Load()) }
