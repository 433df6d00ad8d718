// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The core back-plane, packet by packet: each fixture feeds one frame to
 * the real transit agent or transit program (BPF_PROG_TEST_RUN), loaded and
 * configured through libmizar's API as an agent does, and states the
 * verdict, the exact output frame and the counters that must move. One
 * table per program (tests/lib/fixture.h); a new case is one entry.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define ONE(c) { { (c), 1 } }
#define OPT(c, t, v) { .cls = (c), .type = (t), .val = (v) }

static struct core_env env;

/* ---- Transit agent (PROG_AGENT, ingress ep1h) --------------------------- */

/* EP1 to EP3 (on H5), the agent fixtures' usual flow. */
#define TO_EP3(...) FROM_EP1(.dst = EP3, __VA_ARGS__)

/* The gateway of A1 answers EP1's too-big frame @q with ICMP Fragmentation
 * Needed, next-hop MTU 1500 - 66 = 1434 (RFC 1191), quoting @q's IPv4
 * header and 8 bytes. */
#define GW_FRAG_NEEDED(q)                                                      \
	FRAG_NEEDED(q, .dmac = MAC_EP1, .smac = MAC_GW_A1, .src = GW_A1,       \
		    .dst = EP1, .mtu = 1500 - MZR_ENCAP_LEN)
#define FRAG_NEEDED_CASE(desc_, q)                                             \
	{ .desc = desc_, .prog = PROG_AGENT, .in = q, .verdict = XDP_TX,       \
	  .out = GW_FRAG_NEEDED(q),                                            \
	  .counters = { { MZR_CNT_AGENT_FRAG_NEEDED, 1 },                      \
			{ DROP(MZR_DROP_TOO_BIG), 1 } } }

