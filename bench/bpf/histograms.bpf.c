// SPDX-License-Identifier: GPL-2.0
// histograms: one new key per getpid(2) of the bench driver, 20 exp2
// buckets per label set (index / 20), plus the sum key of each set.
#include "fill.bpf.h"
#include "maps.bpf.h"

#define BUCKETS 20

struct bench_key {
	__u32 id;     /* uint: the label set, index / 20 */
	__u32 kind;   /* uint + static_map: label set % 8 */
	__u64 bucket; /* 0..19; 20 is the sum */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* N bucket keys, plus one sum key per N / 20 label sets. */
	__uint(max_entries, MAX_ENTRIES + MAX_ENTRIES / BUCKETS + 1);
	__type(key, struct bench_key);
	__type(value, __u64);
} bench_latency_seconds SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int fill_histograms(void *ctx)
{
	struct bench_key key = {};
	__u64 i;

	if (!is_driver())
		return 0;
	i = __sync_fetch_and_add(&next_index, 1);
	key.id = i / BUCKETS;
	key.kind = key.id & 7;
	key.bucket = i % BUCKETS;
	increment_map(&bench_latency_seconds, &key, i % 7 + 1);
	/* The sum: bucket k's upper bound is 2^k. */
	key.bucket = BUCKETS;
	increment_map(&bench_latency_seconds, &key, (i % 7 + 1) << (i % BUCKETS));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
