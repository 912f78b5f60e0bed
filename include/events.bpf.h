/* SPDX-License-Identifier: GPL-2.0 */
/*
 * events.bpf.h: count the records an event counter's program could not
 * send, so that ebpfmon_events_lost_total includes them.
 *
 * The kernel counts the records a full perf event array drops, and ebpfmon
 * reports them; it does not count a failed bpf_ringbuf_reserve or
 * bpf_ringbuf_output (a full ring buffer). For a ring buffer RB, declare
 * beside it
 *
 *     EVENTS_LOST_MAP(RB);
 *
 * a per-CPU array named RB_lost holding one u64, and send records with
 *
 *     r = ringbuf_reserve_counted(RB, size)       NULL when full: counted
 *     ringbuf_output_counted(RB, data, size)      != 0 when full: counted
 *
 * ebpfmon finds the map by its name, "<map of the counter>_lost", sums it
 * over CPUs at every scrape and adds it to ebpfmon_events_lost_total. Any
 * program may bump it with events_lost_inc(&RB_lost) for records it chose
 * not to send.
 *
 * Include it after vmlinux.h (or <linux/types.h> and <linux/bpf.h>) and
 * <bpf/bpf_helpers.h>.
 */
#ifndef EBPFMON_EVENTS_BPF_H
#define EBPFMON_EVENTS_BPF_H

#define EVENTS_LOST_MAP(rb)                                                   \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                      \
		__uint(max_entries, 1);                                       \
		__type(key, __u32);                                           \
		__type(value, __u64);                                         \
	} rb##_lost SEC(".maps")

/* events_lost_inc adds one to a map declared with EVENTS_LOST_MAP. The add
 * is atomic: a program in an interrupt may run between a load and a store
 * on the same CPU. */
static __always_inline void events_lost_inc(void *lost)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(lost, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

#define ringbuf_reserve_counted(rb, size)                                    \
	({                                                                    \
		void *__rec = bpf_ringbuf_reserve(&(rb), (size), 0);          \
		if (!__rec)                                                   \
			events_lost_inc(&rb##_lost);                          \
		__rec;                                                        \
	})

#define ringbuf_output_counted(rb, data, size)                               \
	({                                                                    \
		long __err = bpf_ringbuf_output(&(rb), (data), (size), 0);    \
		if (__err)                                                    \
			events_lost_inc(&rb##_lost);                          \
		__err;                                                        \
	})

#endif /* EBPFMON_EVENTS_BPF_H */