/* Checksums the agent must fix, before the tail-length series. */
static const struct fixture agent_head[] = {
	{ .desc = "agent: an endpoint's UDP to a remote endpoint is "
		  "tunnelled to a bouncer of its network chosen by the flow "
		  "hash",
	  .prog = PROG_AGENT, .in = TO_EP3(), .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TO_EP3()),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "agent: TCP is tunnelled the same way, source port from the "
		  "flow",
	  .prog = PROG_AGENT, .in = TCP_FROM_EP1(.dst = EP3),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TCP_FROM_EP1(.dst = EP3)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	/* Checksum offload pending in the endpoint (CHECKSUM_PARTIAL): the
	 * TCP checksum field holds only the pseudo-header sum. XDP keeps no
	 * such state, so the agent computes the whole checksum. */
	{ .desc = "agent: a TCP segment whose checksum is only the "
		  "pseudo-header sum (offload pending) leaves with its full "
		  "checksum",
	  .prog = PROG_AGENT,
	  .in = TCP_FROM_EP1(.dst = EP3, .payload = 1200,
			     .patch = { PATCH(PKT_L_TCP, 16, SET, 0x12),
					PATCH(PKT_L_TCP, 17, SET, 0x34) }),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TCP_FROM_EP1(.dst = EP3, .payload = 1200)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "agent: a UDP datagram with a wrong checksum leaves with the "
		  "right one (odd length, over one 512-byte chunk)",
	  .prog = PROG_AGENT,
	  .in = TO_EP3(.payload = 513,
		       .patch = { PATCH(PKT_L_UDP, 6, XOR, 0x5a) }),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TO_EP3(.payload = 513)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	/* An IP payload longer than its UDP datagram (bytes past the UDP
	 * length): the checksum covers the datagram only, as sent. */
	{ .desc = "agent: UDP bytes past the datagram's length are not "
		  "summed: a right checksum stays right",
	  .prog = PROG_AGENT, .in = TO_EP3(.payload = 100, .trailer = 4),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TO_EP3(.payload = 100, .trailer = 4)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
};

/* Every length of the last chunk's tail (0 to 511 bytes), the padding of
 * the longest ones included (UDP: 8 + payload); every tail below 64 (the
 * sum reads its words and last bytes in place). Generated: one entry per
 * tail length. */
#define TAIL_MAX 512
static bool tail_tested(size_t t)
{
	return !(t % 32 && t < 500 && t >= 64);
}

static struct frame tail_inner[TAIL_MAX], tail_in[TAIL_MAX],
	tail_out[TAIL_MAX];

static size_t tail_fixtures(struct fixture *tab)
{
	size_t n = 0;

	for (size_t t = 0; t < TAIL_MAX; t++) {
		if (!tail_tested(t))
			continue;
		tail_inner[n] = *TO_EP3(.payload = 512 + t - 8);
		tail_in[n] = tail_inner[n];
		tail_in[n].patch[0] = (struct frame_patch)PATCH(PKT_L_UDP, 6,
								XOR, 0x5a);
		tail_out[n] = *AGENT_OUT(.inner = &tail_inner[n]);
		tab[n] = (struct fixture){
			.desc = "agent: UDP checksums are right for every tail "
				"length (512 + 0..511 bytes)",
			.prog = PROG_AGENT, .in = &tail_in[n],
			.verdict = XDP_REDIRECT, .out = &tail_out[n],
			.counters = ONE(MZR_CNT_AGENT_ENCAP),
		};
		n++;
	}
	return n;
}

static const struct fixture agent[] = {
	{ .desc = "agent: a fresh learned entry sends straight to the "
		  "destination's host, flagged DIRECT",
	  .prog = PROG_AGENT, .in = FROM_EP1(.dst = IP4(10, 1, 1, 60)),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.to = H6, .flags = MZR_F_DIRECT,
			   .inner = FROM_EP1(.dst = IP4(10, 1, 1, 60))),
	  .counters = ONE(MZR_CNT_AGENT_DIRECT) },
	{ .desc = "agent: a learned host of another network is no shortcut: "
		  "the packet goes to the own network's bouncer (then a "
		  "divider)",
	  .prog = PROG_AGENT, .in = FROM_EP1(.dst = IP4(10, 1, 3, 60)),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = FROM_EP1(.dst = IP4(10, 1, 3, 60))),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "agent: a learned entry older than 30 s is ignored "
		  "(bouncer)",
	  .prog = PROG_AGENT, .in = FROM_EP1(.dst = IP4(10, 1, 1, 61)),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = FROM_EP1(.dst = IP4(10, 1, 1, 61))),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "agent: an ARP request is tunnelled unchanged to a bouncer",
	  .prog = PROG_AGENT, .in = ARP(.smac = MAC_EP1, .src = EP1, .dst = EP3),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = ARP(.smac = MAC_EP1, .src = EP1,
					.dst = EP3)),
	  .counters = ONE(MZR_CNT_AGENT_ARP) },
	{ .desc = "agent: an ARP reply from an endpoint is dropped (the "
		  "back-plane answers ARP)",
	  .prog = PROG_AGENT,
	  .in = ARP(.op = 2, .smac = MAC_EP1, .src = EP1, .dst = EP3),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_ARP)) },
	{ .desc = "agent: an endpoint sending from another IP is dropped "
		  "(spoofed)",
	  .prog = PROG_AGENT, .in = TO_EP3(.src = IP4(10, 1, 1, 99)),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_SPOOFED)) },
	{ .desc = "agent: an endpoint sending from another MAC is dropped "
		  "(spoofed)",
	  .prog = PROG_AGENT, .in = TO_EP3(.smac = MAC_EP2),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_SPOOFED)) },
	{ .desc = "agent: an ARP request claiming another IP is dropped "
		  "(spoofed)",
	  .prog = PROG_AGENT, .in = ARP(.smac = MAC_EP1, .src = EP2, .dst = EP3),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_SPOOFED)) },
	{ .desc = "agent: traffic between two endpoints of this host is "
		  "hairpinned with the destination's MAC, never tunnelled",
	  .prog = PROG_AGENT, .in = FROM_EP1(.dst = EP2),
	  .verdict = XDP_REDIRECT, .out = FROM_EP1(.dst = EP2, .dmac = MAC_EP2),
	  .counters = ONE(MZR_CNT_AGENT_LOCAL) },
	{ .desc = "agent: a frame neither IPv4 nor ARP (IPv6) is dropped",
	  .prog = PROG_AGENT,
	  .in = ETH(.dmac = MAC_GW_A1, .smac = MAC_EP1, .ethertype = 0x86dd,
		    .payload = 60),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NOT_IPV4)) },
	{ .desc = "agent: a frame on an interface with no endpoint is dropped",
	  .prog = PROG_AGENT, .dev = "noeph", .in = TO_EP3(),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_UNKNOWN_EP)) },
	{ .desc = "agent: a truncated IPv4 header is dropped",
	  .prog = PROG_AGENT, .in = TO_EP3(.cut = 14 + 12),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_MALFORMED)) },
	{ .desc = "agent: a truncated UDP header is dropped",
	  .prog = PROG_AGENT, .in = TO_EP3(.cut = 14 + 20 + 4),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_MALFORMED)) },
	/* Outer IPv4 = frame + 52 bytes; the underlay MTU is 1500. */
	{ .desc = "agent: a frame without DF that would exceed the underlay "
		  "MTU once encapsulated is dropped (too_big; the agent does "
		  "not fragment)",
	  .prog = PROG_AGENT, .in = TO_EP3(.len = FITS_MTU + 1),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TOO_BIG)) },
	{ .desc = "agent: a frame that exactly fills the underlay MTU once "
		  "encapsulated is sent",
	  .prog = PROG_AGENT, .in = TO_EP3(.len = FITS_MTU),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TO_EP3(.len = FITS_MTU)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },

	/* Path MTU discovery: too-big IPv4 with DF is answered with ICMP
	 * Fragmentation Needed (RFC 1191), next-hop MTU 1500 - 66 = 1434. */
	FRAG_NEEDED_CASE("agent: too-big TCP with DF is answered by the "
			 "gateway with ICMP frag needed, mtu 1434, quoting IP "
			 "+ 8 bytes (and counted too_big)",
			 TCP_FROM_EP1(.dst = EP3, .frag_off = 0x4000,
				      .len = FITS_MTU + 1)),
	{ .desc = "agent: TCP with DF that exactly fills the underlay MTU "
		  "once encapsulated is sent",
	  .prog = PROG_AGENT,
	  .in = TCP_FROM_EP1(.dst = EP3, .frag_off = 0x4000, .len = FITS_MTU),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TCP_FROM_EP1(.dst = EP3,
						 .frag_off = 0x4000,
						 .len = FITS_MTU)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	FRAG_NEEDED_CASE("agent: too-big UDP with DF and 40 bytes of IP "
			 "options (ihl 15): the whole 60-byte header is "
			 "quoted, odd frame length",
			 TO_EP3(.frag_off = 0x4000, .ihl = 15,
				.len = FITS_MTU + 1 + 300)),
	FRAG_NEEDED_CASE("agent: a too-big ICMP echo request with DF (ping -M "
			 "do) is answered with frag needed",
			 TO_EP3(.proto = 1, .frag_off = 0x4000,
				.len = FITS_MTU + 1)),
	{ .desc = "agent: a too-big ICMP error with DF is only dropped (no "
		  "error about an error)",
	  .prog = PROG_AGENT,
	  .in = TO_EP3(.proto = 1, .type = 3, .frag_off = 0x4000,
		       .len = FITS_MTU + 1),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TOO_BIG)) },
	/* DF with an offset: not a first part */
	{ .desc = "agent: a too-big later fragment (offset != 0) with DF is "
		  "only dropped",
	  .prog = PROG_AGENT,
	  .in = TO_EP3(.frag_off = 0x4000 | 185, .len = FITS_MTU + 1),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TOO_BIG)) },
	{ .desc = "agent: a too-big multicast datagram with DF is only "
		  "dropped (RFC 1812: no ICMP error about it)",
	  .prog = PROG_AGENT,
	  .in = FROM_EP1(.dst = IP4(224, 0, 0, 9), .frag_off = 0x4000,
			 .len = FITS_MTU + 1),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TOO_BIG)) },
	{ .desc = "agent: a too-big frame with DF whose IPv4 header is bad "
		  "(ihl 4) is dropped malformed by the parser",
	  .prog = PROG_AGENT,
	  .in = TO_EP3(.frag_off = 0x4000, .len = FITS_MTU + 1,
		       .patch = { PATCH(PKT_L_IPV4, 0, SET, 0x44) }),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_MALFORMED)) },

	{ .desc = "agent: IPv4 with options is tunnelled intact",
	  .prog = PROG_AGENT, .in = TO_EP3(.ihl = 7), .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TO_EP3(.ihl = 7)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	/* first fragment: MF */
	{ .desc = "agent: a first fragment is hashed without ports (all "
		  "fragments take one path)",
	  .prog = PROG_AGENT, .in = TO_EP3(.frag_off = 0x2000),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = TO_EP3(.frag_off = 0x2000)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	/* Bouncer's neighbour unresolved (XDP_PASS with XDP metadata for
	 * the tc program): test_core_neigh.c. */
	{ .desc = "agent: when this host is the network's bouncer the frame "
		  "is bounced here, straight to the destination's host",
	  .prog = PROG_AGENT, .dev = "ep4h",
	  .in = UDP(.dmac = MAC_GW_A2, .smac = MAC_EP4, .src = EP4, .dst = EP3,
		    .sport = 999, .dport = 443, .payload = 16),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.to = H5, .ttl = 63,
			   .inner = UDP(.dmac = MAC_GW_A2, .smac = MAC_EP4,
					.src = EP4, .dst = EP3, .sport = 999,
					.dport = 443, .payload = 16)),
	  .counters = ONE(MZR_CNT_BOUNCER_FWD) },
	{ .desc = "agent: ARP for the gateway, this host being the bouncer: "
		  "answered right back to the endpoint",
	  .prog = PROG_AGENT, .dev = "ep4h",
	  .in = ARP(.smac = MAC_EP4, .src = EP4, .dst = GW_A2),
	  .verdict = XDP_REDIRECT,
	  .out = ARP(.op = 2, .dmac = MAC_EP4, .smac = MAC_GW_A2, .src = GW_A2,
		     .tha = MAC_EP4, .dst = EP4),
	  .counters = ONE(MZR_CNT_BOUNCER_ARP) },
};

