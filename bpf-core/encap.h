/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Geneve encapsulation, outer-header rewrite and decapsulation; the bytes
 * are specified in docs/wire-format.md. */
#ifndef MZR_CORE_ENCAP_H
#define MZR_CORE_ENCAP_H

#include <mizar/bpf/csum.h>
#include <mizar/bpf/geneve.h>
#include "pkt.h"

/* The options the agent stamps, as laid out after the Geneve header. */
struct mzr_encap_opts {
	struct mzr_geneve_opt rts_hdr;
	__be32 rts;
	struct mzr_geneve_opt flags_hdr;
	__be32 flags;
};

_Static_assert(MZR_GENEVE_OFF + sizeof(struct mzr_genevehdr) +
		       sizeof(struct mzr_encap_opts) == MZR_ENCAP_LEN,
	       "encapsulation length");

/* The outer IPv4 packet an inner frame of @len bytes becomes: the
 * encapsulation but its (outer) Ethernet header in front of it. */
#define MZR_OUTER_IP_LEN(len) ((len) + MZR_ENCAP_LEN - MZR_ETH_LEN)

/* Whether an inner frame of @len bytes, once encapsulated, exceeds the
 * underlay MTU (0: not configured, no limit). */
static __always_inline int mzr_too_big(const struct mzr_host_cfg *host,
				       __u32 len)
{
	return host->mtu && MZR_OUTER_IP_LEN(len) > host->mtu;
}

static __always_inline __be16 mzr_udp_sport(__u32 hash)
{
	return bpf_htons(MZR_SPORT_MIN | (hash & 0x3fff));
}

/* Write a fresh outer IPv4 header (DF, TTL 64, id 0, valid checksum). */
static __always_inline void mzr_outer_ipv4(struct iphdr *iph, __be32 src,
					   __be32 dst, __u16 tot_len)
{
	*(__u8 *)iph = 0x45;
	iph->tos = 0;
	iph->tot_len = bpf_htons(tot_len);
	iph->id = 0;
	iph->frag_off = bpf_htons(0x4000);
	iph->ttl = MZR_OUTER_TTL;
	iph->protocol = IPPROTO_UDP;
	iph->check = 0;
	iph->saddr = src;
	iph->daddr = dst;
	iph->check = mzr_ipv4_csum(iph);
}

/*
 * Write the MZR_ENCAP_LEN bytes of encapsulation at @data (in front of an
 * inner frame of @inner_len bytes): Ethernet (@dmac, @smac), IPv4 @src ->
 * @dst, UDP @sport -> 6081 (checksum 0), Geneve VNI @vni with the RTS
 * (@src) and FLAGS (@flags) options. The caller has checked that
 * MZR_ENCAP_LEN bytes from @data are in the packet.
 */
static __always_inline void mzr_encap_write(void *data, __u32 inner_len,
					    __u32 vni, __be32 src, __be32 dst,
					    __u32 flags, __be16 sport,
					    const __u8 *smac,
					    const __u8 *dmac)
{
	struct mzr_genevehdr *gnv;
	struct mzr_encap_opts *opt;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct udphdr *udp;

	eth = data;
	__builtin_memcpy(eth->h_dest, dmac, 6);
	__builtin_memcpy(eth->h_source, smac, 6);
	eth->h_proto = bpf_htons(ETH_P_IP);

	iph = data + MZR_OUTER_L3_OFF;
	mzr_outer_ipv4(iph, src, dst, MZR_OUTER_IP_LEN(inner_len));

	udp = data + MZR_OUTER_L4_OFF;
	udp->source = sport;
	udp->dest = bpf_htons(MZR_GENEVE_PORT);
	udp->len = bpf_htons(MZR_OUTER_IP_LEN(inner_len) - sizeof(*iph));
	udp->check = 0;

	gnv = data + MZR_GENEVE_OFF;
	gnv->ver_optlen = MZR_GENEVE_VERSION << 6 | MZR_OPTS_LEN / 4;
	gnv->flags = 0;
	gnv->proto = bpf_htons(MZR_ETH_P_TEB);
	gnv->vni[0] = vni >> 16;
	gnv->vni[1] = vni >> 8;
	gnv->vni[2] = vni;
	gnv->rsvd = 0;

	opt = (void *)(gnv + 1);
	opt->rts_hdr.opt_class = bpf_htons(MZR_OPT_CLASS);
	opt->rts_hdr.type = MZR_OPT_RTS;
	opt->rts_hdr.len = 1;
	opt->rts = src;
	opt->flags_hdr.opt_class = bpf_htons(MZR_OPT_CLASS);
	opt->flags_hdr.type = MZR_OPT_FLAGS;
	opt->flags_hdr.len = 1;
	opt->flags = bpf_htonl(flags);
}

/*
 * Push the encapsulation (mzr_encap_write()) in front of the XDP frame.
 * Returns 0 or a drop reason.
 */
