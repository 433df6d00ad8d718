// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Mizar core back-plane: the transit program (underlay NIC), the
 * transit agent (endpoint veths) and the continuations where the core
 * resumes after a hook's NF chain. The packet walk is in transit.h and
 * agent.h, following docs/architecture.md.
 */
#include "transit.h"

SEC("xdp")
int mzr_transit(struct xdp_md *xdp)
{
	return mzr_transit_run(xdp);
}

SEC("xdp")
int mzr_agent(struct xdp_md *xdp)
{
	return mzr_agent_run(xdp);
}

SEC("xdp")
int mzr_cont_agent_egress(struct xdp_md *xdp)
{
	return mzr_agent_cont(xdp);
}

SEC("xdp")
int mzr_cont_bouncer(struct xdp_md *xdp)
{
	return mzr_transit_cont(xdp, 0);
}

SEC("xdp")
int mzr_cont_divider(struct xdp_md *xdp)
{
	return mzr_transit_cont(xdp, 0);
}

SEC("xdp")
int mzr_cont_deliver(struct xdp_md *xdp)
{
	return mzr_transit_cont(xdp, 0);
}

SEC("xdp")
int mzr_cont_external(struct xdp_md *xdp)
{
	return mzr_external_cont(xdp);
}

char _license[] SEC("license") = "GPL";
