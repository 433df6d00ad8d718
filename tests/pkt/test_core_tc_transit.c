// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The transit in tc (mzr_neigh on the underlay of a host attached in tc
 * mode, bpf-core/transit_tc.h), skb by skb through BPF_PROG_TEST_RUN
 * (SCHED_CLS): the same walk as the XDP transit's fixtures
 * (test_core_pkt.c), the same trust rules. Where outputs differ it is in
 * how the frame leaves: a forwarded frame keeps its Ethernet header (the
 * kernel's neighbour output writes it), a delivered one keeps the outer
 * Ethernet header rewritten to the endpoint's MAC and the inner source.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <mizar/abi.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define ONE(c) { { (c), 1 } }

static struct core_env env;

static void set_tc_transit(bool on)
{
	int fd = core_env_map_fd(&env, "mzr_host");
	struct mzr_host_cfg cfg;
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &cfg)) {
		perror("mzr_host");
		exit(1);
	}
	if (on)
		cfg.flags |= MZR_HOST_F_TC_TRANSIT;
	else
		cfg.flags &= ~MZR_HOST_F_TC_TRANSIT;
	if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY)) {
		perror("mzr_host");
		exit(1);
	}
}

/* The remote sender to EP2 (here), and as delivered. */
#define TO_EP2(...) FROM_REMOTE(.dst = EP2, __VA_ARGS__)
#define TO_EP2_DELIVERED(...) TO_EP2(.dmac = MAC_EP2, __VA_ARGS__)
/* What the tc transit sends on: the outer header rewritten, the input's
 * Ethernet header kept (to this host, from .smac). */
#define TC_FWD(...) TUNNEL(.dmac = MAC_US, __VA_ARGS__)

