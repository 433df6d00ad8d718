/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The transit agent's steps: an endpoint's frames into the overlay (local
 * hairpin, direct path to the destination's host, or a bouncer of its
 * network). The walk is in the entry file, mizar_core.bpf.c. */
#ifndef MZR_CORE_AGENT_H
#define MZR_CORE_AGENT_H

#include "encap.h"
#include "fib.h"
#include "hooks.h"
#include "icmp.h"
#include "l4csum.h"
#include "neigh.h"
#include "route.h"

static __always_inline struct mzr_local_val *mzr_agent_local(struct xdp_md *x)
{
	__u32 ifindex = x->ingress_ifindex;

	return bpf_map_lookup_elem(&mzr_local, &ifindex);
}

/* Parse the endpoint's frame. Returns MZR_GO or a verdict. */
static __always_inline int mzr_agent_parse(struct xdp_md *xdp,
					   const struct mzr_local_val *local,
					   struct mzr_pkt *p)
{
	struct mzr_cursor c;
	__u32 reason;

	__builtin_memset(p, 0, sizeof(*p));
	p->outer_l3_off = MZR_OFF_NONE;
	p->outer_l4_off = MZR_OFF_NONE;
	p->geneve_off = MZR_OFF_NONE;
	p->inner_l4_off = MZR_OFF_NONE;
	p->vni = local->vni;
	mzr_cursor_init(&c, xdp);
	reason = mzr_parse_inner(&c, xdp, p);
	if (reason)
		return mzr_drop(reason);
	return MZR_GO;
}

static __always_inline int mzr_mac_eq(const __u8 *a, const __u8 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		(a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5])) == 0;
}

/*
 * ARP requests an endpoint may send: a token bucket per endpoint veth
 * (key: its ifindex), MZR_ARP_BURST deep, refilled at MZR_ARP_RATE a
 * second. Each request costs a bouncer a lookup and a reply, so a tenant
 * flooding ARP must not load the bouncers of its network
 * (docs/architecture.md, "ARP"). Updated without atomics: concurrent
 * CPUs may let a few more through, never fewer.
 */
#define MZR_ARP_RATE 50
#define MZR_ARP_BURST 100
#define MZR_ARP_TOKEN_NS (1000000000ULL / MZR_ARP_RATE)

struct mzr_arp_bucket {
	__u64 stamp_ns;		/* when the last token was added */
	__u32 tokens;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_MAX_LOCAL_EPS);
	__type(key, __u32);
	__type(value, struct mzr_arp_bucket);
} mzr_arp_rate SEC(".maps");

/* Whether the endpoint behind @ifindex may send one more ARP request. */
static __always_inline int mzr_arp_allowed(__u32 ifindex)
{
	struct mzr_arp_bucket *b, nb = {};
	__u64 now = bpf_ktime_get_ns(), add;

	b = bpf_map_lookup_elem(&mzr_arp_rate, &ifindex);
	if (!b) {
		nb.stamp_ns = now;
		nb.tokens = MZR_ARP_BURST - 1;
		bpf_map_update_elem(&mzr_arp_rate, &ifindex, &nb, BPF_ANY);
		return 1;
	}
	add = (now - b->stamp_ns) / MZR_ARP_TOKEN_NS;
	if (add) {
		if (b->tokens + add >= MZR_ARP_BURST) {
			b->tokens = MZR_ARP_BURST;
			b->stamp_ns = now;
		} else {
			b->tokens += add;
			b->stamp_ns += add * MZR_ARP_TOKEN_NS;
		}
	}
	if (!b->tokens)
		return 0;
	b->tokens--;
	return 1;
}

/* Anti-spoofing and what the agent carries: ARP requests (rate-limited
 * per endpoint) and IPv4. Returns 0 or the drop reason. */
