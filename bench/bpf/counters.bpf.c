// SPDX-License-Identifier: GPL-2.0
// counters: one new key per getpid(2) of the bench driver, three labels
// decoded by uint, uint + static_map and string.
#include "fill.bpf.h"
#include "maps.bpf.h"

struct bench_key {
	__u32 id;    /* uint: the index, distinct per key */
	__u32 kind;  /* uint + static_map: index % 8 */
	char name[8]; /* string: one of 8 names */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct bench_key);
	__type(value, __u64);
} bench_counter_total SEC(".maps");

static const char names[8][8] = {"alpha", "bravo", "charlie", "delta",
				 "echo", "foxtrot", "golf", "hotel"};

SEC("tracepoint/syscalls/sys_enter_getpid")
int fill_counters(void *ctx)
{
	struct bench_key key = {};
	__u64 i;

	if (!is_driver())
		return 0;
	i = __sync_fetch_and_add(&next_index, 1);
	key.id = i;
	key.kind = i & 7;
	__builtin_memcpy(key.name, names[i & 7], sizeof(key.name));
	increment_map(&bench_counter_total, &key, i % 1000 + 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
