// SPDX-License-Identifier: GPL-2.0
// timers: kernel timer_list timers armed, by callback function.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* timer callback address */
	__type(value, __u64);
} timer_starts_total SEC(".maps");

SEC("tracepoint/timer/timer_start")
int timer_start(struct trace_event_raw_timer_start *ctx)
{
	__u64 function = (__u64)ctx->function;

	increment_map(&timer_starts_total, &function, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
