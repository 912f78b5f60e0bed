/* SPDX-License-Identifier: GPL-2.0 */
/* fill.bpf.h: what the bench objects share. Each getpid(2) made by a thread
 * named `comm` (the bench driver) takes the next index from a global
 * counter; the objects turn index i into the i-th distinct map key. */
#ifndef EBPFMON_BENCH_FILL_BPF_H
#define EBPFMON_BENCH_FILL_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef MAX_ENTRIES
#define MAX_ENTRIES 1000
#endif

#define COMM_LEN 16

/* Set by the bench's YAML: only the driver thread's getpid calls count. */
volatile const char comm[COMM_LEN] = "ebpfmon-fill";

__u64 next_index = 0;

/* Whether the current thread is the driver. */
static __always_inline bool is_driver(void)
{
	char cur[COMM_LEN] = {};

	bpf_get_current_comm(cur, sizeof(cur));
#pragma unroll
	for (int i = 0; i < COMM_LEN; i++) {
		if (cur[i] != comm[i])
			return false;
		if (cur[i] == 0)
			return true;
	}
	return true;
}

#endif
