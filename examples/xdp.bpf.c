// SPDX-License-Identifier: GPL-2.0
// xdp: packets received on lo by IP version and protocol, and the names in
// DNS queries sent to port 53. Every packet is passed on.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP 17
#define DNS_PORT 53
#define DNS_HEADER_LEN 12
#define QNAME_LEN 64

struct packet_key {
	__u32 ifindex;
	__u8 ip_version; /* 4, 6, or 0 for anything else */
	__u8 protocol;   /* IP protocol / IPv6 next header */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct packet_key);
	__type(value, __u64);
} xdp_packets_total SEC(".maps");

struct qname_key {
	/* QNAME in wire format (length-prefixed labels), zero padded; longer
	 * names are cut at QNAME_LEN bytes. */
	__u8 qname[QNAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct qname_key);
	__type(value, __u64);
} dns_queries_total SEC(".maps");

/* Copies the QNAME of the DNS message whose header starts at DNS, up to and
 * including its terminating zero. */
static __always_inline void count_dns_query(void *dns, void *data_end)
{
	struct qname_key key = {};
	__u8 *name = dns + DNS_HEADER_LEN;

	for (int i = 0; i < QNAME_LEN; i++) {
		__u8 *c = name + i;

		if ((void *)(c + 1) > data_end)
			return; /* truncated packet: not a query we can name */
		key.qname[i] = *c;
		if (*c == 0)
			break;
	}
	increment_map(&dns_queries_total, &key, 1);
}

static __always_inline void parse_udp(struct udphdr *udp, void *data_end)
{
	if ((void *)(udp + 1) > data_end)
		return;
	if (udp->dest == bpf_htons(DNS_PORT))
		count_dns_query(udp + 1, data_end);
}

SEC("xdp/lo")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct packet_key key = { .ifindex = ctx->ingress_ifindex };

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		key.ip_version = 4;
		key.protocol = ip->protocol;
		if (ip->protocol == IPPROTO_UDP && ip->ihl >= 5)
			parse_udp((void *)ip + ip->ihl * 4, data_end);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		key.ip_version = 6;
		key.protocol = ip6->nexthdr;
		/* Extension headers are not followed: UDP right after the header only. */
		if (ip6->nexthdr == IPPROTO_UDP)
			parse_udp((void *)(ip6 + 1), data_end);
	}

	increment_map(&xdp_packets_total, &key, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
