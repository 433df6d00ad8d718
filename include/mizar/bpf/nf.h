/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Writing a pipeline NF: the ABI declaration, entering with the packet's
 * context, moving to the next NF of the chain, and ending the packet with a
 * verdict. The contract behind these helpers is docs/nf-abi.md; a worked
 * example is examples/minimal-nf.
 *
 *	MZR_NF_DECLARE("count-tcp");
 *
 *	SEC("xdp")
 *	int count_tcp(struct xdp_md *xdp)
 *	{
 *		struct mzr_ctx *ctx = mzr_nf_ctx();
 *
 *		if (!ctx)
 *			return XDP_DROP;
 *		...
 *		return mzr_nf_next(xdp, ctx);
 *	}
 */
#ifndef MIZAR_BPF_NF_H
#define MIZAR_BPF_NF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/abi.h>
#include <mizar/nf_abi.h>
#include <mizar/bpf/maps.h>
#include <mizar/bpf/context.h>
#include <mizar/bpf/chain.h>
#include <mizar/bpf/trace.h>

/**
 * @brief Declare this object a Mizar NF built against this SDK's context
 * version. Exactly once per object, at file scope. The loader refuses an
 * object without it, or with a version it does not serve (-EPROTO).
 * @param nf_name a short informative name (at most 31 characters).
 */
#define MZR_NF_DECLARE(nf_name)                                                \
	const struct mzr_nf_decl __mzr_nf_decl SEC(MZR_NF_DECL_SEC)            \
		__attribute__((used)) = {                                      \
			.magic = MZR_NF_MAGIC,                                 \
			.decl_version = MZR_NF_DECL_VERSION,                   \
			.ctx_version = MZR_CTX_VERSION,                        \
			.ctx_len = sizeof(struct mzr_ctx),                     \
			.name = nf_name,                                       \
		}

/**
 * @brief Hand the packet to the next NF of its chain, or to the core's
 * continuation after the last one.
 *
 * Does not return on success. A failed tail call (a slot emptied under
 * traffic) is counted as MZR_DROP_MISSED_TAIL_CALL and in mzr_missed at
 * (hook, next position), never silently.
 *
 * @return XDP_DROP after a missed tail call.
 */
static __always_inline int mzr_nf_next(struct xdp_md *xdp,
				       struct mzr_ctx *ctx)
{
	__u32 hook = ctx->hook;
	__u32 bank = ctx->chain_bank & 1;
	__u32 pos = ctx->chain_pos + 1;
	__u32 slot, missed;

	if (pos < ctx->chain_len && pos < MZR_CHAIN_MAX) {
		slot = MZR_PROG_NF(bank, hook, pos);
		missed = pos;
	} else {
		slot = MZR_PROG_CONT(hook);
		missed = MZR_CHAIN_MAX;
	}
	ctx->chain_pos = pos;
	bpf_tail_call(xdp, &mzr_progs, slot);

	ctx->drop_reason = MZR_DROP_MISSED_TAIL_CALL;
	return mzr_chain_missed(hook, missed);
}

/* The drop's event when `mizarctl trace` or `monitor` is on: the NF's
 * hook, XDP_DROP, @reason, the context's VNI, the packet; filtered on the
 * context's inner flow and rate-capped like the core's events (the maps
 * are the core's, <mizar/bpf/trace.h>). The host is left 0: the library
 * names it. Off, a lookup and a branch on the drop path only. */
