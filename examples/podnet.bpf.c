// SPDX-License-Identifier: GPL-2.0
// podnet: bytes and packets sent and received by cgroup v2 id (the socket's
// cgroup: the pod's container), peer address and destination port, from
// cgroup_skb programs on the cgroup2 root. 1 packet in sample_every is
// counted, as sample_every packets of sample_every times its size, so that
// the totals stay unbiased; port, when not 0, counts only packets from or
// to that port. Every packet is let through.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define ALLOW 1

/* Set from podnet.yaml's constants section (ebpfmon sets them before
 * loading): count 1 packet in sample_every (0 and 1: every packet), and
 * only packets whose source or destination port is port (0: any). */
volatile const __u32 sample_every = 1;
volatile const __u16 port = 0;

struct flow_key {
	__u64 cgroup;
	__u8 peer[16]; /* IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	__u16 port;    /* the packet's destination port, host order; 0 for other protocols */
	__u8 _pad[6];
};

#define FLOW_MAP(name)                                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);                                               \
		__uint(max_entries, 16384);                                                        \
		__type(key, struct flow_key);                                                      \
		__type(value, __u64);                                                              \
	} name SEC(".maps")

FLOW_MAP(pod_network_transmit_bytes_total);
FLOW_MAP(pod_network_transmit_packets_total);
FLOW_MAP(pod_network_receive_bytes_total);
FLOW_MAP(pod_network_receive_packets_total);

/* The headers as they are on the wire (no CO-RE: packet data, not kernel
 * structs). */
struct ipv4_header {
	__u8 version_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__u8 saddr[4];
	__u8 daddr[4];
};

struct ipv6_header {
	__be32 version_class_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Fills key's peer (the destination of a sent packet, the source of a
 * received one) and port (the destination port) from the packet, which
 * starts at its IP header, and returns its source port; -1 for packets
 * that are not IP. Ports are 0 for protocols other than TCP and UDP, for
 * non-first fragments and behind IPv6 extension headers. */
static __always_inline int parse(struct __sk_buff *skb, int egress, struct flow_key *key)
{
	__u32 l4 = 0;
	__u8 protocol;
	__be16 ports[2] = {};

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct ipv4_header ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		key->peer[10] = 0xff;
		key->peer[11] = 0xff;
		__builtin_memcpy(key->peer + 12, egress ? ip.daddr : ip.saddr, 4);
		protocol = ip.protocol;
		if (!(ip.frag_off & bpf_htons(IP_OFFSET)))
			l4 = (ip.version_ihl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6_header ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		__builtin_memcpy(key->peer, egress ? ip6.daddr : ip6.saddr, 16);
		protocol = ip6.nexthdr;
		l4 = sizeof(ip6);
	} else {
		return -1;
	}
	if (l4 && (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) && bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return -1;
	key->port = bpf_ntohs(ports[1]);
	return bpf_ntohs(ports[0]);
}

static __always_inline int count(struct __sk_buff *skb, int egress, void *bytes, void *packets)
{
	__u32 every = sample_every > 1 ? sample_every : 1;

	if (every > 1 && bpf_get_prandom_u32() % every)
		return ALLOW;

	struct flow_key key = {};
	int source_port = parse(skb, egress, &key);

	if (source_port < 0)
		return ALLOW;
	if (port && source_port != port && key.port != port)
		return ALLOW;
	/* The cgroup of the socket sending or receiving the packet (an
	 * accepted socket's is its listener's). */
	key.cgroup = bpf_skb_cgroup_id(skb);
	increment_map(bytes, &key, (__u64)every * skb->len);
	increment_map(packets, &key, every);
	return ALLOW;
}

SEC("cgroup_skb/egress")
int egress(struct __sk_buff *skb)
{
	return count(skb, 1, &pod_network_transmit_bytes_total, &pod_network_transmit_packets_total);
}

SEC("cgroup_skb/ingress")
int ingress(struct __sk_buff *skb)
{
	return count(skb, 0, &pod_network_receive_bytes_total, &pod_network_receive_packets_total);
}

char LICENSE[] SEC("license") = "GPL";
