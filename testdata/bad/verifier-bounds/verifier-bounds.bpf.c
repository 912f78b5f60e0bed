#include "../_objects/calls.h"

// Writes past the end of its 8-byte map value.
SEC("raw_tp/sched_switch")
int past_end(void *ctx)
{
	__u32 key = 7;
	__u64 *v = bpf_map_lookup_elem(&calls, &key);

	if (v)
		v[1] = 1;
	return 0;
}
