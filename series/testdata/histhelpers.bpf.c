// SPDX-License-Identifier: GPL-2.0
// Drives include/maps.bpf.h's histogram helpers from a socket filter run
// with BPF_PROG_TEST_RUN: the packet (after its Ethernet header) holds a
// u64 value and a u32 saying which helper observes it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct hist_key {
	__u64 bucket;
};

#define HIST_MAP(name)                                                                                 \
	struct {                                                                                       \
		__uint(type, BPF_MAP_TYPE_HASH);                                                       \
		__uint(max_entries, 64);                                                               \
		__type(key, struct hist_key);                                                          \
		__type(value, __u64);                                                                  \
	} name SEC(".maps")

HIST_MAP(fixed_clamp);
HIST_MAP(fixed_overflow);
HIST_MAP(linear_clamp);
HIST_MAP(linear_overflow);
HIST_MAP(exp2_overflow);

static const __u64 fixed_keys[] = { 50, 1000 };

#define LINEAR_STEP 10
#define LINEAR_MAX 5
#define EXP2_MAX 3

SEC("socket")
int observe(struct __sk_buff *skb)
{
	struct hist_key key = {};
	__u64 value;
	__u32 which;

	if (bpf_skb_load_bytes(skb, 0, &value, sizeof(value)) ||
	    bpf_skb_load_bytes(skb, sizeof(value), &which, sizeof(which)))
		return 0;
	switch (which) {
	case 0:
		histogram_fixed(&fixed_clamp, key, value, fixed_keys);
		break;
	case 1:
		histogram_fixed_overflow(&fixed_overflow, key, value, fixed_keys);
		break;
	case 2:
		histogram_linear(&linear_clamp, key, value, LINEAR_STEP, LINEAR_MAX);
		break;
	case 3:
		histogram_linear_overflow(&linear_overflow, key, value, LINEAR_STEP, LINEAR_MAX);
		break;
	case 4:
		histogram_exp2_overflow(&exp2_overflow, key, value, EXP2_MAX);
		break;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