/* ---- Transit (PROG_TRANSIT, ingress ul0) -------------------------------- */

/* The remote sender to EP2 (here), the transit fixtures' usual inner. */
#define TO_EP2(...) FROM_REMOTE(.dst = EP2, __VA_ARGS__)
/* ... as delivered: with EP2's MAC. */
#define TO_EP2_DELIVERED(...) TO_EP2(.dmac = MAC_EP2, __VA_ARGS__)
/* Hand-made Geneve from H2: UDP source port 5000, options as given. */
#define H2_GENEVE(...)                                                         \
	TUNNEL(.from = H2, .sport = 5000, .vni = VNI_A, __VA_ARGS__)

/* Where a frame cut at @len_ ends up: outside Mizar's Geneve, the kernel
 * gets it unchanged; inside, a counted malformed drop. */
#define CUT_PASS(desc_, len_)                                                  \
	{ .desc = desc_, .prog = PROG_TRANSIT,                                 \
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(),            \
		       .cut = (len_)),                                         \
	  .verdict = XDP_PASS, .out_same = true, .out_malformed = true,        \
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) }
#define CUT_DROP(desc_, len_)                                                  \
	{ .desc = desc_, .prog = PROG_TRANSIT,                                 \
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(),            \
		       .cut = (len_)),                                         \
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_MALFORMED)) }

