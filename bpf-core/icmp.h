/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Path MTU discovery for endpoints: the agent answers an IPv4 frame with DF
 * that would not fit the underlay once encapsulated with ICMP Destination
 * Unreachable / Fragmentation Needed (RFC 792, RFC 1191), as a router
 * would, instead of dropping it silently.
 */
#ifndef MZR_CORE_ICMP_H
#define MZR_CORE_ICMP_H

#include <mizar/bpf/csum.h>
#include "pkt.h"

/* From linux/icmp.h, which pulls in userspace headers. */
#define MZR_ICMP_DEST_UNREACH 3
#define MZR_ICMP_FRAG_NEEDED 4
#define MZR_ICMP_SOURCE_QUENCH 4
#define MZR_ICMP_REDIRECT 5
#define MZR_ICMP_TIME_EXCEEDED 11
#define MZR_ICMP_PARAMETERPROB 12
#define MZR_NR_ICMP_TYPES 18

struct mzr_icmp_frag {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;		/* next-hop MTU (RFC 1191) */
};

#define MZR_IP_DF 0x4000
#define MZR_IP_OFFSET 0x1fff
/* The smallest MTU an IPv4 link may have (RFC 791). */
#define MZR_IPV4_MIN_MTU 68
/* What the reply quotes: the IPv4 header (options included, up to 60
 * bytes) and the first 8 bytes of its payload. */
#define MZR_ICMP_QUOTE_L4 8
/* The tc agent quotes a TCP header whole (20 bytes): an skb with checksum
 * offload pending cannot be cut before its checksum field. */
#define MZR_ICMP_QUOTE_TCP 20
#define MZR_ICMP_QUOTE_MAX (60 + MZR_ICMP_QUOTE_TCP)
/* The headers the reply puts in front of the quote: IPv4 (no options)
 * and ICMP; the frame's own Ethernet header is rewritten in place. */
#define MZR_ICMP_PUSH (20 + 8)
#define MZR_ICMP_IP_OFF 14
#define MZR_ICMP_OFF (MZR_ICMP_IP_OFF + 20)

/* ICMP types that are errors (RFC 1122 3.2.2: never answered with one),
 * as a mask of types 0..18; types above 18 are not answered either. */
#define MZR_ICMP_ERR_MASK                                                      \
	((1U << MZR_ICMP_DEST_UNREACH) | (1U << MZR_ICMP_SOURCE_QUENCH) |      \
	 (1U << MZR_ICMP_REDIRECT) | (1U << MZR_ICMP_TIME_EXCEEDED) |          \
	 (1U << MZR_ICMP_PARAMETERPROB))

/*
 * May the endpoint's IPv4 frame (Ethernet at 0, as the agent sees it) be
 * answered with Fragmentation Needed? DF set, not a later fragment, not to
 * a multicast or broadcast address, not an ICMP error. Returns the length
 * of its IPv4 header, or 0.
 */
static __always_inline __u32 mzr_frag_needed_ok_at(void *data, void *end)
{
	struct iphdr *iph = data + MZR_ICMP_IP_OFF;
	__u32 hl, daddr;
	__u8 *type;

	if ((void *)(iph + 1) > end)
		return 0;
	if ((iph->frag_off & bpf_htons(MZR_IP_DF | MZR_IP_OFFSET)) !=
	    bpf_htons(MZR_IP_DF))
		return 0;
	daddr = bpf_ntohl(iph->daddr);
	if ((daddr >> 28) == 0xe || daddr == 0xffffffff)
		return 0;
	hl = iph->ihl * 4;
	if (hl < sizeof(*iph))
		return 0;
	/* The whole quote is in the frame. */
	if (data + MZR_ICMP_IP_OFF + hl + MZR_ICMP_QUOTE_L4 > end)
		return 0;
	if (iph->protocol == IPPROTO_ICMP) {
		type = data + MZR_ICMP_IP_OFF + hl;
		if ((void *)(type + 1) > end)
			return 0;
		if (*type > MZR_NR_ICMP_TYPES ||
		    (MZR_ICMP_ERR_MASK >> *type) & 1)
			return 0;
	}
	return hl;
}

