// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The transit agent in tc (mzr_neigh on an endpoint veth without the XDP
 * agent), skb by skb: each fixture runs one frame through the real
 * program with BPF_PROG_TEST_RUN (SCHED_CLS) on an endpoint's host-side
 * veth, and states the verdict, the exact output frame and the counters
 * that must move. The XDP agent's fixtures (test_core_pkt.c) and these
 * share the decisions (mzr_agent_decide): where the outputs differ, it
 * is in how the frame leaves (neighbour output) and in GSO.
 */
#include <stdio.h>

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <mizar/abi.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define ONE(c) { { (c), 1 } }

/* What the tc agent emits in VPC A: the outer Ethernet addresses are
 * placeholders (this host's MAC) that the kernel's neighbour output
 * rewrites. */
#define TC_OUT(...) AGENT_OUT(.dmac = MAC_US, .smac = MAC_US, __VA_ARGS__)
/* EP1's TCP to EP3 with DF, as TCP sends. */
#define TCP_TO_EP3(...)                                                        \
	TCP_FROM_EP1(.dst = EP3, .frag_off = 0x4000, __VA_ARGS__)
/* The gateway of A1's ICMP Fragmentation Needed (next-hop MTU 1434) for
 * EP1's frame @q, quoting its IPv4 header and the TCP header whole. */
#define GW_FRAG_NEEDED(q)                                                      \
	FRAG_NEEDED(q, .dmac = MAC_EP1, .smac = MAC_GW_A1, .src = GW_A1,       \
		    .dst = EP1, .mtu = 1500 - MZR_ENCAP_LEN, .quote_l4 = 20)

