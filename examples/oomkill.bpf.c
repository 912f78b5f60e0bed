// SPDX-License-Identifier: GPL-2.0
// oomkill: tasks killed by the OOM killer, by the victim's cgroup.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup v2 id of the victim */
	__type(value, __u64);
} oom_kills_total SEC(".maps");

/* The task is the victim, not current: current is whoever ran into the
 * limit, possibly in another cgroup. The id is that of the victim's cgroup
 * on the default (v2) hierarchy, the one bpf_get_current_cgroup_id() uses. */
SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *task, uid_t uid)
{
	__u64 cgroup = task->cgroups->dfl_cgrp->kn->id;

	increment_map(&oom_kills_total, &cgroup, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
