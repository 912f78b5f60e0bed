// Attaches to a tracepoint no kernel has.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("tracepoint/ebpfmon_nosuch/event")
int nohook(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
