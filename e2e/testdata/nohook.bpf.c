// Attaches to a tracepoint no kernel has.
#include "calls.h"

SEC("tracepoint/ebpfmon_nosuch/event")
int nohook(void *ctx)
{
	return 0;
}
