package series

import (
	"slices"
	"testing"

	"github.com/ebpfmon/ebpfmon/config"
)

// mustBuckets is NewBuckets for a histogram known to be valid.
func mustBuckets(tb testing.TB, h config.Histogram) Buckets {
	tb.Helper()
	b, err := NewBuckets(h)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

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
			b := mustBuckets(t, tc.h)
			if !slices.Equal(b.keys, tc.keys) {
				t.Errorf("keys = %v, want %v", b.keys, tc.keys)
			}
			if !slices.Equal(b.bounds, tc.bounds) {
				t.Errorf("bounds = %v, want %v", b.bounds, tc.bounds)
			}
			if b.sumKey != tc.sumKey || b.overflowKey != tc.sumKey+1 {
				t.Errorf("sumKey, overflowKey = %d, %d, want %d, %d", b.sumKey, b.overflowKey, tc.sumKey, tc.sumKey+1)
			}
		})
	}
}

// TestNewBucketsRefusesRanges checks that a range validation refuses never
// reaches bucket construction as a loop without end (bucket_max near the
// int limit) or a huge allocation.
func TestNewBucketsRefusesRanges(t *testing.T) {
	const maxInt = int(^uint(0) >> 1)
	for _, h := range []config.Histogram{
		{BucketType: config.BucketLinear, BucketMin: maxInt - 1, BucketMax: maxInt},
		{BucketType: config.BucketLinear, BucketMin: 0, BucketMax: maxInt},
		{BucketType: config.BucketLinear, BucketMin: -1, BucketMax: 3},
		{BucketType: config.BucketExp2, BucketMin: 5, BucketMax: 3},
	} {
		if b, err := NewBuckets(h); err == nil && len(b.keys) > 2 {
			t.Errorf("%+v: %d buckets, want an error", h, len(b.keys))
		}
	}
}

func TestBucketIndex(t *testing.T) {
	fixed := mustBuckets(t, config.Histogram{BucketType: config.BucketFixed, BucketKeys: []float64{5, 10, 100}})
	exp2 := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: 3, BucketMax: 5, BucketOverflow: true})
	for _, tc := range []struct {
		name string
		b    *Buckets
		want map[uint64]int
	}{
		// A key counts values up to its bound: below the first key or
		// between keys, it belongs to the next bucket up.
		{"fixed", &fixed, map[uint64]int{5: 0, 10: 1, 100: 2, 101: sumBucket, 0: 0, 7: 1, 102: ignoredBucket, 1000: ignoredBucket}},
		{"exp2 min and overflow", &exp2, map[uint64]int{0: 0, 2: 0, 3: 0, 4: 1, 5: 2, 6: sumBucket, 7: overflowBucket, 8: ignoredBucket}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for key, want := range tc.want {
				if got := tc.b.index(key); got != want {
					t.Errorf("index(%d) = %d, want %d", key, got, want)
				}
			}
		})
	}
}

func TestHistogramCumulative(t *testing.T) {
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 4, BucketMultiplier: 2})
	over := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: 0, BucketMax: 4, BucketMultiplier: 2, BucketOverflow: true})
	min4 := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: 4, BucketMax: 6})
	for _, tc := range []struct {
		name    string
		b       *Buckets
		entries map[uint64]uint64 // bucket key -> count
		cum     []uint64
		count   uint64
		sum     float64
	}{
		{"empty", &b, nil, []uint64{0, 0, 0, 0, 0}, 0, 0},
		{"backfills missing buckets", &b, map[uint64]uint64{1: 3, 3: 2}, []uint64{0, 3, 3, 5, 5}, 5, 0},
		{"sum key times multiplier", &b, map[uint64]uint64{0: 1, 4: 1, 5: 21}, []uint64{1, 1, 1, 1, 2}, 2, 42},
		{"keys above the top ignored", &b, map[uint64]uint64{2: 1, 9: 100}, []uint64{0, 0, 1, 1, 1}, 1, 0},
		{"no overflow key without bucket_overflow", &b, map[uint64]uint64{2: 1, 6: 100}, []uint64{0, 0, 1, 1, 1}, 1, 0},
		// Overflow counts in +Inf (the count) only, and its values in the sum.
		{"overflow in the count only", &over, map[uint64]uint64{2: 1, 5: 50, 6: 3}, []uint64{0, 0, 1, 1, 1}, 4, 100},
		// 1000 observations of 1 (key 0) and one of 16 (key 4): all in the
		// first bucket's count, as in the sum (issue 7, item 2a).
		{"keys below bucket_min in the first bucket", &min4, map[uint64]uint64{0: 1000, 4: 1, 7: 1016}, []uint64{1001, 1001, 1001}, 1001, 1016},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for k, v := range tc.entries {
				h.add(tc.b, tc.b.index(k), v)
			}
			cum, count, sum := h.cumulative(tc.b, nil)
			if !slices.Equal(cum, tc.cum) || count != tc.count || sum != tc.sum {
				t.Errorf("got %v count %d sum %g, want %v count %d sum %g", cum, count, sum, tc.cum, tc.count, tc.sum)
			}
		})
	}
}

func TestHistogramCumulativeCarry(t *testing.T) {
	b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMax: 2, BucketOverflow: true})
	var live, carry histogram
	live.add(&b, 0, 1)
	live.add(&b, sumBucket, 1)
	carry.add(&b, 2, 2)
	carry.add(&b, overflowBucket, 1)
	carry.add(&b, sumBucket, 20)
	cum, count, sum := live.cumulative(&b, &carry)
	if !slices.Equal(cum, []uint64{1, 1, 3}) || count != 4 || sum != 21 {
		t.Errorf("got %v count %d sum %g, want [1 1 3] count 4 sum 21", cum, count, sum)
	}
}

func FuzzHistogram(f *testing.F) {
	f.Add(uint8(0), uint8(5), uint64(3), uint64(7), uint64(2), true)
	f.Fuzz(func(t *testing.T, lo, hi uint8, k1, k2, v uint64, overflow bool) {
		if lo > hi || hi > 63 {
			return
		}
		b := mustBuckets(t, config.Histogram{BucketType: config.BucketExp2, BucketMin: int(lo), BucketMax: int(hi), BucketOverflow: overflow})
		v >>= 1 // two of them add up without wrapping
		var h histogram
		h.add(&b, b.index(k1), v)
		h.add(&b, b.index(k2), v)
		cum, count, _ := h.cumulative(&b, nil)
		if len(cum) != int(hi-lo)+1 || cum[len(cum)-1] > count {
			t.Fatalf("last cumulative %v above count %d", cum, count)
		}
		if !overflow && cum[len(cum)-1] != count {
			t.Fatalf("last cumulative %v != count %d without overflow", cum, count)
		}
		if !slices.IsSorted(cum) {
			t.Fatalf("cumulative counts not monotonic: %v", cum)
		}
	})
}
