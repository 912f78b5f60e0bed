// The semaphore-guarded probe of usdtprog (its own file: _SDT_HAS_SEMAPHORES
// gives every probe in a file a semaphore).
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

/* The kernel counts attached uprobes in it (ref_ctr_offset). */
unsigned short ebpfmon_sema_semaphore __attribute__((section(".probes")));

/* sema_fire fires ebpfmon:sema(v) when a tracer set the semaphore and says
 * whether it did. */
int sema_fire(long v)
{
	if (ebpfmon_sema_semaphore) {
		DTRACE_PROBE1(ebpfmon, sema, v);
		return 1;
	}
	return 0;
}
