/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The transit agent in tc (clsact ingress of the endpoint's host-side
 * veth): the same decisions as the XDP agent (agent.h, mzr_agent_decide),
 * on the endpoint's skb. It keeps what XDP loses: a GSO super-packet is
 * encapsulated whole (bpf_skb_adjust_room with the UDP-tunnel flags, the
 * kernel's UDP-tunnel GSO segments it at the underlay) and checksum
 * offload state survives, so endpoints keep their default offloads
 * (docs/architecture.md, "Where each role runs"). tc cannot tail-call XDP
 * NFs: the library runs the XDP agent instead while a hook the agent can
 * meet has a chain (docs/nf-guide.md).
 */
#ifndef MZR_CORE_AGENT_TC_H
#define MZR_CORE_AGENT_TC_H

#include <linux/pkt_cls.h>
#include "agent.h"
#include "transit.h"

/* Bytes made linear and writable before parsing: Ethernet, IPv4 and TCP
 * headers with options. */
#define MZR_TC_PULL (MZR_ETH_LEN + 60 + 60)

#define MZR_TC_ENCAP_FLAGS                                                     \
	(BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |          \
	 BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(MZR_ETH_LEN) |           \
	 BPF_F_ADJ_ROOM_FIXED_GSO)

/*
 * A hook met in tc: counted as mzr_hook() counts it. Its chain is empty
 * (the library attaches the XDP agent before a chain any agent path meets
 * becomes non-empty); a packet that finds one anyway, during that
 * switch, is dropped as a missed tail call. Returns 0 or a drop reason.
 */
static __always_inline __u32 mzr_tc_hook_at(__u32 hook, __u32 vni,
					     __be32 daddr)
{
	__u32 bank;

	mzr_count(MZR_CNT_HOOK(hook));
	mzr_trace_note_hook(hook, vni, daddr);
	if (mzr_chain_active(hook, &bank))
		return MZR_DROP_MISSED_TAIL_CALL;
	return 0;
}

/* The agent's hooks: its trace points know the endpoint by its veth. */
static __always_inline __u32 mzr_tc_hook(__u32 hook)
{
	return mzr_tc_hook_at(hook, 0, 0);
}

static __always_inline __u32 mzr_tc_parse(struct __sk_buff *skb,
					  const struct mzr_local_val *local,
					  struct mzr_pkt *p)
{
	__u32 len = skb->len < MZR_TC_PULL ? skb->len : MZR_TC_PULL;
	struct mzr_cursor c;
	void *data;

	/* Linear and writable (unshared) up to there. */
	bpf_skb_pull_data(skb, len);
	__builtin_memset(p, 0, sizeof(*p));
	p->outer_l3_off = MZR_OFF_NONE;
	p->outer_l4_off = MZR_OFF_NONE;
	p->geneve_off = MZR_OFF_NONE;
	p->inner_l4_off = MZR_OFF_NONE;
	p->vni = local->vni;
	data = (void *)(long)skb->data;
	c.pos = data;
	c.end = (void *)(long)skb->data_end;
	return mzr_parse_inner_at(&c, data, p);
}

/* Rewrite the destination MAC (and the source, when @smac). */
static __always_inline __u32 mzr_tc_set_macs(struct __sk_buff *skb,
					     const __u8 *dmac,
					     const __u8 *smac)
{
	return mzr_eth_set_macs((void *)(long)skb->data,
				(void *)(long)skb->data_end, dmac, smac);
}

/* Decrement the IPv4 TTL of the endpoint's frame (a routed hop). */
static __always_inline __u32 mzr_tc_dec_ttl(struct __sk_buff *skb)
{
	return mzr_ipv4_dec_ttl_at((void *)(long)skb->data,
				   (void *)(long)skb->data_end, MZR_ETH_LEN);
}

/*
 * The largest frame this skb becomes on the underlay before encapsulation:
 * its length, or for a GSO super-packet one segment (gso_size plus the
 * headers each segment repeats). 0 when it cannot tell (malformed).
 */
static __always_inline __u32 mzr_tc_seg_len(struct __sk_buff *skb,
					    const struct mzr_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 l4 = p->inner_l4_off & MZR_OFF_MASK;
	__u8 *doff;

	if (!skb->gso_size)
		return skb->len;
	if (p->inner_l4_off == MZR_OFF_NONE)
		return skb->len;
	if (p->proto == IPPROTO_TCP) {
		doff = data + l4 + 12;
		if ((void *)(doff + 1) > end)
			return 0;
		return l4 + (*doff >> 4) * 4 + skb->gso_size;
	}
	return l4 + 8 + skb->gso_size;
}

/*
 * Too big for the underlay once encapsulated: counted `too_big`; an IPv4
 * frame with DF (a GSO super-packet's segments carry it) is answered
 * with the gateway's ICMP Fragmentation Needed, as the XDP agent does.
 * The skb is cut to the quote (which also ends its GSO state), 28 bytes
 * of IPv4 and ICMP headers go in after its Ethernet header, and it goes
 * back out of the veth it came from.
 */
static __always_inline int mzr_tc_too_big(struct __sk_buff *skb,
					  const struct mzr_agent_env *env,
					  const struct mzr_pkt *p)
{
	const struct mzr_host_cfg *host = env->host;
	const struct mzr_net_val *net = env->net;
	__u32 hl, quote;
	void *data;

	mzr_count_drop(MZR_DROP_TOO_BIG);
	if (p->is_arp || !net->gw ||
	    host->mtu < MZR_ENCAP_LEN + MZR_IPV4_MIN_MTU)
		return TC_ACT_SHOT;
	hl = mzr_frag_needed_ok_at((void *)(long)skb->data,
				   (void *)(long)skb->data_end);
	if (!hl)
		return TC_ACT_SHOT;
	/* An skb with checksum offload pending may not be cut before
	 * its L4 checksum field (the kernel refuses): quote a TCP header
	 * whole, as Linux quotes more than 8 bytes too. */
	quote = hl + (p->proto == IPPROTO_TCP && p->sport ?
			      MZR_ICMP_QUOTE_TCP :
			      MZR_ICMP_QUOTE_L4);
	if (quote > MZR_ICMP_QUOTE_MAX || skb->len < MZR_ICMP_IP_OFF + quote)
		return TC_ACT_SHOT;
	if (bpf_skb_change_tail(skb, MZR_ICMP_IP_OFF + quote, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_adjust_room(skb, MZR_ICMP_PUSH, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	bpf_skb_pull_data(skb, skb->len);
	data = (void *)(long)skb->data;
	if (mzr_icmp_frag_write(data, (void *)(long)skb->data_end, quote,
				host->mtu - MZR_ENCAP_LEN, net->gw,
				net->gw_mac, env->local->ip, env->local->mac))
		return TC_ACT_SHOT;
	mzr_count(MZR_CNT_AGENT_FRAG_NEEDED);
	return bpf_redirect(skb->ifindex, 0);
}

/*
 * skb->mark of a tunnel frame the tc agent built from a non-IPv4 frame
 * (ARP) and sends through its veth's ingress once more: the kernel's
 * neighbour output (bpf_redirect_neigh) takes IPv4 skbs only, and only
 * a new pass through eth_type_trans() makes the skb IPv4 ("MZRA").
 */
#define MZR_TC_REINJECT_MARK 0x4d5a5241U

/*
 * Encapsulate the skb. IPv4: MZR_ENCAP_LEN bytes go in after its Ethernet
 * header, which becomes the outer one; the endpoint's Ethernet header is
 * copied behind the new headers as the inner one. The kernel records the
 * inner headers and, for GSO, the UDP-tunnel type with the segment size
 * unchanged (FIXED_GSO: the agent checked that segments fit). ARP (which
 * bpf_skb_adjust_room refuses): the headers go in front of the frame.
 * Returns 0 or a drop reason.
 */
static __always_inline __u32 mzr_tc_encap(struct __sk_buff *skb, __u32 vni,
					  __be32 src, __be32 dst, __u32 flags,
					  __be16 sport, const __u8 *smac,
					  const __u8 *dmac)
{
	__u32 inner_len = skb->len;
	void *data, *end;

	if (skb->protocol != bpf_htons(ETH_P_IP)) {
		if (bpf_skb_change_head(skb, MZR_ENCAP_LEN, 0))
			return MZR_DROP_ENCAP;
	} else if (bpf_skb_adjust_room(skb, MZR_ENCAP_LEN, BPF_ADJ_ROOM_MAC,
				       MZR_TC_ENCAP_FLAGS)) {
		return MZR_DROP_ENCAP;
	}
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + MZR_ENCAP_LEN + MZR_ETH_LEN > end) {
		bpf_skb_pull_data(skb, MZR_ENCAP_LEN + MZR_ETH_LEN);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (data + MZR_ENCAP_LEN + MZR_ETH_LEN > end)
			return MZR_DROP_ENCAP;
	}
	if (skb->protocol == bpf_htons(ETH_P_IP))
		__builtin_memcpy(data + MZR_ENCAP_LEN, data, MZR_ETH_LEN);
	mzr_encap_write(data, inner_len, vni, src, dst, flags, sport, smac,
			dmac);
	return 0;
}

/* Send the encapsulated skb to its outer destination: the kernel routes
 * it and resolves (or queues for) the neighbour, then writes the outer
 * Ethernet header. A non-IPv4 skb takes one more pass through its veth's
 * ingress first (MZR_TC_REINJECT_MARK). */
static __always_inline int mzr_tc_send(struct __sk_buff *skb,
				       const struct mzr_host_cfg *host,
				       __u32 counter)
{
	long ret;

	mzr_count(counter);
	if (skb->protocol != bpf_htons(ETH_P_IP)) {
		skb->mark = MZR_TC_REINJECT_MARK;
		return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
	}
	ret = bpf_redirect_neigh(host->ifindex, NULL, 0, 0);
	if (ret != TC_ACT_REDIRECT)
		return mzr_tc_drop(MZR_DROP_FIB);
	return TC_ACT_REDIRECT;
}

/* The second pass of a frame mzr_tc_send() re-injected: now IPv4, out to
 * the underlay. */
static __always_inline int mzr_tc_reinjected(struct __sk_buff *skb)
{
	struct mzr_host_cfg *host = mzr_host_cfg();
	long ret;

	skb->mark = 0;
	if (!host || skb->protocol != bpf_htons(ETH_P_IP))
		return mzr_tc_drop(MZR_DROP_ENCAP);
	ret = bpf_redirect_neigh(host->ifindex, NULL, 0, 0);
	if (ret != TC_ACT_REDIRECT)
		return mzr_tc_drop(MZR_DROP_FIB);
	return TC_ACT_REDIRECT;
}

/* A same-host hairpin: the divider hook and TTL for another network, the
 * deliver hook, then the destination's veth. */
static __always_inline int mzr_tc_hairpin(struct __sk_buff *skb,
					  __u32 ifindex, const __u8 *mac,
					  int routed)
{
	__u32 reason = 0;

	if (routed) {
		reason = mzr_tc_hook(MZR_HOOK_DIVIDER);
		if (!reason)
			reason = mzr_tc_dec_ttl(skb);
	}
	if (!reason)
		reason = mzr_tc_hook(MZR_HOOK_DELIVER);
	if (!reason)
		reason = mzr_tc_set_macs(skb, mac, 0);
	if (reason)
		return mzr_tc_drop(reason);
	mzr_count(MZR_CNT_AGENT_LOCAL);
	return bpf_redirect(ifindex, 0);
}

/*
 * The chosen bouncer is this host: what the XDP agent hands to the
 * transit walk (mzr_agent_inject), done here on the plain frame with the
 * transit's own routing (mzr_transit_route), as if it had come from the
 * wire with RTS this host. The transit hooks it meets have no chain in
 * this mode (mzr_tc_hook).
 */
static __always_inline int mzr_tc_inject(struct __sk_buff *skb,
					 const struct mzr_host_cfg *host,
					 struct mzr_pkt *p, __u32 counter,
					 __u32 hash)
{
	void *data, *end;
	struct mzr_plan plan;
	struct mzr_arp *arp;
	__u32 reason = 0, flags;
	int ret;

	/* No RTS: nothing to learn from our own endpoint. */
	p->rts = 0;
	p->flags = 0;
	ret = mzr_transit_route(host, p, &plan);
	if (ret != MZR_GO)
		return TC_ACT_SHOT; /* counted by the route */
	mzr_count(counter);
	if (plan.hook != MZR_HOOK_NONE)
		reason = mzr_tc_hook(plan.hook);
	if (reason)
		return mzr_tc_drop(reason);
	switch (plan.action) {
	case MZR_ACT_ARP_REPLY:
		/* The requester is the endpoint that sent it. */
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		arp = data + sizeof(struct ethhdr);
		if ((void *)(arp + 1) > end)
			return mzr_tc_drop(MZR_DROP_MALFORMED);
		mzr_arp_swap(data, arp, plan.mac, p->daddr);
		mzr_count(plan.counter);
		return bpf_redirect(skb->ifindex, 0);
	case MZR_ACT_DELIVER:
		reason = mzr_tc_set_macs(skb, plan.mac, 0);
		if (reason)
			return mzr_tc_drop(reason);
		mzr_count(plan.counter);
		return bpf_redirect(plan.ifindex, 0);
	case MZR_ACT_DELIVER_BYPASS:
		reason = mzr_tc_encap(skb, p->vni, host->ip, host->ip, 0,
				      mzr_udp_sport(hash), host->mac,
				      plan.mac);
		if (reason)
			return mzr_tc_drop(reason);
		mzr_count(plan.counter);
		return bpf_redirect(plan.ifindex, 0);
	case MZR_ACT_FORWARD:
		break;
	default:
		return mzr_tc_drop(MZR_DROP_NO_ROUTE);
	}
	if (plan.dec_inner_ttl && !p->is_arp)
		reason = mzr_tc_dec_ttl(skb);
	if (reason)
		return mzr_tc_drop(reason);
	flags = plan.set_flags & ~plan.clear_flags;
	/* plan.vni: a divider here sends it across a VPC peering. */
	reason = mzr_tc_encap(skb, plan.vni ?: p->vni, host->ip, plan.next,
			      flags,
			      mzr_udp_sport(hash), host->mac, host->mac);
	if (reason)
		return mzr_tc_drop(reason);
	return mzr_tc_send(skb, host, plan.counter);
}

/*
 * Steps 7 and 6 of the tc agent: too big for the underlay (one segment of
 * a GSO super-packet), to this host as its own bouncer, or encapsulated
 * towards d->next and sent.
 */
static __always_inline int mzr_tc_encap_send(struct __sk_buff *skb,
					     const struct mzr_agent_env *env,
					     struct mzr_pkt *p,
					     const struct mzr_agent_dec *d)
{
	const struct mzr_host_cfg *host = env->host;
	__u32 reason, seg;

	seg = mzr_tc_seg_len(skb, p);
	if (!seg)
		return mzr_tc_drop(MZR_DROP_MALFORMED);
	if (mzr_too_big(host, seg))
		return mzr_tc_too_big(skb, env, p);
	if (d->next == host->ip)
		return mzr_tc_inject(skb, host, p, d->counter, d->hash);
	reason = mzr_tc_encap(skb, p->vni, host->ip, d->next, d->flags,
			      mzr_udp_sport(d->hash), host->mac, host->mac);
	if (reason)
		return mzr_tc_drop(reason);
	return mzr_tc_send(skb, host, d->counter);
}

#endif /* MZR_CORE_AGENT_TC_H */
