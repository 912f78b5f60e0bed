// SPDX-License-Identifier: GPL-2.0
// tcpconnlat: latency of active TCP opens, from SYN_SENT to ESTABLISHED,
// in fixed buckets.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2

/* Upper bounds in microseconds: the same list as bucket_keys in the YAML. */
static const __u64 connect_buckets_us[] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 3000000,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* struct sock address */
	__type(value, __u64); /* time of SYN_SENT, ns */
} syn_sent_at SEC(".maps");

struct family_key {
	__u16 family;
	__u8 _pad[6];
	__u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, struct family_key);
	__type(value, __u64);
} tcp_connect_latency_seconds SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	/* sk_protocol was a bitfield before 5.6: the bitfield read copes with both. */
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP)
		return 0;

	__u64 id = (__u64)sk;

	if (newstate == TCP_SYN_SENT) {
		__u64 now = bpf_ktime_get_ns();

		bpf_map_update_elem(&syn_sent_at, &id, &now, BPF_ANY);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT)
		return 0;

	/* SYN_SENT -> ESTABLISHED, or -> CLOSE when the connect failed. */
	__u64 *start = bpf_map_lookup_elem(&syn_sent_at, &id);

	if (!start)
		return 0;

	__u64 delta_us = (bpf_ktime_get_ns() - *start) / 1000;

	bpf_map_delete_elem(&syn_sent_at, &id);
	if (newstate != TCP_ESTABLISHED)
		return 0;

	struct family_key key = { .family = sk->__sk_common.skc_family };

	histogram_fixed_overflow(&tcp_connect_latency_seconds, key, delta_us, connect_buckets_us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