static __always_inline __u32 mzr_agent_check(const struct mzr_local_val *local,
					     const struct mzr_pkt *p,
					     __u32 ifindex)
{
	if (!mzr_mac_eq(p->eth_src, local->mac) || p->saddr != local->ip)
		return MZR_DROP_SPOOFED;
	if (p->is_arp && p->arp_op != MZR_ARP_REQUEST)
		return MZR_DROP_ARP;
	if (p->is_arp && !mzr_arp_allowed(ifindex))
		return MZR_DROP_ARP_RATE;
	return 0;
}

static __always_inline int mzr_agent_admit(const struct mzr_local_val *local,
					   const struct mzr_pkt *p,
					   __u32 ifindex)
{
	__u32 reason = mzr_agent_check(local, p, ifindex);

	return reason ? mzr_drop(reason) : MZR_GO;
}

/* What the agent does with an endpoint's frame (mzr_agent_decide()). */
enum mzr_agent_verb {
	MZR_AGENT_ENCAP = 1,	  /* tunnel it to dec->next */
	MZR_AGENT_HAIRPIN,	  /* a local endpoint of the same network */
	MZR_AGENT_ROUTED_HAIRPIN, /* a local endpoint of another network of
				   * the VPC: a routed hop (divider hook,
				   * inner TTL), as on the wire */
};

struct mzr_agent_dec {
	__u32 verb;		/* enum mzr_agent_verb */
	__be32 next;		/* ENCAP: outer destination */
	__u32 flags;		/* ENCAP: MZR_F_* stamped */
	__u32 counter;		/* ENCAP: enum mzr_counter on success */
	__u32 hash;		/* the flow's hash (UDP source port) */
	__u32 ifindex;		/* HAIRPIN: the destination's veth */
	__u8 mac[6];		/* HAIRPIN: the destination's MAC */
	__u16 pad;
};

/* Where an endpoint's frame leaves from (mzr_agent_env()): this host and
 * the sender's network. */
struct mzr_agent_env {
	const struct mzr_host_cfg *host;
	const struct mzr_local_val *local;
	const struct mzr_net_val *net;
};

/* Fill @env for the endpoint @local. Returns 0 or the drop reason. */
static __always_inline __u32 mzr_agent_env(struct mzr_agent_env *env,
					   const struct mzr_local_val *local)
{
	struct mzr_host_cfg *host = mzr_host_cfg();
	struct mzr_net_val *net;

	if (!host || !host->ip)
		return MZR_DROP_NO_ROUTE;
	net = mzr_net_lookup(local->vni, local->ip);
	if (!net)
		return MZR_DROP_NO_ROUTE;
	env->host = host;
	env->local = local;
	env->net = net;
	return 0;
}

/*
 * The chosen bouncer is this host: encapsulate to ourselves and run the
 * transit walk on the frame right here, through the external hook's
 * continuation with decision INJECT (no trip over the wire;
 * mizar_core.bpf.c, transit_inject()). The walk runs
 * the transit hook a packet from the wire would meet, unless this packet
 * has run it already (@done, MZR_HOOK_BIT()s).
 */
static __always_inline int mzr_agent_inject(struct xdp_md *xdp,
					    const struct mzr_host_cfg *host,
					    const struct mzr_pkt *p,
					    const struct mzr_agent_dec *d,
					    __u32 done)
{
	struct mzr_scratch *s = mzr_scratch();
	struct mzr_ctx *c = mzr_ctx_raw();
	__u32 reason;

	if (!c || !s)
		return mzr_drop(MZR_DROP_MISSED_TAIL_CALL);
	reason = mzr_encap_push(xdp, p->vni, host->ip, host->ip, d->flags,
				mzr_udp_sport(d->hash), host->mac, host->mac);
	if (reason)
		return mzr_drop(reason);
	mzr_count(d->counter);
	s->inject_done = done | MZR_HOOK_BIT(MZR_HOOK_AGENT_EGRESS);
	mzr_ctx_fill(c, xdp, MZR_HOOK_EXTERNAL, MZR_ROLE_AGENT, 0, 0, p);
	c->decision = MZR_DECIDE_INJECT;
	bpf_tail_call(xdp, &mzr_progs, MZR_PROG_CONT(MZR_HOOK_EXTERNAL));
	return mzr_missed_tail_call(MZR_HOOK_EXTERNAL, MZR_CHAIN_MAX);
}