static const struct fixture tc_transit[] = {
	/* -- Not ours. -- */
	{ .desc = "tc transit: UDP to another port (VXLAN 4789) goes to the "
		  "kernel",
	  .prog = PROG_TC_TRANSIT,
	  .in = UDP(.dmac = MAC_US, .smac = MAC_H2, .src = H2, .dst = US,
		    .sport = 5555, .dport = 4789, .payload = 40),
	  .verdict = TC_ACT_UNSPEC, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "tc transit: Mizar Geneve for an unknown VNI goes to the "
		  "kernel (counted)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = 4242, .inner = TO_EP2()),
	  .verdict = TC_ACT_UNSPEC, .out_same = true,
	  .counters = ONE(MZR_CNT_UNKNOWN_VNI) },
	{ .desc = "tc transit: VNI 0 with Mizar options is dropped (bad_vni)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = 0, .inner = TO_EP2()),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_BAD_VNI)) },

	/* -- Delivery. -- */
	{ .desc = "tc transit: a packet for an endpoint hosted here is "
		  "decapsulated and given the endpoint's MAC (and the sender "
		  "is learned)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H5, .vni = VNI_A, .inner = TO_EP2(.src = EP3)),
	  .verdict = TC_ACT_REDIRECT, .out = TO_EP2_DELIVERED(.src = EP3),
	  .counters = ONE(MZR_CNT_DELIVER) },
	/* A GSO super-packet decapsulated whole: BPF_PROG_TEST_RUN cannot
	 * make a TCP GSO skb (its gso_size alone makes bpf_skb_adjust_room
	 * refuse), so tests/e2e/offloads.sh checks it end to end. */
	{ .desc = "tc transit: VPC B's 10.1.1.11 gets VPC B's packet (same IP "
		  "as an endpoint of VPC A)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B, .inner = TO_EP2()),
	  .verdict = TC_ACT_REDIRECT, .out = TO_EP2(.dmac = MAC_B11),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "tc transit: a bypass-decap endpoint receives the tunnel "
		  "packet as is, addressed to its own MAC",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP6)),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TUNNEL(.dmac = MAC_EP6, .from = H2, .vni = VNI_A,
			.inner = FROM_REMOTE(.dst = EP6)),
	  .counters = ONE(MZR_CNT_DELIVER_BYPASS) },

	/* -- Trust (docs/security.md). -- */
	{ .desc = "tc transit: Mizar Geneve from an underlay address that is "
		  "no known Mizar host (H7) is dropped (unknown_peer), never "
		  "delivered nor learned",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H7, .smac = MAC_REMOTE, .vni = VNI_A,
		       .inner = TO_EP2(.src = IP4(10, 1, 1, 24))),
	  .verdict = TC_ACT_SHOT,
	  .counters = ONE(DROP(MZR_DROP_UNKNOWN_PEER)) },
	{ .desc = "tc transit: a frame whose RTS (H6) is not its outer source "
		  "(H2) is delivered but its RTS is not believed "
		  "(learn_refused)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .rts = H6, .vni = VNI_A,
		       .inner = TO_EP2(.src = IP4(10, 1, 1, 25))),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TO_EP2_DELIVERED(.src = IP4(10, 1, 1, 25)),
	  .counters = ONE(MZR_CNT_LEARN_REFUSED) },
	{ .desc = "tc transit: VPC A traffic for an address only VPC B has "
		  "here never reaches VPC B's endpoint (goes to A's divider)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 12))),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_FWD(.smac = MAC_H2, .from = H2, .to = H4, .vni = VNI_A,
			.ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 12))),
	  .counters = ONE(MZR_CNT_BOUNCER_TO_DIVIDER) },

	/* -- Bouncer. -- */
	{ .desc = "tc transit: a bouncer rewrites the outer header to the "
		  "endpoint's host, TTL - 1, and sends it on",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_FWD(.smac = MAC_H2, .from = H2, .to = H5, .vni = VNI_A,
			.ttl = 63, .inner = FROM_REMOTE(.dst = EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_FWD) },
	{ .desc = "tc transit: outer TTL 1 on a forwarding hop is dropped",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .ttl = 1,
		       .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_TTL_EXPIRED)) },
	{ .desc = "tc transit: a stale direct-path packet is re-sent to a "
		  "bouncer of the destination's network, DIRECT cleared",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H6, .vni = VNI_A, .flags = MZR_F_DIRECT,
		       .inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 98))),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_FWD(.smac = MAC_H6, .from = H6, .to = A1_BOUNCER,
			.vni = VNI_A, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 98))),
	  .counters = ONE(MZR_CNT_STALE_DIRECT) },
	{ .desc = "tc transit: a bouncer answers ARP for a known endpoint, "
		  "back to the host the request came from (not its RTS, H6)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .rts = H6, .vni = VNI_A, .ttl = 9,
		       .inner = ARP_FROM_REMOTE(EP3)),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_FWD(.smac = MAC_H2, .from = US, .to = H2, .vni = VNI_A,
			.inner = ARP_ANSWER_TO_REMOTE(EP3, MAC_EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_ARP) },
	{ .desc = "tc transit: ARP for an address nobody has is dropped "
		  "(no_endpoint)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = ARP_FROM_REMOTE(IP4(10, 1, 1, 99))),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_NO_ENDPOINT)) },

	/* -- Divider. -- */
	{ .desc = "tc transit: a divider routes to a bouncer of the "
		  "destination network, flags it ROUTED and decrements the "
		  "inner TTL",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7))),
	  .verdict = TC_ACT_REDIRECT,
	  .out = TC_FWD(.smac = MAC_H2, .from = H2, .to = H3, .vni = VNI_B,
			.flags = MZR_F_ROUTED, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7),
					     .ttl = 63)),
	  .counters = ONE(MZR_CNT_DIVIDER_FWD) },
	{ .desc = "tc transit: a divider drops an inner TTL of 1 "
		  "(ttl_expired)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7), .ttl = 1)),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_TTL_EXPIRED)) },
	{ .desc = "tc transit: a packet a divider already routed, for an "
		  "unknown endpoint, dies here (no bouncer/divider ping-pong)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .flags = MZR_F_ROUTED,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7))),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_NO_ENDPOINT)) },
	{ .desc = "tc transit: a divider with no network for the destination "
		  "drops it (no_route)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 9, 9, 9))),
	  .verdict = TC_ACT_SHOT, .counters = ONE(DROP(MZR_DROP_NO_ROUTE)) },
};

/* With the XDP transit attached (flag clear) the tc program leaves the
 * underlay's frames alone: XDP has handled them already. */
static const struct fixture xdp_transit[] = {
	{ .desc = "tc program, XDP transit: a tunnel frame on the underlay is "
		  "left alone (the XDP transit's)",
	  .prog = PROG_TC_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = TC_ACT_UNSPEC, .out_same = true },
};

/* Learning follows the same rules as in XDP: from a delivered frame whose
 * RTS is its outer source, never from an unknown peer or a foreign RTS. */
static int check_learned(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 1, 1, 20)) };
	struct mzr_direct_val v;

	if (bpf_map_lookup_elem(env.direct_fd, &k, &v) || v.host != htonl(H5) ||
	    mono_ns() - v.updated_ns > 60000000000ULL) {
		printf("FAIL: tc delivery did not learn 10.1.1.20 -> H5\n");
		return 1;
	}
	printf("ok: tc delivery learned (VPC A, 10.1.1.20) -> 192.168.1.5\n");
	for (uint32_t ip = IP4(10, 1, 1, 24); ip <= IP4(10, 1, 1, 25); ip++) {
		k.ip = htonl(ip);
		if (!bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
			printf("FAIL: tc transit learned (VPC A, %08x) from an "
			       "unknown peer or a foreign RTS\n", ip);
			return 1;
		}
	}
	printf("ok: nothing learned from an unknown peer or a foreign RTS\n");
	return 0;
}

int main(void)
{
	const struct fixture_progs *ps;
	int fails;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	ps = core_env_progs(&env);
	set_tc_transit(true);
	fails = fixture_run_table(ps, tc_transit, ARRAY_SIZE(tc_transit));
	fails += check_learned();

	set_tc_transit(false);
	fails += fixture_run_table(ps, xdp_transit, ARRAY_SIZE(xdp_transit));
	printf("tc transit fixtures: %d failures\n", fails);
	return fails ? 1 : 0;
}
