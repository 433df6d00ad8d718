// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The chain benchmark's program under test (DESIGN.md §7), tail-called by
 * the benchmarks' wrapper (tools/bench/bench_core.bpf.c):
 *   bench_hook   a stand-in core hook: fill the context, run the chain,
 *                then bench_cont (MAC swap + XDP_TX) as the continuation.
 *   bench_hook_l4  the same with the frame parsed into the context (as the
 *                core's agent-egress hook does, VNI BENCH_VNI), for NFs
 *                that read the flow (mizar-lb).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

#define BENCH_HOOK MZR_HOOK_AGENT_EGRESS
#define BENCH_VNI 100

static __always_inline int swap_tx(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int bench_hook(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_ctx_raw();
	int ret;

	if (!ctx)
		return XDP_ABORTED;
	mzr_ctx_reset(ctx, MZR_ROLE_AGENT, BENCH_HOOK);
	ctx->ingress_ifindex = xdp->ingress_ifindex;
	ret = mzr_chain_enter(xdp, ctx, BENCH_HOOK);
	if (ret != MZR_CHAIN_EMPTY)
		return ret;
	return swap_tx(xdp);
}

SEC("xdp")
int bench_hook_l4(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_ctx_raw();
	struct mzr_cursor c;
	int ret;

	if (!ctx)
		return XDP_ABORTED;
	mzr_ctx_reset(ctx, MZR_ROLE_AGENT, BENCH_HOOK);
	ctx->ingress_ifindex = xdp->ingress_ifindex;
	ctx->vni = BENCH_VNI;
	mzr_cursor_init(&c, xdp);
	if (mzr_tunnel_parse_inner(&c, xdp, ctx))
		return XDP_ABORTED;
	ret = mzr_chain_enter(xdp, ctx, BENCH_HOOK);
	if (ret != MZR_CHAIN_EMPTY)
		return ret;
	return swap_tx(xdp);
}

SEC("xdp")
int bench_cont(struct xdp_md *xdp)
{
	return swap_tx(xdp);
}

char _license[] SEC("license") = "GPL";
