// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The per-CPU level 1 of learning (bpf-core/transit.h, mzr_learn_l1): a
 * delivered sender this CPU confirmed in mzr_direct within the last
 * second is not looked up again; a sender that moved to another host is
 * learned at once; an aged slot confirms again. Ageing is simulated by
 * rewriting a slot's stamp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

/* As bpf-core/transit.h's struct mzr_learn_l1. */
struct learn_l1 {
	uint32_t ip, vni, host, seen;
};

static const uint32_t SENDER = IP4(10, 1, 1, 20);

static struct core_env env;
static int l1_fd, n_cpus;

/* EP2 (10.1.1.11, hosted here) gets a packet from SENDER in VPC A, sent
 * by host @from (outer source and RTS); returns the verdict. */
static int deliver(uint32_t from)
{
	struct pkt in;

	frame_build(&in, TUNNEL(.from = from, .vni = VNI_A,
				.inner = FROM_REMOTE(.dst = EP2,
						     .src = SENDER)));
	return fixture_xdp_run(env.transit_fd, env.ul0, &in, NULL);
}

/* The host mzr_direct holds for SENDER, 0: none. */
static uint32_t learned(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(SENDER) };
	struct mzr_direct_val v;

	if (bpf_map_lookup_elem(env.direct_fd, &k, &v))
		return 0;
	return ntohl(v.host);
}

static void forget(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(SENDER) };

	bpf_map_delete_elem(env.direct_fd, &k);
}

/* Every CPU's slots made older than the level 1's age. */
static void age_slots(void)
{
	struct learn_l1 v[n_cpus];

	for (uint32_t k = 0; k < 1024; k++) { /* MZR_LEARN_L1_SLOTS */
		if (bpf_map_lookup_elem(l1_fd, &k, v))
			continue;
		for (int i = 0; i < n_cpus; i++)
			v[i].seen -= 100000;
		if (bpf_map_update_elem(l1_fd, &k, v, BPF_EXIST)) {
			fprintf(stderr, "mzr_learn_l1: %s\n", strerror(errno));
			exit(1);
		}
	}
}

int main(void)
{
	uint64_t before;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	l1_fd = core_env_prog_map_fd(env.transit_fd, "mzr_learn_l1");
	n_cpus = core_env_ncpus();

	forget();
	CHECK(deliver(H5) == XDP_REDIRECT && learned() == H5,
	      "delivery learns (VPC A, 10.1.1.20) -> H5");

	/* Confirmed within the second: the next packet skips mzr_direct
	 * (an entry deleted meanwhile is not written back yet). */
	forget();
	before = fixture_counter(env.stats_fd, MZR_CNT_LEARNED);
	CHECK(deliver(H5) == XDP_REDIRECT && !learned() &&
		      fixture_counter(env.stats_fd, MZR_CNT_LEARNED) == before,
	      "level 1: a sender confirmed within the second is not looked "
	      "up again");

	/* The sender moved: another RTS host misses the slot. */
	CHECK(deliver(H6) == XDP_REDIRECT && learned() == H6,
	      "level 1: a sender that moved to H6 is learned at once");

	/* After the age the slot confirms again. */
	forget();
	age_slots();
	CHECK(deliver(H6) == XDP_REDIRECT && learned() == H6,
	      "level 1: past its age, a slot no longer suppresses learning");
	return test_report();
}
