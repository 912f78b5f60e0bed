// tiny: the smallest config ebpfmon runs, for the web tests that start the
// binary: one global count of context switches.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tiny_switches_total SEC(".maps");

SEC("raw_tp/sched_switch")
int count_switch(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&tiny_switches_total, &zero);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
