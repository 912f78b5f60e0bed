// SPDX-License-Identifier: GPL-2.0
// runqlat: time tasks spend runnable, waiting for a CPU (wakeup or
// preemption to running), as a per-CPU histogram.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* 2^26 us is about 67 s. */
#define BUCKET_MAX 26
#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* pid (thread id) */
	__type(value, __u64); /* enqueue time, ns */
} enqueued_at SEC(".maps");

struct bucket_key {
	__u32 bucket;
};

/* An array is preallocated, so observing never inserts; per-CPU, so no
 * atomics. The exporter sums the CPUs. Entries 0..BUCKET_MAX are buckets,
 * BUCKET_MAX + 1 is the sum, BUCKET_MAX + 2 counts latencies above the top
 * bucket (le="+Inf"). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BUCKET_MAX + 3);
	__type(key, struct bucket_key);
	__type(value, __u64);
} run_queue_latency_seconds SEC(".maps");

/* task_struct.state was renamed __state in 5.14; CO-RE picks whichever
 * this kernel has. */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

static __always_inline void enqueue(__u32 pid)
{
	__u64 now = bpf_ktime_get_ns();

	if (pid)
		bpf_map_update_elem(&enqueued_at, &pid, &now, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	enqueue(p->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	enqueue(p->pid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* A preempted task goes straight back to the run queue. */
	if (task_state(prev) == TASK_RUNNING)
		enqueue(prev->pid);

	__u32 pid = next->pid;
	__u64 *start = bpf_map_lookup_elem(&enqueued_at, &pid);

	if (!start)
		return 0;

	__u64 delta_us = (bpf_ktime_get_ns() - *start) / 1000;

	bpf_map_delete_elem(&enqueued_at, &pid);

	struct bucket_key key = {};

	histogram_exp2_overflow_percpu(&run_queue_latency_seconds, key, delta_us, BUCKET_MAX);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