static __always_inline void mzr_nf_drop_event(struct xdp_md *xdp,
					      const struct mzr_ctx *ctx,
					      __u32 reason)
{
	struct mzr_trace_flow f = {
		.saddr = ctx->saddr, .daddr = ctx->daddr,
		.sport = ctx->sport, .dport = ctx->dport,
		.vni = ctx->vni, .proto = ctx->proto,
	};
	struct mzr_trace_pcpu *st;
	struct mzr_trace_cfg *cfg;
	__u32 zero = 0;
	__u64 now;

	cfg = bpf_map_lookup_elem(&mzr_trace_cfg, &zero);
	if (!cfg || !(cfg->flags & MZR_TRACE_F_ON) ||
	    !mzr_trace_match(cfg, &f, !ctx->proto))
		return;
	st = bpf_map_lookup_elem(&mzr_trace_pcpu, &zero);
	now = bpf_ktime_get_ns();
	if (!st || !mzr_trace_take(st, cfg, now))
		return;
	st->meta.vni = ctx->vni;
	st->meta.host = 0;
	st->meta.reason = reason + 1;
	st->meta.hook = ctx->hook;
	st->meta.point = MZR_TRACE_AT_EXIT;
	st->meta.verdict = XDP_DROP;
	mzr_trace_output(xdp, st, cfg, now, xdp->data_end - xdp->data,
			 xdp->ingress_ifindex);
}

static __always_inline __u32 mzr_nf_drop_reason(__u32 reason)
{
	return reason == MZR_DROP_NONE ||
	       reason >= __MZR_CNT_MAX - MZR_CNT_DROP_BASE ?
		       MZR_DROP_NF : reason;
}

static __always_inline int mzr_nf_drop_ctx(struct mzr_ctx *ctx, __u32 reason)
{
	reason = mzr_nf_drop_reason(reason);
	ctx->drop_reason = reason;
	mzr_count_drop(reason);
	return XDP_DROP;
}

static __always_inline int mzr_nf_drop_xdp(struct xdp_md *xdp,
					   struct mzr_ctx *ctx, __u32 reason)
{
	mzr_nf_drop_event(xdp, ctx, mzr_nf_drop_reason(reason));
	return mzr_nf_drop_ctx(ctx, reason);
}

#define __MZR_NF_DROP_PICK(_1, _2, _3, name, ...) name

/**
 * @brief End the packet: drop it, counted under @p reason.
 *
 * mzr_nf_drop(xdp, ctx, reason) also emits the drop's event to
 * `mizarctl monitor` and `trace` while they run (the hook, the reason,
 * the VNI and the packet); the older mzr_nf_drop(ctx, reason) only
 * counts (it has no packet to show).
 * @param reason an enum mzr_drop_reason; 0 (or out of range) counts
 * MZR_DROP_NF, the generic "an NF dropped it".
 * @return XDP_DROP.
 */
#define mzr_nf_drop(...)                                                       \
	__MZR_NF_DROP_PICK(__VA_ARGS__, mzr_nf_drop_xdp,                       \
			   mzr_nf_drop_ctx, )(__VA_ARGS__)

/**
 * @brief End the packet: give it to the kernel stack of this interface,
 * skipping the rest of the chain and the core.
 * @return XDP_PASS.
 */
static __always_inline int mzr_nf_pass(struct mzr_ctx *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/**
 * @brief End the packet: send it back out of the interface it came in on,
 * as the NF left it (the NF is responsible for the headers).
 * @return XDP_TX.
 */
static __always_inline int mzr_nf_tx(struct mzr_ctx *ctx)
{
	(void)ctx;
	return XDP_TX;
}

/**
 * @brief End the packet: redirect it to interface @p ifindex.
 * @return the verdict of bpf_redirect() (XDP_REDIRECT, or XDP_ABORTED on
 * bad flags).
 */
static __always_inline int mzr_nf_redirect(struct mzr_ctx *ctx,
					   __u32 ifindex, __u64 flags)
{
	(void)ctx;
	return bpf_redirect(ifindex, flags);
}

/**
 * @brief Ask the core to look the destination up again (the NF rewrote
 * the inner destination, e.g. a load balancer), then continue the chain.
 * @return as mzr_nf_next().
 */
static __always_inline int mzr_nf_reroute(struct xdp_md *xdp,
					  struct mzr_ctx *ctx)
{
	ctx->decision = MZR_DECIDE_REROUTE;
	return mzr_nf_next(xdp, ctx);
}

#endif /* MIZAR_BPF_NF_H */
