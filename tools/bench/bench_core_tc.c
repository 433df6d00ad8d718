// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tc rows of bench_core: the agent that encapsulates on an endpoint's
 * host-side veth (agent_tc.h, the default agent of veth endpoints) and the
 * transit of a host attached in tc mode (transit_tc.h), both in mzr_neigh.
 * The method is bench_core's (DESIGN.md §7): a wrapper that restores the
 * skb from a template before each BPF_PROG_TEST_RUN iteration
 * (bench_core_tc.bpf.c), a floor that is the same wrapper around a MAC
 * swap + redirect, measured in the same run, and a run that took another
 * path is an error: wrong verdict, a counter that did not move by exactly
 * `repeat`, or a last frame unlike the one an unwrapped single run of the
 * program leaves (a restore that left state behind would show there).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <mizar/mizar.h>

#include "core_env.h"
#include "shared.h"
#include "bench_core_tc.h"
#include "bench_core_tc_bpf.skel.h"
#include "bench_wrap.h"

#define OUT_MAX (BENCH_TMPL_MAX + 128)
/* Fresh-skb rows run this much fewer iterations: a syscall each. */
#define FRESH_DIV 10

static struct bench_core_tc_bpf *skel;
static struct core_env *env;
static unsigned int repeat, rounds;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_core (tc): %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t counter(uint32_t idx)
{
	uint64_t v[__MZR_CNT_MAX];
	int err = mzr_host__counters(env->host, v, __MZR_CNT_MAX);

	if (err)
		die("mzr_host__counters", err);
	return v[idx];
}

/* What a wrong run did instead: the counters that moved. */
static void moved_counters(const uint64_t *before)
{
	uint64_t v[__MZR_CNT_MAX];

	if (mzr_host__counters(env->host, v, __MZR_CNT_MAX))
		return;
	for (uint32_t i = 0; i < __MZR_CNT_MAX; i++)
		if (v[i] != before[i])
			fprintf(stderr, "    %s +%llu\n", mzr_counter_name(i),
				(unsigned long long)(v[i] - before[i]));
}

static void set_template(const struct pkt *f)
{
	struct bench_tmpl t = { .len = (uint32_t)f->len };
	uint32_t zero = 0;

	if (f->len > BENCH_TMPL_MAX)
		die("template length", EINVAL);
	memcpy(t.b, f->data, f->len);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_tc_tmpl), &zero,
				&t, BPF_ANY))
		die("bench_tc_tmpl", errno);
}

/* One BPF_PROG_TEST_RUN of @prog on @f as an skb on @ifindex. */
static void run(int prog, const struct pkt *f, unsigned int ifindex,
		unsigned int n, uint8_t *out, uint32_t *out_len,
		uint32_t *retval, uint32_t *ns)
{
	struct __sk_buff ctx = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->data,
		    .data_size_in = (uint32_t)f->len, .data_out = out,
		    .data_size_out = OUT_MAX, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = n);

	if (bpf_prog_test_run_opts(prog, &o))
		die("BPF_PROG_TEST_RUN", errno);
	*out_len = o.data_size_out;
	*retval = o.retval;
	*ns = o.duration;
}

/*
 * Fastest of `rounds` runs of @target; each must end with @verdict, the
 * frame @ref (@ref_len bytes) and move @cnt (-1: none) by exactly the
 * iterations it ran. Wrapped: one BPF_PROG_TEST_RUN of `repeat`
 * iterations under bench_tc_wrap. Fresh: `repeat` / FRESH_DIV runs of one
 * iteration on a fresh skb each, the kernel's own per-run time summed.
 */
