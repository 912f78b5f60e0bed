package exporter

import (
	"math"

	"github.com/ebpfmon/ebpfmon/config"
)

// Bucket index results besides a position in buckets.keys.
const (
	sumBucket     = -1 // the optional key holding the sum of observed values
	ignoredBucket = -2 // a key outside the configured range
)

// buckets describes a histogram's keys: the bucket keys the BPF side writes
// and the Prometheus upper bound ("le") of each, in increasing order.
type buckets struct {
	keys       []uint64
	bounds     []float64
	sumKey     uint64
	multiplier float64
}

// newBuckets computes the key layout of h (validated: min <= max, fixed keys
// increasing).
func newBuckets(h config.Histogram) buckets {
	mult := h.BucketMultiplier
	if mult == 0 {
		mult = 1
	}
	b := buckets{multiplier: mult}
	if h.BucketType == config.BucketFixed {
		for _, k := range h.BucketKeys {
			b.keys = append(b.keys, uint64(k))
			b.bounds = append(b.bounds, k*mult)
		}
		if len(b.keys) > 0 {
			b.sumKey = b.keys[len(b.keys)-1] + 1
		}
		return b
	}
	for k := h.BucketMin; k <= h.BucketMax; k++ {
		b.keys = append(b.keys, uint64(k))
		b.bounds = append(b.bounds, upperBound(h.BucketType, k)*mult)
	}
	b.sumKey = uint64(h.BucketMax) + 1
	return b
}

// upperBound is the largest value bucket key k counts, before the multiplier.
func upperBound(t config.BucketType, k int) float64 {
	switch t {
	case config.BucketExp2:
		return math.Exp2(float64(k))
	case config.BucketExp2Zero:
		if k == 0 {
			return 0
		}
		return math.Exp2(float64(k - 1))
	default: // linear
		return float64(k)
	}
}

// index returns the position of key in b.keys, sumBucket or ignoredBucket.
func (b *buckets) index(key uint64) int {
	if key == b.sumKey {
		return sumBucket
	}
	lo, hi := 0, len(b.keys)
	for lo < hi {
		mid := (lo + hi) / 2
		switch {
		case b.keys[mid] == key:
			return mid
		case b.keys[mid] < key:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return ignoredBucket
}

// histogram accumulates one series' raw per-bucket counts.
type histogram struct {
	counts []uint64
	sumRaw uint64
}

func (h *histogram) add(b *buckets, idx int, v uint64) {
	switch {
	case idx >= 0:
		if h.counts == nil {
			h.counts = make([]uint64, len(b.keys))
		}
		h.counts[idx] += v
	case idx == sumBucket:
		h.sumRaw += v
	}
}

// reset empties h for the next scrape, keeping its buffer.
func (h *histogram) reset() {
	clear(h.counts)
	h.sumRaw = 0
}

// cumulative returns the cumulative count of every bucket (missing buckets
// backfilled), the total count and the sum (0 without a sum key).
func (h *histogram) cumulative(b *buckets) (cum []uint64, count uint64, sum float64) {
	cum = make([]uint64, len(b.keys))
	for i := range b.keys {
		if h.counts != nil {
			count += h.counts[i]
		}
		cum[i] = count
	}
	return cum, count, float64(h.sumRaw) * b.multiplier
}