static const struct fixture transit[] = {
	/* -- Not ours: the kernel gets it unchanged. -- */
	{ .desc = "transit: non-IP traffic on the underlay goes to the kernel",
	  .prog = PROG_TRANSIT, .in = ARP(.smac = MAC_H2, .src = H2, .dst = US),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "transit: UDP to another port (VXLAN 4789) goes to the "
		  "kernel",
	  .prog = PROG_TRANSIT,
	  .in = UDP(.dmac = MAC_US, .smac = MAC_H2, .src = H2, .dst = US,
		    .sport = 5555, .dport = 4789, .payload = 40),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "transit: Geneve without Mizar's option class belongs to "
		  "another user: kernel",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.opts = { OPT(0x0102, 0x01, 0xdeadbeef) },
			  .inner = TO_EP2()),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "transit: Geneve with no options at all goes to the kernel",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0, .no_opts = true, .inner = TO_EP2()),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "transit: Mizar Geneve addressed to another host goes to "
		  "the kernel",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.dmac = MAC_US, .smac = MAC_H2, .from = H2, .to = H3,
		       .vni = VNI_A, .inner = TO_EP2()),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "transit: Mizar Geneve for an unknown VNI goes to the "
		  "kernel (counted)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = 4242, .inner = TO_EP2()),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_UNKNOWN_VNI) },
	/* The VPC is looked up after the inner frame is parsed (and only
	 * when no endpoint entry decides): an unknown VNI still goes to the
	 * kernel whatever it carries, a frame cut short included. */
	{ .desc = "transit: an unknown VNI goes to the kernel even with an "
		  "inner frame cut short (counted)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = 4242, .inner = RAW(.nbytes = 10)),
	  .verdict = XDP_PASS, .out_same = true, .out_malformed = true,
	  .counters = ONE(MZR_CNT_UNKNOWN_VNI) },
	{ .desc = "transit: an outer header with IP options is not ours",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0, .ihl = 6, .no_flags_opt = true,
			  .inner = TO_EP2()),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	{ .desc = "transit: an outer fragment is left to the kernel to "
		  "reassemble",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0x2000, .no_flags_opt = true,
			  .inner = TO_EP2()),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },

	/* -- Delivery on the endpoint's host. -- */
	{ .desc = "transit: a packet for an endpoint hosted here is "
		  "decapsulated and given the endpoint's MAC (and the sender "
		  "is learned)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H5, .vni = VNI_A, .inner = TO_EP2(.src = EP3)),
	  .verdict = XDP_REDIRECT, .out = TO_EP2_DELIVERED(.src = EP3),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "transit: VPC B's 10.1.1.11 gets VPC B's packet (same IP as "
		  "an endpoint of VPC A)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B, .inner = TO_EP2()),
	  .verdict = XDP_REDIRECT, .out = TO_EP2(.dmac = MAC_B11),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "transit: a packet a divider routed (from network "
		  "10.2.1.0/24) is delivered, and its sender is not learned "
		  "(no direct path across networks)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .flags = MZR_F_ROUTED,
		       .ttl = 63,
		       .inner = TO_EP2(.src = IP4(10, 2, 1, 7), .ttl = 63)),
	  .verdict = XDP_REDIRECT,
	  .out = TO_EP2(.dmac = MAC_B11, .src = IP4(10, 2, 1, 7), .ttl = 63),
	  .counters = ONE(MZR_CNT_DELIVER) },

	/* -- Trust (docs/security.md). -- */
	{ .desc = "transit: Mizar Geneve from an underlay address that is no "
		  "known Mizar host (H7) is dropped (unknown_peer), never "
		  "delivered nor learned",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H7, .smac = MAC_REMOTE, .vni = VNI_A,
		       .inner = TO_EP2(.src = IP4(10, 1, 1, 24))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_UNKNOWN_PEER)) },
	{ .desc = "transit: a frame whose RTS (H6) is not its outer source "
		  "(H2) is delivered but its RTS is not believed "
		  "(learn_refused)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .rts = H6, .vni = VNI_A,
		       .inner = TO_EP2(.src = IP4(10, 1, 1, 25))),
	  .verdict = XDP_REDIRECT,
	  .out = TO_EP2_DELIVERED(.src = IP4(10, 1, 1, 25)),
	  .counters = ONE(MZR_CNT_LEARN_REFUSED) },
	{ .desc = "transit: VPC A traffic for an address only VPC B has here "
		  "never reaches VPC B's endpoint (goes to A's divider)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 12))),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H4, .vni = VNI_A, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 12))),
	  .counters = ONE(MZR_CNT_BOUNCER_TO_DIVIDER) },
	{ .desc = "transit: a bypass-decap endpoint receives the tunnel "
		  "packet as is but addressed to its own MAC (its kernel "
		  "drops any other)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP6)),
	  .verdict = XDP_REDIRECT,
	  .out = TUNNEL(.dmac = MAC_EP6, .from = H2, .vni = VNI_A,
			.inner = FROM_REMOTE(.dst = EP6)),
	  .counters = ONE(MZR_CNT_DELIVER_BYPASS) },
	{ .desc = "transit: inner IPv4 with options is delivered intact",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(.ihl = 8)),
	  .verdict = XDP_REDIRECT, .out = TO_EP2_DELIVERED(.ihl = 8),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "transit: an inner first fragment is delivered",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = TO_EP2(.frag_off = 0x2000)),
	  .verdict = XDP_REDIRECT, .out = TO_EP2_DELIVERED(.frag_off = 0x2000),
	  .counters = ONE(MZR_CNT_DELIVER) },
	/* a later fragment: no UDP header */
	{ .desc = "transit: an inner later fragment (no L4 header) is "
		  "bounced like the rest of its datagram",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP3, .frag_off = 185)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H5, .vni = VNI_A, .ttl = 63,
			.inner = FROM_REMOTE(.dst = EP3, .frag_off = 185)),
	  .counters = ONE(MZR_CNT_BOUNCER_FWD) },

	/* -- Bouncer ARP responder: the answer leaves from this host. -- */
	{ .desc = "transit: a bouncer answers ARP for a known endpoint, back "
		  "to the requester's host",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .ttl = 9,
		       .inner = ARP_FROM_REMOTE(EP3)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = US, .to = H2, .vni = VNI_A,
			.inner = ARP_ANSWER_TO_REMOTE(EP3, MAC_EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_ARP) },
	{ .desc = "transit: a bouncer answers ARP for its network's gateway "
		  "with the gateway MAC",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = ARP_FROM_REMOTE(GW_A1)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = US, .to = H2, .vni = VNI_A,
			.inner = ARP_ANSWER_TO_REMOTE(GW_A1, MAC_GW_A1)),
	  .counters = ONE(MZR_CNT_BOUNCER_ARP) },
	{ .desc = "transit: an ARP request is answered to the host it came "
		  "from (outer source H2), not to the host its RTS claims (H6)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .rts = H6, .vni = VNI_A,
		       .inner = ARP_FROM_REMOTE(EP3)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = US, .to = H2, .vni = VNI_A,
			.inner = ARP_ANSWER_TO_REMOTE(EP3, MAC_EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_ARP) },
	{ .desc = "transit: ARP for an address nobody has is dropped "
		  "(no_endpoint)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = ARP_FROM_REMOTE(IP4(10, 1, 1, 99))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ENDPOINT)) },

	/* -- Bouncer forwarding. -- */
	{ .desc = "transit: a bouncer rewrites the outer header to the "
		  "endpoint's host, TTL - 1, and sends it back out",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H5, .vni = VNI_A, .ttl = 63,
			.inner = FROM_REMOTE(.dst = EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_FWD) },
	{ .desc = "transit: a bouncer keeps the DIRECT flag and RTS as they "
		  "are",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H6, .vni = VNI_A, .flags = MZR_F_DIRECT,
		       .ttl = 20, .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H6, .to = H5, .vni = VNI_A,
			.flags = MZR_F_DIRECT, .ttl = 19,
			.inner = FROM_REMOTE(.dst = EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_FWD) },
	{ .desc = "transit: outer TTL 1 on a forwarding hop is dropped",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .ttl = 1,
		       .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TTL_EXPIRED)) },
	/* Endpoint's host neighbour unresolved (XDP_PASS with XDP metadata
	 * for the tc program): test_core_neigh.c. */
	{ .desc = "transit: a bouncer without the endpoint sends it to a "
		  "divider of the VPC",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 99))),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H4, .vni = VNI_A, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 99))),
	  .counters = ONE(MZR_CNT_BOUNCER_TO_DIVIDER) },
	{ .desc = "transit: a stale direct-path packet is re-sent to a "
		  "bouncer of the destination's network, DIRECT cleared",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H6, .vni = VNI_A, .flags = MZR_F_DIRECT,
		       .inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 98))),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H6, .to = A1_BOUNCER, .vni = VNI_A, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 98))),
	  .counters = ONE(MZR_CNT_STALE_DIRECT) },

	/* -- Divider. -- */
	{ .desc = "transit: a divider routes to a bouncer of the destination "
		  "network, flags it ROUTED and decrements the inner TTL",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7))),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H3, .vni = VNI_B,
			.flags = MZR_F_ROUTED, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7),
					     .ttl = 63)),
	  .counters = ONE(MZR_CNT_DIVIDER_FWD) },
	{ .desc = "transit: a divider drops an inner TTL of 1 (ttl_expired)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7), .ttl = 1)),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TTL_EXPIRED)) },
	{ .desc = "transit: a packet a divider already routed, for an unknown "
		  "endpoint, dies here (no bouncer/divider ping-pong)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .flags = MZR_F_ROUTED,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ENDPOINT)) },
	{ .desc = "transit: a divider with no network for the destination "
		  "drops it (no_route)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 9, 9, 9))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ROUTE)) },
	{ .desc = "transit: a divider that is itself the destination "
		  "network's bouncer and lacks the endpoint drops it "
		  "(no_endpoint)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 2, 99))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ENDPOINT)) },
	{ .desc = "transit: a divider cannot mark a packet with no FLAGS "
		  "option: dropped (bad_option)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B, .no_flags_opt = true,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_BAD_OPTION)) },
	{ .desc = "transit: a VPC with no divider drops what it cannot "
		  "deliver (no_route)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_C,
		       .inner = FROM_REMOTE(.dst = IP4(10, 1, 1, 99))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ROUTE)) },

	/* -- Bad input. -- */
	{ .desc = "transit: VNI 0 with Mizar options is dropped (bad_vni)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = 0, .inner = TO_EP2()),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_BAD_VNI)) },
	{ .desc = "transit: Geneve version 1 cannot be parsed, so is not "
		  "known to be ours: kernel, unchanged",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(),
		       .patch = { PATCH(PKT_L_GENEVE, 0, OR, 0x40) }),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	/* The option claims 20 bytes of an 8-byte area. */
	{ .desc = "transit: another user's Geneve whose option runs past the "
		  "option area (no Mizar option) is not ours: kernel, "
		  "unchanged",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0,
			  .opts = { OPT(0x0102, 0x01, 0xdeadbeef) },
			  .inner = TO_EP2(),
			  .patch = { PATCH(PKT_L_GENEVE, 8 + 3, SET, 5) }),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	/* Cut inside the second option. */
	{ .desc = "transit: another user's Geneve whose option area runs past "
		  "the frame (no Mizar option in it) is not ours: kernel",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0,
			  .opts = { OPT(0x0102, 0x01, 0xdeadbeef),
				    OPT(0x0102, 0x02, 0xdeadbeef) },
			  .cut = 50 + 12),
	  .verdict = XDP_PASS, .out_same = true, .out_malformed = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
	/* RTS, the first option, claims 40 bytes. */
	{ .desc = "transit: a Mizar option whose own length runs past the "
		  "option area is dropped (bad_option: its class says it is "
		  "ours)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(),
		       .patch = { PATCH(PKT_L_GENEVE, 8 + 3, SET, 9) }),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_BAD_OPTION)) },
	{ .desc = "transit: a Mizar control packet (Geneve O bit) is not "
		  "forwarded nor delivered: kernel, unchanged (counted "
		  "geneve_oam)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(),
		       .patch = { PATCH(PKT_L_GENEVE, 1, OR, 0x80) }),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_GENEVE_OAM) },
	{ .desc = "transit: a Mizar control packet (O bit) for a remote "
		  "endpoint is not bounced either: kernel, unchanged",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP3),
		       .patch = { PATCH(PKT_L_GENEVE, 1, OR, 0x80) }),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_GENEVE_OAM) },
	/* The FLAGS option claims 20 bytes. */
	{ .desc = "transit: an option longer than the option area is dropped "
		  "(bad_option)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .inner = TO_EP2(),
		       .patch = { PATCH(PKT_L_GENEVE, 8 + 8 + 3, SET, 5) }),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_BAD_OPTION)) },
	{ .desc = "transit: an unknown critical option of Mizar's class is "
		  "dropped (crit_option)",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0,
			  .opts = { OPT(MZR_OPT_CLASS, MZR_OPT_RTS, H2),
				    OPT(MZR_OPT_CLASS, 0x85, 1) },
			  .inner = TO_EP2()),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_CRIT_OPTION)) },
	{ .desc = "transit: an unknown critical option of another class in a "
		  "Mizar packet is dropped (crit_option)",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(.frag_off = 0,
			  .opts = { OPT(0x0102, 0x80, 1),
				    OPT(MZR_OPT_CLASS, MZR_OPT_RTS, H2),
				    OPT(MZR_OPT_CLASS, MZR_OPT_FLAGS, 0) },
			  .inner = TO_EP2()),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_CRIT_OPTION)) },
	{ .desc = "transit: unknown non-critical options (any class, any "
		  "position, any length) are skipped",
	  .prog = PROG_TRANSIT,
	  .in = H2_GENEVE(
		  .frag_off = 0,
		  .opts = { { .cls = 0x0102, .type = 0x05, .len = 12,
			      .data = (const uint8_t[12]){ 1, 2, 3, 4, 5, 6,
							   7, 8, 9 } },
			    OPT(MZR_OPT_CLASS, MZR_OPT_FLAGS, 0),
			    OPT(MZR_OPT_CLASS, 0x07, 0x12345678),
			    { .cls = 0xffff, .type = 0x7f, .raw = true },
			    OPT(MZR_OPT_CLASS, MZR_OPT_RTS, H2) },
		  .inner = TO_EP2()),
	  .verdict = XDP_REDIRECT, .out = TO_EP2_DELIVERED(),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "transit: an inner frame neither IPv4 nor ARP is dropped "
		  "(not_ipv4)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = ETH(.dmac = MAC_EP2, .smac = MAC_REMOTE,
				    .ethertype = 0x86dd, .payload = 48)),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NOT_IPV4)) },

	/* Truncation at every header boundary. */
	CUT_PASS("transit: a frame cut inside the outer IPv4 header is not "
		 "ours (kernel)", 14 + 12),
	CUT_PASS("transit: a frame cut inside the outer UDP header is not "
		 "ours (kernel)", 34 + 4),
	CUT_PASS("transit: a frame cut inside the Geneve header is not known "
		 "to be ours (kernel)", 42 + 5),
	CUT_PASS("transit: a frame cut inside the first option's header is "
		 "not known to be ours (kernel)", 50 + 2),
	CUT_DROP("transit: a frame cut inside the Geneve options, after a "
		 "Mizar option, is dropped (malformed)", 50 + 10),
	CUT_DROP("transit: a frame cut inside the inner Ethernet header is "
		 "dropped (malformed)", 66 + 8),
	CUT_DROP("transit: a frame cut inside the inner IPv4 header is "
		 "dropped (malformed)", 80 + 16),
	CUT_DROP("transit: a frame cut inside the inner UDP header is "
		 "dropped (malformed)", 100 + 6),
};

