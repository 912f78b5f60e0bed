// SPDX-License-Identifier: GPL-2.0
// forks: processes forked, one counter. The custom config test/k8s/e2e.sh adds to a
// running DaemonSet through config.custom (a tracepoint: its id is read in tracefs).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32); /* always 0 */
	__type(value, __u64);
} k8s_e2e_forks_total SEC(".maps");

SEC("tracepoint/sched/sched_process_fork")
int sched_process_fork(void *ctx)
{
	__u32 key = 0;

	increment_map(&k8s_e2e_forks_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
