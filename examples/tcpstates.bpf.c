// SPDX-License-Identifier: GPL-2.0
// tcpstates: TCP state transitions, and established connections by peer
// address (IPv4 and IPv6).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1

struct transition_key {
	__u16 family;
	__u8 oldstate;
	__u8 newstate;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct transition_key);
	__type(value, __u64);
} tcp_state_transitions_total SEC(".maps");

struct peer_key {
	/* IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d), which the tracepoint
	 * fills in for AF_INET sockets; inet_ip prints those as a.b.c.d. */
	__u8 addr[16];
	__u8 from_state; /* SYN_SENT: we connected; SYN_RECV: we accepted */
	__u8 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct peer_key);
	__type(value, __u64);
} tcp_established_total SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;

	struct transition_key key = {
		.family = ctx->family,
		.oldstate = ctx->oldstate,
		.newstate = ctx->newstate,
	};

	increment_map(&tcp_state_transitions_total, &key, 1);

	if (ctx->newstate != TCP_ESTABLISHED)
		return 0;

	struct peer_key peer = { .from_state = ctx->oldstate };

	/* A CO-RE relocated array is addressed as ctx + offset, a pointer the
	 * verifier refuses to load through: copy it with a probe read. */
	bpf_core_read(peer.addr, sizeof(peer.addr), &ctx->daddr_v6);
	increment_map(&tcp_established_total, &peer, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
