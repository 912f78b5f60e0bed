// Shared by the corpus objects: the "calls" map that calls.yaml-shaped
// configs describe (u32 key, u64 value), a program counting into it on
// raw_tp/sched_switch (COUNT_CALLS(section, function)), and the license.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef CALLS_MAP
#define CALLS_MAP calls
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} CALLS_MAP SEC(".maps");

#define COUNT_CALLS(sec, fn)                                             \
	SEC(sec)                                                         \
	int fn(void *ctx)                                                \
	{                                                                \
		__u32 key = 7;                                           \
		__u64 one = 1, *v = bpf_map_lookup_elem(&CALLS_MAP, &key); \
		if (v)                                                   \
			__sync_fetch_and_add(v, 1);                      \
		else                                                     \
			bpf_map_update_elem(&CALLS_MAP, &key, &one, BPF_NOEXIST); \
		return 0;                                                \
	}

char LICENSE[] SEC("license") = "GPL";
