// Many distinct keys on demand, for the cardinality caps: each getpgid(pid)
// whose pid is in [OVERFLOW_BASE, OVERFLOW_BASE + 4096) (no real process
// has such a pid) counts once in calls_total, an LRU hash keyed by
// pid - OVERFLOW_BASE, and observes one value in the histogram
// latency_seconds, keyed by the same id and the bucket id % 3.
//
// Keys that come and go, for a capped metric whose keys never repeat:
// getpgid(CHURN_BASE + id) counts once in churn_total under id, and
// getpgid(CHURN_DELETE + id) deletes id from it.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define OVERFLOW_BASE 0x7e570000
#define CHURN_BASE (OVERFLOW_BASE + 4096)
#define CHURN_DELETE (CHURN_BASE + 4096)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} calls_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} churn_total SEC(".maps");

struct hist_key {
	__u32 id;
	__u32 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hist_key);
	__type(value, __u64);
} latency_seconds SEC(".maps");

// The format of syscalls/sys_enter_getpgid.
struct getpgid_args {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 pid;
};

static void add(void *map, void *key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return;
	}
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) == 0)
		return;
	v = bpf_map_lookup_elem(map, key); // inserted meanwhile
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int count_getpgid(struct getpgid_args *ctx)
{
	__u64 pid = ctx->pid;
	if (pid >= CHURN_BASE && pid < CHURN_BASE + 4096) {
		__u32 id = pid - CHURN_BASE;
		add(&churn_total, &id);
		return 0;
	}
	if (pid >= CHURN_DELETE && pid < CHURN_DELETE + 4096) {
		__u32 id = pid - CHURN_DELETE;
		bpf_map_delete_elem(&churn_total, &id);
		return 0;
	}
	if (pid < OVERFLOW_BASE || pid >= OVERFLOW_BASE + 4096)
		return 0;
	__u32 id = pid - OVERFLOW_BASE;
	struct hist_key hk = {.id = id, .bucket = id % 3};
	add(&calls_total, &id);
	add(&latency_seconds, &hk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
