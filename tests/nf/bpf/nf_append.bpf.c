// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test NF: appends NF_ID and the chain position it saw to the context's
 * scratch (scratch[0] counts entries; ids from scratch[1], positions from
 * scratch[16]), then continues, or ends as NF_DROP / NF_PASS say.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

#ifndef NF_ID
#error "NF_ID must be defined"
#endif

MZR_NF_DECLARE("test-append");

SEC("xdp")
int nf_append(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	__u8 n;

	if (!ctx)
		return XDP_DROP;
	n = ctx->scratch[0];
	if (n < 15) {
		ctx->scratch[1 + n] = NF_ID;
		ctx->scratch[16 + n] = ctx->chain_pos;
		ctx->scratch[0] = n + 1;
	}
#ifdef NF_DROP
	return mzr_nf_drop(ctx, NF_DROP);
#elif defined(NF_PASS)
	return mzr_nf_pass(ctx);
#else
	return mzr_nf_next(xdp, ctx);
#endif
}

char _license[] SEC("license") = "GPL";