/* ---- Checks beyond the frames ------------------------------------------- */

static int check_learned(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 1, 1, 20)) };
	struct mzr_direct_val v;

	if (bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
		printf("FAIL: delivery did not learn 10.1.1.20 -> its host\n");
		return 1;
	}
	if (v.host != htonl(H5) || mono_ns() - v.updated_ns > 60000000000ULL) {
		printf("FAIL: learned 10.1.1.20 -> %08x (want H5), age %llu\n",
		       ntohl(v.host),
		       (unsigned long long)(mono_ns() - v.updated_ns));
		return 1;
	}
	printf("ok: delivery learned (VPC A, 10.1.1.20) -> 192.168.1.5\n");

	/* Routed between networks: never a direct path (the divider and its
	 * hook stay on the way). */
	k.vni = VNI_B;
	k.ip = htonl(IP4(10, 2, 1, 7));
	if (!bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
		printf("FAIL: delivery of a ROUTED packet learned (VPC B, "
		       "10.2.1.7) -> %08x\n", ntohl(v.host));
		return 1;
	}
	printf("ok: delivery of a ROUTED packet learned nothing\n");

	/* Unknown peer, RTS not the outer source: nothing learned. */
	k.vni = VNI_A;
	for (uint32_t ip = IP4(10, 1, 1, 24); ip <= IP4(10, 1, 1, 25); ip++) {
		k.ip = htonl(ip);
		if (!bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
			printf("FAIL: learned (VPC A, %08x) -> %08x from an "
			       "untrusted frame\n", ip, ntohl(v.host));
			return 1;
		}
	}
	printf("ok: frames from an unknown peer or with a foreign RTS "
	       "taught nothing\n");
	return 0;
}

