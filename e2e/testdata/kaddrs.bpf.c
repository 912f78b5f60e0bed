// Counts sched_switch events under the key kaddr_vfs_read, which ebpfmon
// sets to vfs_read's address (kaddrs in kaddrs.yaml): decoded with ksym,
// the label must read "vfs_read".
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, __u64);
} kaddr_hits SEC(".maps");

volatile const __u64 kaddr_vfs_read = 0;
/* For the test of a kaddrs symbol missing from kallsyms. */
volatile const __u64 kaddr_ebpfmon_missing_symbol = 0;

SEC("raw_tp/sched_switch")
int count(void *ctx)
{
	__u64 key = kaddr_vfs_read | (kaddr_ebpfmon_missing_symbol & 0), one = 1;
	__u64 *v = bpf_map_lookup_elem(&kaddr_hits, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&kaddr_hits, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
