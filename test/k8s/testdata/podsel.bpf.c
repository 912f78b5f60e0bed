// SPDX-License-Identifier: GPL-2.0
// podsel: execs by cgroup id, counted only for the cgroups in k8s_e2e_podsel_cgroups, which
// ebpfmon fills from podsel.yaml's cgroup_id_map selector (the pods of one namespace) and
// keeps current as pods come and go. test/k8s/pods.sh asserts only that namespace's pods
// are counted.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup id of a selected pod's container */
	__type(value, __u8);
} k8s_e2e_podsel_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup id */
	__type(value, __u64);
} k8s_e2e_podsel_execs_total SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(void *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();

	if (!bpf_map_lookup_elem(&k8s_e2e_podsel_cgroups, &cgroup_id))
		return 0;
	increment_map(&k8s_e2e_podsel_execs_total, &cgroup_id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
