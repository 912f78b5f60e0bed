// SPDX-License-Identifier: GPL-2.0
// exec: programs executed, by command name and by cgroup.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

#define TASK_COMM_LEN 16

struct comm_key {
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, __u64);
} execs_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, __u64);
} execs_by_cgroup_total SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	/* The tracepoint fires after the new image is in place: current's comm
	 * is already the new program's name. */
	struct comm_key key = {};
	__u64 cgroup = bpf_get_current_cgroup_id();

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	increment_map(&execs_total, &key, 1);
	increment_map(&execs_by_cgroup_total, &cgroup, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
