// Counts this test process's getpgid calls (TestPins): by pid in
// pin_calls_total and in all in the global pin_global_total, the two maps
// --bpf.pin-path pins. pins_big.bpf.c is the same object with a larger
// pin_calls_total, a changed map definition.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef PIN_CALLS_ENTRIES
#define PIN_CALLS_ENTRIES 8
#endif

volatile const __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PIN_CALLS_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} pin_calls_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pin_global_total SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpgid")
int on_getpgid(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	__u64 one = 1, *v;

	if (tgid != target_tgid)
		return 0;
	v = bpf_map_lookup_elem(&pin_calls_total, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&pin_calls_total, &tgid, &one, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&pin_global_total, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