static uint64_t missed(uint32_t idx)
{
	return fixture_counter(env.missed_fd, idx);
}

static void set_u32(int fd, uint32_t k, uint32_t v)
{
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
		perror("map update");
		exit(1);
	}
}

/* Hooks: an empty slot in a non-empty chain is a counted drop; a chain
 * whose only "NF" is the continuation itself behaves as no chain. Run one
 * by one: the chain changes between them. */
#define HOOK_IN                                                                \
	TUNNEL(.from = H2, .vni = VNI_A,                                       \
	       .inner = FROM_REMOTE(.dst = EP2, .src = IP4(10, 1, 1, 21)))
static const struct fixture hooks[] = {
	{ .desc = "hooks: a deliver chain whose NF slot is empty drops the "
		  "packet as a missed tail call",
	  .prog = PROG_TRANSIT, .in = HOOK_IN, .verdict = XDP_DROP,
	  .counters = ONE(DROP(MZR_DROP_MISSED_TAIL_CALL)) },
	{ .desc = "hooks: through a deliver chain and its continuation the "
		  "packet is delivered exactly as without a chain",
	  .prog = PROG_TRANSIT, .in = HOOK_IN, .verdict = XDP_REDIRECT,
	  .out = FROM_REMOTE(.dst = EP2, .src = IP4(10, 1, 1, 21),
			     .dmac = MAC_EP2),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "hooks: after flipping to an empty bank the packet takes "
		  "the inline path",
	  .prog = PROG_TRANSIT, .in = HOOK_IN, .verdict = XDP_REDIRECT,
	  .out = FROM_REMOTE(.dst = EP2, .src = IP4(10, 1, 1, 21),
			     .dmac = MAC_EP2),
	  .counters = ONE(MZR_CNT_DELIVER) },
};

