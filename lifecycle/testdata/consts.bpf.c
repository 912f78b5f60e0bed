// One constant of each C type a config can set (TestConstantsLoad): at
// every sched_switch the program stores what it sees of them in
// const_seen, so the test reads back what reached the kernel.
#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

enum mode { MODE_OFF, MODE_ON = 3 };

volatile const __u8 c_u8 = 0;
volatile const __s16 c_s16 = 0;
volatile const __u32 c_u32 = 0;
volatile const __s64 c_s64 = 0;
volatile const bool c_bool = false;
volatile const enum mode c_mode = MODE_OFF;
volatile const char c_comm[16] = "";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} const_seen SEC(".maps");

SEC("raw_tp/sched_switch")
int on_switch(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&const_seen, &key);

	if (!v || !c_bool || c_mode != MODE_ON)
		return 0;
	*v = c_u8 + c_s16 + c_u32 + c_s64 + c_comm[0] + c_comm[1];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
