// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The cheapest pipeline NF: enter, check the context, go on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

MZR_NF_DECLARE("bench-pass");

SEC("xdp")
int bench_pass(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();

	if (!ctx)
		return XDP_DROP;
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "GPL";
