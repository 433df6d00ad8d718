// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scaled endpoints, packet by packet: one (VNI, IP) served by several
 * hosts. A bouncer sends each flow to the host rendezvous hashing picks
 * (computed here independently), byte for byte; a copy's agent stamps
 * MZR_F_SCALED; a delivery flagged so learns no direct path; ARP is
 * answered as for any endpoint; removing a host moves only its flows.
 * Also the API's argument checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include "shared.h"
#include "hash.h"

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

#define MAX_FIX 8
#define ONE(c) { { (c), 1 } }
#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define N_FLOWS 300

/* The scaled endpoint a bouncer (this host) holds, and one this host
 * holds a copy of (behind noeph). */
#define SC_IP IP4(10, 1, 1, 50)
#define SCL_IP IP4(10, 1, 1, 51)
static const uint8_t MAC_SC[6] = { 0x02, 0x5c, 0, 0, 0, 0x50 };
static const uint8_t MAC_SCL[6] = { 0x02, 0x5c, 0, 0, 0, 0x51 };

static struct core_env env;
/* The oracle: highest weight jhash(flow hash, host) wins, ties to the
 * higher address (network order compared as the data plane does). */
static uint32_t rendezvous(uint32_t flow, const uint32_t *hosts, int n)
{
	uint32_t best = 0, best_w = 0;

	for (int i = 0; i < n; i++) {
		uint32_t h = htonl(hosts[i]);
		uint32_t w = mzr_jhash_3words(flow, h, MZR_MAX_EP_HOSTS,
					      MZR_HASH_SEED);

		if (!best || w > best_w || (w == best_w && h > best)) {
			best = h;
			best_w = w;
		}
	}
	return ntohl(best);
}

static struct inner_spec to_sc(uint16_t sport)
{
	struct inner_spec s = remote(SC_IP);

	s.proto = 6;
	s.sport = sport;
	s.dport = 80;
	return s;
}

static void api_checks(void)
{
	struct mzr_ep_spec spec = { .vni = VNI_A, .ip = test_in4(SC_IP) };
	struct in_addr h9[9], got[MZR_MAX_EP_HOSTS];
	/* Named: MZR_OPTS() is a statement expression, a compound literal
	 * inside it would not outlive it. */
	struct in_addr h25[] = { test_in4(H2), test_in4(H5) };
	struct in_addr h256[] = { test_in4(H2), test_in4(H5), test_in4(H6) };
	struct in_addr h5us[] = { test_in4(H5), test_in4(US) };
	unsigned int n;
	int err;

	memcpy(spec.mac, MAC_SC, 6);
	for (int i = 0; i < 9; i++)
		h9[i] = test_in4(IP4(192, 168, 1, 10 + i));
	{
		MZR_OPTS(mzr_ep_opts, o, .hosts = h9, .n_hosts = 9);

		err = mzr_ep__create_opts(env.host, &spec, &o);
		CHECK(err == -E2BIG, "9 hosts (> MZR_MAX_EP_HOSTS): %d", err);
	}
	h9[1] = h9[0];
	{
		MZR_OPTS(mzr_ep_opts, o, .hosts = h9, .n_hosts = 3);

		err = mzr_ep__create_opts(env.host, &spec, &o);
		CHECK(err == -EINVAL, "a host given twice: %d", err);
	}
	spec.host = test_in4(H7);
	{
		MZR_OPTS(mzr_ep_opts, o, .hosts = h25, .n_hosts = 2);

		err = mzr_ep__create_opts(env.host, &spec, &o);
		CHECK(err == -EINVAL, "spec host outside the list: %d", err);
	}
	spec.host.s_addr = 0;
	{
		MZR_OPTS(mzr_ep_opts, o, .hosts = h256, .n_hosts = 3);

		test_api(mzr_ep__create_opts(env.host, &spec, &o),
			 "mzr_ep__create_opts (scaled, 3 hosts)");
	}
	n = 2;
	err = mzr_ep__get_hosts(env.host, VNI_A, test_in4(SC_IP), got, &n);
	CHECK(err == -ENOSPC && n == 3, "get_hosts with room for 2: %d, %u",
	      err, n);
	n = MZR_MAX_EP_HOSTS;
	err = mzr_ep__get_hosts(env.host, VNI_A, test_in4(SC_IP), got, &n);
	CHECK(!err && n == 3 && got[0].s_addr == htonl(H2) &&
		      got[2].s_addr == htonl(H6),
	      "get_hosts: the list in order: %d, %u", err, n);
	{
		struct mzr_ep_info ei;

		err = mzr_ep__get(env.host, VNI_A, test_in4(SC_IP), &ei);
		CHECK(!err && (ei.flags & MZR_EP_SCALED) &&
			      ei.host.s_addr == htonl(H2),
		      "ep get: flagged scaled, host the list's first: %d", err);
		err = mzr_ep__get(env.host, VNI_A, test_in4(IP4(10, 1, 1, 20)),
				  &ei);
		CHECK(!err && !(ei.flags & MZR_EP_SCALED),
		      "ep get: an ordinary endpoint is not flagged: %d", err);
	}

	/* A copy here: this host's address (spec host 0 with a dev). */
	spec.ip = test_in4(SCL_IP);
	memcpy(spec.mac, MAC_SCL, 6);
	spec.ifname = "noeph";
	{
		MZR_OPTS(mzr_ep_opts, o, .hosts = h5us, .n_hosts = 2);

		test_api(mzr_ep__create_opts(env.host, &spec, &o),
			 "mzr_ep__create_opts (a local copy)");
	}
	err = mzr_ep__set_hosts(env.host, VNI_A, test_in4(SCL_IP),
				(struct in_addr[]){ test_in4(H5) }, 1);
	CHECK(err == -EINVAL, "set_hosts dropping this host from a local "
	      "copy: %d", err);
	err = mzr_ep__set_hosts(env.host, VNI_A, test_in4(IP4(10, 1, 1, 99)),
				(struct in_addr[]){ test_in4(H5) }, 1);
	CHECK(err == -ENOENT, "set_hosts of an unknown endpoint: %d", err);
}

