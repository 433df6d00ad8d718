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

#define MAX_FIX 32
#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define N_FLOWS 300

/* The scaled endpoint a bouncer (this host) holds, and one this host
 * holds a copy of (behind noeph). */
#define SC_IP IP4(10, 1, 1, 50)
#define SCL_IP IP4(10, 1, 1, 51)
static const uint8_t MAC_SC[6] = { 0x02, 0x5c, 0, 0, 0, 0x50 };
static const uint8_t MAC_SCL[6] = { 0x02, 0x5c, 0, 0, 0, 0x51 };

static struct core_env env;
static struct fixture_pkt tab[MAX_FIX];
static size_t n_tab;

static struct fixture_pkt *fx(const char *desc, int verdict, int counter,
			  uint32_t ifindex)
{
	struct fixture_pkt *f;

	if (n_tab == MAX_FIX) {
		fprintf(stderr, "too many fixtures\n");
		exit(1);
	}
	f = &tab[n_tab++];
	memset(f, 0, sizeof(*f));
	f->desc = desc;
	f->verdict = verdict;
	f->counter = counter;
	f->ingress_ifindex = ifindex;
	return f;
}

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

static void fixtures(void)
{
	static const uint32_t hosts[] = { H2, H5, H6 };
	struct inner_spec s;
	struct fixture_pkt *f;
	struct pkt inner, tmp;
	uint32_t pick;
	int seen[3] = { 0 };
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
		build_inner(&inner, &s);
		f = fx("transit: a bouncer sends a flow to a scaled endpoint "
		       "to the host rendezvous hashing of the flow picks, "
		       "outer TTL - 1", XDP_TX, MZR_CNT_BOUNCER_FWD, env.ul0);
		tunnel_in(&f->in, H4, VNI_A, 0, 64, &inner);
		f->check_out = true;
		tunnel_fwd(&f->out, H4, pick, VNI_A, 0, 63, &inner);
	}
	CHECK(seen[0] && seen[1] && seen[2],
	      "flows found for each of the 3 hosts (%d %d %d)", seen[0],
	      seen[1], seen[2]);

	f = fx("transit: ARP for a scaled endpoint is answered by the "
	       "bouncer like any endpoint's", XDP_TX, MZR_CNT_BOUNCER_ARP,
	       env.ul0);
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77), SC_IP);
	tunnel_in(&f->in, H2, VNI_A, 0, 9, &inner);
	f->check_out = true;
	pkt_init(&tmp);
	pkt_eth(&tmp, MAC_REMOTE, MAC_SC, PKT_ETH_P_ARP);
	pkt_arp(&tmp, 2, MAC_SC, SC_IP, MAC_REMOTE, IP4(10, 1, 1, 77));
	pkt_finish(&tmp);
	tunnel_fwd(&f->out, US, H2, VNI_A, 0, 64, &tmp);

	/* The copy's reply to a client: not learned by the client's host. */
	s = remote(IP4(10, 1, 1, 10));
	s.src = SC_IP;
	s.smac = MAC_SC;
	build_inner(&inner, &s);
	f = fx("transit: a frame from a scaled endpoint's copy (SCALED) is "
	       "delivered", XDP_REDIRECT, MZR_CNT_DELIVER, env.ul0);
	tunnel_in(&f->in, H6, VNI_A, MZR_F_SCALED | MZR_F_DIRECT, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_EP1;
	build_inner(&f->out, &s);

	/* A copy hosted here: delivered here whatever the flow. */
	for (sp = 2000; sp < 2000 + N_FLOWS; sp++) {
		s = remote(SCL_IP);
		s.sport = sp;
		if (rendezvous(flow_hash(&s), (uint32_t[]){ H5, US }, 2) == H5)
			break;
	}
	build_inner(&inner, &s);
	f = fx("transit: a host holding a copy delivers what reaches it, "
	       "even a flow rendezvous would give another host",
	       XDP_REDIRECT, MZR_CNT_DELIVER, env.ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_SCL;
	build_inner(&f->out, &s);
}

/* What the agents of the local copy emit: MZR_F_SCALED stamped. */
static void agent_fixtures(void)
{
	struct inner_spec s = from_ep1(IP4(10, 1, 1, 20));
	struct outer_spec o;
	struct fixture_pkt *f;

	s.smac = MAC_SCL;
	s.src = SCL_IP;
	f = fx("agent (XDP): a scaled endpoint's copy sends through a "
	       "bouncer with the SCALED flag", XDP_REDIRECT,
	       MZR_CNT_AGENT_ENCAP, env.noeph);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)),
		  MZR_F_SCALED);

	f = fx("agent (tc): the same, out through the neighbour output",
	       TC_ACT_REDIRECT, MZR_CNT_AGENT_ENCAP, env.noeph);
	f->tc = true;
	build_inner(&f->in, &s);
	f->check_out = true;
	o = (struct outer_spec){ .dmac = MAC_US, .smac = MAC_US, .src = US,
				 .dst = a1_bouncer(flow_hash(&s)),
				 .sport = flow_sport(&s), .vni = VNI_A,
				 .rts = US, .flags = MZR_F_SCALED };
	build_encap(&f->out, &o, &f->in);
}

static int run_xdp(const struct pkt *in, struct pkt *out)
{
	return fixture_xdp_run(env.transit_fd, env.ul0, in, out);
}

/* The outer destination the bouncer chose for each of N_FLOWS flows. */
static void bounce_all(uint32_t *dst)
{
	struct pkt inner, in, out;

	for (int i = 0; i < N_FLOWS; i++) {
		struct inner_spec s = to_sc(3000 + i);

		build_inner(&inner, &s);
		tunnel_in(&in, H4, VNI_A, 0, 64, &inner);
		uint32_t d = 0;

		if (run_xdp(&in, &out) == XDP_TX && out.len > 34)
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
	struct mzr_direct_val dv;
	int neigh_fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	neigh_fd = core_env_prog_fd(&env, "mzr_neigh");
	api_checks();
	fixtures();
	agent_fixtures();
	for (size_t i = 0; i < n_tab; i++)
		fixture_pkt_check(tab[i].tc ? neigh_fd :
			      tab[i].ingress_ifindex == env.noeph ?
						  env.agent_fd :
						  env.transit_fd,
			      env.stats_fd, &tab[i]);
	CHECK(bpf_map_lookup_elem(env.direct_fd, &k, &dv),
	      "a delivery flagged SCALED learned no direct path to the "
	      "scaled endpoint");
	removal_checks();
	printf("%zu fixtures, %d failures\n", n_tab, test_failures);
	return test_failures ? 1 : 0;
}
