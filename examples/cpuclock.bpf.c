// SPDX-License-Identifier: GPL-2.0
// cpuclock: a 99 Hz CPU profile from the cpu-clock software event: samples
// per CPU by mode, and kernel stacks of the busy (non-idle) kernel samples.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

#define STACK_DEPTH 8

enum mode { MODE_USER, MODE_KERNEL, MODE_IDLE, NR_MODES };

/* Per-CPU array: one slot per mode on every CPU; the YAML's cpu label splits
 * the result by CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_MODES);
	__type(key, __u32);
	__type(value, __u64);
} cpu_samples_total SEC(".maps");

struct stack_key {
	__u64 ips[STACK_DEPTH]; /* innermost first, zero padded */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct stack_key);
	__type(value, __u64);
} kernel_stack_samples_total SEC(".maps");

/* The exporter opens PERF_TYPE_SOFTWARE (1) / PERF_COUNT_SW_CPU_CLOCK (0)
 * at 99 samples per second on every online CPU, as the section name says. */
SEC("perf_event/type=1,config=0,frequency=99")
int cpu_clock(struct bpf_perf_event_data *ctx)
{
	__u32 mode = MODE_KERNEL;

	/* x86-64 user addresses have the top bit clear, kernel ones set. (The
	 * ctx only allows 8-byte reads of regs, so regs.cs is out of reach.) */
	if ((long)ctx->regs.ip >= 0)
		mode = MODE_USER;
	else if (bpf_get_current_pid_tgid() == 0) /* the idle task, swapper/N */
		mode = MODE_IDLE;

	increment_map_percpu(&cpu_samples_total, &mode, 1);
	if (mode != MODE_KERNEL)
		return 0;

	struct stack_key key = {};

	if (bpf_get_stack(ctx, key.ips, sizeof(key.ips), 0) <= 0)
		return 0;
	increment_map(&kernel_stack_samples_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
