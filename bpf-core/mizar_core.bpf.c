// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Mizar core back-plane, one object: the packet walk, top to bottom,
 * in the order of docs/architecture.md ("The packet walk"; "step N" below
 * is its numbered list). The headers hold the steps, each a named
 * function; they include only lower-level headers, never the walk:
 *
 *   <mizar/bpf/...>  the SDK the NFs use too: parsers, Geneve, context,
 *                    counters, chains
 *   maps.h stats.h pkt.h hooks.h encap.h fib.h neigh.h icmp.h
 *                    core maps, named drops, the parsed packet, hook
 *                    points, encapsulation, next hop, ICMP
 *   route.h          the transit's roles: route_arp, route_deliver,
 *                    route_bouncer, route_divider (steps 3-9)
 *   agent.h          the agent's steps (admit, decide, encapsulate)
 *   transit.h        the transit's steps (parse, learn, exec)
 *   agent_tc.h transit_tc.h   the same walks on an skb
 *   trace.h          the packet trace at each program's entry and exit
 *
 * Programs: mzr_agent (endpoint veths), mzr_transit (underlay NIC), the
 * continuations mzr_cont_* where the walk resumes after a hook's NF
 * chain, and mzr_neigh (tc: the same walks on an skb, and the frames
 * handed off for an unresolved neighbour).
 */
#include <mizar/bpf/parse.h>
#include <mizar/bpf/geneve.h>
#include <mizar/bpf/context.h>
#include <mizar/bpf/chain.h>
#include "maps.h"
#include "stats.h"
#include "pkt.h"
#include "hooks.h"
#include "encap.h"
#include "fib.h"
#include "neigh.h"
#include "icmp.h"
#include "l4csum.h"
#include "route.h"
#include "agent.h"
#include "transit.h"
#include "agent_tc.h"
#include "transit_tc.h"

/* The Geneve option walk, checked once by the verifier (transit.h). */
MZR_DEFINE_WALK_OPTIONS(mzr_core_walk_options, struct xdp_md)
MZR_DEFINE_WALK_OPTIONS(mzr_tc_walk_options, struct __sk_buff)

/* ==== Transit agent: endpoint -> overlay ("Transit agent") ============ */

/*
 * The agent walk: parse -> admit -> hook -> route -> next hop -> send.
 * @done: hooks this packet has met already (MZR_HOOK_BIT()s), which do
 * not run again.
 */
static __always_inline int agent_walk(struct xdp_md *xdp, __u32 done)
{
	struct mzr_local_val *local;
	struct mzr_pkt p;
	int ret;

	/* Step 1: the endpoint behind this veth. */
	local = mzr_agent_local(xdp);
	if (!local)
		return mzr_drop(MZR_DROP_UNKNOWN_EP);
	ret = mzr_agent_parse(xdp, local, &p);
	if (ret != MZR_GO)
		return ret;
	if (!(done & MZR_HOOK_BIT(MZR_HOOK_AGENT_EGRESS))) {
		/* Steps 2-3: anti-spoofing, ARP (rate-limited), IPv4. */
		ret = mzr_agent_admit(local, &p, xdp->ingress_ifindex);
		if (ret != MZR_GO)
			return ret;
		/* Step 5: the agent-egress hook, before any decision. */
		ret = mzr_hook(xdp, MZR_HOOK_AGENT_EGRESS, MZR_ROLE_AGENT, &p,
			       0);
		if (ret != MZR_GO)
			return ret;
	}
	/* Steps 4, 7, 6: route (hairpin, direct path or bouncer), MTU,
	 * next hop and send. */
	return mzr_agent_after_hook(xdp, local, &p, 0);
}

static __always_inline int agent_run(struct xdp_md *xdp)
{
	mzr_count(MZR_CNT_AGENT_RX);
	return agent_walk(xdp, 0);
}

/* The agent-egress chain has run: re-parse (NFs may have rewritten the
 * frame) and go on. REROUTE and CONTINUE are the same here, since the
 * agent decides after its hook. */
static __always_inline int agent_resume(struct xdp_md *xdp)
{
	return agent_walk(xdp, MZR_HOOK_BIT(MZR_HOOK_AGENT_EGRESS));
}

/*
 * The divider or deliver chain of a same-host hairpin (step 4) has run
 * (mzr_cont_divider / mzr_cont_deliver with the plan MZR_ACT_HAIRPIN):
 * CONTINUE goes on with the plan (after the divider: TTL, deliver hook;
 * after the deliver hook: the planned veth); REROUTE decides again as the
 * agent does, without the hooks this packet has met.
 */
