// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test NF: drops inner ICMP (counted as "nf"), lets everything else on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

MZR_NF_DECLARE("drop-icmp");

SEC("xdp")
int nf_drop_icmp(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();

	if (!ctx)
		return XDP_DROP;
	if (ctx->proto == 1 /* IPPROTO_ICMP */)
		return mzr_nf_drop(ctx, MZR_DROP_NF);
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "GPL";
