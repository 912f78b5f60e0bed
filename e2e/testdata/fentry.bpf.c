// An fentry program: loads where the kernel has BPF trampolines.
#include "calls.h"

SEC("fentry/do_nanosleep")
int on_nanosleep(void *ctx)
{
	return 0;
}