static int hook_checks(const struct fixture_progs *ps)
{
	uint32_t slot = MZR_PROG_NF(0, MZR_HOOK_DELIVER, 0);
	uint64_t before;
	int fails = 0;

	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_BANK, 0);
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_LEN(0, MZR_HOOK_DELIVER), 1);
	before = missed(MZR_MISSED_IDX(MZR_HOOK_DELIVER, 0));
	fails += fixture_run(ps, &hooks[0]) != 0;
	if (missed(MZR_MISSED_IDX(MZR_HOOK_DELIVER, 0)) != before + 1) {
		printf("FAIL: mzr_missed[deliver, 0] did not grow\n");
		fails++;
	}

	if (bpf_map_update_elem(env.progs_fd, &slot,
				&env.cont_fd[MZR_HOOK_DELIVER], BPF_ANY)) {
		perror("mzr_progs");
		exit(1);
	}
	fails += fixture_run(ps, &hooks[1]) != 0;

	/* Flip to bank 1 (empty): the chain is gone atomically. */
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_BANK, 1);
	fails += fixture_run(ps, &hooks[2]) != 0;
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_BANK, 0);
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_LEN(0, MZR_HOOK_DELIVER), 0);
	printf("%s: hook checks\n", fails ? "FAIL" : "ok");
	return fails;
}

/* ---- Symmetry: an oracle independent of the hash function ---------------
 *
 * The fixtures above compute the expected UDP source port and bouncer with
 * the core's own hash (core_env.c includes bpf-core/hash.h). Here nothing
 * is computed: each flow is sent both ways through the real programs and
 * the two outputs must agree (same outer source port, same bouncer), with
 * the source port in the ephemeral range 49152-65535 (RFC 6335).
 */

struct sym_flow {
	uint8_t proto;
	uint16_t sport, dport;
	uint16_t frag_off;
	uint8_t ihl;
};

#define N_SYM 40

static void sym_flows(struct sym_flow *fl)
{
	uint32_t x = 0x2545f491;

	/* The flows of the agent fixtures... */
	fl[0] = (struct sym_flow){ 17, 40000, 5201, 0, 0 };
	fl[1] = (struct sym_flow){ 6, 33333, 80, 0, 0 };
	fl[2] = (struct sym_flow){ 17, 40000, 5201, 0x2000, 0 };
	fl[3] = (struct sym_flow){ 17, 40000, 5201, 0, 7 };
	fl[4] = (struct sym_flow){ 6, 999, 443, 0, 0 };
	fl[5] = (struct sym_flow){ 17, 7777, 8080, 0, 0 };
	/* ...and more, TCP and UDP, ports from a fixed LCG. */
	for (int i = 6; i < N_SYM; i++) {
		x = x * 1103515245u + 12345u;
		fl[i].proto = (x >> 16) & 1 ? 6 : 17;
		x = x * 1103515245u + 12345u;
		fl[i].sport = (uint16_t)(1 + (x >> 8) % 65535);
		x = x * 1103515245u + 12345u;
		fl[i].dport = (uint16_t)(1 + (x >> 8) % 65535);
		fl[i].frag_off = 0;
		fl[i].ihl = 0;
	}
}

/* Run @in through @prog; verdict, outer destination and UDP source port
 * of the tunnel frame it emits. */
static int sym_run(int prog, uint32_t ifindex, const struct frame *in,
		   uint32_t *dst, uint16_t *sport)
{
	static struct pkt p, out;
	int v;

	frame_build(&p, in);
	v = fixture_xdp_run(prog, ifindex, &p, &out);
	if (out.len < 42)
		return -1;
	*dst = (uint32_t)out.data[30] << 24 | (uint32_t)out.data[31] << 16 |
	       (uint32_t)out.data[32] << 8 | out.data[33];
	*sport = (uint16_t)(out.data[34] << 8 | out.data[35]);
	return v;
}

/* Flow @fl from @src_ (MAC @smac_) to @dst_, reversed when @rev. */
#define SYM_FLOW(fl, src_, smac_, dst_, rev)                                   \
	IPV4(.dmac = MAC_GW_A1, .smac = (smac_), .src = (src_), .dst = (dst_), \
	     .proto = (fl)->proto, .sport = (rev) ? (fl)->dport : (fl)->sport, \
	     .dport = (rev) ? (fl)->sport : (fl)->dport,                       \
	     .frag_off = (fl)->frag_off, .ihl = (fl)->ihl, .payload = 20)
#define SYM_STALE(fl, src_, dst_, rev)                                         \
	TUNNEL(.from = H6, .vni = VNI_A, .flags = MZR_F_DIRECT,                \
	       .inner = SYM_FLOW(fl, src_, MAC_REMOTE, dst_, rev))

static void ep_api(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "%s: %s\n", what, strerror(-err));
		exit(1);
	}
}

/* Swap EP1 (10.1.1.10, here on ep1h) and EP3 (10.1.1.20, on H5): EP3 here
 * on ep1h, EP1 remote on H5. Run last: the topology changes. */
static void swap_ep1_ep3(void)
{
	struct mzr_ep_spec ep3 = { .vni = VNI_A,
				   .ip = { htonl(IP4(10, 1, 1, 20)) },
				   .host = { htonl(US) }, .ifname = "ep1h" };
	struct mzr_ep_spec ep1 = { .vni = VNI_A,
				   .ip = { htonl(IP4(10, 1, 1, 10)) },
				   .host = { htonl(H5) } };
	struct mzr_ep_key k = { .vni = VNI_A };

	memcpy(ep3.mac, MAC_EP3, 6);
	memcpy(ep1.mac, MAC_EP1, 6);
	ep_api(mzr_ep__delete(env.host, VNI_A, ep1.ip), "delete 10.1.1.10");
	ep_api(mzr_ep__delete(env.host, VNI_A, ep3.ip), "delete 10.1.1.20");
	ep_api(mzr_ep__create(env.host, &ep3), "create 10.1.1.20 here");
	ep_api(mzr_ep__create(env.host, &ep1), "create 10.1.1.10 on H5");
	/* No learned path either way: both go through a bouncer. */
	k.ip = ep1.ip.s_addr;
	bpf_map_delete_elem(env.direct_fd, &k);
	k.ip = ep3.ip.s_addr;
	bpf_map_delete_elem(env.direct_fd, &k);
}

