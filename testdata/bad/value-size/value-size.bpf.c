#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} calls SEC(".maps");

SEC("raw_tp/sched_switch")
int count_switch(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
