package exporter

import (
	"slices"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

func TestNewBuckets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      config.Histogram
		keys   []uint64
		bounds []float64
		sumKey uint64
	}{
		{"exp2", config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 3}, []uint64{0, 1, 2, 3}, []float64{1, 2, 4, 8}, 4},
		{"exp2 min and multiplier", config.Histogram{BucketType: config.BucketExp2, BucketMin: 2, BucketMax: 4, BucketMultiplier: 0.5}, []uint64{2, 3, 4}, []float64{2, 4, 8}, 5},
		{"exp2zero", config.Histogram{BucketType: config.BucketExp2Zero, BucketMax: 3}, []uint64{0, 1, 2, 3}, []float64{0, 1, 2, 4}, 4},
		{"linear", config.Histogram{BucketType: config.BucketLinear, BucketMin: 1, BucketMax: 3, BucketMultiplier: 10}, []uint64{1, 2, 3}, []float64{10, 20, 30}, 4},
		{"fixed", config.Histogram{BucketType: config.BucketFixed, BucketKeys: []float64{5, 10, 100}, BucketMultiplier: 0.001}, []uint64{5, 10, 100}, []float64{0.005, 0.01, 0.1}, 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuckets(tc.h)
			if !slices.Equal(b.keys, tc.keys) {
				t.Errorf("keys = %v, want %v", b.keys, tc.keys)
			}
			if !slices.Equal(b.bounds, tc.bounds) {
				t.Errorf("bounds = %v, want %v", b.bounds, tc.bounds)
			}
			if b.sumKey != tc.sumKey {
				t.Errorf("sumKey = %d, want %d", b.sumKey, tc.sumKey)
			}
		})
	}
}

func TestBucketIndex(t *testing.T) {
	b := newBuckets(config.Histogram{BucketType: config.BucketFixed, BucketKeys: []float64{5, 10, 100}})
	for key, want := range map[uint64]int{5: 0, 10: 1, 100: 2, 101: sumBucket, 0: ignoredBucket, 7: ignoredBucket, 1000: ignoredBucket} {
		if got := b.index(key); got != want {
			t.Errorf("index(%d) = %d, want %d", key, got, want)
		}
	}
}

func TestHistogramCumulative(t *testing.T) {
	b := newBuckets(config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 4, BucketMultiplier: 2})
	for _, tc := range []struct {
		name    string
		entries map[uint64]uint64 // bucket key -> count
		cum     []uint64
		count   uint64
		sum     float64
	}{
		{"empty", nil, []uint64{0, 0, 0, 0, 0}, 0, 0},
		{"backfills missing buckets", map[uint64]uint64{1: 3, 3: 2}, []uint64{0, 3, 3, 5, 5}, 5, 0},
		{"sum key times multiplier", map[uint64]uint64{0: 1, 4: 1, 5: 21}, []uint64{1, 1, 1, 1, 2}, 2, 42},
		{"keys out of range ignored", map[uint64]uint64{2: 1, 9: 100}, []uint64{0, 0, 1, 1, 1}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for k, v := range tc.entries {
				h.add(&b, b.index(k), v)
			}
			cum, count, sum := h.cumulative(&b)
			if !slices.Equal(cum, tc.cum) || count != tc.count || sum != tc.sum {
				t.Errorf("got %v count %d sum %g, want %v count %d sum %g", cum, count, sum, tc.cum, tc.count, tc.sum)
			}
		})
	}
}

func FuzzHistogram(f *testing.F) {
	f.Add(uint8(0), uint8(5), uint64(3), uint64(7), uint64(2))
	f.Fuzz(func(t *testing.T, lo, hi uint8, k1, k2, v uint64) {
		if lo > hi || hi > 63 {
			return
		}
		b := newBuckets(config.Histogram{BucketType: config.BucketExp2, BucketMin: int(lo), BucketMax: int(hi)})
		var h histogram
		h.add(&b, b.index(k1), v)
		h.add(&b, b.index(k2), v)
		cum, count, _ := h.cumulative(&b)
		if len(cum) != int(hi-lo)+1 || cum[len(cum)-1] != count {
			t.Fatalf("last cumulative %v != count %d", cum, count)
		}
		if !slices.IsSorted(cum) {
			t.Fatalf("cumulative counts not monotonic: %v", cum)
		}
	})
}
