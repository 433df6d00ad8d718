// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Chain benchmark programs (DESIGN.md §7). bench_wrap restores the frame
 * from a template on every BPF_PROG_TEST_RUN iteration, then tail-calls the
 * program under test in bench_target[0]:
 *   bench_floor  MAC swap + XDP_TX (the floor);
 *   bench_hook   a stand-in core hook: fill the context, run the chain,
 *                then bench_cont (MAC swap + XDP_TX) as the continuation.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

#define TMPL_LEN 64
#define BENCH_HOOK MZR_HOOK_AGENT_EGRESS

struct tmpl {
	__u8 b[TMPL_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tmpl);
} bench_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_target SEC(".maps");

SEC("xdp")
int bench_wrap(struct xdp_md *xdp)
{
	long len = (long)xdp->data_end - (long)xdp->data;
	struct tmpl *t;
	__u32 zero = 0;

	t = bpf_map_lookup_elem(&bench_tmpl, &zero);
	if (!t)
		return XDP_ABORTED;
	if (len != TMPL_LEN && bpf_xdp_adjust_head(xdp, (int)(len - TMPL_LEN)))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(xdp, 0, t->b, TMPL_LEN))
		return XDP_ABORTED;
	bpf_tail_call(xdp, &bench_target, 0);
	return XDP_ABORTED;
}

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
int bench_floor(struct xdp_md *xdp)
{
	return swap_tx(xdp);
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
int bench_cont(struct xdp_md *xdp)
{
	return swap_tx(xdp);
}

char _license[] SEC("license") = "GPL";
