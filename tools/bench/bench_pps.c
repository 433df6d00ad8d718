// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Packets per second with live frames (DESIGN.md §7): BPF_PROG_TEST_RUN
 * with BPF_F_TEST_XDP_LIVE_FRAMES (as xdp-trafficgen does) sends every
 * frame a program returns XDP_TX or XDP_REDIRECT for out of real veths,
 * on one core, on the packet tests' topology (tests/pkt/core_env.c).
 *
 * Each path runs under the benchmarks' wrapper (bench_core.bpf.c: the
 * frame restored from a template, since live frames are recycled with
 * what the last run left in them): the bouncer (XDP_TX out of ul0), the
 * agent encap (ep1h -> XDP_REDIRECT out of ul0) and the deliver path
 * (ul0 -> XDP_REDIRECT out of ep2h). The floor is the wrapper with a MAC
 * swap + XDP_TX out of ul0. Every veth's peer runs an XDP_DROP program,
 * so each transmitted frame costs the same wherever it goes. A path's
 * counter must move by the number of frames sent.
 *
 * Usage: bench_pps [-n FRAMES] [-r ROUNDS]   (root)
 * Prints Mpps (the best of ROUNDS) and the ratio to the floor, and JSON.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <mizar/mizar.h>

#include "core_env.h"
#include "shared.h"
#include "bench_core_bpf.skel.h"
#include "bench_wrap.h"

struct row {
	const char *name;
	double mpps;
};

static struct core_env env;
static struct bench_core_bpf *skel;
static unsigned int frames = 2000000, rounds = 5;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_pps: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t counter(uint32_t idx)
{
	uint64_t v[__MZR_CNT_MAX];
	int err = mzr_host__counters(env.host, v, __MZR_CNT_MAX);

	if (err)
		die("mzr_host__counters", err);
	return v[idx];
}

static void set_template(const struct pkt *f)
{
	struct bench_tmpl t = { .len = (uint32_t)f->len };
	uint32_t zero = 0, one = 1;

	memcpy(t.b, f->data, f->len);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_tmpl), &zero, &t,
				BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.bench_cfg), &zero, &one,
				BPF_ANY))
		die("template", errno);
}

/* Best Mpps of `rounds` live runs of the wrapper around @target, frames
 * entering on @ifindex; counter @cnt (-1: none) must move by `frames`. */
static double live(const char *what, int target, const struct pkt *f,
		   unsigned int ifindex, int cnt)
{
	struct xdp_md ctx = { .data_end = (uint32_t)f->len,
			      .ingress_ifindex = ifindex };
	uint32_t zero = 0;
	double best = 0;

	set_template(f);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_target), &zero,
				&target, BPF_ANY))
		die("bench_target", errno);
	for (unsigned int r = 0; r < rounds; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->data,
			    .data_size_in = (uint32_t)f->len, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = frames,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
		uint64_t before = cnt >= 0 ? counter((uint32_t)cnt) : 0;
		struct timespec t0, t1;
		double ns, mpps;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (bpf_prog_test_run_opts(
			    bpf_program__fd(skel->progs.bench_wrap), &o))
			die(what, errno);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (cnt >= 0 && counter((uint32_t)cnt) - before != frames) {
			fprintf(stderr, "bench_pps: %s: counter %s moved by "
				"%llu for %u frames: not the path under test\n",
				what, mzr_counter_name((uint32_t)cnt),
				(unsigned long long)(counter((uint32_t)cnt) -
						     before), frames);
			exit(1);
		}
		ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
		mpps = frames / ns * 1e3;
		if (mpps > best)
			best = mpps;
	}
	return best;
}

/* XDP_DROP on every veth peer: transmitted frames end there. */
static void sinks(void)
{
	static const char *peers[] = { "ul1", "ep1p", "ep2p", "ep3p", "ep4p",
				       "ep5p", "ep6p", "ep7p" };
	int fd = bpf_program__fd(skel->progs.bench_sink);

	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		int ifindex = (int)if_nametoindex(peers[i]);

		if (!ifindex ||
		    bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL))
			die(peers[i], errno);
	}
}

static void tunnel_to(struct pkt *p, uint32_t dst, uint32_t from)
{
	struct inner_spec s = remote(dst);
	struct pkt inner;

	build_inner(&inner, &s);
	tunnel_in(p, from, VNI_A, 0, 64, &inner);
}

int main(int argc, char **argv)
{
	static const char *keys[] = { "floor", "bouncer", "agent_encap",
				      "deliver" };
	struct row rows[4];
	struct inner_spec s;
	struct pkt f, inner;
	double floor_again;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			frames = (unsigned int)strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			rounds = (unsigned int)strtoul(optarg, NULL, 0);
		else {
			fprintf(stderr, "usage: %s [-n FRAMES] [-r ROUNDS]\n",
				argv[0]);
			return 2;
		}
	}
	if (!frames || !rounds) {
		fprintf(stderr, "bench_pps: bad arguments\n");
		return 2;
	}
	core_env_setup(&env);
	mzr_set_print(NULL);
	libbpf_set_print(NULL);
	skel = bench_core_bpf__open_and_load();
	if (!skel)
		die("loading the wrapper", errno);
	sinks();

	tunnel_to(&f, IP4(10, 1, 1, 20), H2);
	rows[0] = (struct row){ "floor (MAC swap + XDP_TX)",
				live("floor",
				     bpf_program__fd(skel->progs.bench_floor),
				     &f, env.ul0, -1) };
	rows[1] = (struct row){ "bouncer (XDP_TX)",
				live("bouncer", env.transit_fd, &f, env.ul0,
				     MZR_CNT_BOUNCER_FWD) };
	s = from_ep1(IP4(10, 1, 1, 20));
	build_inner(&f, &s);
	rows[2] = (struct row){ "agent encap (XDP_REDIRECT)",
				live("agent encap", env.agent_fd, &f, env.ep1h,
				     MZR_CNT_AGENT_ENCAP) };
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	tunnel_in(&f, H5, VNI_A, 0, 64, &inner);
	rows[3] = (struct row){ "deliver (XDP_REDIRECT)",
				live("deliver", env.transit_fd, &f, env.ul0,
				     MZR_CNT_DELIVER) };
	/* The floor again: drift over the run shows as a difference. */
	tunnel_to(&f, IP4(10, 1, 1, 20), H2);
	floor_again = live("floor", bpf_program__fd(skel->progs.bench_floor),
			   &f, env.ul0, -1);

	printf("bench_pps: live frames (BPF_F_TEST_XDP_LIVE_FRAMES), %u "
	       "frames per run, best of %u runs, one core\n", frames, rounds);
	printf("  %-30s %8s %9s\n", "path", "Mpps", "of floor");
	for (int i = 0; i < 4; i++)
		printf("  %-30s %8.2f %8.0f%%\n", rows[i].name, rows[i].mpps,
		       100 * rows[i].mpps / rows[0].mpps);
	printf("  %-30s %8.2f %8.0f%%\n", "floor again", floor_again,
	       100 * floor_again / rows[0].mpps);
	printf("{\"bench\":\"pps\",\"frames\":%u,\"rounds\":%u,", frames,
	       rounds);
	for (int i = 0; i < 4; i++)
		printf("\"%s\":{\"mpps\":%.3f,\"of_floor\":%.3f},", keys[i],
		       rows[i].mpps, rows[i].mpps / rows[0].mpps);
	printf("\"floor_again_mpps\":%.3f}\n", floor_again);

	bench_core_bpf__destroy(skel);
	mzr_host__reset(env.host);
	mzr_host__close(env.host);
	return 0;
}
