// SPDX-License-Identifier: GPL-2.0
// softirqs: softirq handlers run, and how long each ran, by vector.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* HI .. RCU: the vectors this kernel's irq:softirq_entry prints. */
#define NR_VECTORS 10
/* exp2zero bucket 20 is (2^18, 2^19] us, about half a second. */
#define BUCKET_MAX 20

struct entry {
	__u64 ts;
	__u32 vec;
};

/* Softirqs do not nest on a CPU, so one slot per CPU holds the running one. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct entry);
} running SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_VECTORS);
	__type(key, __u32); /* vector */
	__type(value, __u64);
} softirqs_total SEC(".maps");

struct vec_key {
	__u32 vec;
	__u32 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NR_VECTORS * (BUCKET_MAX + 3));
	__type(key, struct vec_key);
	__type(value, __u64);
} softirq_duration_seconds SEC(".maps");

SEC("tracepoint/irq/softirq_entry")
int softirq_entry(struct trace_event_raw_softirq *ctx)
{
	__u32 zero = 0;
	struct entry *e = bpf_map_lookup_elem(&running, &zero);

	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->vec = ctx->vec;
	return 0;
}

SEC("tracepoint/irq/softirq_exit")
int softirq_exit(struct trace_event_raw_softirq *ctx)
{
	__u32 zero = 0, vec = ctx->vec;
	struct entry *e = bpf_map_lookup_elem(&running, &zero);

	/* No start: the program was attached while this softirq ran. */
	if (!e || !e->ts || e->vec != vec)
		return 0;

	__u64 delta_us = (bpf_ktime_get_ns() - e->ts) / 1000;

	e->ts = 0;
	increment_map(&softirqs_total, &vec, 1);

	struct vec_key key = { .vec = vec };

	histogram_exp2zero_overflow(&softirq_duration_seconds, key, delta_us, BUCKET_MAX);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
