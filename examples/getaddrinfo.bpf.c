// SPDX-License-Identifier: GPL-2.0
// getaddrinfo: calls to libc's getaddrinfo(3), by calling program, and
// their latency by result (uprobe + uretprobe).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define TASK_COMM_LEN 16
/* 2^24 us is about 17 s, more than any resolver timeout. */
#define BUCKET_MAX 24

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* pid_tgid of the calling thread */
	__type(value, __u64); /* entry time, ns */
} entered_at SEC(".maps");

struct comm_key {
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, __u64);
} getaddrinfo_calls_total SEC(".maps");

struct result_key {
	__u32 result; /* 0, or minus the EAI_* code getaddrinfo returned */
	__u32 _pad;
	__u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct result_key);
	__type(value, __u64);
} getaddrinfo_latency_seconds SEC(".maps");

SEC("uprobe/libc.so.6:getaddrinfo")
int BPF_KPROBE(getaddrinfo_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	struct comm_key key = {};

	bpf_map_update_elem(&entered_at, &id, &now, BPF_ANY);
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	increment_map(&getaddrinfo_calls_total, &key, 1);
	return 0;
}

SEC("uretprobe/libc.so.6:getaddrinfo")
int BPF_KRETPROBE(getaddrinfo_return, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&entered_at, &id);

	if (!start)
		return 0;

	__u64 delta_us = (bpf_ktime_get_ns() - *start) / 1000;

	bpf_map_delete_elem(&entered_at, &id);

	/* EAI_* codes are negative: store them positive for the uint decoder. */
	struct result_key key = { .result = ret < 0 ? -ret : ret };

	histogram_exp2_overflow(&getaddrinfo_latency_seconds, key, delta_us, BUCKET_MAX);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
