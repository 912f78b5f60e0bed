// SPDX-License-Identifier: GPL-2.0
// syscalls: system calls entered, and system calls that failed by errno.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* Highest errno the kernel returns; larger "negative" values are addresses. */
#define MAX_ERRNO 4095

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* syscall number */
	__type(value, __u64);
} syscalls_total SEC(".maps");

struct syscall_error_key {
	__u32 nr;
	__u32 err;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct syscall_error_key);
	__type(value, __u64);
} syscall_errors_total SEC(".maps");

/* raw_tp arguments are the tracepoint's TP_PROTO: (struct pt_regs *regs, long id). */
SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u32 nr = id;

	increment_map_percpu(&syscalls_total, &nr, 1);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	if (ret >= 0 || ret < -MAX_ERRNO)
		return 0;

	struct syscall_error_key key = {
		.nr = BPF_CORE_READ(regs, orig_ax),
		.err = -ret,
	};

	increment_map(&syscall_errors_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
