// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VPC peering at the divider, packet by packet: VPC A (100) and VPC B
 * (200) of the core test world peered on A's 10.1.2.0/24 and B's
 * 10.2.1.0/24. This host is a divider of B (not of A, until the last
 * fixtures). Each fixture states the verdict, the exact output frame and
 * the counter that must move; the API's refusals come first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include <mizar/vpc_peering.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))

static struct core_env env;

static struct mzr_prefix pfx(uint32_t addr, unsigned int len)
{
	return (struct mzr_prefix){ .addr = test_in4(addr), .len = len };
}

static void api_checks(void)
{
	struct mzr_prefix p[2];
	int err;

	p[0] = pfx(IP4(10, 1, 1, 0), 24);
	err = mzr_vpc_peering__create(env.host, VNI_A, VNI_B, p, 1);
	CHECK(err == -EADDRINUSE, "10.1.1.0/24 is in networks of both A and "
	      "B: %d", err);
	err = mzr_vpc_peering__create(env.host, VNI_A, VNI_B, NULL, 0);
	CHECK(err == -EADDRINUSE, "all networks (A and B both hold "
	      "10.1.1.0/24): %d", err);
	p[0] = pfx(IP4(10, 1, 2, 0), 24);
	p[1] = pfx(IP4(10, 9, 0, 0), 16);
	err = mzr_vpc_peering__create(env.host, VNI_A, VNI_B, p, 2);
	CHECK(err == -EADDRNOTAVAIL, "a prefix in no network: %d", err);
	err = mzr_vpc_peering__create(env.host, VNI_A, VNI_B, p, 1);
	CHECK(err == -EINVAL, "nothing of B peered: %d", err);
	err = mzr_vpc_peering__create(env.host, VNI_A, VNI_A, p, 1);
	CHECK(err == -EINVAL, "a VPC with itself: %d", err);
	err = mzr_vpc_peering__create(env.host, VNI_A, 4242, p, 1);
	CHECK(err == -ENOENT, "an unknown VPC: %d", err);
	p[1] = pfx(IP4(10, 2, 1, 0), 24);
	test_api(mzr_vpc_peering__create(env.host, VNI_A, VNI_B, p, 2),
		 "mzr_vpc_peering__create");
	err = mzr_vpc_peering__create(env.host, VNI_B, VNI_A, p, 2);
	CHECK(err == -EEXIST, "peered twice: %d", err);
	err = mzr_vpc_peering__delete(env.host, VNI_A, VNI_C);
	CHECK(err == -ENOENT, "delete of no peering: %d", err);
}

#define ONE(c) { { (c), 1 } }
/* A remote sender @src_ to @dst_, as sent and as routed (inner TTL - 1). */
#define FLOW(src_, dst_, ...) FROM_REMOTE(.src = src_, .dst = dst_, __VA_ARGS__)
#define B_TO_A(...) FLOW(IP4(10, 2, 1, 77), IP4(10, 1, 2, 10), __VA_ARGS__)

static const struct fixture peering[] = {
	{ .desc = "divider of B: a peered destination of A from a peered "
		  "source goes to A's divider, VNI rewritten to A, flagged "
		  "PEERED, inner TTL - 1",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .inner = B_TO_A()),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H3, .to = H4, .vni = VNI_A,
			.flags = MZR_F_PEERED, .ttl = 63,
			.inner = B_TO_A(.ttl = 63)),
	  .counters = ONE(MZR_CNT_DIVIDER_PEER) },
	{ .desc = "divider of B: a source outside B's peered prefixes does not "
		  "cross (not_peered)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B,
		       .inner = FLOW(IP4(10, 2, 2, 77), IP4(10, 1, 2, 10))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NOT_PEERED)) },
	{ .desc = "divider of B: a packet that crossed once never crosses "
		  "again (not_peered)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .flags = MZR_F_PEERED,
		       .inner = B_TO_A()),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NOT_PEERED)) },
	{ .desc = "divider of B: a destination of A outside the peered "
		  "prefixes has no route",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B,
		       .inner = FLOW(IP4(10, 2, 1, 77), IP4(10, 1, 3, 10))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ROUTE)) },
	{ .desc = "divider of B: inner TTL 1 does not cross (ttl_expired)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .inner = B_TO_A(.ttl = 1)),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_TTL_EXPIRED)) },
	/* Arriving in A, PEERED: 10.1.2.10 is EP4, hosted here. */
	{ .desc = "A side: a PEERED packet from a peered source is delivered",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H4, .vni = VNI_A, .flags = MZR_F_PEERED,
		       .inner = B_TO_A()),
	  .verdict = XDP_REDIRECT, .out = B_TO_A(.dmac = MAC_EP4),
	  .counters = ONE(MZR_CNT_DELIVER) },
	{ .desc = "A side: a PEERED packet from an unpeered source is refused "
		  "on arrival too (not_peered)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H4, .vni = VNI_A, .flags = MZR_F_PEERED,
		       .inner = FLOW(IP4(10, 2, 2, 77), IP4(10, 1, 2, 10))),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NOT_PEERED)) },
};

/* This host a divider of both: it routes the crossing itself. */
static const struct fixture both_dividers[] = {
	{ .desc = "divider of A and B: a peered packet goes straight to the "
		  "bouncer of B's network, VNI B, ROUTED and PEERED, inner TTL "
		  "- 1 once",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A,
		       .inner = FLOW(IP4(10, 1, 2, 77), IP4(10, 2, 1, 7))),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H3, .vni = VNI_B,
			.flags = MZR_F_ROUTED | MZR_F_PEERED, .ttl = 63,
			.inner = FLOW(IP4(10, 1, 2, 77), IP4(10, 2, 1, 7),
				      .ttl = 63)),
	  .counters = ONE(MZR_CNT_DIVIDER_PEER) },
};

static const struct fixture after_delete[] = {
	{ .desc = "after the delete: no crossing (no_route)",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H3, .vni = VNI_B, .inner = B_TO_A()),
	  .verdict = XDP_DROP, .counters = ONE(DROP(MZR_DROP_NO_ROUTE)) },
};

static void check(const struct fixture *tab, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		fixture_check(core_env_progs(&env), &tab[i]);
}

int main(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 2, 1, 77)) };
	struct mzr_direct_val dv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	api_checks();

	check(peering, 0, 6);
	CHECK(bpf_map_lookup_elem(env.direct_fd, &k, &dv),
	      "a PEERED delivery learned no direct path across VPCs");
	check(peering, 6, ARRAY_SIZE(peering));

	test_api(mzr_vpc__update(env.host, VNI_A,
				 (struct in_addr[]){ test_in4(H4),
						     test_in4(US) }, 2),
		 "mzr_vpc__update A dividers H4, US");
	check(both_dividers, 0, ARRAY_SIZE(both_dividers));

	test_api(mzr_vpc_peering__delete(env.host, VNI_B, VNI_A),
		 "mzr_vpc_peering__delete");
	check(after_delete, 0, ARRAY_SIZE(after_delete));

	printf("%d failures\n", test_failures);
	return test_failures ? 1 : 0;
}
