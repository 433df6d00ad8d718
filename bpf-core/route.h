/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The transit's route step: what this host does with a parsed packet, one
 * function per role of docs/architecture.md, "Transit" (the numbers are
 * its steps). Each fills the plan that the hook and exec steps
 * (transit.h) carry out, or returns a verdict.
 */
#ifndef MZR_CORE_ROUTE_H
#define MZR_CORE_ROUTE_H

#include "hooks.h"
#include "scaled.h"
#include "peering.h"

static __always_inline int mzr_is_divider(const struct mzr_vpc_val *vpc,
					  __be32 ip)
{
#pragma unroll
	for (__u32 i = 0; i < MZR_MAX_DIVIDERS; i++)
		if (i < vpc->n_dividers && vpc->dividers[i] == ip)
			return 1;
	return 0;
}

static __always_inline __be32 mzr_pick_divider(const struct mzr_vpc_val *vpc,
					       __u32 hash)
{
	__u32 n = vpc->n_dividers, idx;

	if (!n || n > MZR_MAX_DIVIDERS)
		return 0;
	idx = hash % n;
	mzr_barrier_var(idx);
	if (idx >= MZR_MAX_DIVIDERS)
		return 0;
	return vpc->dividers[idx];
}

/* A bouncer of the network, chosen by the flow; 0 with *reason set when
 * there is none. */
static __always_inline __be32 mzr_pick_bouncer(const struct mzr_net_val *net,
					       __u32 hash, __u32 *reason)
{
	__u32 n = net->n_bouncers, idx;

	if (!n || n > MZR_MAX_BOUNCERS) {
		*reason = MZR_DROP_NO_BOUNCER;
		return 0;
	}
	idx = hash % n;
	mzr_barrier_var(idx);
	if (idx >= MZR_MAX_BOUNCERS) {
		*reason = MZR_DROP_NO_BOUNCER;
		return 0;
	}
	return net->bouncers[idx];
}

static __always_inline void mzr_plan_forward(struct mzr_plan *plan,
					     __be32 next, __u8 hook,
					     __u16 counter)
{
	plan->action = MZR_ACT_FORWARD;
	plan->hook = hook;
	plan->counter = counter;
	plan->next = next;
}

/* Returned by mzr_divider_peer() when no peering takes the packet. */
#define MZR_NO_PEER (-3)

/*
 * A divider found no network of the packet's VPC for its destination: a
 * peered VPC may hold it. Forward it, VNI rewritten, to a divider of that
 * VPC (or, this host being one, to the bouncer of its network: one
 * divider routes it), a routed hop: divider hook, inner TTL. Returns
 * MZR_GO, a verdict, or MZR_NO_PEER.
 */
static __always_inline int mzr_divider_peer(const struct mzr_host_cfg *host,
					    const struct mzr_pkt *p,
					    __u32 hash, struct mzr_plan *plan)
{
	__u32 peer = mzr_vpc_peer_of(p->vni, p->daddr), reason = 0;
	struct mzr_vpc_val *pvpc;
	struct mzr_net_val *net;
	__be32 next;

	if (!peer)
		return MZR_NO_PEER;
	/* Once across, never again (no A -> B -> C, no ping-pong); and
	 * only between the peered prefixes of both ends. */
	if ((p->flags & MZR_F_PEERED) ||
	    !mzr_vpc_peering_allows(p->vni, peer, p->saddr, p->daddr))
		return mzr_drop(MZR_DROP_NOT_PEERED);
	pvpc = bpf_map_lookup_elem(&mzr_vpcs, &peer);
	if (!pvpc)
		return mzr_drop(MZR_DROP_NO_ROUTE);
	if (p->ttl <= 1)
		return mzr_drop(MZR_DROP_TTL_EXPIRED);
	if (mzr_is_divider(pvpc, host->ip)) {
		net = mzr_net_lookup(peer, p->daddr);
		if (!net)
			return mzr_drop(MZR_DROP_NO_ROUTE);
		next = mzr_pick_bouncer(net, hash, &reason);
		if (!next)
			return mzr_drop(reason);
		if (next == host->ip)
			return mzr_drop(MZR_DROP_NO_ENDPOINT);
		plan->set_flags = MZR_F_ROUTED | MZR_F_PEERED;
	} else {
		next = mzr_pick_divider(pvpc, hash);
		if (!next)
			return mzr_drop(MZR_DROP_NO_ROUTE);
		plan->set_flags = MZR_F_PEERED;
	}
	mzr_plan_forward(plan, next, MZR_HOOK_DIVIDER, MZR_CNT_DIVIDER_PEER);
	plan->dec_inner_ttl = 1;
	plan->vni = peer;
	return MZR_GO;
}