/*
 * The frame would exceed the underlay MTU once encapsulated: it is dropped
 * (`too_big`). An IPv4 one with DF is answered, as a router does, with the
 * gateway's ICMP Fragmentation Needed carrying the MTU the endpoint can
 * use (the underlay's less the encapsulation), sent back on its veth, so
 * that its path MTU discovery adapts. Without DF the sender allows
 * fragmentation, which the agent does not do (XDP cannot make several
 * frames of one), so it is just dropped: endpoints must keep to their
 * MTU.
 */
static __always_inline int mzr_agent_too_big(struct xdp_md *xdp,
					     const struct mzr_agent_env *env,
					     const struct mzr_pkt *p)
{
	const struct mzr_host_cfg *host = env->host;
	const struct mzr_net_val *net = env->net;
	__u32 hl;

	mzr_count_drop(MZR_DROP_TOO_BIG);
	if (p->is_arp || !net->gw ||
	    host->mtu < MZR_ENCAP_LEN + MZR_IPV4_MIN_MTU)
		return XDP_DROP;
	hl = mzr_frag_needed_ok(xdp);
	if (!hl)
		return XDP_DROP;
	if (mzr_icmp_frag_needed(xdp, hl, host->mtu - MZR_ENCAP_LEN, net->gw,
				 net->gw_mac, env->local->ip, env->local->mac))
		return XDP_DROP;
	mzr_count(MZR_CNT_AGENT_FRAG_NEEDED);
	return XDP_TX;
}

/* Encapsulate towards d->next (d: mzr_agent_decide()'s ENCAP) and send it
 * on the underlay (steps 7, 6). @done: as for mzr_agent_inject(). */
static __always_inline int mzr_agent_encap(struct xdp_md *xdp,
					   const struct mzr_agent_env *env,
					   const struct mzr_pkt *p,
					   const struct mzr_agent_dec *d,
					   __u32 done)
{
	const struct mzr_host_cfg *host = env->host;
	__be32 next = d->next;
	__u32 flags = d->flags, counter = d->counter, hash = d->hash;
	struct mzr_next_hop nh;
	__u32 reason;
	int rc;

	if (mzr_too_big(host, xdp->data_end - xdp->data))
		return mzr_agent_too_big(xdp, env, p);
	if (next == host->ip)
		return mzr_agent_inject(xdp, host, p, d, done);
	rc = mzr_fib_next_hop(xdp, host, next, &nh);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* Up to mzr_neigh on this veth's tc ingress, which sends it
		 * out of the underlay through the neighbour subsystem (that
		 * writes the Ethernet header: a frame from the endpoint to
		 * the veth until then). */
		reason = mzr_encap_push(xdp, p->vni, host->ip, next, flags,
					mzr_udp_sport(hash), env->local->mac,
					env->local->veth_mac);
		if (!reason)
			reason = mzr_neigh_handoff(xdp, &nh);
		if (reason)
			return mzr_drop(reason);
		mzr_count(counter);
		mzr_count(MZR_CNT_AGENT_KERNEL);
		return XDP_PASS;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return mzr_drop(MZR_DROP_FIB);
	reason = mzr_encap_push(xdp, p->vni, host->ip, next, flags,
				mzr_udp_sport(hash), nh.smac, nh.dmac);
	if (reason)
		return mzr_drop(reason);
	mzr_count(counter);
	return bpf_redirect(nh.ifindex, 0);
}

static __always_inline int mzr_net_contains(const struct mzr_net_val *net,
					    __be32 ip)
{
	__u32 plen = net->prefixlen;
	__u32 mask;

	if (plen > 32)
		return 0;
	mask = plen ? ~0U << (32 - plen) : 0;
	return ((bpf_ntohl(ip) ^ bpf_ntohl(net->prefix)) & mask) == 0;
}

