// Overflows a small ring buffer on purpose: getpgid(RINGLOST_MAGIC) sends a
// burst of RINGLOST_BURST records, far more than the buffer holds, and the
// reservations that fail are counted by include/events.bpf.h in
// burst_records_total_lost.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../../include/events.bpf.h"

#define RINGLOST_MAGIC 0x7e57105
#define RINGLOST_BURST 4096

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* 256 records of 4 bytes (16 with the header) */
} burst_records_total SEC(".maps");

EVENTS_LOST_MAP(burst_records_total);

/* The sys_enter_getpgid tracepoint record (see its format in tracefs). */
struct getpgid_args {
	__u64 common;
	__s32 syscall_nr;
	__u64 pid __attribute__((aligned(8)));
};

static long send_one(__u32 i, void *ctx)
{
	__u32 *r = ringbuf_reserve_counted(burst_records_total, sizeof(*r));

	if (r) {
		*r = i % 4;
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int burst(struct getpgid_args *ctx)
{
	if (ctx->pid == RINGLOST_MAGIC)
		bpf_loop(RINGLOST_BURST, send_one, NULL, 0); /* 5.17+ */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
