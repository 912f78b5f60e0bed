// Shared by the test objects: the "calls" map that calls.yaml describes
// (u32 key, u64 value) and the license.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
