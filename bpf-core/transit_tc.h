/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The transit in tc (clsact ingress of the underlay), for veth underlays:
 * native XDP on a veth strips its peer's GSO (veth_fix_features()), so
 * every tunnel super-packet would be cut to MTU frames before the transit
 * sees it. In tc the skb stays whole: delivery decapsulates it with
 * bpf_skb_adjust_room() and the endpoint gets the super-packet with its
 * checksum state; a bouncer or divider rewrites the outer header and the
 * kernel sends it on (bpf_redirect_neigh). Same walk as transit.h (its
 * route, learning and trust checks); the library keeps the XDP transit
 * while a transit hook has an NF chain (docs/architecture.md).
 */
#ifndef MZR_CORE_TRANSIT_TC_H
#define MZR_CORE_TRANSIT_TC_H

#include "transit.h"
#include "agent_tc.h"

/* The end of the Geneve base header (its options follow). */
#define MZR_TC_GENEVE_END (MZR_GENEVE_OFF + sizeof(struct mzr_genevehdr))

/* Linear bytes the walk reads: outer Ethernet, IPv4, UDP, Geneve with its
 * largest option block, inner Ethernet, IPv4 and an L4 header. */
#define MZR_TC_TRANSIT_PULL                                                    \
	(MZR_TC_GENEVE_END + MZR_GENEVE_OPTS_MAX + MZR_ETH_LEN + 60 + 20)

/* mzr_core_walk_options() for an skb (MZR_DEFINE_WALK_OPTIONS()). */
int mzr_tc_walk_options(struct __sk_buff *skb);

/*
 * mzr_transit_parse() on an skb, with the same steps, rules and returns
 * (TC_ACT_UNSPEC: the kernel's);
 * the skb is made linear for the outer headers first (the underlay's
 * other traffic pays no more than that), then up to the inner L4 header.
 */
static __always_inline int mzr_tc_transit_parse(struct __sk_buff *skb,
						const struct mzr_host_cfg *host,
						struct mzr_pkt *p)
{
	__u32 len = skb->len < MZR_TC_GENEVE_END ? skb->len :
						   MZR_TC_GENEVE_END;
	struct mzr_genevehdr *gnv;
	struct mzr_cursor c;
	void *data;
	int reason;

	bpf_skb_pull_data(skb, len);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	if (!mzr_parse_outer(&c, host, p))
		return MZR_NOT_OURS;
	len = skb->len < MZR_TC_TRANSIT_PULL ? skb->len : MZR_TC_TRANSIT_PULL;
	bpf_skb_pull_data(skb, len);
	data = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	gnv = data + MZR_GENEVE_OFF; /* option-less outer IPv4 (parsed) */
	if ((void *)(gnv + 1) > c.end)
		return mzr_tc_drop(MZR_DROP_MALFORMED);
	reason = mzr_fast_options(host, gnv, c.end, p);
	if (reason == MZR_WALK_NEEDED)
		reason = mzr_walked_options(host, gnv, c.end, p,
					    -mzr_tc_walk_options(skb));
	if (reason == MZR_NOT_OURS)
		return MZR_NOT_OURS;
	if (reason)
		return mzr_tc_drop(reason);
	/* The walk was a call: the packet pointers are checked again. */
	data = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	gnv = data + MZR_GENEVE_OFF;
	if ((void *)(gnv + 1) > c.end)
		return mzr_tc_drop(MZR_DROP_MALFORMED);
	reason = mzr_transit_rest(&c, data, gnv, p);
	if (reason == MZR_TO_KERNEL)
		return TC_ACT_UNSPEC;
	if (reason)
		return mzr_tc_drop(reason);
	return MZR_GO;
}

/*
 * Strip the encapsulation in front of the inner frame: the outer Ethernet
 * header stays (bpf_skb_adjust_room works behind it) and takes the inner
 * one's source, @dmac and type. A GSO super-packet keeps its segment size
 * (FIXED_GSO). Returns 0 or a drop reason.
 */
static __always_inline __u32 mzr_tc_decap(struct __sk_buff *skb,
					  const struct mzr_pkt *p,
					  const __u8 *dmac)
{
	__u32 l2 = p->inner_l2_off & MZR_OFF_MASK;
	__be16 proto = bpf_htons(p->is_arp ? ETH_P_ARP : ETH_P_IP);
	struct ethhdr *eth;
	void *data, *end;

	if (l2 < MZR_TC_GENEVE_END)
		return MZR_DROP_MALFORMED;
	if (bpf_skb_adjust_room(skb, -(int)l2, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO))
		return MZR_DROP_ENCAP;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return MZR_DROP_MALFORMED;
	__builtin_memcpy(eth->h_dest, dmac, 6);
	__builtin_memcpy(eth->h_source, p->eth_src, 6);
	eth->h_proto = proto;
	return 0;
}

