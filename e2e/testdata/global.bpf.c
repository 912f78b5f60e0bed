// Global counts, as ebpf_exporter's softirq-latency-net-rx keeps them: one
// u64 at key 0 of one-entry arrays, per-CPU and plain. global.yaml exports
// both as counters without labels.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} switches_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} shared_switches_total SEC(".maps");

SEC("raw_tp/sched_switch")
int count_switch(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&switches_total, &zero);
	if (v)
		*v += 1;
	v = bpf_map_lookup_elem(&shared_switches_total, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
