// SPDX-License-Identifier: GPL-2.0
// usdt: CPython garbage collections by generation, from the interpreter's
// own USDT probe python:gc__start(int generation). Written against libbpf's
// <bpf/usdt.bpf.h> (BPF_USDT, bpf_usdt_arg), exactly as for libbpf-based
// loaders; ebpfmon fills the argument specs the header reads.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>
#include "maps.bpf.h"

/* CPython has 3 generations; anything else is counted under its value. */
#define MAX_GENERATIONS 8

struct generation_key {
	__u32 generation;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_GENERATIONS);
	__type(key, struct generation_key);
	__type(value, __u64);
} python_gc_collections_total SEC(".maps");

/* usdt/PATH:PROVIDER:NAME; a bare PATH is looked up in $PATH, then in the
 * library path. The probe has a semaphore: CPython only fires it while a
 * tracer is attached, which the kernel counts for us. */
SEC("usdt/python3:python:gc__start")
int BPF_USDT(python_gc_start, int generation)
{
	struct generation_key key = { .generation = generation };

	increment_map(&python_gc_collections_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
