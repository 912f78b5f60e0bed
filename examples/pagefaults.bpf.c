// SPDX-License-Identifier: GPL-2.0
// pagefaults: x86 page faults by mode (user/kernel) and access, per CPU.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
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

/* The tracepoints' struct is trace_event_raw_exceptions after 6.12 and
 * trace_event_raw_x86_exceptions until then, with the same error_code. This
 * flavour (CO-RE ignores a "___" suffix when matching kernel types) names
 * the old one; the branch for the struct this kernel lacks has a relocation
 * that cannot be satisfied, and is dead: bpf_core_type_exists is a constant
 * once loaded, so the verifier never walks it. BPF_CORE_READ (a probe read)
 * rather than a plain load: clang merges the two branches into one load at
 * ctx + a chosen offset, which the verifier refuses for a ctx pointer. */
struct trace_event_raw_x86_exceptions___old {
	unsigned long error_code;
} __attribute__((preserve_access_index));

static __always_inline __u64 error_code(void *ctx)
{
	struct trace_event_raw_x86_exceptions___old *old = ctx;
	struct trace_event_raw_exceptions *new = ctx;

	if (bpf_core_type_exists(struct trace_event_raw_exceptions))
		return BPF_CORE_READ(new, error_code);
	return BPF_CORE_READ(old, error_code);
}

SEC("tracepoint/exceptions/page_fault_user")
int page_fault_user(void *ctx)
{
	return count(MODE_USER, error_code(ctx));
}

SEC("tracepoint/exceptions/page_fault_kernel")
int page_fault_kernel(void *ctx)
{
	return count(MODE_KERNEL, error_code(ctx));
}

char LICENSE[] SEC("license") = "GPL";