static double measure(const char *what, int target, const struct pkt *f,
		      unsigned int ifindex, int verdict, int cnt, bool fresh,
		      const uint8_t *ref, uint32_t ref_len)
{
	int wrap = bpf_program__fd(skel->progs.bench_tc_wrap);
	unsigned int iters = fresh ? repeat / FRESH_DIV : repeat;
	uint8_t out[OUT_MAX];
	uint32_t zero = 0, len = 0, ret = 0, ns;
	double best = 0;

	if (!iters)
		iters = 1;
	if (!fresh &&
	    bpf_map_update_elem(bpf_map__fd(skel->maps.bench_tc_target),
				&zero, &target, BPF_ANY))
		die("bench_tc_target", errno);
	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t before = cnt >= 0 ? counter((uint32_t)cnt) : 0, moved;
		uint64_t all[__MZR_CNT_MAX], sum = 0;

		if (mzr_host__counters(env->host, all, __MZR_CNT_MAX))
			die("mzr_host__counters", EIO);
		if (fresh) {
			for (unsigned int i = 0; i < iters; i++) {
				run(target, f, ifindex, 1, out, &len, &ret,
				    &ns);
				if ((int)ret != verdict)
					break;
				sum += ns;
			}
		} else {
			run(wrap, f, ifindex, iters, out, &len, &ret, &ns);
			sum = (uint64_t)ns * iters;
		}
		if ((int)ret != verdict) {
			fprintf(stderr, "bench_core (tc): %s: measured run "
				"ended with verdict %d, want %d: not the path "
				"under test; counters that moved:\n", what,
				(int)ret, verdict);
			moved_counters(all);
			exit(1);
		}
		if (ref && (len != ref_len || memcmp(out, ref, len))) {
			fprintf(stderr, "bench_core (tc): %s: the last "
				"iteration's frame (%u bytes) is not the one a "
				"single run leaves (%u bytes): the restore "
				"left state behind\n", what, len, ref_len);
			exit(1);
		}
		moved = cnt >= 0 ? counter((uint32_t)cnt) - before : iters;
		if (moved != iters) {
			fprintf(stderr, "bench_core (tc): %s: counter %s "
				"moved by %llu in %u iterations: not the path "
				"under test\n", what,
				mzr_counter_name((uint32_t)cnt),
				(unsigned long long)moved, iters);
			exit(1);
		}
		if (!r || (double)sum / iters < best)
			best = (double)sum / iters;
	}
	return best;
}

/* One row: the program alone once on the template (the reference frame
 * and verdict), then floor, path, floor. */
static void path(struct bench_tc_row *row, const char *name,
		 const char *key, int prog, const struct pkt *f,
		 unsigned int ifindex, int verdict, int cnt, bool fresh)
{
	int floor_fd = bpf_program__fd(skel->progs.bench_tc_floor);
	uint8_t ref[OUT_MAX];
	uint32_t ref_len, ret, ns;
	double f0, f1;

	row->name = name;
	row->key = key;
	row->fresh = fresh;
	set_template(f);
	run(prog, f, ifindex, 1, ref, &ref_len, &ret, &ns);
	if ((int)ret != verdict) {
		fprintf(stderr, "bench_core (tc): %s: a single run ends with "
			"verdict %d, want %d\n", name, (int)ret, verdict);
		exit(1);
	}
	f0 = measure("floor", floor_fd, f, ifindex, TC_ACT_REDIRECT, -1,
		     fresh, NULL, 0);
	row->ns = measure(name, prog, f, ifindex, verdict, cnt, fresh, ref,
			  ref_len);
	f1 = measure("floor", floor_fd, f, ifindex, TC_ACT_REDIRECT, -1,
		     fresh, NULL, 0);
	row->floor_ns = (f0 + f1) / 2;
}

static uint32_t set_tc_transit(int on)
{
	int fd = core_env_map_fd(env, "mzr_host");
	struct mzr_host_cfg cfg;
	uint32_t key = 0, old;

	if (bpf_map_lookup_elem(fd, &key, &cfg))
		die("mzr_host", errno);
	old = cfg.flags;
	if (on)
		cfg.flags |= MZR_HOST_F_TC_TRANSIT;
	else
		cfg.flags &= ~MZR_HOST_F_TC_TRANSIT;
	if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY))
		die("mzr_host", errno);
	return old;
}

void bench_core_tc(struct core_env *e, unsigned int n, unsigned int r,
		   struct bench_tc_row rows[BENCH_TC_ROWS])
{
	struct mzr_ep_key dk = { .vni = VNI_A };
	struct mzr_direct_val dv = { .host = htonl(H6) };
	struct inner_spec s;
	struct pkt inner, f;
	uint32_t old_flags;
	int prog;