static __always_inline int mzr_direct_fresh(const struct mzr_direct_val *d,
					    const struct mzr_host_cfg *host)
{
	/* The coarse clock (a third of bpf_ktime_get_ns()'s cost) lags the
	 * fine one by up to a tick: a stamp just ahead of it is fresh. */
	__s64 age = bpf_ktime_get_coarse_ns() - d->updated_ns;

	return d->host && d->host != host->ip &&
	       age < (__s64)MZR_DIRECT_TTL_NS;
}

/*
 * The agent's decision after its hook, from maps and the parsed frame only
 * (shared by the XDP and the tc agent): a local endpoint is reached on
 * this host, a fresh learned host directly, anything else through a
 * bouncer of the sender's network @net. Returns 0 (@d filled) or the drop
 * reason.
 */
static __always_inline __u32 mzr_agent_route(const struct mzr_host_cfg *host,
					     const struct mzr_net_val *net,
					     const struct mzr_pkt *p,
					     struct mzr_agent_dec *d)
{
	__u32 reason = 0;

	__builtin_memset(d, 0, sizeof(*d));
	d->hash = mzr_pkt_hash(p);
	if (!p->is_arp) {
		struct mzr_ep_key k = { .vni = p->vni, .ip = p->daddr };
		int same_net = mzr_net_contains(net, p->daddr);
		struct mzr_direct_val *dv;
		struct mzr_vpc_val *vpc;
		struct mzr_ep_val *ep;

		ep = bpf_map_lookup_elem(&mzr_eps, &k);
		if (ep && (ep->flags & MZR_EP_F_LOCAL) &&
		    !(ep->flags & MZR_EP_F_BYPASS)) {
			d->ifindex = ep->ifindex;
			__builtin_memcpy(d->mac, ep->mac, 6);
			if (same_net) {
				d->verb = MZR_AGENT_HAIRPIN;
				return 0;
			}
			/* Between networks only a divider routes: without
			 * one the wire would not deliver it either. */
			vpc = bpf_map_lookup_elem(&mzr_vpcs, &k.vni);
			if (!vpc || !vpc->n_dividers)
				return MZR_DROP_NO_ROUTE;
			if (p->ttl <= 1)
				return MZR_DROP_TTL_EXPIRED;
			d->verb = MZR_AGENT_ROUTED_HAIRPIN;
			return 0;
		}
		/* Other networks are reached through dividers only: a host
		 * learned from one network must not shortcut another. */
		dv = same_net ? bpf_map_lookup_elem(&mzr_direct, &k) : NULL;
		if (dv && mzr_direct_fresh(dv, host)) {
			d->verb = MZR_AGENT_ENCAP;
			d->next = dv->host;
			d->flags = MZR_F_DIRECT;
			d->counter = MZR_CNT_AGENT_DIRECT;
			return 0;
		}
	}
	d->next = mzr_pick_bouncer(net, d->hash, &reason);
	if (!d->next)
		return reason;
	d->verb = MZR_AGENT_ENCAP;
	d->counter = p->is_arp ? MZR_CNT_AGENT_ARP : MZR_CNT_AGENT_ENCAP;
	return 0;
}

/* mzr_agent_route() for a frame of local endpoint @local: a copy of a
 * scaled endpoint stamps MZR_F_SCALED, so that no receiver learns a
 * direct path to one of several hosts (bpf-core/scaled.h). */
static __always_inline __u32 mzr_agent_decide(const struct mzr_host_cfg *host,
					      const struct mzr_net_val *net,
					      const struct mzr_local_val *local,
					      const struct mzr_pkt *p,
					      struct mzr_agent_dec *d)
{
	__u32 reason = mzr_agent_route(host, net, p, d);

	if (!reason && (local->flags & MZR_EP_F_SCALED))
		d->flags |= MZR_F_SCALED;
	return reason;
}

