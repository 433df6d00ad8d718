/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Bounded header parsers for the core and NFs: a cursor walks the frame,
 * one __always_inline parser per header checks its bounds and advances
 * the cursor.
 *
 * One return convention for every parser of the mizar/bpf headers:
 *  - a header parser (mzr_parse_<hdr>hdr()) returns what comes next, >= 0
 *    (EtherType, L4 protocol, port, operation, host byte order), or
 *    minus the enum mzr_drop_reason it fails for (-MZR_DROP_MALFORMED:
 *    truncated or not valid);
 *  - a frame parser (mzr_parse_inner_frame*(), mzr_parse_tunnel_outer(),
 *    mzr_tunnel_parse()) returns 0, a positive enum mzr_drop_reason, or
 *    MZR_NOT_OURS: a frame that is somebody else's (not Mizar's), which
 *    is passed on, never dropped.
 */
#ifndef MIZAR_BPF_PARSE_H
#define MIZAR_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/abi.h>

#ifndef ETH_P_ARP
#define ETH_P_ARP 0x0806
#endif

/* Value of an absent offset. */
#define MZR_OFF_NONE 0xffff

/* Offsets into a frame are below this (outer headers are fixed-size,
 * Geneve options <= 252 bytes, inner IPv4 header <= 60 bytes); masking
 * with it keeps an offset read from a map or the context bounded for the
 * verifier. */
#define MZR_OFF_MASK 0x1ff

/* A frame parser's "not a Mizar frame": pass it on (see above). */
#define MZR_NOT_OURS (-1)

/* Where the next header starts, and where the frame ends. */
struct mzr_cursor {
	void *pos;
	void *end;
};

static __always_inline void mzr_cursor_init(struct mzr_cursor *c,
					    struct xdp_md *ctx)
{
	c->pos = (void *)(long)ctx->data;
	c->end = (void *)(long)ctx->data_end;
}

/* Offset of the cursor from the start of the frame. */
static __always_inline __u32 mzr_cursor_off(const struct mzr_cursor *c,
					    struct xdp_md *ctx)
{
	return (__u32)((long)c->pos - (long)ctx->data);
}

/* Ethernet (no VLAN handling: a tagged frame returns its TPID). Returns the
 * EtherType. */
static __always_inline int mzr_parse_ethhdr(struct mzr_cursor *c,
					    struct ethhdr **eth)
{
	struct ethhdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -MZR_DROP_MALFORMED;
	c->pos = h + 1;
	*eth = h;
	return bpf_ntohs(h->h_proto);
}

/* IPv4 with its options (ihl >= 5, whole header in the frame). Returns the
 * L4 protocol. Use mzr_ipv4_is_fragment() before reading L4 ports. */
static __always_inline int mzr_parse_iphdr(struct mzr_cursor *c,
					   struct iphdr **iph)
{
	struct iphdr *h = c->pos;
	__u32 hlen;

	if ((void *)(h + 1) > c->end)
		return -MZR_DROP_MALFORMED;
	if (h->version != 4 || h->ihl < 5)
		return -MZR_DROP_MALFORMED;
	hlen = h->ihl * 4;
	if (c->pos + hlen > c->end)
		return -MZR_DROP_MALFORMED;
	c->pos += hlen;
	*iph = h;
	return h->protocol;
}

/* True for any fragment (more-fragments set or a non-zero offset). */
static __always_inline int mzr_ipv4_is_fragment(const struct iphdr *iph)
{
	return (iph->frag_off & bpf_htons(0x3fff)) != 0;
}

/* True when this is a fragment other than the first (no L4 header). */
static __always_inline int mzr_ipv4_is_later_fragment(const struct iphdr *iph)
{
	return (iph->frag_off & bpf_htons(0x1fff)) != 0;
}

/* UDP. Returns the destination port. */
static __always_inline int mzr_parse_udphdr(struct mzr_cursor *c,
					    struct udphdr **udp)
{
	struct udphdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -MZR_DROP_MALFORMED;
	c->pos = h + 1;
	*udp = h;
	return bpf_ntohs(h->dest);
}

/* TCP, including its options (doff >= 5). Returns the destination port. */
static __always_inline int mzr_parse_tcphdr(struct mzr_cursor *c,
					    struct tcphdr **tcp)
{
	struct tcphdr *h = c->pos;
	__u32 hlen;

	if ((void *)(h + 1) > c->end)
		return -MZR_DROP_MALFORMED;
	hlen = h->doff * 4;
	if (hlen < sizeof(*h))
		return -MZR_DROP_MALFORMED;
	if (c->pos + hlen > c->end)
		return -MZR_DROP_MALFORMED;
	c->pos += hlen;
	*tcp = h;
	return bpf_ntohs(h->dest);
}

/* Where Mizar's outer headers are in a tunnel frame: it builds them
 * option-less (docs/wire-format.md). */
#define MZR_ETH_LEN 14
#define MZR_OUTER_L3_OFF MZR_ETH_LEN
#define MZR_OUTER_L4_OFF (MZR_OUTER_L3_OFF + 20)
#define MZR_GENEVE_OFF (MZR_OUTER_L4_OFF + 8)