static __always_inline __u32 mzr_frag_needed_ok(struct xdp_md *xdp)
{
	return mzr_frag_needed_ok_at((void *)(long)xdp->data,
				     (void *)(long)xdp->data_end);
}

/*
 * Write the gateway's ICMP Fragmentation Needed (@mtu, from @gw, @gw_mac,
 * to @ep_ip, @ep_mac) over the first 14 + 28 bytes of a frame whose quote
 * (@quote bytes of the endpoint's packet) follows them and ends the frame.
 * Returns 0, or -1 when the frame is shorter than that.
 */
static __always_inline int mzr_icmp_frag_write(void *data, void *end,
					       __u32 quote, __u16 mtu,
					       __be32 gw, const __u8 *gw_mac,
					       __be32 ep_ip, const __u8 *ep_mac)
{
	struct ethhdr *eth;
	struct iphdr *iph;
	struct mzr_icmp_frag *icmp;
	__u32 *w;
	__u64 sum = 0;

	if (data + MZR_ICMP_OFF + sizeof(*icmp) > end)
		return -1;

	eth = data;
	__builtin_memcpy(eth->h_dest, ep_mac, 6);
	__builtin_memcpy(eth->h_source, gw_mac, 6);
	eth->h_proto = bpf_htons(ETH_P_IP);

	iph = data + MZR_ICMP_IP_OFF;
	*(__u8 *)iph = 0x45;
	iph->tos = 0xc0; /* precedence internetwork control, as Linux */
	iph->tot_len = bpf_htons(20 + sizeof(*icmp) + quote);
	iph->id = 0;
	iph->frag_off = bpf_htons(MZR_IP_DF);
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = gw;
	iph->daddr = ep_ip;
	iph->check = mzr_ipv4_csum(iph);

	icmp = data + MZR_ICMP_OFF;
	icmp->type = MZR_ICMP_DEST_UNREACH;
	icmp->code = MZR_ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);

	/* The ICMP message runs to the end of the frame, a multiple of 4
	 * bytes long (8 + a header of 4-byte words + 8). */
	w = data + MZR_ICMP_OFF;
#pragma unroll
	for (int i = 0; i < (8 + MZR_ICMP_QUOTE_MAX) / 4; i++) {
		if ((void *)(w + i + 1) > end)
			break;
		sum += w[i];
	}
	icmp->checksum = ~mzr_csum_add_fold(sum);
	return 0;
}

/*
 * Turn the endpoint's frame into the gateway's ICMP Fragmentation Needed
 * for it, in place: @mtu the next-hop MTU, from @gw (@gw_mac) to the
 * endpoint @ep_ip (@ep_mac). 28 bytes of IPv4 and ICMP headers go in
 * front of the frame's IPv4 header (the Ethernet header is written over
 * the old one and the room in front of it), and the frame is cut after
 * the quote. Returns 0, or -1 if the frame could not be resized (it is
 * then no longer the endpoint's frame: drop it).
 */
static __always_inline int mzr_icmp_frag_needed(struct xdp_md *xdp, __u32 hl,
						__u16 mtu, __be32 gw,
						const __u8 *gw_mac,
						__be32 ep_ip,
						const __u8 *ep_mac)
{
	__u32 len = xdp->data_end - xdp->data;
	__u32 quote = hl + MZR_ICMP_QUOTE_L4;

	if (quote > MZR_ICMP_QUOTE_MAX || len < MZR_ICMP_IP_OFF + quote)
		return -1;
	if (bpf_xdp_adjust_head(xdp, -(int)MZR_ICMP_PUSH))
		return -1;
	/* Keep the new headers and the quote after them. */
	if (bpf_xdp_adjust_tail(xdp, (int)(MZR_ICMP_IP_OFF + quote) -
					     (int)len))
		return -1;
	return mzr_icmp_frag_write((void *)(long)xdp->data,
				   (void *)(long)xdp->data_end, quote, mtu,
				   gw, gw_mac, ep_ip, ep_mac);
}

#endif /* MZR_CORE_ICMP_H */