static __always_inline int agent_hairpin_resume(struct xdp_md *xdp,
						const struct mzr_ctx *c,
						const struct mzr_plan *saved)
{
	__u32 done = MZR_HOOK_BIT(MZR_HOOK_AGENT_EGRESS) |
		     MZR_HOOK_BIT(MZR_HOOK_DIVIDER);
	struct mzr_host_cfg *host = mzr_host_cfg();
	struct mzr_local_val *local;
	struct mzr_plan plan = *saved;
	struct mzr_pkt p;
	int ret;

	if (saved->hook == MZR_HOOK_DELIVER) {
		if (c->decision != MZR_DECIDE_REROUTE)
			return mzr_agent_hairpin(xdp, saved->ifindex,
						 saved->mac);
		done |= MZR_HOOK_BIT(MZR_HOOK_DELIVER);
	}
	local = mzr_agent_local(xdp);
	if (!local || !host)
		return mzr_drop(MZR_DROP_UNKNOWN_EP);
	ret = mzr_agent_parse(xdp, local, &p);
	if (ret != MZR_GO)
		return ret;
	if (c->decision == MZR_DECIDE_REROUTE)
		return mzr_agent_after_hook(xdp, local, &p, done);
	return mzr_agent_hairpin_go(xdp, host, &p, &plan, done);
}

/* ==== Transit: underlay -> overlay ("Transit") ======================== */

/* The hook a plan meets (none: go on), in the role its NFs see. */
static __always_inline int transit_hook(struct xdp_md *xdp,
					const struct mzr_pkt *p,
					const struct mzr_plan *plan)
{
	if (plan->hook == MZR_HOOK_NONE)
		return MZR_GO;
	return mzr_hook(xdp, plan->hook, mzr_hook_role(plan), p, plan);
}

/* The transit walk: parse -> route -> hook -> next hop, rewrite, send. */
static __always_inline int transit_run(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_plan plan;
	struct mzr_pkt p;
	int ret;

	mzr_count(MZR_CNT_TRANSIT_RX);
	host = mzr_host_cfg();
	if (!host || !host->ip)
		return mzr_transit_not_ours(xdp, &p);
	/* Steps 1-2: ours? (else the external hook), options, VNI, inner
	 * frame. */
	ret = mzr_transit_parse(xdp, host, &p);
	if (ret == MZR_NOT_OURS)
		return mzr_transit_not_ours(xdp, &p);
	if (ret != MZR_GO)
		return ret;
	/* Steps 3-9: the role this host plays for it (route.h: route_arp,
	 * route_deliver, route_bouncer, route_divider, ...), as a plan. */
	ret = mzr_transit_route(host, &p, &plan);
	if (ret != MZR_GO)
		return ret;
	/* The role's hook: deliver, bouncer or divider. */
	ret = transit_hook(xdp, &p, &plan);
	if (ret != MZR_GO)
		return ret;
	/* The plan: learn and deliver, answer ARP, or forward (outer TTL,
	 * flags, inner TTL, VNI, next hop, send). */
	return mzr_transit_exec(xdp, host, &p, &plan);
}

/*
 * A continuation's host and the context its NF chain left: checked, then
 * the frame parsed again (NFs may have rewritten it). Returns MZR_GO or
 * the verdict.
 */
static __always_inline int transit_reenter(struct xdp_md *xdp,
					   struct mzr_host_cfg **host,
					   struct mzr_ctx **c)
{
	*host = mzr_host_cfg();
	*c = mzr_ctx_raw();
	if (!*host || !*c)
		return mzr_drop(MZR_DROP_MALFORMED);
	if ((*c)->version != MZR_CTX_VERSION)
		return mzr_drop(MZR_DROP_NF_ABI);
	return MZR_GO;
}

/* mzr_transit_parse() in a continuation: what is not ours goes to the
 * kernel (its external hook has run or cannot apply). */
static __always_inline int transit_reparse(struct xdp_md *xdp,
					   const struct mzr_host_cfg *host,
					   struct mzr_pkt *p)
{
	int ret = mzr_transit_parse(xdp, host, p);

	if (ret == MZR_NOT_OURS) {
		mzr_count(MZR_CNT_TRANSIT_PASS);
		return XDP_PASS;
	}
	return ret;
}

/*
 * Resume after transit hook @hook's chain (deliver, bouncer, divider):
 * CONTINUE carries out the saved plan; REROUTE routes the rewritten frame
 * again (from step 3) without hooks, but for the deliver hook of a local
 * destination a bouncer or divider NF sent it to (docs/security.md, rule
 * 6), at most once per packet.
 */
