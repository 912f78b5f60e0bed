#include "../_objects/calls.h"

// A cgroup_skb program with a path that drops the packet.
SEC("cgroup_skb/egress")
int drop_tiny(struct __sk_buff *skb)
{
	__u32 key = 7;
	__u64 *v = bpf_map_lookup_elem(&calls, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	if (skb->len == 1)
		return 0;
	return 1;
}