	env = e;
	repeat = n;
	rounds = r;
	skel = bench_core_tc_bpf__open_and_load();
	if (!skel)
		die("loading the tc wrapper", errno);
	prog = core_env_prog_fd(env, "mzr_neigh");

	/* Agent: EP1 to EP3 on H5, through a bouncer of its network. An
	 * encapsulation sets skb->encapsulation, which no helper of 6.18
	 * clears, and bpf_skb_adjust_room() refuses to encapsulate again
	 * (-EALREADY): under the wrapper every iteration after the first is
	 * drop_encap. So the agent's rows take a fresh skb per iteration. */
	dk.ip = htonl(IP4(10, 1, 1, 20)); /* learned by an earlier delivery */
	if (bpf_map_delete_elem(env->direct_fd, &dk) && errno != ENOENT)
		die("mzr_direct", errno);
	s = from_ep1(IP4(10, 1, 1, 20));
	build_inner(&f, &s);
	path(&rows[0], "tc agent encap (fresh skbs)", "tc_agent_encap", prog,
	     &f, env->ep1h, TC_ACT_REDIRECT, MZR_CNT_AGENT_ENCAP, true);

	/* Agent: EP1 to 10.1.1.60, whose host it has learned. */
	dk.ip = htonl(IP4(10, 1, 1, 60));
	dv.updated_ns = mono_ns();
	if (bpf_map_update_elem(env->direct_fd, &dk, &dv, BPF_ANY))
		die("mzr_direct", errno);
	s = from_ep1(IP4(10, 1, 1, 60));
	build_inner(&f, &s);
	path(&rows[1], "tc agent direct (fresh skbs)", "tc_agent_direct", prog,
	     &f, env->ep1h, TC_ACT_REDIRECT, MZR_CNT_AGENT_DIRECT, true);

	old_flags = set_tc_transit(1);

	/* Deliver: for EP2, decapsulated. */
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	tunnel_in(&f, H5, VNI_A, 0, 64, &inner);
	path(&rows[2], "tc deliver (decap)", "tc_deliver", prog, &f,
	     env->ul0, TC_ACT_REDIRECT, MZR_CNT_DELIVER, false);
	/* Under the wrapper the decap's length comes back with one more
	 * adjust_room each iteration, which the floor does not pay: the
	 * same path on fresh skbs bounds it from the other side. */
	path(&rows[6], "tc deliver (fresh skbs)", "tc_deliver_fresh", prog,
	     &f, env->ul0, TC_ACT_REDIRECT, MZR_CNT_DELIVER, true);

	/* Bouncer: for EP3, forwarded to H5. */
	s = remote(IP4(10, 1, 1, 20));
	build_inner(&inner, &s);
	tunnel_in(&f, H2, VNI_A, 0, 64, &inner);
	path(&rows[3], "tc bouncer forward", "tc_bouncer_fwd", prog, &f,
	     env->ul0, TC_ACT_REDIRECT, MZR_CNT_BOUNCER_FWD, false);

	/* Divider: VPC B, to a bouncer of 10.2.1.0/24. */
	s = remote(IP4(10, 2, 1, 7));
	build_inner(&inner, &s);
	tunnel_in(&f, H2, VNI_B, 0, 64, &inner);
	path(&rows[4], "tc divider forward", "tc_divider_fwd", prog, &f,
	     env->ul0, TC_ACT_REDIRECT, MZR_CNT_DIVIDER_FWD, false);

	/* Transit: UDP to another port is the kernel's. */
	pkt_init(&f);
	pkt_eth(&f, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f, H2, US, 17, NULL);
	pkt_udp(&f, 5555, 4789);
	pkt_payload_pattern(&f, 40);
	pkt_finish(&f);
	path(&rows[5], "tc transit pass (not Mizar)", "tc_transit_pass", prog,
	     &f, env->ul0, TC_ACT_UNSPEC, MZR_CNT_TRANSIT_PASS, false);

	set_tc_transit(old_flags & MZR_HOST_F_TC_TRANSIT);
	bench_core_tc_bpf__destroy(skel);
	skel = NULL;
}