static __always_inline int transit_resume(struct xdp_md *xdp, __u8 hook)
{
	struct mzr_plan plan, *saved;
	struct mzr_host_cfg *host;
	struct mzr_ctx *c;
	struct mzr_pkt p;
	int ret;

	ret = transit_reenter(xdp, &host, &c);
	if (ret != MZR_GO)
		return ret;
	saved = mzr_plan_get();
	if (!saved)
		return mzr_drop(MZR_DROP_MALFORMED);
	/* The agent's same-host hairpin met a hook. */
	if (saved->action == MZR_ACT_HAIRPIN)
		return agent_hairpin_resume(xdp, c, saved);
	ret = transit_reparse(xdp, host, &p);
	if (ret != MZR_GO)
		return ret;
	if (c->decision == MZR_DECIDE_REROUTE) {
		ret = mzr_transit_route(host, &p, &plan);
		if (ret != MZR_GO)
			return ret;
		if (plan.hook == MZR_HOOK_DELIVER && hook != MZR_HOOK_DELIVER) {
			ret = transit_hook(xdp, &p, &plan);
			if (ret != MZR_GO)
				return ret;
		}
	} else {
		plan = *saved;
	}
	return mzr_transit_exec(xdp, host, &p, &plan);
}

/*
 * Inject a tunnel frame for this host into the walk (after the external
 * chain, or an agent whose bouncer is this host): routed from step 2 as
 * if it came from the wire, with the transit hook that meets it, unless
 * this packet has met that hook already (agent: mzr_scratch.inject_done).
 * So a packet meets each hook at most once and the walk always ends.
 */
static __always_inline int transit_inject(struct xdp_md *xdp,
					  const struct mzr_host_cfg *host,
					  const struct mzr_ctx *c)
{
	struct mzr_plan plan;
	struct mzr_pkt p;
	__u32 done;
	int ret;

	ret = transit_reparse(xdp, host, &p);
	if (ret != MZR_GO)
		return ret;
	if (c->role == MZR_ROLE_AGENT) {
		struct mzr_scratch *s = mzr_scratch();

		done = s ? s->inject_done : ~0U;
	} else {
		done = MZR_HOOK_BIT(MZR_HOOK_EXTERNAL);
	}
	ret = mzr_transit_route(host, &p, &plan);
	if (ret != MZR_GO)
		return ret;
	if (plan.hook != MZR_HOOK_NONE && !(done & mzr_hook_bit(plan.hook))) {
		ret = transit_hook(xdp, &p, &plan);
		if (ret != MZR_GO)
			return ret;
	}
	return mzr_transit_exec(xdp, host, &p, &plan);
}

/* After the external chain (step 1): INJECT means the NF turned the
 * packet into VPC traffic: a tunnel frame for this host, or a plain IPv4
 * frame for VPC ctx->vni, which the core encapsulates. CONTINUE: the
 * kernel's. */
static __always_inline int external_resume(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_ctx *c;
	int ret;

	ret = transit_reenter(xdp, &host, &c);
	if (ret != MZR_GO)
		return ret;
	if (c->decision == MZR_DECIDE_INJECT) {
		if (host->ip && !mzr_is_tunnel_to_us(xdp, host)) {
			ret = mzr_external_wrap(xdp, host, c->vni);
			if (ret != MZR_GO)
				return ret;
		}
		return transit_inject(xdp, host, c);
	}
	mzr_count(MZR_CNT_TRANSIT_PASS);
	return XDP_PASS;
}

/* ==== The same walks in tc ("Where each role runs") =================== */

/*
 * The tc agent, for a frame from the endpoint behind this veth: the XDP
 * agent's steps on the skb, its hooks without chains (mzr_tc_hook()).
 * Anything on a device that serves no endpoint is not its business.
 */
static __always_inline int agent_tc_run(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, reason;
	struct mzr_local_val *local;
	struct mzr_agent_env env;
	struct mzr_agent_dec d;
	struct mzr_pkt p;

	/* Step 1. */
	local = bpf_map_lookup_elem(&mzr_local, &ifindex);
	if (!local)
		return TC_ACT_UNSPEC;
	if (skb->mark == MZR_TC_REINJECT_MARK)
		return mzr_tc_reinjected(skb);
	mzr_count(MZR_CNT_AGENT_RX);
	reason = mzr_tc_parse(skb, local, &p);
	/* Steps 2-3. */
	if (!reason)
		reason = mzr_agent_check(local, &p, ifindex);
	/* Step 5. */
	if (!reason)
		reason = mzr_tc_hook(MZR_HOOK_AGENT_EGRESS);
	/* Step 4. */
	if (!reason)
		reason = mzr_agent_env(&env, local);
	if (!reason)
		reason = mzr_agent_decide(env.host, env.net, local, &p, &d);
	if (reason)
		return mzr_tc_drop(reason);
	if (d.verb != MZR_AGENT_ENCAP)
		return mzr_tc_hairpin(skb, d.ifindex, d.mac,
				      d.verb == MZR_AGENT_ROUTED_HAIRPIN);
	/* Steps 7, 6: MTU, then encapsulate and send. */
	return mzr_tc_encap_send(skb, &env, &p, &d);
}