/* A remote sender's TCP to the scaled endpoint from port @sp. */
#define TO_SC(sp)                                                              \
	FROM_REMOTE(.dst = SC_IP, .proto = 6, .sport = (sp), .dport = 80)

static const struct fixture fixed[] = {
	{ .desc = "transit: ARP for a scaled endpoint is answered by the "
		  "bouncer like any endpoint's",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_A, .ttl = 9,
		       .inner = ARP_FROM_REMOTE(SC_IP)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = US, .to = H2, .vni = VNI_A,
			.inner = ARP_ANSWER_TO_REMOTE(SC_IP, MAC_SC)),
	  .counters = ONE(MZR_CNT_BOUNCER_ARP) },
	/* The copy's reply to a client: not learned by the client's host. */
	{ .desc = "transit: a frame from a scaled endpoint's copy (SCALED) is "
		  "delivered",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H6, .vni = VNI_A,
		       .flags = MZR_F_SCALED | MZR_F_DIRECT,
		       .inner = FROM_REMOTE(.dst = EP1, .src = SC_IP,
					    .smac = MAC_SC)),
	  .verdict = XDP_REDIRECT,
	  .out = FROM_REMOTE(.dst = EP1, .src = SC_IP, .smac = MAC_SC,
			     .dmac = MAC_EP1),
	  .counters = ONE(MZR_CNT_DELIVER) },
};

