// SPDX-License-Identifier: GPL-2.0
// Programs for TestCheckProgramCompiled: cgroup_skb and xdp programs that
// let every packet through, and some that drop packets, as clang emits them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} lens SEC(".maps");

static __noinline int count(__u32 len)
{
	__u64 *v = bpf_map_lookup_elem(&lens, &len);

	if (!v)
		return 0; /* a subprogram's return is no verdict */
	__sync_fetch_and_add(v, 1);
	return 1;
}

SEC("cgroup_skb/egress")
int pass(struct __sk_buff *skb)
{
	count(skb->len);
	return 1;
}

SEC("cgroup_skb/ingress")
int drop_all(struct __sk_buff *skb)
{
	count(skb->len);
	return 0;
}

SEC("cgroup_skb/egress")
int drop_large(struct __sk_buff *skb)
{
	if (skb->len > 1000)
		return 0;
	return 1;
}

SEC("cgroup_skb/ingress")
int computed(struct __sk_buff *skb)
{
	return count(skb->len);
}

SEC("xdp/lo")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/lo")
int xdp_drop_short(struct xdp_md *ctx)
{
	if (ctx->data_end - ctx->data < 64)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
