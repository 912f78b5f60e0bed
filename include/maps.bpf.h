/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.bpf.h: helpers for the maps ebpfmon exports.
 *
 * ebpfmon reads every map named in NAME.yaml as "key -> u64" (or "key ->
 * one u64 per CPU" for per-CPU maps). The key is the concatenation of the
 * YAML labels, in order; for histograms the last label is the bucket index.
 *
 * Counters:
 *
 *     increment_map(&map, &key, delta)          any map, atomic add
 *     increment_map_percpu(&map, &key, delta)   per-CPU maps, plain add
 *
 * Histograms: KEY is a struct lvalue whose last field is named "bucket".
 * Each observation adds 1 to the bucket it falls in and the value to the sum
 * key, bucket_max + 1 (for fixed buckets: last bucket key + 1), which the
 * exporter multiplies by bucket_multiplier and reports as <name>_sum.
 *
 * Values above the top bucket's bound: the plain helpers count them in the
 * top bucket, as ebpf_exporter's helpers do, so le="<top>" holds values
 * above it. The _overflow helpers count them at the overflow key,
 * bucket_max + 2 (fixed: last bucket key + 2), which ebpfmon exports in
 * le="+Inf" and _count only when the histogram sets bucket_overflow: true
 * in the YAML; their values still go to the sum.
 *
 *     histogram_exp2(&map, key, value, bucket_max)
 *         bucket k counts values in (2^(k-1), 2^k]; 0 and 1 land in 0
 *     histogram_exp2zero(&map, key, value, bucket_max)
 *         bucket 0 counts zeros, bucket k > 0 counts (2^(k-2), 2^(k-1)]
 *     histogram_linear(&map, key, value, step, bucket_max)
 *         bucket k counts values in ((k-1)*step, k*step]. The exporter only
 *         knows bucket_multiplier, so the bucket key and the sum are in
 *         steps: set bucket_multiplier to step (times the unit), and expect
 *         the sum to round each value up to a whole step (exact for step 1).
 *         The sum adds the bucket key itself, so a value clamped into the
 *         top bucket adds bucket_max: _sum, _count and the buckets agree
 *     histogram_fixed(&map, key, value, keys)
 *         keys is a static const __u64 array of ascending upper bounds, the
 *         same numbers as bucket_keys in the YAML; the bucket key is the
 *         first bound >= value
 *
 * Every histogram helper has an _overflow twin (histogram_exp2_overflow
 * ...) and both have a _percpu twin for per-CPU maps
 * (histogram_exp2_percpu, histogram_exp2_overflow_percpu ...).
 *
 * The exp2 family rounds log2 up, so that bucket k really is the upper
 * bound "le=2^k" Prometheus shows. (cloudflare/ebpf_exporter's helpers
 * round down, putting v under le=2^floor(log2 v), below v itself; objects
 * built with them still load, with that skew.)
 */
#ifndef EBPFMON_MAPS_BPF_H
#define EBPFMON_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/* Value pointer for KEY in MAP, inserting a zero first if it is missing.
 * NULL only when the map is full (or KEY is out of range for an array). */
static __always_inline __u64 *map_lookup_or_init(void *map, const void *key)
{
	__u64 *value = bpf_map_lookup_elem(map, key);

	if (value)
		return value;

	__u64 zero = 0;
	/* BPF_NOEXIST: if another CPU inserted it meanwhile, keep theirs. */
	bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Adds DELTA to the u64 at KEY. Safe on shared (non per-CPU) maps. */
static __always_inline int increment_map(void *map, const void *key, __u64 delta)
{
	__u64 *value = map_lookup_or_init(map, key);

	if (!value)
		return -1;
	__sync_fetch_and_add(value, delta);
	return 0;
}

/* Adds DELTA to this CPU's u64 at KEY. Only for per-CPU maps: programs do
 * not migrate while they run, so no atomic is needed. */
static __always_inline int increment_map_percpu(void *map, const void *key, __u64 delta)
{
	__u64 *value = map_lookup_or_init(map, key);

	if (!value)
		return -1;
	*value += delta;
	return 0;
}

/* Index of the highest set bit of V; 0 for V == 0. */
static __always_inline __u32 log2_floor(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* Smallest k with 2^k >= V; 0 for V <= 1. */
static __always_inline __u32 log2_ceil(__u64 v)
{
	if (v <= 1)
		return 0;
	return log2_floor(v - 1) + 1;
}

static __always_inline __u64 exp2_bucket(__u64 v)
{
	return log2_ceil(v);
}

static __always_inline __u64 exp2zero_bucket(__u64 v)
{
	return v ? (__u64)log2_ceil(v) + 1 : 0;
}

static __always_inline __u64 linear_bucket(__u64 v, __u64 step)
{
	return step ? (v + step - 1) / step : v;
}

/* First of the N ascending KEYS that is >= V, else one past the last one
 * (which __histogram_add clamps or counts as overflow). */
static __always_inline __u64 fixed_bucket(__u64 v, const __u64 *keys, __u32 n)
{
	for (__u32 i = 0; i < n; i++) {
		if (v <= keys[i])
			return keys[i];
	}
	return keys[n - 1] + 1;
}

/* Counts one observation in bucket B and adds SUM, the observation in
 * bucket units, to the sum key MAX + 1. B above MAX is clamped to MAX, or
 * with OVERFLOW counted at the overflow key MAX + 2. */
#define __histogram_add(map, key, b, max, sum, overflow, inc)                                          \
	({                                                                                              \
		__u64 __hb = (b);                                                                       \
		if (__hb > (__u64)(max))                                                                \
			__hb = (overflow) ? (__u64)(max) + 2 : (__u64)(max);                            \
		(key).bucket = __hb;                                                                    \
		inc(map, &(key), 1);                                                                    \
		(key).bucket = (__u64)(max) + 1;                                                        \
		inc(map, &(key), (sum));                                                                \
	})

#define __histogram_log(map, key, value, max, bucket_fn, overflow, inc)                                \
	({                                                                                              \
		__u64 __hv = (value);                                                                   \
		__histogram_add(map, key, bucket_fn(__hv), max, __hv, overflow, inc);                   \
	})

#define histogram_exp2(map, key, value, max)                                                           \
	__histogram_log(map, key, value, max, exp2_bucket, 0, increment_map)
#define histogram_exp2_percpu(map, key, value, max)                                                    \
	__histogram_log(map, key, value, max, exp2_bucket, 0, increment_map_percpu)
#define histogram_exp2_overflow(map, key, value, max)                                                  \
	__histogram_log(map, key, value, max, exp2_bucket, 1, increment_map)
#define histogram_exp2_overflow_percpu(map, key, value, max)                                           \
	__histogram_log(map, key, value, max, exp2_bucket, 1, increment_map_percpu)

#define histogram_exp2zero(map, key, value, max)                                                       \
	__histogram_log(map, key, value, max, exp2zero_bucket, 0, increment_map)
#define histogram_exp2zero_percpu(map, key, value, max)                                                \
	__histogram_log(map, key, value, max, exp2zero_bucket, 0, increment_map_percpu)
#define histogram_exp2zero_overflow(map, key, value, max)                                              \
	__histogram_log(map, key, value, max, exp2zero_bucket, 1, increment_map)
#define histogram_exp2zero_overflow_percpu(map, key, value, max)                                       \
	__histogram_log(map, key, value, max, exp2zero_bucket, 1, increment_map_percpu)

/* The sum adds the bucket key: clamped like the bucket without OVERFLOW,
 * so that _sum agrees with the buckets and _count. */
#define __histogram_linear(map, key, value, step, max, overflow, inc)                                  \
	({                                                                                              \
		__u64 __hs = linear_bucket((value), (step));                                            \
		__u64 __hsum = (!(overflow) && __hs > (__u64)(max)) ? (__u64)(max) : __hs;              \
		__histogram_add(map, key, __hs, max, __hsum, overflow, inc);                            \
	})

#define histogram_linear(map, key, value, step, max)                                                   \
	__histogram_linear(map, key, value, step, max, 0, increment_map)
#define histogram_linear_percpu(map, key, value, step, max)                                            \
	__histogram_linear(map, key, value, step, max, 0, increment_map_percpu)
#define histogram_linear_overflow(map, key, value, step, max)                                          \
	__histogram_linear(map, key, value, step, max, 1, increment_map)
#define histogram_linear_overflow_percpu(map, key, value, step, max)                                   \
	__histogram_linear(map, key, value, step, max, 1, increment_map_percpu)

#define __ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define __histogram_fixed(map, key, value, keys, overflow, inc)                                        \
	({                                                                                              \
		__u64 __fv = (value);                                                                   \
		__histogram_add(map, key, fixed_bucket(__fv, keys, __ARRAY_LEN(keys)),                  \
				(keys)[__ARRAY_LEN(keys) - 1], __fv, overflow, inc);                    \
	})

#define histogram_fixed(map, key, value, keys) __histogram_fixed(map, key, value, keys, 0, increment_map)
#define histogram_fixed_percpu(map, key, value, keys)                                                  \
	__histogram_fixed(map, key, value, keys, 0, increment_map_percpu)
#define histogram_fixed_overflow(map, key, value, keys)                                                \
	__histogram_fixed(map, key, value, keys, 1, increment_map)
#define histogram_fixed_overflow_percpu(map, key, value, keys)                                         \
	__histogram_fixed(map, key, value, keys, 1, increment_map_percpu)

#endif /* EBPFMON_MAPS_BPF_H */
