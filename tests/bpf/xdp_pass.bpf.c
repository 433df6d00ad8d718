// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pass-through XDP program: attached to the receiving peer of a veth so
 * that frames redirected into the veth are accepted (NAPI on the peer). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