/* Bouncer (step 5): the destination endpoint lives on another host; the
 * packet goes there, past the bouncer hook. */
static __always_inline int route_bouncer(const struct mzr_host_cfg *host,
					 const struct mzr_pkt *p,
					 const struct mzr_ep_key *k,
					 struct mzr_plan *plan,
					 const struct mzr_ep_val *ep)
{
	__be32 next = ep->host;

	/* A scaled endpoint: the host of this flow (rendezvous). */
	if (ep->flags & MZR_EP_F_SCALED)
		next = mzr_scaled_pick(k, mzr_pkt_hash(p));
	if (!next || next == host->ip)
		return mzr_drop(MZR_DROP_NO_ENDPOINT);
	mzr_plan_forward(plan, next, MZR_HOOK_BOUNCER, MZR_CNT_BOUNCER_FWD);
	return MZR_GO;
}

/* Deliver (step 4): the destination endpoint lives here; decapsulated
 * (or bypass: the tunnel frame) to its veth, past the deliver hook. */
static __always_inline int route_deliver(struct mzr_plan *plan,
					 const struct mzr_ep_val *ep)
{
	int bypass = ep->flags & MZR_EP_F_BYPASS;

	plan->action = bypass ? MZR_ACT_DELIVER_BYPASS : MZR_ACT_DELIVER;
	plan->counter = bypass ? MZR_CNT_DELIVER_BYPASS : MZR_CNT_DELIVER;
	plan->hook = MZR_HOOK_DELIVER;
	plan->ifindex = ep->ifindex;
	plan->veth = !!(ep->flags & MZR_EP_F_VETH);
	__builtin_memcpy(plan->mac, ep->mac, 6);
	return MZR_GO;
}

/* ARP responder (step 3): a request for an endpoint (@ep, any host) or
 * a network's gateway is answered here, back to the request's outer
 * source. */
static __always_inline int route_arp(const struct mzr_pkt *p,
				     struct mzr_plan *plan,
				     const struct mzr_ep_val *ep)
{
	struct mzr_net_val *net;

	plan->action = MZR_ACT_ARP_REPLY;
	plan->counter = MZR_CNT_BOUNCER_ARP;
	if (ep) {
		__builtin_memcpy(plan->mac, ep->mac, 6);
		return MZR_GO;
	}
	net = mzr_net_lookup(p->vni, p->daddr);
	if (net && net->gw == p->daddr) {
		__builtin_memcpy(plan->mac, net->gw_mac, 6);
		return MZR_GO;
	}
	return mzr_drop(MZR_DROP_NO_ENDPOINT);
}

/* Stale direct path (step 7): the sender's direct-path entry is stale;
 * back to a bouncer of the destination's network, as if sent normally.
 * Returns 1 (plan filled) or 0: go on, flag cleared, with the network
 * looked up (@net, may be NULL). */
static __always_inline int route_stale_direct(const struct mzr_host_cfg *host,
					      const struct mzr_pkt *p,
					      __u32 hash, struct mzr_plan *plan,
					      struct mzr_net_val **net)
{
	__u32 reason = 0;
	__be32 next;

	plan->clear_flags = MZR_F_DIRECT;
	*net = mzr_net_lookup(p->vni, p->daddr);
	if (*net) {
		next = mzr_pick_bouncer(*net, hash, &reason);
		if (next && next != host->ip) {
			mzr_plan_forward(plan, next, MZR_HOOK_NONE,
					 MZR_CNT_STALE_DIRECT);
			return 1;
		}
	}
	return 0;
}

/* Divider (step 8): the destination's network by LPM (@net when step 7
 * looked it up); none: a peered VPC's, else the packet leaves the VPC
 * past the divider hook (role external). Else to one of its bouncers, a
 * routed hop: MZR_F_ROUTED, inner TTL decremented. */
static __always_inline int route_divider(const struct mzr_host_cfg *host,
					 const struct mzr_pkt *p, __u32 hash,
					 struct mzr_plan *plan,
					 struct mzr_net_val *net)
{
	__u32 reason = 0;
	__be32 next;

