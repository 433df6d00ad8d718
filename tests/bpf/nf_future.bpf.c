// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test NF built against a context version newer than this SDK serves: the
 * loader must refuse it before the kernel sees it or it reaches any hook.
 * Built by tests/nf (nf_future) and tests/pkt (pkt_hook_future). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

const struct mzr_nf_decl __mzr_nf_decl SEC(MZR_NF_DECL_SEC)
	__attribute__((used)) = {
		.magic = MZR_NF_MAGIC,
		.decl_version = MZR_NF_DECL_VERSION,
		.ctx_version = MZR_CTX_VERSION + 1,
		.ctx_len = sizeof(struct mzr_ctx) + 8,
		.name = "future",
	};

SEC("xdp")
int nf_future(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();

	if (!ctx)
		return XDP_DROP;
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "GPL";
