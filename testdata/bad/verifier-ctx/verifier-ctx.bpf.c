#include "../_objects/calls.h"

// Writes into its context, which a tracepoint program may not.
SEC("tracepoint/sched/sched_switch")
int ctx_write(__u64 *ctx)
{
	ctx[0] = 1;
	return 0;
}