static const struct fixture tc[] = {
	{ .desc = "tc agent: an endpoint's UDP to a remote endpoint is "
		  "tunnelled to a bouncer of its network chosen by the flow, "
		  "out through the kernel's neighbour output",
	  .prog = PROG_TC_AGENT, .in = FROM_EP1(.dst = EP3),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_OUT(.inner = FROM_EP1(.dst = EP3)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "tc agent: TCP is tunnelled the same way",
	  .prog = PROG_TC_AGENT, .in = TCP_TO_EP3(.payload = 100),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_OUT(.inner = TCP_TO_EP3(.payload = 100)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "tc agent: a fresh learned entry sends straight to the "
		  "destination's host, flagged DIRECT",
	  .prog = PROG_TC_AGENT, .in = FROM_EP1(.dst = IP4(10, 1, 1, 60)),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_OUT(.to = H6, .flags = MZR_F_DIRECT,
			.inner = FROM_EP1(.dst = IP4(10, 1, 1, 60))),
	  .counters = ONE(MZR_CNT_AGENT_DIRECT) },
	{ .desc = "tc agent: an ARP request is tunnelled unchanged to a "
		  "bouncer (one more pass through the veth's ingress makes it "
		  "an IPv4 skb for the neighbour output)",
	  .prog = PROG_TC_AGENT,
	  .in = ARP(.smac = MAC_EP1, .src = EP1, .dst = EP3),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_OUT(.inner = ARP(.smac = MAC_EP1, .src = EP1, .dst = EP3)),
	  .counters = ONE(MZR_CNT_AGENT_ARP) },
	/* A GSO super-packet is judged by its segments (gso_size plus
	 * headers), not its length: a 1000-byte skb that would be cut in
	 * 1448-byte segments does not fit. (BPF_PROG_TEST_RUN sets the
	 * segment size but cannot make a TCP GSO skb: __sk_buff has
	 * gso_size and gso_segs, no gso_type, and bpf_skb_adjust_room()
	 * refuses a GSO skb that is not TCP GSO with -ENOTSUPP, so one whose
	 * segments fit ends as drop_encap here. The whole super-packet's
	 * encapsulation is checked end to end instead: tests/e2e/offloads.sh.)
	 */
	{ .desc = "tc agent: a GSO skb whose segments would not fit the "
		  "underlay once encapsulated is answered with Fragmentation "
		  "Needed (quoting the TCP header whole)",
	  .prog = PROG_TC_AGENT, .gso_size = 1448,
	  .in = TCP_TO_EP3(.payload = 946), .verdict = TC_ACT_REDIRECT,
	  .out = GW_FRAG_NEEDED(TCP_TO_EP3(.payload = 946)),
	  .counters = { { MZR_CNT_AGENT_FRAG_NEEDED, 1 },
			{ DROP(MZR_DROP_TOO_BIG), 1 } } },
	{ .desc = "tc agent: a too-big TCP frame with DF is answered by the "
		  "gateway with ICMP Fragmentation Needed, next-hop MTU 1434",
	  .prog = PROG_TC_AGENT, .in = TCP_TO_EP3(.len = FITS_MTU + 1),
	  .verdict = TC_ACT_REDIRECT,
	  .out = GW_FRAG_NEEDED(TCP_TO_EP3(.len = FITS_MTU + 1)),
	  .counters = { { MZR_CNT_AGENT_FRAG_NEEDED, 1 },
			{ DROP(MZR_DROP_TOO_BIG), 1 } } },
	{ .desc = "tc agent: an endpoint sending from another IP is dropped "
		  "(spoofed)",
	  .prog = PROG_TC_AGENT,
	  .in = FROM_EP1(.dst = EP3, .src = IP4(10, 1, 1, 99)),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_SPOOFED)) },
	{ .desc = "tc agent: a frame on a device that serves no endpoint is "
		  "left alone",
	  .prog = PROG_TC_AGENT, .dev = "noeph", .in = FROM_EP1(.dst = EP3),
	  .verdict = TC_ACT_UNSPEC, .out_same = true },
	{ .desc = "tc agent: traffic between two endpoints of one network on "
		  "this host is hairpinned with the destination's MAC, TTL "
		  "untouched",
	  .prog = PROG_TC_AGENT, .in = FROM_EP1(.dst = EP2),
	  .verdict = TC_ACT_REDIRECT,
	  .out = FROM_EP1(.dst = EP2, .dmac = MAC_EP2),
	  .counters = { { MZR_CNT_AGENT_LOCAL, 1 },
			{ MZR_CNT_HOOK_DELIVER, 1 } } },
	{ .desc = "tc agent: to an endpoint of another network on this host, "
		  "the hairpin is a routed hop: the divider hook and the TTL "
		  "decrement",
	  .prog = PROG_TC_AGENT, .in = FROM_EP1(.dst = EP4),
	  .verdict = TC_ACT_REDIRECT,
	  .out = FROM_EP1(.dst = EP4, .dmac = MAC_EP4, .ttl = 63),
	  .counters = { { MZR_CNT_AGENT_LOCAL, 1 },
			{ MZR_CNT_HOOK_DIVIDER, 1 } } },
	{ .desc = "tc agent: ... with TTL 1 it dies there (ttl_expired)",
	  .prog = PROG_TC_AGENT, .in = FROM_EP1(.dst = EP4, .ttl = 1),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_TTL_EXPIRED)) },
	/* EP4's network (10.1.2.0/24) is bounced by this host. */
	{ .desc = "tc agent: when this host is the bouncer, the transit's own "
		  "routing runs on the frame: an unknown destination goes to "
		  "the VPC's divider",
	  .prog = PROG_TC_AGENT, .dev = "ep4h",
	  .in = FROM_EP1(.dst = IP4(10, 1, 2, 99), .smac = MAC_EP4,
			 .src = EP4),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_OUT(.to = H4,
			.inner = FROM_EP1(.dst = IP4(10, 1, 2, 99),
					  .smac = MAC_EP4, .src = EP4)),
	  .counters = { { MZR_CNT_BOUNCER_TO_DIVIDER, 1 },
			{ MZR_CNT_AGENT_ENCAP, 1 } } },
};

int main(void)
{
	static struct core_env env;
	int fails;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	fails = fixture_run_table(core_env_progs(&env), tc, ARRAY_SIZE(tc));
	printf("%zu fixtures, %d failures\n", ARRAY_SIZE(tc), fails);
	return fails ? 1 : 0;
}
