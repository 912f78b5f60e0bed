// SPDX-License-Identifier: GPL-2.0
// pagefaults: x86 page faults by mode (user/kernel) and access, per CPU.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* x86 page fault error code bits (arch/x86/include/asm/trap_pf.h). */
#define X86_PF_WRITE (1 << 1)
#define X86_PF_INSTR (1 << 4)

enum access { ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC };
enum mode { MODE_USER, MODE_KERNEL };

struct fault_key {
	__u8 mode;
	__u8 access;
	__u8 _pad[2];
};

/* Per-CPU: the hottest event here; the YAML's cpu label exports one series
 * per CPU instead of the sum. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, struct fault_key);
	__type(value, __u64);
} page_faults_total SEC(".maps");

static __always_inline int count(__u8 mode, __u64 error_code)
{
	struct fault_key key = { .mode = mode, .access = ACCESS_READ };

	if (error_code & X86_PF_INSTR)
		key.access = ACCESS_EXEC;
	else if (error_code & X86_PF_WRITE)
		key.access = ACCESS_WRITE;

	increment_map_percpu(&page_faults_total, &key, 1);
	return 0;
}

SEC("tracepoint/exceptions/page_fault_user")
int page_fault_user(struct trace_event_raw_exceptions *ctx)
{
	return count(MODE_USER, ctx->error_code);
}

SEC("tracepoint/exceptions/page_fault_kernel")
int page_fault_kernel(struct trace_event_raw_exceptions *ctx)
{
	return count(MODE_KERNEL, ctx->error_code);
}

char LICENSE[] SEC("license") = "GPL";
