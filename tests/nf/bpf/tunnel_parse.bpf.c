// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mzr_tunnel_parse() on its own: the result and the context it built go
 * to parse_out for the test to compare with the core's. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/context.h>

struct parse_out {
	__s32 ret;
	__u32 pad;
	struct mzr_ctx ctx;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct parse_out);
} parse_out SEC(".maps");

SEC("xdp")
int tunnel_parse(struct xdp_md *xdp)
{
	struct parse_out *out;
	__u32 zero = 0;

	out = bpf_map_lookup_elem(&parse_out, &zero);
	if (!out)
		return XDP_ABORTED;
	out->ret = mzr_tunnel_parse(xdp, &out->ctx);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