	if (!net) {
		int ret = mzr_divider_peer(host, p, hash, plan);

		if (ret != MZR_NO_PEER)
			return ret;
		/* Outside every network of the VPC: the divider hook may
		 * take it out (SNAT); else no_route. */
		plan->action = MZR_ACT_EXIT;
		plan->hook = MZR_HOOK_DIVIDER;
		return MZR_GO;
	}
	next = mzr_pick_bouncer(net, hash, &reason);
	if (!next)
		return mzr_drop(reason);
	if (next == host->ip)
		return mzr_drop(MZR_DROP_NO_ENDPOINT);
	if (p->ttl <= 1)
		return mzr_drop(MZR_DROP_TTL_EXPIRED);
	mzr_plan_forward(plan, next, MZR_HOOK_DIVIDER, MZR_CNT_DIVIDER_FWD);
	plan->set_flags = MZR_F_ROUTED;
	plan->dec_inner_ttl = 1;
	return MZR_GO;
}

/* To a divider (step 9): a bouncer without the destination's entry sends
 * the packet to a divider of the VPC. */
static __always_inline int route_to_divider(const struct mzr_vpc_val *vpc,
					    __u32 hash, struct mzr_plan *plan)
{
	__be32 next = mzr_pick_divider(vpc, hash);

	if (!next)
		return mzr_drop(MZR_DROP_NO_ROUTE);
	mzr_plan_forward(plan, next, MZR_HOOK_NONE,
			 MZR_CNT_BOUNCER_TO_DIVIDER);
	return MZR_GO;
}

/*
 * Decide what this host does with the packet. Returns MZR_GO (plan
 * filled) or a verdict.
 *
 * The VPC is looked up only when the endpoint entry does not decide: an
 * endpoint exists only in a VPC that exists (libmizar deletes a VPC with
 * no network, a network with no endpoint), so a packet the entry routes
 * would have found its VPC. A packet of a VPC this host does not know goes
 * to the kernel, counted, whatever else it is (step 2).
 */
static __always_inline int mzr_transit_route(const struct mzr_host_cfg *host,
					     const struct mzr_pkt *p,
					     struct mzr_plan *plan)
{
	struct mzr_ep_key k = { .vni = p->vni, .ip = p->daddr };
	struct mzr_net_val *net = 0;
	struct mzr_vpc_val *vpc;
	struct mzr_ep_val *ep;
	__u32 hash;

	__builtin_memset(plan, 0, sizeof(*plan));
	plan->hook = MZR_HOOK_NONE;
	ep = bpf_map_lookup_elem(&mzr_eps, &k);

	/* The common case, decided by the entry alone (a packet just across
	 * a peering takes the checks below first). */
	if (ep && !p->is_arp && !(p->flags & MZR_F_PEERED)) {
		if (ep->flags & MZR_EP_F_LOCAL)
			return route_deliver(plan, ep);
		if (ep->host != host->ip)
			return route_bouncer(host, p, &k, plan, ep);
	}
	vpc = bpf_map_lookup_elem(&mzr_vpcs, &k.vni);
	if (!vpc) {
		mzr_count(MZR_CNT_UNKNOWN_VNI);
		return XDP_PASS;
	}

	if (p->is_arp && p->arp_op == MZR_ARP_REQUEST)
		return route_arp(p, plan, ep);

	/* Just across a peering (not yet routed in this VPC): both ends
	 * must be peered here too (docs/security.md, rule 11). */
	if ((p->flags & (MZR_F_PEERED | MZR_F_ROUTED)) == MZR_F_PEERED &&
	    !p->is_arp && !mzr_vpc_peered_in_ok(p->vni, p->saddr, p->daddr))
		return mzr_drop(MZR_DROP_NOT_PEERED);

	if (ep && (ep->flags & MZR_EP_F_LOCAL))
		return route_deliver(plan, ep);
	if (p->is_arp)
		return mzr_drop(MZR_DROP_ARP);

	if (ep && ep->host != host->ip)
		return route_bouncer(host, p, &k, plan, ep);
	/* No entry (or one claiming this host without a veth): step 6. */
	if (ep || (p->flags & MZR_F_ROUTED))
		return mzr_drop(MZR_DROP_NO_ENDPOINT);
	/* From here on a bouncer or divider is chosen by the flow. */
	hash = mzr_pkt_hash(p);

	if ((p->flags & MZR_F_DIRECT) &&
	    route_stale_direct(host, p, hash, plan, &net))
		return MZR_GO;
	if (mzr_is_divider(vpc, host->ip)) {
		/* A stale direct-path packet has looked it up above. */
		if (!(p->flags & MZR_F_DIRECT))
			net = mzr_net_lookup(p->vni, p->daddr);
		return route_divider(host, p, hash, plan, net);
	}
	return route_to_divider(vpc, hash, plan);
}

#endif /* MZR_CORE_ROUTE_H */
