// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Drops by reason per VPC and per endpoint (bpf-core/trace.h,
 * mzr_host__drops()), packet by packet with the traffic counters on: a
 * drop after the transit's route found the VPC counts in that VPC (a
 * bouncer's outer TTL 1, a divider's inner TTL 1), an agent's drop in the
 * sending endpoint and its VPC; a drop before the route (Geneve from an
 * underlay address that is no Mizar host, naming a VNI of its choice)
 * counts in no VPC; with the counters off nothing is counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <mizar/mizar.h>

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

#define EP1_IP IP4(10, 1, 1, 10)
#define CLAIMED_VNI 4242 /* no VPC of this host */

static struct core_env env;
static int failures;

static void check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

/* Build @desc and run it through @prog received on @ifindex; its verdict
 * (the frame stays in @f for another run). */
static int run(int prog, struct pkt *f, const struct frame *desc,
	       unsigned int ifindex)
{
	if (desc)
		frame_build(f, desc);
	return fixture_xdp_run(prog, ifindex, f, NULL);
}

/* Drops of @reason for VPC @vni (@ip 0) or endpoint (@vni, @ip). */
static uint64_t drops(uint32_t vni, uint32_t ip, unsigned int reason)
{
	uint64_t d[__MZR_DROP_MAX];
	struct in_addr a = { htonl(ip) };
	int err = mzr_host__drops(env.host, vni, a, d, __MZR_DROP_MAX);

	if (err) {
		fprintf(stderr, "mzr_host__drops: %s\n", strerror(-err));
		exit(1);
	}
	return d[reason];
}

static int list_entries(struct mzr_drop_entry *e, size_t n)
{
	int got = mzr_host__drops_list(env.host, e, n);

	if (got < 0) {
		fprintf(stderr, "mzr_host__drops_list: %s\n", strerror(-got));
		exit(1);
	}
	return got;
}

int main(void)
{
	struct mzr_drop_entry e[16];
	struct pkt f;
	uint64_t d[2];
	bool claimed = false;
	int n, i;

	core_env_setup(&env);
	check(mzr_host__traffic_counting(env.host, 1) == 1, "counters on");

	/* A bouncer (VPC A): outer TTL 1 on the forwarding hop. */
	check(run(env.transit_fd, &f,
		  TUNNEL(.from = H2, .vni = VNI_A, .ttl = 1,
			 .inner = FROM_REMOTE(.dst = EP3)),
		  env.ul0) == XDP_DROP,
	      "bouncer: outer TTL 1 dropped");
	check(drops(VNI_A, 0, MZR_DROP_TTL_EXPIRED) == 1,
	      "bouncer: one ttl_expired drop in VPC A");

	/* A divider (VPC B): inner TTL 1. */
	check(run(env.transit_fd, &f,
		  TUNNEL(.from = H2, .vni = VNI_B,
			 .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7),
					      .ttl = 1)),
		  env.ul0) == XDP_DROP,
	      "divider: inner TTL 1 dropped");
	check(drops(VNI_B, 0, MZR_DROP_TTL_EXPIRED) == 1,
	      "divider: one ttl_expired drop in VPC B");

	/* Not a Mizar host, naming a VPC of this host, then a VNI of its
	 * choice: host-wide only. */
	for (i = 0; i < 2; i++)
		check(run(env.transit_fd, &f,
			  TUNNEL(.from = H7, .smac = MAC_REMOTE,
				 .vni = i ? CLAIMED_VNI : VNI_A,
				 .inner = FROM_REMOTE(.dst = EP2,
						      .src = IP4(10, 1, 1, 24))),
			  env.ul0) == XDP_DROP,
		      "unknown peer dropped");
	check(drops(VNI_A, 0, MZR_DROP_UNKNOWN_PEER) == 0 &&
	      drops(CLAIMED_VNI, 0, MZR_DROP_UNKNOWN_PEER) == 0,
	      "unknown peer: no count in the VPC or VNI it claimed");

	/* The agent: EP1 sends from another address. */
	check(run(env.agent_fd, &f,
		  FROM_EP1(.dst = EP3, .src = IP4(10, 1, 1, 99)),
		  env.ep1h) == XDP_DROP,
	      "agent: spoofed source dropped");
	check(drops(VNI_A, EP1_IP, MZR_DROP_SPOOFED) == 1,
	      "agent: one spoofed drop of endpoint 10.1.1.10");
	check(drops(VNI_A, 0, MZR_DROP_SPOOFED) == 1,
	      "agent: one spoofed drop in VPC A");
	check(drops(VNI_A, IP4(10, 1, 1, 99), MZR_DROP_SPOOFED) == 0,
	      "agent: none under the address it claimed");

	n = list_entries(e, 16);
	for (i = 0; i < n; i++)
		if (e[i].vni == CLAIMED_VNI ||
		    e[i].ip.s_addr == htonl(IP4(10, 1, 1, 99)))
			claimed = true;
	check(n == 4 && !claimed,
	      "list: VPC A ttl_expired and spoofed, VPC B, endpoint; "
	      "nothing claimed");

	/* Counters off: nothing moves. */
	check(mzr_host__traffic_counting(env.host, 0) == 0, "counters off");
	d[0] = drops(VNI_A, EP1_IP, MZR_DROP_SPOOFED);
	run(env.agent_fd, &f, NULL, env.ep1h);
	d[1] = drops(VNI_A, EP1_IP, MZR_DROP_SPOOFED);
	check(d[0] == d[1], "counters off: the endpoint's drops stay");

	mzr_host__reset(env.host);
	mzr_host__close(env.host);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
