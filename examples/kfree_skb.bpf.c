// SPDX-License-Identifier: GPL-2.0
// kfree_skb: packets dropped by the kernel, by drop reason and protocol,
// and by the kernel function that dropped them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct drop_key {
	__u32 reason;   /* enum skb_drop_reason, as this kernel numbers it */
	__u8 proto[2];  /* EtherType, network byte order: hex gives "0800" */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct drop_key);
	__type(value, __u64);
} kfree_skb_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* address of the caller of kfree_skb */
	__type(value, __u64);
} kfree_skb_by_location_total SEC(".maps");

SEC("tracepoint/skb/kfree_skb")
int kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	/* The tracepoint stores the protocol in host order. */
	__u16 proto = ctx->protocol;
	struct drop_key key = {
		.reason = ctx->reason,
		.proto = { proto >> 8, proto & 0xff },
	};
	__u64 location = (__u64)ctx->location;

	increment_map(&kfree_skb_total, &key, 1);
	increment_map(&kfree_skb_by_location_total, &location, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
