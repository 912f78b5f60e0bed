package config

import (
	"fmt"
	"math"
)

// maxBucketCount backs up Validate's range checks: BucketLayout never
// builds more buckets than this, whatever the config says. It is
// Validate's one cap for every bucket type.
const maxBucketCount = MaxBuckets

// BucketLayout is a histogram's map keys and what each means: the key of
// every bucket, in increasing order, with its upper bound ("le", with
// bucket_multiplier applied), the key holding the sum of observed values
// and the key counting observations above the top bound (bucket_overflow).
type BucketLayout struct {
	Keys        []uint64
	Bounds      []float64
	SumKey      uint64
	OverflowKey uint64
	Multiplier  float64
}

// BucketLayout computes h's bucket keys and bounds. It fails for ranges
// Validate refuses (a negative bucket_min, bucket_max below it, too many
// buckets), never looping or allocating without bound; the bounds it
// returns may still overflow, which Validate checks.
func (h Histogram) BucketLayout() (BucketLayout, error) {
	l := BucketLayout{Multiplier: h.BucketMultiplier}
	if l.Multiplier == 0 {
		l.Multiplier = 1
	}
	var top uint64
	if h.BucketType == BucketFixed {
		if len(h.BucketKeys) > maxBucketCount {
			return l, fmt.Errorf("%d bucket keys, want at most %d", len(h.BucketKeys), maxBucketCount)
		}
		for _, k := range h.BucketKeys {
			l.Keys = append(l.Keys, uint64(k))
			l.Bounds = append(l.Bounds, k*l.Multiplier)
		}
		if len(l.Keys) > 0 {
			top = l.Keys[len(l.Keys)-1]
		}
	} else {
		lo, hi := h.BucketMin, h.BucketMax
		if lo < 0 || hi < lo || hi-lo >= maxBucketCount {
			return l, fmt.Errorf("bucket_min %d and bucket_max %d, want 0 <= bucket_min <= bucket_max with at most %d buckets", lo, hi, maxBucketCount)
		}
		for i := range hi - lo + 1 { // not k <= hi: k++ would wrap at the int limit
			k := lo + i
			l.Keys = append(l.Keys, uint64(k))
			l.Bounds = append(l.Bounds, upperBound(h.BucketType, k)*l.Multiplier)
		}
		top = uint64(hi)
	}
	l.SumKey, l.OverflowKey = top+1, top+2
	return l, nil
}

// upperBound is the largest value bucket key k counts, before the multiplier.
func upperBound(t BucketType, k int) float64 {
	switch t {
	case BucketExp2:
		return math.Exp2(float64(k))
	case BucketExp2Zero:
		if k == 0 {
			return 0
		}
		return math.Exp2(float64(k - 1))
	default: // linear
		return float64(k)
	}
}

// bucketBounds checks that h's computed bounds are finite and strictly
// increasing: exp2 with a large bucket_max times a large multiplier
// overflows to +Inf, a tiny multiplier can make neighbours equal. It runs
// only once the range checks passed.
func (v *validator) bucketBounds(p string, h Histogram) {
	l, err := h.BucketLayout()
	if err != nil {
		v.add(p, "%v", err)
		return
	}
	field, fix := p+".bucket_max", "lower bucket_max or bucket_multiplier"
	if h.BucketType == BucketFixed {
		field, fix = p+".bucket_keys", "lower the keys or bucket_multiplier"
	}
	for i, b := range l.Bounds {
		switch {
		case math.IsInf(b, 0) || math.IsNaN(b):
			v.add(field, "bucket key %d has upper bound %v (x bucket_multiplier %v), want a finite bound: %s", l.Keys[i], b, l.Multiplier, fix)
			return
		case i > 0 && b <= l.Bounds[i-1] && l.Keys[i] > 1<<53:
			v.add(field, "bucket keys %d and %d have the same upper bound %v: above 2^53 a float64 bound cannot tell neighbouring keys apart, whatever the multiplier: keep the keys below 2^53",
				l.Keys[i-1], l.Keys[i], b)
			return
		case i > 0 && b <= l.Bounds[i-1]:
			v.add(p+".bucket_multiplier", "%v gives bucket keys %d and %d the same upper bound %v, want strictly increasing bounds: raise bucket_multiplier",
				l.Multiplier, l.Keys[i-1], l.Keys[i], b)
			return
		}
	}
}
