// Counts execs of the command named by the constant comm, weight each.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

volatile const char comm[16] = "";
volatile const __u32 weight = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} const_execs_total SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	char cur[16];
	__u32 key = 0;
	__u64 *v;

	bpf_get_current_comm(cur, sizeof(cur));
	for (int i = 0; i < 16; i++) {
		if (cur[i] != comm[i])
			return 0;
		if (!cur[i])
			break;
	}
	v = bpf_map_lookup_elem(&const_execs_total, &key);
	if (v)
		__sync_fetch_and_add(v, weight);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
