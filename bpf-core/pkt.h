/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the core learns from parsing a frame, and the inner-frame parser
 * shared by the agent (whole frame) and the transit (after Geneve). */
#ifndef MZR_CORE_PKT_H
#define MZR_CORE_PKT_H

#include <mizar/bpf/parse.h>
#include <mizar/bpf/geneve.h>
#include "hash.h"
#include "stats.h"

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

/* Parse an endpoint's Ethernet frame at @c into @p (see
 * mzr_parse_inner_frame_at(); offsets from @start, the packet's first
 * byte, in an XDP or tc program). Returns 0 or the drop reason. */
static __always_inline __u32 mzr_parse_inner_at(struct mzr_cursor *c,
						void *start,
						struct mzr_pkt *p)
{
	struct mzr_inner in;
	__u32 reason = mzr_parse_inner_frame_at(c, start, &in);

	if (reason)
		return reason;
	p->inner_l2_off = in.l2_off;
	p->inner_l3_off = in.l3_off;
	p->inner_l4_off = in.l4_off;
	p->saddr = in.saddr;
	p->daddr = in.daddr;
	p->sport = in.sport;
	p->dport = in.dport;
	p->proto = in.proto;
	p->is_arp = in.is_arp;
	p->arp_op = in.arp_op;
	p->ttl = in.ttl;
	__builtin_memcpy(p->eth_src, in.eth_src, 6);
	return 0;
}

static __always_inline __u32 mzr_parse_inner(struct mzr_cursor *c,
					     struct xdp_md *xdp,
					     struct mzr_pkt *p)
{
	return mzr_parse_inner_at(c, (void *)(long)xdp->data, p);
}

#endif /* MZR_CORE_PKT_H */