static bool sport_ok(uint16_t sport)
{
	return sport >= 49152; /* and <= 65535 by type */
}

static int symmetry_checks(void)
{
	struct sym_flow fl[N_SYM];
	uint32_t fdst[N_SYM], rdst, d1, d2;
	uint16_t fsport[N_SYM], rsport, p1, p2;
	uint32_t seen_b2 = 0, seen_b3 = 0;
	int fails = 0, v;

	sym_flows(fl);

	/* Transit: a stale direct-path packet is re-sent to a bouncer of the
	 * destination's network; both directions of a flow between two
	 * addresses no table holds must meet the same one. */
	for (int i = 0; i < N_SYM; i++) {
		v = sym_run(env.transit_fd, env.ul0,
			    SYM_STALE(&fl[i], REMOTE, IP4(10, 1, 1, 98), false),
			    &d1, &p1);
		if (v != XDP_TX ||
		    sym_run(env.transit_fd, env.ul0,
			    SYM_STALE(&fl[i], IP4(10, 1, 1, 98), REMOTE, true),
			    &d2, &p2) != XDP_TX ||
		    d1 != d2 || (d1 != H2 && d1 != H3)) {
			printf("FAIL: stale direct, flow %d (proto %u %u<->%u): "
			       "bouncers %08x / %08x\n", i, fl[i].proto,
			       fl[i].sport, fl[i].dport, d1, d2);
			fails++;
		}
	}

	/* Agent: EP1 -> EP3 here, then (endpoints swapped) EP3 -> EP1. The
	 * fixtures learned EP3's host: forget it, so that both directions
	 * go through a bouncer. */
	{
		struct mzr_ep_key k = { .vni = VNI_A,
					.ip = htonl(IP4(10, 1, 1, 20)) };

		bpf_map_delete_elem(env.direct_fd, &k);
	}
	for (int i = 0; i < N_SYM; i++) {
		v = sym_run(env.agent_fd, env.ep1h,
			    SYM_FLOW(&fl[i], EP1, MAC_EP1, EP3, false),
			    &fdst[i], &fsport[i]);
		if (v != XDP_REDIRECT || !sport_ok(fsport[i]) ||
		    (fdst[i] != H2 && fdst[i] != H3)) {
			printf("FAIL: agent, flow %d: verdict %d, bouncer %08x, "
			       "source port %u\n", i, v, fdst[i], fsport[i]);
			fails++;
		}
		seen_b2 += fdst[i] == H2;
		seen_b3 += fdst[i] == H3;
	}
	swap_ep1_ep3();
	for (int i = 0; i < N_SYM; i++) {
		v = sym_run(env.agent_fd, env.ep1h,
			    SYM_FLOW(&fl[i], EP3, MAC_EP3, EP1, true), &rdst,
			    &rsport);
		if (v != XDP_REDIRECT || !sport_ok(rsport) ||
		    rdst != fdst[i] || rsport != fsport[i]) {
			printf("FAIL: agent, flow %d reversed (proto %u "
			       "%u<->%u): bouncer %08x port %u, forward %08x "
			       "port %u\n", i, fl[i].proto, fl[i].sport,
			       fl[i].dport, rdst, rsport, fdst[i], fsport[i]);
			fails++;
		}
	}
	/* The check must be able to fail: both bouncers were chosen. */
	if (!seen_b2 || !seen_b3) {
		printf("FAIL: symmetry flows all chose one bouncer (%u/%u)\n",
		       seen_b2, seen_b3);
		fails++;
	}
	printf("%s: %d flows, both directions: same bouncer and UDP source "
	       "port, port in 49152-65535 (agent); same bouncer (stale "
	       "direct)\n", fails ? "FAIL" : "ok", N_SYM);
	return fails;
}

/* On failure: every counter that moved, to tell which path was taken. */
static void dump_counters(void)
{
	printf("counters (enum mzr_counter; drops at %d + reason):\n",
	       MZR_CNT_DROP_BASE);
	for (uint32_t i = 0; i < __MZR_CNT_MAX; i++) {
		uint64_t v = fixture_counter(env.stats_fd, i);

		if (v)
			printf("    [%u] %llu\n", i, (unsigned long long)v);
	}
}

/* One table of the agent's fixtures: the fixed ones around the generated
 * tail-length series, in the order they run. */
static struct fixture *agent_table(size_t *n)
{
	static struct fixture tab[ARRAY_SIZE(agent_head) + TAIL_MAX +
				  ARRAY_SIZE(agent)];

	memcpy(tab, agent_head, sizeof(agent_head));
	*n = ARRAY_SIZE(agent_head);
	*n += tail_fixtures(tab + *n);
	memcpy(tab + *n, agent, sizeof(agent));
	*n += ARRAY_SIZE(agent);
	return tab;
}

int main(void)
{
	const struct fixture_progs *ps;
	struct fixture *agent_tab;
	size_t n_agent;
	int fails = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	ps = core_env_progs(&env);

	agent_tab = agent_table(&n_agent);
	fails += fixture_run_table(ps, agent_tab, n_agent);
	fails += fixture_run_table(ps, transit, ARRAY_SIZE(transit));
	fails += check_learned();
	fails += hook_checks(ps);
	fails += symmetry_checks(); /* last: swaps two endpoints */

	if (fails)
		dump_counters();
	printf("%zu fixtures in all, %d failures\n",
	       n_agent + ARRAY_SIZE(transit) + ARRAY_SIZE(hooks) + 1, fails);
	return fails ? 1 : 0;
}
