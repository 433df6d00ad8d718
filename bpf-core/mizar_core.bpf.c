// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Mizar core back-plane: the transit program (underlay NIC), the
 * transit agent (endpoint veths), the continuations where the core
 * resumes after a hook's NF chain, and the tc program that sends frames
 * whose underlay neighbour is unresolved on their way. The packet walk is
 * in transit.h and agent.h, following docs/architecture.md; entries and
 * exits feed the packet trace (trace.h).
 */
#include "transit_tc.h"

SEC("xdp")
int mzr_transit(struct xdp_md *xdp)
{
	mzr_trace_enter(xdp, MZR_TRACE_HOOK_TRANSIT);
	return mzr_trace_exit(xdp, MZR_TRACE_HOOK_TRANSIT,
			      mzr_transit_run(xdp));
}

SEC("xdp")
int mzr_agent(struct xdp_md *xdp)
{
	mzr_trace_enter(xdp, MZR_TRACE_HOOK_AGENT);
	return mzr_trace_exit(xdp, MZR_TRACE_HOOK_AGENT, mzr_agent_run(xdp));
}

SEC("xdp")
int mzr_cont_agent_egress(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_AGENT_EGRESS, mzr_agent_cont(xdp));
}

SEC("xdp")
int mzr_cont_bouncer(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_BOUNCER,
			      mzr_transit_cont(xdp, 0, MZR_HOOK_BOUNCER));
}

SEC("xdp")
int mzr_cont_divider(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_DIVIDER,
			      mzr_transit_cont(xdp, 0, MZR_HOOK_DIVIDER));
}

SEC("xdp")
int mzr_cont_deliver(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_DELIVER,
			      mzr_transit_cont(xdp, 0, MZR_HOOK_DELIVER));
}

SEC("xdp")
int mzr_cont_external(struct xdp_md *xdp)
{
	return mzr_trace_exit(xdp, MZR_HOOK_EXTERNAL, mzr_external_cont(xdp));
}

/* tc ingress of the underlay and of each endpoint veth: sends the frames
 * the XDP programs handed off (unresolved neighbour) out of the underlay
 * with bpf_redirect_neigh() (neigh.h); on an endpoint veth without the XDP
 * agent, it is the agent (agent_tc.h); on an underlay without the XDP
 * transit, it is the transit (transit_tc.h). */
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
				    mzr_transit_tc_run(skb, host));
	return mzr_trace_tc(skb, MZR_TRACE_HOOK_AGENT, mzr_agent_tc_run(skb));
}

char _license[] SEC("license") = "GPL";