/* What the agents of the local copy emit: MZR_F_SCALED stamped. */
#define FROM_SCL FROM_EP1(.dst = EP3, .smac = MAC_SCL, .src = SCL_IP)
static const struct fixture agents[] = {
	{ .desc = "agent (XDP): a scaled endpoint's copy sends through a "
		  "bouncer with the SCALED flag",
	  .prog = PROG_AGENT, .dev = "noeph", .in = FROM_SCL,
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.flags = MZR_F_SCALED, .inner = FROM_SCL),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	{ .desc = "agent (tc): the same, out through the neighbour output",
	  .prog = PROG_TC_AGENT, .dev = "noeph", .in = FROM_SCL,
	  .verdict = TC_ACT_REDIRECT,
	  .out = AGENT_OUT(.dmac = MAC_US, .smac = MAC_US,
			   .flags = MZR_F_SCALED, .inner = FROM_SCL),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
};

/* The fixtures, in order: one flow for each host of the scaled endpoint
 * (found with the rendezvous oracle), the fixed ones, the local copy's
 * delivery of a flow rendezvous gives another host, the agents'. */
static size_t fixtures(struct fixture *tab)
{
	static const uint32_t hosts[] = { H2, H5, H6 };
	static struct frame inner[4], in[4], out[4];
	struct inner_spec s;
	uint32_t pick;
	int seen[3] = { 0 };
	size_t n = 0, k = 0;
	uint16_t sp;

	/* One fixture per host: find a flow for each. */
	for (sp = 1000; sp < 1000 + N_FLOWS; sp++) {
		int i;

		s = to_sc(sp);
		pick = rendezvous(flow_hash(&s), hosts, 3);
		for (i = 0; i < 3 && hosts[i] != pick; i++)
			;
		if (i == 3 || seen[i])
			continue;
		seen[i] = 1;
		inner[k] = *TO_SC(sp);
		in[k] = *TUNNEL(.from = H4, .vni = VNI_A, .inner = &inner[k]);
		out[k] = *TUNNEL(.from = H4, .to = pick, .vni = VNI_A,
				 .ttl = 63, .inner = &inner[k]);
		tab[n++] = (struct fixture){
			.desc = "transit: a bouncer sends a flow to a scaled "
				"endpoint to the host rendezvous hashing of the "
				"flow picks, outer TTL - 1",
			.prog = PROG_TRANSIT, .in = &in[k], .verdict = XDP_TX,
			.out = &out[k], .counters = ONE(MZR_CNT_BOUNCER_FWD),
		};
		k++;
	}
	CHECK(seen[0] && seen[1] && seen[2],
	      "flows found for each of the 3 hosts (%d %d %d)", seen[0],
	      seen[1], seen[2]);
	memcpy(tab + n, fixed, sizeof(fixed));
	n += ARRAY_SIZE(fixed);

	/* A copy hosted here: delivered here whatever the flow. */
	for (sp = 2000; sp < 2000 + N_FLOWS; sp++) {
		s = remote(SCL_IP);
		s.sport = sp;
		if (rendezvous(flow_hash(&s), (uint32_t[]){ H5, US }, 2) == H5)
			break;
	}
	/* Copies: a compound literal here ends with the function. */
	inner[k] = *FROM_REMOTE(.dst = SCL_IP, .sport = sp);
	in[k] = *TUNNEL(.from = H2, .vni = VNI_A, .inner = &inner[k]);
	out[k] = *FROM_REMOTE(.dst = SCL_IP, .sport = sp, .dmac = MAC_SCL);
	tab[n++] = (struct fixture){
		.desc = "transit: a host holding a copy delivers what reaches "
			"it, even a flow rendezvous would give another host",
		.prog = PROG_TRANSIT, .in = &in[k], .verdict = XDP_REDIRECT,
		.out = &out[k], .counters = ONE(MZR_CNT_DELIVER),
	};
	memcpy(tab + n, agents, sizeof(agents));
	return n + ARRAY_SIZE(agents);
}

/* The outer destination the bouncer chose for each of N_FLOWS flows. */
static void bounce_all(uint32_t *dst)
{
	struct pkt in, out;

	for (int i = 0; i < N_FLOWS; i++) {
		uint32_t d = 0;

		frame_build(&in, TUNNEL(.from = H4, .vni = VNI_A,
					.inner = TO_SC(3000 + i)));
		if (fixture_xdp_run(env.transit_fd, env.ul0, &in, &out) ==
			    XDP_TX &&
		    out.len > 34)
			memcpy(&d, out.data + 30, 4); /* unaligned */
		dst[i] = ntohl(d);
	}
}

/* Removing one host moves its flows, and only those. */
static void removal_checks(void)
{
	static uint32_t before[N_FLOWS], after[N_FLOWS];
	int moved = 0, wrong = 0, lost = 0, on_h5 = 0;

	bounce_all(before);
	test_api(mzr_ep__set_hosts(env.host, VNI_A, test_in4(SC_IP),
				   (struct in_addr[]){ test_in4(H2),
						       test_in4(H6) },
				   2),
		 "mzr_ep__set_hosts (H5 removed)");
	bounce_all(after);
	for (int i = 0; i < N_FLOWS; i++) {
		if (!before[i] || !after[i])
			lost++;
		else if (before[i] == H5) {
			on_h5++;
			moved += after[i] == H2 || after[i] == H6;
		} else if (after[i] != before[i]) {
			wrong++;
		}
	}
	CHECK(!lost && !wrong && on_h5 > 0 && moved == on_h5,
	      "removing H5: its %d flows moved to H2/H6, none of the other "
	      "%d moved (%d moved wrongly, %d not bounced)", on_h5,
	      N_FLOWS - on_h5, wrong, lost);

	/* One host left: an ordinary endpoint again. */
	test_api(mzr_ep__set_hosts(env.host, VNI_A, test_in4(SC_IP),
				   (struct in_addr[]){ test_in4(H6) }, 1),
		 "mzr_ep__set_hosts (H6 alone)");
	bounce_all(after);
	lost = 0;
	for (int i = 0; i < N_FLOWS; i++)
		lost += after[i] != H6;
	CHECK(!lost, "one host left: every flow goes to it (%d elsewhere)",
	      lost);
}

int main(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(SC_IP) };
	struct fixture tab[MAX_FIX];
	struct mzr_direct_val dv;
	size_t n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	api_checks();
	n = fixtures(tab);
	for (size_t i = 0; i < n; i++)
		fixture_check(core_env_progs(&env), &tab[i]);
	CHECK(bpf_map_lookup_elem(env.direct_fd, &k, &dv),
	      "a delivery flagged SCALED learned no direct path to the "
	      "scaled endpoint");
	removal_checks();
	printf("%zu fixtures, %d failures\n", n, test_failures);
	return test_failures ? 1 : 0;
}
