/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the core learns from parsing a frame, and the inner-frame parser
 * shared by the agent (whole frame) and the transit (after Geneve). */
#ifndef MZR_CORE_PKT_H
#define MZR_CORE_PKT_H

#include <mizar/bpf/parse.h>
#include <mizar/bpf/geneve.h>
#include "hash.h"
#include "stats.h"

#define MZR_OFF_NONE 0xffff
/* Offsets into the frame are below this (outer headers are fixed-size,
 * Geneve options <= 252 bytes, inner IPv4 header <= 60 bytes); masking
 * with it keeps offsets bounded for the verifier. */
#define MZR_OFF_MASK 0x1ff

struct mzr_pkt {
	__u16 outer_l3_off;
	__u16 outer_l4_off;
	__u16 geneve_off;
	__u16 inner_l2_off;
	__u16 inner_l3_off;
	__u16 inner_l4_off;
	__u16 flags_off;	/* FLAGS option data from frame start, 0: none */
	__u16 rts_off;
	__u32 vni;
	__be32 rts;
	__u32 flags;		/* MZR_F_*, host byte order */
	__be32 outer_saddr;
	/* Inner flow: IPv4 addresses, or ARP sender/target addresses. */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 is_arp;
	__u8 ttl;
	__u8 pad;
	__u16 arp_op;
	__u8 eth_src[6];
};

static __always_inline __u32 mzr_pkt_hash(const struct mzr_pkt *p)
{
	return mzr_flow_hash(p->saddr, p->daddr, p->sport, p->dport,
			     p->proto);
}

/*
 * Parse an endpoint's Ethernet frame at @c: IPv4 (any options, fragments)
 * or ARP for IPv4 over Ethernet. Returns 0 or the drop reason.
 */
static __always_inline __u32 mzr_parse_inner(struct mzr_cursor *c,
					     struct xdp_md *xdp,
					     struct mzr_pkt *p)
{
	struct ethhdr *eth;
	struct iphdr *iph;
	int proto;

	p->inner_l2_off = mzr_cursor_off(c, xdp);
	proto = mzr_parse_ethhdr(c, &eth);
	if (proto < 0)
		return MZR_DROP_MALFORMED;
	__builtin_memcpy(p->eth_src, eth->h_source, 6);
	p->inner_l3_off = mzr_cursor_off(c, xdp);

	if (proto == ETH_P_ARP) {
		struct mzr_arp *arp;
		int op = mzr_parse_arphdr(c, &arp);

		if (op == -1)
			return MZR_DROP_MALFORMED;
		if (op < 0)
			return MZR_DROP_ARP;
		p->is_arp = 1;
		p->arp_op = op;
		p->saddr = arp->spa;
		p->daddr = arp->tpa;
		return 0;
	}
	if (proto != ETH_P_IP)
		return MZR_DROP_NOT_IPV4;

	proto = mzr_parse_iphdr(c, &iph);
	if (proto < 0)
		return MZR_DROP_MALFORMED;
	p->saddr = iph->saddr;
	p->daddr = iph->daddr;
	p->proto = proto;
	p->ttl = iph->ttl;
	p->inner_l4_off = mzr_cursor_off(c, xdp);
	/* Fragments hash without ports so that all of a datagram's
	 * fragments take the same path. */
	if (mzr_ipv4_is_fragment(iph))
		return 0;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp;

		if (mzr_parse_tcphdr(c, &tcp) < 0)
			return MZR_DROP_MALFORMED;
		p->sport = tcp->source;
		p->dport = tcp->dest;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp;

		if (mzr_parse_udphdr(c, &udp) < 0)
			return MZR_DROP_MALFORMED;
		p->sport = udp->source;
		p->dport = udp->dest;
	}
	return 0;
}

#endif /* MZR_CORE_PKT_H */
