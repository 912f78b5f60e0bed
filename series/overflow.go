package series

import (
	dto "github.com/prometheus/client_model/go"
)

// OverflowValue is every label value of a metric's overflow series (but
// the per-CPU "cpu" label, which keeps its CPU): the series that the label
// sets beyond the metric's max_series fold into, their values summed.
const OverflowValue = "__overflow__"

// isOverflow says whether label values are those of the overflow series;
// such a label set is folded into it, so that no series is exported twice.
// A metric without labels has no overflow series.
func isOverflow(values []string) bool {
	for _, v := range values {
		if v != OverflowValue {
			return false
		}
	}
	return len(values) > 0
}

// overflow is a map metric's overflow series: the sum of its folded slots.
// What a folded label set had counted when its last key left is kept in
// carry while the overflow series lives (some label set is folded), so the
// series never goes down while it exists, as a slot's carry does.
type overflow struct {
	pairs [][]*dto.LabelPair // per CPU when split, else one; built when first needed
	sum   counts             // this scrape's sum of the folded slots
	carry *counts            // what folded label sets that left had counted
}

// addCounts adds src to dst, series by series; n is the number of series
// (CPUs when split, else 1), b the buckets of a histogram (nil: counter).
func addCounts(dst *counts, src *counts, n int, b *Buckets) {
	if src == nil {
		return
	}
	if src.sums != nil {
		if dst.sums == nil {
			dst.sums = make([]uint64, n)
		}
		for i, v := range src.sums {
			dst.sums[i] += v
		}
	}
	if src.hists != nil {
		if dst.hists == nil {
			dst.hists = make([]histogram, n)
		}
		for i := range src.hists {
			dst.hists[i].merge(b, &src.hists[i])
		}
	}
}

// resetCounts empties c for the next scrape, keeping its buffers.
func resetCounts(c *counts) {
	clear(c.sums)
	for i := range c.hists {
		c.hists[i].reset()
	}
}

// foldSlot adds folded slot s (its live values and carry) to the overflow
// series' sum of this scrape.
func (m *MapMetric) foldSlot(s *slot) {
	n := m.seriesPerSlot()
	addCounts(&m.over.sum, &s.live, n, m.buckets)
	addCounts(&m.over.sum, s.carry, n, m.buckets)
}

// leaveFolded keeps what folded slot s had counted, its last key d
// leaving, in the overflow series' carry; d nil: the key stays in the
// overflow series, counting on.
func (m *MapMetric) leaveFolded(s *slot, d *decoded) {
	if m.over.carry == nil {
		m.over.carry = &counts{}
	}
	addCounts(m.over.carry, s.carry, m.seriesPerSlot(), m.buckets)
	if d != nil {
		m.keepLast(&m.over.carry, d)
	}
}

// overflowPairs returns the label sets of the overflow series, building
// them the first time.
func (m *MapMetric) overflowPairs() [][]*dto.LabelPair {
	if m.over.pairs == nil {
		values := make([]string, len(m.names))
		for i := range values {
			values[i] = OverflowValue
		}
		if m.cpuValues != nil {
			m.over.pairs = cpuPairs(m.names, values, m.cpuValues)
		} else {
			m.over.pairs = [][]*dto.LabelPair{labelPairs(m.names, values)}
		}
	}
	return m.over.pairs
}

// seriesPerSlot is how many series one label set has: one per CPU when
// split, else one.
func (m *MapMetric) seriesPerSlot() int {
	if m.cpuValues != nil {
		return len(m.cpuValues)
	}
	return 1
}
