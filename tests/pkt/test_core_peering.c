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

/* A remote sender @src in VPC @vni's world to @dst. */
static struct inner_spec flow(uint32_t src, uint32_t dst)
{
	struct inner_spec s = remote(dst);

	s.src = src;
	return s;
}

static void check(const char *desc, int verdict, int counter,
		  uint32_t from, uint32_t vni, uint32_t flags,
		  const struct inner_spec *s, uint32_t next, uint32_t out_vni,
		  uint32_t out_flags)
{
	struct fixture_pkt f = { .desc = desc, .verdict = verdict,
			     .counter = counter,
			     .ingress_ifindex = env.ul0 };
	struct inner_spec o = *s;
	struct pkt inner, tmp;

	build_inner(&inner, s);
	tunnel_in(&f.in, from, vni, flags, 64, &inner);
	if (next) {
		f.check_out = true;
		o.ttl = 63;
		build_inner(&tmp, &o);
		tunnel_fwd(&f.out, from, next, out_vni, out_flags, 63, &tmp);
	}
	fixture_pkt_check(env.transit_fd, env.stats_fd, &f);
}

int main(void)
{
	struct inner_spec s;
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 2, 1, 77)) };
	struct mzr_direct_val dv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	api_checks();

	s = flow(IP4(10, 2, 1, 77), IP4(10, 1, 2, 10));
	check("divider of B: a peered destination of A from a peered source "
	      "goes to A's divider, VNI rewritten to A, flagged PEERED, "
	      "inner TTL - 1", XDP_TX, MZR_CNT_DIVIDER_PEER, H3, VNI_B, 0,
	      &s, H4, VNI_A, MZR_F_PEERED);

	s = flow(IP4(10, 2, 2, 77), IP4(10, 1, 2, 10));
	check("divider of B: a source outside B's peered prefixes does not "
	      "cross (not_peered)", XDP_DROP, DROP(MZR_DROP_NOT_PEERED), H3,
	      VNI_B, 0, &s, 0, 0, 0);

	s = flow(IP4(10, 2, 1, 77), IP4(10, 1, 2, 10));
	check("divider of B: a packet that crossed once never crosses again "
	      "(not_peered)", XDP_DROP, DROP(MZR_DROP_NOT_PEERED), H3, VNI_B,
	      MZR_F_PEERED, &s, 0, 0, 0);

	s = flow(IP4(10, 2, 1, 77), IP4(10, 1, 3, 10));
	check("divider of B: a destination of A outside the peered prefixes "
	      "has no route", XDP_DROP, DROP(MZR_DROP_NO_ROUTE), H3, VNI_B, 0,
	      &s, 0, 0, 0);

	s = flow(IP4(10, 2, 1, 77), IP4(10, 1, 2, 10));
	s.ttl = 1;
	check("divider of B: inner TTL 1 does not cross (ttl_expired)",
	      XDP_DROP, DROP(MZR_DROP_TTL_EXPIRED), H3, VNI_B, 0, &s, 0, 0, 0);

	/* Arriving in A, PEERED: 10.1.2.10 is EP4, hosted here. */
	s = flow(IP4(10, 2, 1, 77), IP4(10, 1, 2, 10));
	{
		struct fixture_pkt f = { .desc = "A side: a PEERED packet from a "
					     "peered source is delivered",
				     .verdict = XDP_REDIRECT,
				     .counter = MZR_CNT_DELIVER,
				     .ingress_ifindex = env.ul0,
				     .check_out = true };
		struct pkt inner;

		build_inner(&inner, &s);
		tunnel_in(&f.in, H4, VNI_A, MZR_F_PEERED, 64, &inner);
		s.dmac = MAC_EP4;
		build_inner(&f.out, &s);
		fixture_pkt_check(env.transit_fd, env.stats_fd, &f);
	}
	CHECK(bpf_map_lookup_elem(env.direct_fd, &k, &dv),
	      "a PEERED delivery learned no direct path across VPCs");

	s = flow(IP4(10, 2, 2, 77), IP4(10, 1, 2, 10));
	check("A side: a PEERED packet from an unpeered source is refused "
	      "on arrival too (not_peered)", XDP_DROP,
	      DROP(MZR_DROP_NOT_PEERED), H4, VNI_A, MZR_F_PEERED, &s, 0, 0,
	      0);

	/* This host a divider of both: it routes the crossing itself. */
	test_api(mzr_vpc__update(env.host, VNI_A,
				 (struct in_addr[]){ test_in4(H4),
						     test_in4(US) }, 2),
		 "mzr_vpc__update A dividers H4, US");
	s = flow(IP4(10, 1, 2, 77), IP4(10, 2, 1, 7));
	check("divider of A and B: a peered packet goes straight to the "
	      "bouncer of B's network, VNI B, ROUTED and PEERED, inner TTL "
	      "- 1 once", XDP_TX, MZR_CNT_DIVIDER_PEER, H2, VNI_A, 0, &s, H3,
	      VNI_B, MZR_F_ROUTED | MZR_F_PEERED);

	test_api(mzr_vpc_peering__delete(env.host, VNI_B, VNI_A),
		 "mzr_vpc_peering__delete");
	s = flow(IP4(10, 2, 1, 77), IP4(10, 1, 2, 10));
	check("after the delete: no crossing (no_route)", XDP_DROP,
	      DROP(MZR_DROP_NO_ROUTE), H3, VNI_B, 0, &s, 0, 0, 0);

	printf("%d failures\n", test_failures);
	return test_failures ? 1 : 0;
}