/* The same-host hairpin, once its hooks have run: the destination
 * endpoint's MAC, straight to its veth. */
static __always_inline int mzr_agent_hairpin(struct xdp_md *xdp,
					     __u32 ifindex, const __u8 *mac)
{
	__u32 reason = mzr_set_macs(xdp, mac, 0);

	if (reason)
		return mzr_drop(reason);
	mzr_count(MZR_CNT_AGENT_LOCAL);
	return bpf_redirect(ifindex, 0);
}

/*
 * A hairpin meets the hooks a frame from the wire would: for another
 * network, the divider hook (role DIVIDER) and the inner TTL decrement;
 * then the deliver hook (role HOST, RTS this host). @done: hooks already
 * run (MZR_HOOK_BIT()s); the TTL is decremented once, before the deliver
 * hook, unless that hook has run.
 */
static __always_inline int mzr_agent_hairpin_go(struct xdp_md *xdp,
						const struct mzr_host_cfg *host,
						struct mzr_pkt *p,
						const struct mzr_plan *plan,
						__u32 done)
{
	struct mzr_plan dp;
	__u32 reason;
	int ret;

	p->rts = host->ip;
	if (plan->dec_inner_ttl && !(done & MZR_HOOK_BIT(MZR_HOOK_DELIVER))) {
		if (!(done & MZR_HOOK_BIT(MZR_HOOK_DIVIDER))) {
			ret = mzr_hook(xdp, MZR_HOOK_DIVIDER, MZR_ROLE_DIVIDER,
				       p, plan);
			if (ret != MZR_GO)
				return ret;
		}
		reason = mzr_inner_dec_ttl(xdp, p);
		if (reason)
			return mzr_drop(reason);
	}
	if (!(done & MZR_HOOK_BIT(MZR_HOOK_DELIVER))) {
		dp = *plan;
		dp.hook = MZR_HOOK_DELIVER;
		dp.dec_inner_ttl = 0;
		ret = mzr_hook(xdp, MZR_HOOK_DELIVER, MZR_ROLE_HOST, p, &dp);
		if (ret != MZR_GO)
			return ret;
	}
	return mzr_agent_hairpin(xdp, plan->ifindex, plan->mac);
}

/*
 * Everything after the agent-egress hook: shared by mzr_agent and its
 * continuations. @done: hooks this packet has run already
 * (MZR_HOOK_BIT()s), none of which runs again.
 */
static __always_inline int mzr_agent_after_hook(struct xdp_md *xdp,
						const struct mzr_local_val *local,
						struct mzr_pkt *p, __u32 done)
{
	struct mzr_plan plan = {};
	struct mzr_agent_env env;
	struct mzr_agent_dec d;
	__u32 reason;

	reason = mzr_agent_env(&env, local);
	if (!reason)
		reason = mzr_agent_decide(env.host, env.net, local, p, &d);
	if (reason)
		return mzr_drop(reason);
	/* XDP keeps no checksum offload state: finish the endpoint's
	 * (possibly partial) TCP/UDP checksum here (l4csum.h). */
	if (!p->is_arp && mzr_l4_csum_fill(xdp, p))
		return mzr_drop(MZR_DROP_MALFORMED);
	if (d.verb == MZR_AGENT_ENCAP)
		return mzr_agent_encap(xdp, &env, p, &d, done);
	plan.action = MZR_ACT_HAIRPIN;
	plan.hook = d.verb == MZR_AGENT_ROUTED_HAIRPIN ? MZR_HOOK_DIVIDER :
							 MZR_HOOK_DELIVER;
	plan.counter = MZR_CNT_AGENT_LOCAL;
	plan.ifindex = d.ifindex;
	plan.dec_inner_ttl = d.verb == MZR_AGENT_ROUTED_HAIRPIN;
	__builtin_memcpy(plan.mac, d.mac, 6);
	return mzr_agent_hairpin_go(xdp, env.host, p, &plan, done);
}

#endif /* MZR_CORE_AGENT_H */
