// SPDX-License-Identifier: GPL-2.0
// podtcp: TCP connects (by peer address and destination port), retransmits
// (by peer address) and connect latency by cgroup v2 id, which podtcp.yaml
// turns into the namespace, pod and container labels with the pod
// decoders, and the peer address into the peer pod with peer_pod.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define LATENCY_BUCKET_MAX 26 /* 2^26 us = 67 s */

struct connect_key {
	__u64 cgroup;
	__u8 peer[16]; /* IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	__u16 port;    /* destination port, host order */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct connect_key);
	__type(value, __u64);
} pod_tcp_connects_total SEC(".maps");

struct retransmit_key {
	__u64 cgroup;
	__u8 peer[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct retransmit_key);
	__type(value, __u64);
} pod_tcp_retransmits_total SEC(".maps");

struct latency_key {
	__u64 cgroup;
	__u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct latency_key);
	__type(value, __u64);
} pod_tcp_connect_latency_seconds SEC(".maps");

/* A connect in flight: the connecting task's cgroup (the SYN-ACK that ends
 * it is handled in softirq, where the current task is anyone's) and when
 * the SYN was sent. */
struct connecting {
	__u64 cgroup;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct sock address */
	__type(value, struct connecting);
} connects_in_flight SEC(".maps");

/* The peer's address, IPv4 as IPv4-mapped IPv6, which inet_ip prints as
 * IPv4. */
static __always_inline void peer_of(const struct sock *sk, __u8 peer[16])
{
	if (sk->__sk_common.skc_family == AF_INET6) {
		__builtin_memcpy(peer, &sk->__sk_common.skc_v6_daddr, 16);
		return;
	}
	__u32 v4 = sk->__sk_common.skc_daddr;

	peer[10] = 0xff;
	peer[11] = 0xff;
	__builtin_memcpy(peer + 12, &v4, 4);
}

static __always_inline int connect_start(const struct sock *sk)
{
	__u64 id = (__u64)sk;
	struct connecting c = {
		.cgroup = bpf_get_current_cgroup_id(),
		.start_ns = bpf_ktime_get_ns(),
	};
	struct connect_key key = {
		.cgroup = c.cgroup,
		.port = bpf_ntohs(sk->__sk_common.skc_dport),
	};

	peer_of(sk, key.peer);
	increment_map(&pod_tcp_connects_total, &key, 1);
	bpf_map_update_elem(&connects_in_flight, &id, &c, BPF_ANY);
	return 0;
}

static __always_inline int connect_done(const struct sock *sk, int newstate)
{
	__u64 id = (__u64)sk;
	struct connecting *c = bpf_map_lookup_elem(&connects_in_flight, &id);

	if (!c)
		return 0;
	__u64 latency_us = (bpf_ktime_get_ns() - c->start_ns) / 1000;
	struct latency_key key = { .cgroup = c->cgroup };

	bpf_map_delete_elem(&connects_in_flight, &id);
	if (newstate == TCP_ESTABLISHED)
		histogram_exp2_overflow(&pod_tcp_connect_latency_seconds, key, latency_us, LATENCY_BUCKET_MAX);
	return 0;
}

/* CLOSE -> SYN_SENT runs in connect(), in the connecting task: its cgroup
 * is the pod's. SYN_SENT -> ESTABLISHED (or -> CLOSE, a failed connect)
 * runs where the SYN-ACK (or the RST, or the last SYN's timeout) arrives. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT)
		return connect_start(sk);
	if (oldstate == TCP_SYN_SENT)
		return connect_done(sk, newstate);
	return 0;
}

/* Retransmits run in timer softirqs as often as in tasks: the cgroup is
 * the socket's, set when it was created (or accepted: the listener's).
 * sock_cgroup_data.cgroup is 5.15+; before, the retransmit counts as
 * cgroup 0, which is no pod's and is left out. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb, const struct sock *sk)
{
	struct retransmit_key key = {};

	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		key.cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	peer_of(sk, key.peer);
	increment_map(&pod_tcp_retransmits_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
