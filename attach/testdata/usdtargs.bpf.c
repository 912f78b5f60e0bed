// SPDX-License-Identifier: GPL-2.0
// usdtargs: records what libbpf's usdt.bpf.h helpers return at a USDT
// probe, for attach/usdt_test.go (built by the test with clang).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

struct seen {
	__s64 hits;
	__s64 arg_cnt;
	__s64 args[BPF_USDT_MAX_ARG_CNT];
	__s64 errs[BPF_USDT_MAX_ARG_CNT];
};

/* The test attaches this program to one probe at a time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seen);
} seen SEC(".maps");

SEC("usdt")
int record(struct pt_regs *ctx)
{
	__u32 zero = 0;
	struct seen *s = bpf_map_lookup_elem(&seen, &zero);

	if (!s)
		return 0;
	__sync_fetch_and_add(&s->hits, 1);
	s->arg_cnt = bpf_usdt_arg_cnt(ctx);
	for (int i = 0; i < BPF_USDT_MAX_ARG_CNT; i++) {
		long v;

		s->errs[i] = bpf_usdt_arg(ctx, i, &v);
		s->args[i] = v;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