/*
 * The outer Ethernet, IPv4 and UDP headers of a Mizar tunnel frame at @c,
 * up to its Geneve header: IPv4 without options or fragmentation (Mizar
 * builds no other), UDP to MZR_GENEVE_PORT. One parser for the core and
 * NFs (mzr_tunnel_parse()). Returns 0 (@c at the Geneve header, *@iph
 * the outer IPv4 header) or MZR_NOT_OURS.
 */
static __always_inline int mzr_parse_tunnel_outer(struct mzr_cursor *c,
						  struct iphdr **iph)
{
	struct ethhdr *eth;
	struct udphdr *udp;

	if (mzr_parse_ethhdr(c, &eth) != ETH_P_IP)
		return MZR_NOT_OURS;
	if (mzr_parse_iphdr(c, iph) != IPPROTO_UDP)
		return MZR_NOT_OURS;
	if ((*iph)->ihl != 5 || mzr_ipv4_is_fragment(*iph))
		return MZR_NOT_OURS;
	if (mzr_parse_udphdr(c, &udp) != MZR_GENEVE_PORT)
		return MZR_NOT_OURS;
	return 0;
}

/* ARP for IPv4 over Ethernet, the only kind an overlay carries. */
struct mzr_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

#define MZR_ARP_REQUEST 1
#define MZR_ARP_REPLY 2

/* ARP. Returns the operation, -MZR_DROP_MALFORMED for a truncated header,
 * -MZR_DROP_ARP for anything but IPv4 over Ethernet. */
static __always_inline int mzr_parse_arphdr(struct mzr_cursor *c,
					    struct mzr_arp **arp)
{
	struct mzr_arp *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -MZR_DROP_MALFORMED;
	if (h->htype != bpf_htons(1) || h->ptype != bpf_htons(ETH_P_IP) ||
	    h->hlen != 6 || h->plen != 4)
		return -MZR_DROP_ARP;
	c->pos = h + 1;
	*arp = h;
	return bpf_ntohs(h->op);
}

/* What mzr_parse_inner_frame() learns from an endpoint's frame. */
struct mzr_inner {
	__u16 l2_off;
	__u16 l3_off;		/* MZR_OFF_NONE: not reached */
	__u16 l4_off;		/* MZR_OFF_NONE: not reached, or ARP */
	__u16 arp_op;
	/* IPv4 addresses, or ARP sender/target addresses. */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;		/* 0: fragment, or neither TCP nor UDP */
	__be16 dport;
	__u8 proto;
	__u8 is_arp;
	__u8 ttl;
	__u8 eth_src[6];
};

/*
 * Parse an endpoint's Ethernet frame at @c into @in, as the core does:
 * IPv4 (any options; every fragment without ports, so that all of a
 * datagram's fragments take the same path) or ARP for IPv4 over Ethernet.
 * On error @in keeps what was parsed before. Offsets are from @start (the
 * first byte of the packet, whatever the program type). Returns 0 or the
 * enum mzr_drop_reason.
 */
static __always_inline __u32 mzr_parse_inner_frame_at(struct mzr_cursor *c,
						      void *start,
						      struct mzr_inner *in)
{
	struct ethhdr *eth;
	struct iphdr *iph;
	int proto;

	__builtin_memset(in, 0, sizeof(*in));
	in->l3_off = MZR_OFF_NONE;
	in->l4_off = MZR_OFF_NONE;
	in->l2_off = (__u32)((long)c->pos - (long)start);
	proto = mzr_parse_ethhdr(c, &eth);
	if (proto < 0)
		return MZR_DROP_MALFORMED;
	__builtin_memcpy(in->eth_src, eth->h_source, 6);
	in->l3_off = (__u32)((long)c->pos - (long)start);

	if (proto == ETH_P_ARP) {
		struct mzr_arp *arp;
		int op = mzr_parse_arphdr(c, &arp);

		if (op < 0)
			return -op;
		in->is_arp = 1;
		in->arp_op = op;
		in->saddr = arp->spa;
		in->daddr = arp->tpa;
		return 0;
	}
	if (proto != ETH_P_IP)
		return MZR_DROP_NOT_IPV4;

	proto = mzr_parse_iphdr(c, &iph);
	if (proto < 0)
		return MZR_DROP_MALFORMED;
	in->saddr = iph->saddr;
	in->daddr = iph->daddr;
	in->proto = proto;
	in->ttl = iph->ttl;
	in->l4_off = (__u32)((long)c->pos - (long)start);
	if (mzr_ipv4_is_fragment(iph))
		return 0;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp;

		if (mzr_parse_tcphdr(c, &tcp) < 0)
			return MZR_DROP_MALFORMED;
		in->sport = tcp->source;
		in->dport = tcp->dest;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp;

		if (mzr_parse_udphdr(c, &udp) < 0)
			return MZR_DROP_MALFORMED;
		in->sport = udp->source;
		in->dport = udp->dest;
	}
	return 0;
}

/* mzr_parse_inner_frame_at() for an XDP frame. */
static __always_inline __u32 mzr_parse_inner_frame(struct mzr_cursor *c,
						   struct xdp_md *xdp,
						   struct mzr_inner *in)
{
	return mzr_parse_inner_frame_at(c, (void *)(long)xdp->data, in);
}

#endif /* MIZAR_BPF_PARSE_H */