/*
 * The tc transit, for a frame from the underlay of a host whose transit
 * runs in tc (MZR_HOST_F_TC_TRANSIT): the XDP transit's steps on the skb.
 * Its hooks have no chain in this mode (mzr_tc_hook(): the library
 * attaches the XDP transit first).
 */
static __always_inline int transit_tc_run(struct __sk_buff *skb,
					  const struct mzr_host_cfg *host)
{
	struct mzr_plan plan;
	struct mzr_pkt p;
	__u32 reason;
	int ret;

	mzr_count(MZR_CNT_TRANSIT_RX);
	/* Steps 1-2. */
	ret = mzr_tc_transit_parse(skb, host, &p);
	if (ret == MZR_NOT_OURS) {
		reason = mzr_tc_hook(MZR_HOOK_EXTERNAL);
		if (reason)
			return mzr_tc_drop(reason);
		mzr_count(MZR_CNT_TRANSIT_PASS);
		return TC_ACT_UNSPEC;
	}
	if (ret != MZR_GO)
		return ret;
	/* Steps 3-9. */
	ret = mzr_transit_route(host, &p, &plan);
	if (ret == XDP_PASS) /* a VNI this host does not know, counted */
		return TC_ACT_UNSPEC;
	if (ret != MZR_GO)
		return TC_ACT_SHOT; /* counted by the route */
	if (plan.hook != MZR_HOOK_NONE) {
		reason = mzr_tc_hook_at(plan.hook, p.vni, p.daddr);
		if (reason)
			return mzr_tc_drop(reason);
	}
	return mzr_tc_transit_exec(skb, host, &p, &plan);
}

/* ==== The programs ===================================================== */

SEC("xdp")
int mzr_agent(struct xdp_md *xdp)
{
	mzr_trace_enter(xdp, MZR_TRACE_HOOK_AGENT);
	return mzr_trace_exit(xdp, MZR_TRACE_HOOK_AGENT, agent_run(xdp));
}

SEC("xdp")
int mzr_transit(struct xdp_md *xdp)
{
	mzr_trace_enter(xdp, MZR_TRACE_HOOK_TRANSIT);
	return mzr_trace_exit(xdp, MZR_TRACE_HOOK_TRANSIT, transit_run(xdp));
}

SEC("xdp")
int mzr_cont_agent_egress(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_AGENT_EGRESS, agent_resume(xdp));
}

SEC("xdp")
int mzr_cont_bouncer(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_BOUNCER,
			      transit_resume(xdp, MZR_HOOK_BOUNCER));
}

SEC("xdp")
int mzr_cont_divider(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_DIVIDER,
			      transit_resume(xdp, MZR_HOOK_DIVIDER));
}

SEC("xdp")
int mzr_cont_deliver(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_DELIVER,
			      transit_resume(xdp, MZR_HOOK_DELIVER));
}

SEC("xdp")
int mzr_cont_external(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_EXTERNAL, external_resume(xdp));
}

/* tc ingress of the underlay and of each endpoint veth: sends the frames
 * the XDP programs handed off (unresolved neighbour) out of the underlay
 * with bpf_redirect_neigh() (neigh.h); on an endpoint veth without the XDP
 * agent, it is the agent; on an underlay without the XDP transit, it is
 * the transit. */
SEC("tc")
int mzr_neigh(struct __sk_buff *skb)
{
	struct mzr_host_cfg *host;
	int ret = mzr_neigh_tc_run(skb);

	if (ret != TC_ACT_UNSPEC)
		return ret;
	mzr_trace_tc_enter(skb);
	host = mzr_host_cfg();
	if (host && (host->flags & MZR_HOST_F_TC_TRANSIT) &&
	    skb->ifindex == host->ifindex && host->ip)
		return mzr_trace_tc(skb, MZR_TRACE_HOOK_TRANSIT,
				    transit_tc_run(skb, host));
	return mzr_trace_tc(skb, MZR_TRACE_HOOK_AGENT, agent_tc_run(skb));
}

char _license[] SEC("license") = "GPL";
