// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test object without MZR_NF_DECLARE(): not an NF, refused at open. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int nf_nodecl(struct xdp_md *xdp)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
