// SPDX-License-Identifier: GPL-2.0
// podexecs: execs by cgroup id, which the custom config test/k8s/e2e.sh adds labels with
// the pod decoders (namespace, pod, container from one cgroup id through bytes_of): the
// real API server's pods, through the node-scoped informer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup id */
	__type(value, __u64);
} k8s_e2e_pod_execs_total SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(void *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();

	increment_map(&k8s_e2e_pod_execs_total, &cgroup_id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
