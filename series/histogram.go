package series

import (
	"sort"

	"github.com/ebpfmon/ebpfmon/config"
)

// Bucket index results besides a position in buckets.keys.
const (
	sumBucket      = -1 // the optional key holding the sum of observed values
	ignoredBucket  = -2 // a key above the top bucket
	overflowBucket = -3 // the bucket_overflow key: observations above the top bound
)

// Buckets describes a histogram's keys: the bucket keys the BPF side writes
// and the Prometheus upper bound ("le") of each, in increasing order.
type Buckets struct {
	keys        []uint64
	bounds      []float64
	sumKey      uint64
	overflowKey uint64
	overflow    bool // overflowKey is in use (bucket_overflow)
	multiplier  float64
}

// NewBuckets computes the key layout of h (validated, so it cannot fail
// for a loaded config).
func NewBuckets(h config.Histogram) (Buckets, error) {
	l, err := h.BucketLayout()
	if err != nil {
		return Buckets{}, err
	}
	return Buckets{
		keys: l.Keys, bounds: l.Bounds, sumKey: l.SumKey,
		overflowKey: l.OverflowKey, overflow: h.BucketOverflow, multiplier: l.Multiplier,
	}, nil
}

// index returns where a bucket key counts: the sum or overflow key, else
// the first bucket whose key is >= key. A key k counts values up to k's
// bound, so keys below bucket_min (or between fixed keys) belong to the
// next bucket up; keys above the top bucket are ignored (ebpf_exporter's
// programs clamp them into the top bucket instead).
func (b *Buckets) index(key uint64) int {
	switch {
	case key == b.sumKey:
		return sumBucket
	case b.overflow && key == b.overflowKey:
		return overflowBucket
	}
	i := sort.Search(len(b.keys), func(i int) bool { return b.keys[i] >= key })
	if i == len(b.keys) {
		return ignoredBucket
	}
	return i
}

// histogram accumulates one series' raw per-bucket counts.
type histogram struct {
	counts   []uint64
	sumRaw   uint64
	overflow uint64 // observations above the top bound
}

func (h *histogram) add(b *Buckets, idx int, v uint64) {
	switch {
	case idx >= 0:
		if h.counts == nil {
			h.counts = make([]uint64, len(b.keys))
		}
		h.counts[idx] += v
	case idx == sumBucket:
		h.sumRaw += v
	case idx == overflowBucket:
		h.overflow += v
	}
}

// merge adds o's counts to h.
func (h *histogram) merge(b *Buckets, o *histogram) {
	if o.counts != nil {
		if h.counts == nil {
			h.counts = make([]uint64, len(b.keys))
		}
		for i, v := range o.counts {
			h.counts[i] += v
		}
	}
	h.sumRaw += o.sumRaw
	h.overflow += o.overflow
}

// reset empties h for the next scrape, keeping its buffer.
func (h *histogram) reset() {
	clear(h.counts)
	h.sumRaw, h.overflow = 0, 0
}

// cumulative returns the cumulative count of every bucket (missing buckets
// backfilled), the total count (overflow included: it shows in +Inf only)
// and the sum (0 without a sum key), of h plus carry (what keys that left
// the map had counted; nil for none).
func (h *histogram) cumulative(b *Buckets, carry *histogram) (cum []uint64, count uint64, sum float64) {
	if carry == nil {
		carry = &histogram{}
	}
	cum = make([]uint64, len(b.keys))
	for i := range b.keys {
		if h.counts != nil {
			count += h.counts[i]
		}
		if carry.counts != nil {
			count += carry.counts[i]
		}
		cum[i] = count
	}
	count += h.overflow + carry.overflow
	return cum, count, float64(h.sumRaw+carry.sumRaw) * b.multiplier
}