/*
 * Into the endpoint's veth. An IPv4 frame goes straight to the peer's
 * ingress (bpf_redirect_peer): sent out of the host-side veth instead,
 * a decapsulated super-packet (marked SKB_GSO_DODGY by
 * bpf_skb_adjust_room, which no veth takes) would be cut into segments
 * there. ARP (its skb->protocol is still the outer IPv4) and non-veth
 * devices take the transmit path, whose receiver re-parses the frame.
 */
static __always_inline int mzr_tc_deliver(struct __sk_buff *skb,
					  const struct mzr_pkt *p,
					  const struct mzr_plan *plan)
{
	if (!p->is_arp && plan->veth)
		return bpf_redirect_peer(plan->ifindex, 0);
	return bpf_redirect(plan->ifindex, 0);
}

/* A forwarding hop (mzr_outer_forward() on an skb), then out through the
 * kernel's route and neighbour for the new destination. */
static __always_inline int mzr_tc_transit_send(struct __sk_buff *skb,
					       const struct mzr_host_cfg *host,
					       __be32 src, __be32 dst,
					       int fresh, __u32 counter)
{
	__u32 reason = mzr_outer_rewrite((void *)(long)skb->data,
					 (void *)(long)skb->data_end, src, dst,
					 !fresh);

	if (reason)
		return mzr_tc_drop(reason);
	mzr_count(counter);
	if (bpf_redirect_neigh(host->ifindex, NULL, 0, 0) != TC_ACT_REDIRECT)
		return mzr_tc_drop(MZR_DROP_FIB);
	return TC_ACT_REDIRECT;
}

/* mzr_arp_reply() on an skb. */
static __always_inline int mzr_tc_arp_reply(struct __sk_buff *skb,
					    const struct mzr_host_cfg *host,
					    const struct mzr_pkt *p,
					    const struct mzr_plan *plan)
{
	__u32 local, reason;

	reason = mzr_arp_answer((void *)(long)skb->data,
				(void *)(long)skb->data_end, host, p, plan,
				&local);
	if (!reason && local)
		reason = mzr_tc_decap(skb, p, p->eth_src);
	if (reason)
		return mzr_tc_drop(reason);
	if (local) {
		mzr_count(plan->counter);
		return bpf_redirect(local, 0);
	}
	return mzr_tc_transit_send(skb, host, host->ip, p->outer_saddr, 1,
				   plan->counter);
}

/* mzr_transit_exec() on an skb. */
static __always_inline int mzr_tc_transit_exec(struct __sk_buff *skb,
					       const struct mzr_host_cfg *host,
					       const struct mzr_pkt *p,
					       const struct mzr_plan *plan)
{
	__u32 reason;

	switch (plan->action) {
	case MZR_ACT_DELIVER:
		mzr_learn(p);
		reason = mzr_tc_decap(skb, p, plan->mac);
		if (reason)
			return mzr_tc_drop(reason);
		mzr_count(plan->counter);
		return mzr_tc_deliver(skb, p, plan);
	case MZR_ACT_DELIVER_BYPASS:
		mzr_learn(p);
		reason = mzr_tc_set_macs(skb, plan->mac, 0);
		if (reason)
			return mzr_tc_drop(reason);
		mzr_count(plan->counter);
		return bpf_redirect(plan->ifindex, 0);
	case MZR_ACT_ARP_REPLY:
		return mzr_tc_arp_reply(skb, host, p, plan);
	case MZR_ACT_FORWARD:
		break;
	case MZR_ACT_EXIT:
		return mzr_tc_drop(MZR_DROP_NO_ROUTE);
	default:
		return mzr_tc_drop(MZR_DROP_MALFORMED);
	}
	reason = mzr_forward_rewrite((void *)(long)skb->data,
				     (void *)(long)skb->data_end, p, plan);
	if (reason)
		return mzr_tc_drop(reason);
	return mzr_tc_transit_send(skb, host, p->outer_saddr, plan->next, 0,
				   plan->counter);
}

#endif /* MZR_CORE_TRANSIT_TC_H */
