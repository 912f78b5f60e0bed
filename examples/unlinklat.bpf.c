// SPDX-License-Identifier: GPL-2.0
// unlinklat: how long unlink(2) and unlinkat(2) take, and the calls that
// failed, by errno.
//
// fentry and fexit on do_unlinkat: they need BPF trampolines (x86-64 5.5+,
// arm64 6.0+). do_unlinkat(dfd, name) has been there since 3.x; its return
// type went from long to int in 5.12, which the int below reads either way
// (errnos fit). It is called from fs/init.c as well as from the syscalls,
// so the compiler keeps it out of line: a small function such as
// vfs_fsync_range gets inlined into some of its callers, and fentry then
// misses those calls.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* 2^26 us is about 67 s. */
#define BUCKET_MAX 26

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);   /* pid_tgid of the caller */
	__type(value, __u64); /* entry time, ns */
} unlink_started_at SEC(".maps");

struct latency_key {
	__u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BUCKET_MAX + 3); /* buckets, sum, overflow */
	__type(key, struct latency_key);
	__type(value, __u64);
} unlink_latency_seconds SEC(".maps");

struct error_key {
	__u32 errno; /* positive */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct error_key);
	__type(value, __u64);
} unlink_errors_total SEC(".maps");

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();

	bpf_map_update_elem(&unlink_started_at, &id, &now, BPF_ANY);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *started = bpf_map_lookup_elem(&unlink_started_at, &id);

	if (!started)
		return 0;
	__u64 delta_us = (bpf_ktime_get_ns() - *started) / 1000;

	bpf_map_delete_elem(&unlink_started_at, &id);

	struct latency_key key = {};

	histogram_exp2_overflow(&unlink_latency_seconds, key, delta_us, BUCKET_MAX);
	if (ret < 0) {
		struct error_key err = { .errno = -ret };

		increment_map(&unlink_errors_total, &err, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
