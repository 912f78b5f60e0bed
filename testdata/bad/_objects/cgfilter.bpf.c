// Counts execs by cgroup, but only in the cgroups whose ids ebpfmon puts in
// cgroup_filter (cgroup_id_map in cgfilter.yaml).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef CGROUP_FILTER_TYPE
#define CGROUP_FILTER_TYPE BPF_MAP_TYPE_HASH
#endif
#ifndef CGROUP_FILTER_ENTRIES
#define CGROUP_FILTER_ENTRIES 1024
#endif

struct {
	__uint(type, CGROUP_FILTER_TYPE);
	__uint(max_entries, CGROUP_FILTER_ENTRIES);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} filtered_execs_total SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	__u64 id = bpf_get_current_cgroup_id(), one = 1, *v;

	if (!bpf_map_lookup_elem(&cgroup_filter, &id))
		return 0;
	v = bpf_map_lookup_elem(&filtered_execs_total, &id);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&filtered_execs_total, &id, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
