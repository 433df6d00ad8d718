// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test NF: records the context the core gave it in nf_seen, then goes on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

MZR_NF_DECLARE("test-record");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_ctx);
} nf_seen SEC(".maps");

SEC("xdp")
int nf_record(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	__u32 zero = 0;

	if (!ctx)
		return XDP_DROP;
	bpf_map_update_elem(&nf_seen, &zero, ctx, BPF_ANY);
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "GPL";