static __always_inline __u32 mzr_encap_push(struct xdp_md *xdp, __u32 vni,
					    __be32 src, __be32 dst,
					    __u32 flags, __be16 sport,
					    const __u8 *smac, const __u8 *dmac)
{
	__u32 inner_len = xdp->data_end - xdp->data;
	void *data, *end;

	if (bpf_xdp_adjust_head(xdp, -(int)MZR_ENCAP_LEN))
		return MZR_DROP_ENCAP;
	data = (void *)(long)xdp->data;
	end = (void *)(long)xdp->data_end;
	if (data + MZR_ENCAP_LEN > end)
		return MZR_DROP_ENCAP;
	mzr_encap_write(data, inner_len, vni, src, dst, flags, sport, smac,
			dmac);
	return 0;
}

/*
 * The rewrites below work on the frame between @data and @end, so that
 * the XDP and the tc programs share them (their wrappers only read the
 * packet pointers of their context). Each returns 0 or a drop reason.
 */

/* Set the destination MAC of the frame (and the source, when @smac). */
static __always_inline __u32 mzr_eth_set_macs(void *data, void *end,
					      const __u8 *dmac,
					      const __u8 *smac)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return MZR_DROP_MALFORMED;
	__builtin_memcpy(eth->h_dest, dmac, 6);
	if (smac)
		__builtin_memcpy(eth->h_source, smac, 6);
	return 0;
}

static __always_inline __u32 mzr_set_macs(struct xdp_md *xdp,
					  const __u8 *dmac, const __u8 *smac)
{
	return mzr_eth_set_macs((void *)(long)xdp->data,
				(void *)(long)xdp->data_end, dmac, smac);
}

/* Decrement the TTL of the IPv4 header at @off (a routed hop): TTL <= 1
 * is dropped ttl_expired. */
static __always_inline __u32 mzr_ipv4_dec_ttl_at(void *data, void *end,
						 __u32 off)
{
	struct iphdr *iph = data + off;

	if ((void *)(iph + 1) > end)
		return MZR_DROP_MALFORMED;
	if (iph->ttl <= 1)
		return MZR_DROP_TTL_EXPIRED;
	mzr_ipv4_dec_ttl(iph);
	return 0;
}

/* Rewrite the FLAGS option at @flags_off (0: the frame has none) in
 * place: @set, then @clear. */
static __always_inline __u32 mzr_flags_rewrite(void *data, void *end,
					       __u32 flags_off, __u32 set,
					       __u32 clear)
{
	__be32 *fl;

	if (!set && !clear)
		return 0;
	if (!flags_off)
		return MZR_DROP_BAD_OPTION;
	fl = data + (flags_off & MZR_OFF_MASK);
	if ((void *)(fl + 1) > end)
		return MZR_DROP_MALFORMED;
	*fl = bpf_htonl((bpf_ntohl(*fl) | set) & ~clear);
	return 0;
}

/*
 * A forwarding hop on a frame at @data (XDP or tc): outer source and
 * destination rewritten (checksum patched), TTL decremented when @dec_ttl,
 * UDP checksum cleared (the inner frame may change on the way; RFC 8926
 * allows 0 over IPv4).
 */
static __always_inline __u32 mzr_outer_rewrite(void *data, void *end,
					       __be32 src, __be32 dst,
					       int dec_ttl)
{
	struct iphdr *iph = data + MZR_OUTER_L3_OFF;
	struct udphdr *udp = data + MZR_OUTER_L4_OFF;

	if ((void *)(udp + 1) > end)
		return MZR_DROP_MALFORMED;
	/* A forwarded packet keeps its source: nothing to patch. */
	if (iph->saddr != src) {
		mzr_csum_replace4(&iph->check, iph->saddr, src);
		iph->saddr = src;
	}
	mzr_csum_replace4(&iph->check, iph->daddr, dst);
	iph->daddr = dst;
	if (dec_ttl)
		mzr_ipv4_dec_ttl(iph);
	udp->check = 0;
	return 0;
}

/* mzr_outer_rewrite() on an XDP frame. */
static __always_inline __u32 mzr_outer_forward(struct xdp_md *xdp,
					       __be32 src, __be32 dst,
					       int dec_ttl)
{
	return mzr_outer_rewrite((void *)(long)xdp->data,
				 (void *)(long)xdp->data_end, src, dst,
				 dec_ttl);
}

/* Decrement the inner IPv4 TTL (a routed hop). */
static __always_inline __u32 mzr_inner_dec_ttl(struct xdp_md *xdp,
					       const struct mzr_pkt *p)
{
	return mzr_ipv4_dec_ttl_at((void *)(long)xdp->data,
				   (void *)(long)xdp->data_end,
				   p->inner_l3_off & MZR_OFF_MASK);
}

/* Strip everything in front of the inner frame. */
static __always_inline __u32 mzr_decap(struct xdp_md *xdp,
				       const struct mzr_pkt *p)
{
	if (bpf_xdp_adjust_head(xdp, p->inner_l2_off & MZR_OFF_MASK))
		return MZR_DROP_ENCAP;
	return 0;
}

#endif /* MZR_CORE_ENCAP_H */
