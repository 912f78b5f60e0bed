#include "../_objects/calls.h"

// Dereferences a map value without a NULL check.
SEC("raw_tp/sched_switch")
int unchecked(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&calls, &key);
	*v += 1;
	return 0;
}
