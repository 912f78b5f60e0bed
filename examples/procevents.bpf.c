// Event counters: records sent to user space and counted there, instead of
// counts kept in a map. Execs go through a ring buffer (5.8+), exits by a
// signal (an OOM kill is a SIGKILL) through a perf event array. The kernel
// counts the records a full perf buffer drops, not those a full ring buffer
// refuses: events.bpf.h counts them in exec_events_total_lost, which
// ebpfmon adds to ebpfmon_events_lost_total.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} exec_events_total SEC(".maps");

EVENTS_LOST_MAP(exec_events_total);

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} signal_exits_total SEC(".maps");

struct exec_record {
	char comm[16];
};

struct exit_record {
	u32 signal;
};

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct exec_record *r = ringbuf_reserve_counted(exec_events_total, sizeof(*r));

	if (!r)
		return 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (void *)bpf_get_current_task();
	struct exit_record r = {};

	if ((u32)id != id >> 32) /* one record per process, from its leader */
		return 0;
	r.signal = BPF_CORE_READ(task, exit_code) & 0x7f;
	if (!r.signal)
		return 0;
	bpf_perf_event_output(ctx, &signal_exits_total, BPF_F_CURRENT_CPU, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
