// SPDX-License-Identifier: GPL-2.0
// podexec: execs and OOM kills by cgroup v2 id, which podexec.yaml turns into
// the namespace, pod and container labels with the pod decoders.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* cgroup v2 id of the task that exec'd */
	__type(value, __u64);
} pod_execs_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup v2 id of the victim */
	__type(value, __u64);
} pod_oom_kills_total SEC(".maps");

/* current is the task that exec'd: its cgroup is its container's. */
SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(void *ctx)
{
	__u64 cgroup = bpf_get_current_cgroup_id();

	increment_map(&pod_execs_total, &cgroup, 1);
	return 0;
}

/* The victim, not current (whoever ran into the limit, maybe in another
 * pod). Its cgroup on the default hierarchy is the one
 * bpf_get_current_cgroup_id() gives for its execs. Reading the task needs
 * mark_victim(task, uid), as in oomkill. */
SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *task, uid_t uid)
{
	__u64 cgroup = task->cgroups->dfl_cgrp->kn->id;

	increment_map(&pod_oom_kills_total, &cgroup, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
