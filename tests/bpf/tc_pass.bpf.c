// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pass-through tc program: a foreign filter a test puts where the core's
 * tc program would go, so that attaching the agent is refused. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
