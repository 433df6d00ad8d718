// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The smallest useful pipeline NF: count the packets of each VPC that pass
 * its hook, then hand them to the next NF. Built against the installed SDK
 * only; insert it with
 *	mizarctl nf add count obj minimal_nf.bpf.o hook agent-egress
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

MZR_NF_DECLARE("minimal-nf");

/* Packets per VNI (per CPU). The NF's own map: the loader leaves it alone. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} minimal_nf_pkts SEC(".maps");

SEC("xdp")
int minimal_nf(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	__u64 one = 1, *n;

	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */

	n = bpf_map_lookup_elem(&minimal_nf_pkts, &ctx->vni);
	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&minimal_nf_pkts, &ctx->vni, &one,
				    BPF_NOEXIST);

	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "GPL";
