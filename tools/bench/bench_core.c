// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-path cost of the core back-plane, as ratios to a floor program
 * measured in the same run (DESIGN.md §7), on the topology of the packet
 * tests (tests/pkt/core_env.c: a private netns, the core loaded and
 * configured through libmizar).
 *
 * Every path runs under one wrapper (bench_core.bpf.c) that restores the
 * original frame from a template before each BPF_PROG_TEST_RUN iteration
 * and tail-calls the program under test; the floor is the same wrapper
 * tail-calling a MAC swap + XDP_TX. Each measured run must end with the
 * path's verdict, and the path's counter must have grown by exactly
 * `repeat`: a run that took another path is an error, not a number.
 *
 * The agent encap runs on its frame complete (as built) and partial (as an
 * endpoint with checksum offload on sends it, the field holding the
 * pseudo-header sum: the agent completes it, l4csum.h), in the paths and
 * in the breakdown; real container traffic is mostly partial.
 *
 * Scale: the bouncer path with 1k and with N (default 1M) endpoints in
 * mzr_eps (a table sized to each), with the same destination every
 * iteration (hot: the entry stays in cache), round robin over 1000
 * destinations (spread, the same count for both tables) and over SPREAD
 * destinations (wide: a working set larger than the caches); memory per
 * endpoint from the table's memlock (/proc/self/fdinfo) over max_entries.
 *
 * Breakdown: prefixes of the bouncer's and the agent's walks
 * (bench_stages.bpf.c) on the same frames, each as a delta to the floor
 * and to the stage before, and single primitives on top of the floor (a
 * per-CPU counter, the clocks, bpf_fib_lookup() with and without
 * BPF_FIB_LOOKUP_DIRECT, the next-hop cache, an endpoint lookup, an empty
 * hook's check). The cost of a DRAM miss comes from a pointer chase over
 * 256 MiB in userspace, in the same run.
 *
 * Usage: bench_core [-n REPEAT] [-r ROUNDS] [-s ENDPOINTS] [-k SPREAD] [-T] [-c] [-O]
 *   -T  a packet trace on, filtered out (VNI 0xffffff): its cost
 *   -c  per-VPC/endpoint counters on (opt-in): their cost
 *   -O  only each path with tracing off, counters on and a filtered
 *       trace against the core built without trace points, interleaved
 *       (bench_trace_off.c)
 *   -n  iterations per measured run (default 1000000)
 *   -r  runs per configuration, the fastest kept (default 5)
 *   -s  endpoints of the large table (default 1000000; 0 skips scale)
 *   -k  destinations of the wide spread run (default 65536)
 * Prints a table and one JSON line. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/mizar.h>

#include "core_env.h"
#include "shared.h"
#include "bench_core_bpf.skel.h"
#include "bench_stages_bpf.skel.h"
#include "bench_wrap.h"
#include "bench_core_tc.h"
#include "bench_trace_off.h"

#define SMALL_EPS 1000
#define EP_NET IP4(10, 128, 0, 0) /* /12: room for 1M endpoints */
#define EP_NET_LEN 12

struct result {
	const char *name;
	double ns, floor_ns;
};

static struct core_env env;
static struct bench_core_bpf *skel;
static unsigned int repeat = 1000000, rounds = 5;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_core: %s: %s\n", what,
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

static void set_templates(const struct pkt *frames, unsigned int n)
{
	struct bench_tmpl t;
	uint32_t zero = 0, i, cfg = n;

	for (i = 0; i < n; i++) {
		if (frames[i].len > BENCH_TMPL_MAX ||
		    frames[i].len != frames[0].len)
			die("template length", EINVAL);
		memset(&t, 0, sizeof(t));
		t.len = (uint32_t)frames[i].len;
		memcpy(t.b, frames[i].data, frames[i].len);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_tmpl), &i,
					&t, BPF_ANY))
			die("bench_tmpl", errno);
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_cfg), &zero, &cfg,
				BPF_ANY))
		die("bench_cfg", errno);
}

/*
 * Fastest of `rounds` runs of the wrapper around @target (ns per packet).
 * Every run must end with @verdict and move counter @cnt (-1: none) by
 * exactly `repeat`.
 */
static double measure(const char *what, int target, const struct pkt *frame,
		      unsigned int ifindex, int verdict, int cnt)
{
	uint8_t out[BENCH_TMPL_MAX + 128];
	struct xdp_md ctx = { .data_end = (uint32_t)frame->len,
			      .ingress_ifindex = ifindex };
	uint32_t zero = 0;
	double best = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_target), &zero,
				&target, BPF_ANY))
		die("bench_target", errno);
	for (unsigned int r = 0; r < rounds; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame->data,
			    .data_size_in = (uint32_t)frame->len,
			    .data_out = out, .data_size_out = sizeof(out),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .repeat = repeat);
		uint64_t before = cnt >= 0 ? counter((uint32_t)cnt) : 0;

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bench_wrap),
					   &o))
			die("BPF_PROG_TEST_RUN", errno);
		if ((int)o.retval != verdict) {
			fprintf(stderr, "bench_core: %s: measured run ended "
				"with verdict %u, want %d: not the path under "
				"test\n", what, o.retval, verdict);
			exit(1);
		}
		if (cnt >= 0 && counter((uint32_t)cnt) - before != repeat) {
			fprintf(stderr, "bench_core: %s: counter %s moved by "
				"%llu in %u iterations: not the path under "
				"test\n", what, mzr_counter_name((uint32_t)cnt),
				(unsigned long long)(counter((uint32_t)cnt) -
						     before),
				repeat);
			exit(1);
		}
		if (!r || o.duration < best)
			best = o.duration;
	}
	return best;
}

static double floor_ns(const struct pkt *frame, unsigned int ifindex)
{
	return measure("floor", bpf_program__fd(skel->progs.bench_floor),
		       frame, ifindex, XDP_TX, -1);
}

/* The path on one template: the floor before and after (drift shows as a
 * difference), the path in between. */
static struct result path(const char *name, int prog, const struct pkt *f,
			  unsigned int ifindex, int verdict, int cnt)
{
	struct result r = { .name = name };
	double f0, f1;

	set_templates(f, 1);
	f0 = floor_ns(f, ifindex);
	r.ns = measure(name, prog, f, ifindex, verdict, cnt);
	f1 = floor_ns(f, ifindex);
	r.floor_ns = (f0 + f1) / 2;
	return r;
}

static void refresh_direct(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 1, 1, 60)) };
	struct mzr_direct_val v = { .host = htonl(H6),
				    .updated_ns = mono_ns() };

	if (bpf_map_update_elem(env.direct_fd, &k, &v, BPF_ANY))
		die("mzr_direct", errno);
}

/* ---- Scale -------------------------------------------------------------- */

struct scale {
	unsigned int eps, max_entries, narrow_k, wide_k;
	unsigned long long memlock;
	struct result hot, narrow, wide;
};

static unsigned long long fdinfo_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		die(path, errno);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static uint32_t ep_ip(unsigned int i)
{
	return EP_NET + 2 + i; /* past the network address and gateway */
}

/* A fresh back-plane whose endpoint table holds @n remote endpoints. */
static void scale_host(unsigned int n, unsigned int max_entries)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = env.pin_root,
		 .max_endpoints = max_entries);
	struct in_addr h4 = { htonl(H4) }, us = { htonl(US) };
	struct mzr_ep_spec *specs;
	const unsigned int chunk = 65536;
	int err;

	err = mzr_host__reset(env.host);
	if (err)
		die("mzr_host__reset", err);
	mzr_host__close(env.host);
	env.host = mzr_host__open(&o);
	if (!env.host)
		die("mzr_host__open", errno);
	err = mzr_host__load(env.host);
	err = err ?: mzr_host__attach(env.host, "ul0", NULL);
	err = err ?: mzr_vpc__create(env.host, VNI_A, &h4, 1);
	err = err ?: mzr_net__create(env.host, VNI_A,
				     (struct in_addr){ htonl(EP_NET) },
				     EP_NET_LEN, &us, 1, NULL);
	/* The frames come from H2: a Mizar host of the cluster. */
	err = err ?: mzr_host__peer_add(env.host,
					(struct in_addr){ htonl(H2) });
	if (err)
		die("scale host", err);
	close(env.transit_fd);
	env.transit_fd = core_env_prog_fd(&env, "mzr_transit");

	specs = calloc(chunk, sizeof(*specs));
	if (!specs)
		die("calloc", ENOMEM);
	for (unsigned int done = 0; done < n;) {
		unsigned int m = n - done < chunk ? n - done : chunk;
		size_t bad = 0;

		for (unsigned int i = 0; i < m; i++) {
			uint32_t ip = ep_ip(done + i);

			specs[i] = (struct mzr_ep_spec){
				.vni = VNI_A, .ip = { htonl(ip) },
				.host = { htonl(H5) },
				.mac = { 0x0e, 0x01, (uint8_t)(ip >> 24),
					 (uint8_t)(ip >> 16),
					 (uint8_t)(ip >> 8), (uint8_t)ip },
			};
		}
		err = mzr_ep__create_batch(env.host, specs, m, &bad);
		if (err)
			die("mzr_ep__create_batch", err);
		done += m;
	}
	free(specs);
}

static void tunnel_to(struct pkt *p, uint32_t dst)
{
	struct inner_spec s = remote(dst);
	struct pkt inner;

	build_inner(&inner, &s);
	tunnel_in(p, H2, VNI_A, 0, 64, &inner);
}

/* The bouncer path round robin over @k destinations spread evenly over
 * the table's endpoints. */
static struct result spread_run(const char *name, unsigned int eps,
				unsigned int k, struct pkt *frames)
{
	struct result r = { .name = name };
	double f0, f1;

	for (unsigned int i = 0; i < k; i++)
		tunnel_to(&frames[i],
			  ep_ip((unsigned int)((uint64_t)i * eps / k)));
	set_templates(frames, k);
	f0 = floor_ns(&frames[0], env.ul0);
	r.ns = measure(name, env.transit_fd, &frames[0], env.ul0, XDP_TX,
		       MZR_CNT_BOUNCER_FWD);
	f1 = floor_ns(&frames[0], env.ul0);
	r.floor_ns = (f0 + f1) / 2;
	return r;
}

static void scale_run(struct scale *sc, struct pkt *frames)
{
	scale_host(sc->eps, sc->max_entries);
	sc->memlock = fdinfo_memlock(core_env_map_fd(&env, "mzr_eps"));

	tunnel_to(&frames[0], ep_ip(sc->eps / 2));
	sc->hot = path("bouncer, one destination", env.transit_fd, &frames[0],
		       env.ul0, XDP_TX, MZR_CNT_BOUNCER_FWD);
	sc->narrow = spread_run("bouncer, spread", sc->eps, sc->narrow_k,
				frames);
	if (sc->wide_k > sc->narrow_k)
		sc->wide = spread_run("bouncer, spread wide", sc->eps,
				      sc->wide_k, frames);
	else
		sc->wide = sc->narrow;
}

/* ---- Breakdown ---------------------------------------------------------- */

struct stage {
	const char *name;
	struct bpf_program *prog;
	double ns, floor_ns;
};

/* The stage programs on the loaded core's maps. */
static struct bench_stages_bpf *stages_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct bench_stages_bpf *st;
	struct bpf_map *m;
	struct utsname u;
	char path[320];
	int err;

	/* As libmizar does for the core (fib.h's weak CONFIG_HZ): without a
	 * kernel config file libbpf refuses the object unless told. */
	if (access("/proc/config.gz", R_OK) && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		if (access(path, R_OK))
			opts.kconfig = "CONFIG_HZ=0\n";
	}
	st = bench_stages_bpf__open_opts(&opts);

	if (!st)
		die("opening bench_stages", errno);
	bpf_object__for_each_map(m, st->obj) {
		int fd = mzr_host__map_fd(env.host, bpf_map__name(m));

		if (fd >= 0 && (err = bpf_map__reuse_fd(m, fd)))
			die(bpf_map__name(m), err);
	}
	err = bench_stages_bpf__load(st);
	if (err)
		die("loading bench_stages", err);
	return st;
}

static void stage_run(struct stage *s, unsigned int n, const struct pkt *f,
		      unsigned int ifindex)
{
	double f0, f1;

	set_templates(f, 1);
	f0 = floor_ns(f, ifindex);
	for (unsigned int i = 0; i < n; i++)
		s[i].ns = measure(s[i].name, bpf_program__fd(s[i].prog), f,
				  ifindex, XDP_TX, -1);
	f1 = floor_ns(f, ifindex);
	for (unsigned int i = 0; i < n; i++)
		s[i].floor_ns = (f0 + f1) / 2;
}

static void stage_print(const char *title, const struct stage *s,
			unsigned int n, const struct result *full, bool steps)
{
	printf("  %s\n", title);
	for (unsigned int i = 0; i < n; i++) {
		double prev = i && steps ? s[i - 1].ns : s[i].floor_ns;

		printf("    %-32s %9.1f %+9.1f %+9.1f\n", s[i].name, s[i].ns,
		       s[i].ns - s[i].floor_ns, s[i].ns - prev);
	}
	if (full && n)
		printf("    %-32s %9.1f %+9.1f %+9.1f\n", full->name, full->ns,
		       full->ns - full->floor_ns,
		       full->ns - (steps ? s[n - 1].ns : full->floor_ns));
}

static void stage_json(const char *key, const struct stage *s,
		       unsigned int n)
{
	printf("\"%s\":{", key);
	for (unsigned int i = 0; i < n; i++)
		printf("%s\"%s\":{\"ns\":%.2f,\"floor_ns\":%.2f}", i ? "," : "",
		       bpf_program__name(s[i].prog), s[i].ns, s[i].floor_ns);
	printf("}");
}

/* Nanoseconds per dependent load over a 256 MiB random cycle: a DRAM
 * miss (and a TLB miss, as an endpoint lookup in a large table takes). */
static double dram_miss_ns(void)
{
	const size_t n = (256u << 20) / sizeof(void *);
	const unsigned int hops = 20000000;
	struct timespec t0, t1;
	size_t *next = malloc(n * sizeof(*next)), *perm, i, j = 0;
	double ns;

	perm = malloc(n * sizeof(*perm));
	if (!next || !perm)
		die("malloc", ENOMEM);
	for (i = 0; i < n; i++)
		perm[i] = i;
	srand(1);
	for (i = n - 1; i > 0; i--) {
		size_t k = ((size_t)rand() << 16 ^ (size_t)rand()) % (i + 1),
		       t = perm[i];

		perm[i] = perm[k];
		perm[k] = t;
	}
	for (i = 0; i < n; i++)
		next[perm[i]] = perm[(i + 1) % n];
	free(perm);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < hops; i++)
		j = next[j];
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
	     hops;
	if (j == n) /* keep the chase */
		printf("?");
	free(next);
	return ns;
}

/* ---- Main --------------------------------------------------------------- */

static void print_row(const struct result *r)
{
	printf("  %-34s %9.1f %9.1f %8.2f\n", r->name, r->ns, r->floor_ns,
	       r->ns / r->floor_ns);
}

static void json_result(const char *key, const struct result *r, bool comma)
{
	printf("\"%s\":{\"ns\":%.2f,\"floor_ns\":%.2f,\"ratio\":%.3f}%s", key,
	       r->ns, r->floor_ns, r->ns / r->floor_ns, comma ? "," : "");
}

int main(int argc, char **argv)
{
	static const char *keys[] = { "agent_encap", "agent_direct",
				      "bouncer_fwd", "divider_fwd",
				      "deliver", "transit_pass",
				      "agent_encap_partial" };
	unsigned int big = 1000000, spread = 65536;
	struct result res[7];
	struct bench_tc_row tcr[BENCH_TC_ROWS];
	struct scale sc[2] = {};
	enum { NB_T = 6, NB_A = 5, NB_M = 10, NB_P = 2 };
	struct stage bt[NB_T], ba[NB_A], bm[NB_M], bp[NB_P], bc[4];
	struct bench_stages_bpf *st;
	double miss_ns;
	struct inner_spec s;
	struct pkt inner, f, *frames;
	int opt, n_sc = 0;
	bool trace_on = false, count_on = false, off_only = false;

	while ((opt = getopt(argc, argv, "n:r:s:k:TcO")) != -1) {
		if (opt == 'O')
			off_only = true;
		else if (opt == 'T')
			trace_on = true;
		else if (opt == 'c')
			count_on = true;
		else if (opt == 'n')
			repeat = (unsigned int)strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			rounds = (unsigned int)strtoul(optarg, NULL, 0);
		else if (opt == 's')
			big = (unsigned int)strtoul(optarg, NULL, 0);
		else if (opt == 'k')
			spread = (unsigned int)strtoul(optarg, NULL, 0);
		else {
			fprintf(stderr, "usage: %s [-n REPEAT] [-r ROUNDS] "
				"[-s ENDPOINTS] [-k SPREAD] [-T] [-c] [-O]\n", argv[0]);
			return 2;
		}
	}
	if (!repeat || !rounds || spread > BENCH_TMPL_SLOTS ||
	    big > (1U << (32 - EP_NET_LEN)) - 3) {
		fprintf(stderr, "bench_core: bad arguments\n");
		return 2;
	}
	if (!spread)
		spread = 1;
	frames = calloc(BENCH_TMPL_SLOTS, sizeof(*frames));
	if (!frames)
		die("calloc", ENOMEM);

	core_env_setup(&env);
	/* -c: per-VPC/endpoint counters on; -T: a trace on whose filter
	 * (a VNI nobody uses) drops every packet: their costs. */
	if (count_on && mzr_host__traffic_counting(env.host, 1) < 0)
		die("traffic counting on", EINVAL);
	if (trace_on) {
		struct mzr_trace_opts to = { .sz = sizeof(to), .vni = 0xffffff };

		if (!mzr_trace__start(env.host, &to, NULL, NULL))
			die("trace start", errno);
	}
	mzr_set_print(NULL);
	libbpf_set_print(NULL);
	skel = bench_core_bpf__open_and_load();
	if (!skel)
		die("loading the wrapper", errno);
	if (off_only) {
		bench_trace_off(&env, skel, repeat, rounds);
		bench_core_bpf__destroy(skel);
		mzr_host__reset(env.host);
		mzr_host__close(env.host);
		free(frames);
		return 0;
	}

	/* Agent: EP1 to EP3 on H5, through a bouncer of its network. */
	s = from_ep1(IP4(10, 1, 1, 20));
	build_inner(&f, &s);
	res[0] = path("agent encap (to a bouncer)", env.agent_fd, &f, env.ep1h,
		      XDP_REDIRECT, MZR_CNT_AGENT_ENCAP);
	/* The same frame as an endpoint with checksum offload on sends it
	 * (CHECKSUM_PARTIAL: the field holds the pseudo-header sum), the
	 * agent completes it; the frame above is complete (l4csum.h). */
	pkt_l4_partial(&f, 14);
	res[6] = path("agent encap, partial checksum", env.agent_fd, &f,
		      env.ep1h, XDP_REDIRECT, MZR_CNT_AGENT_ENCAP);

	/* Agent: EP1 to 10.1.1.60, whose host it has learned. */
	refresh_direct();
	s = from_ep1(IP4(10, 1, 1, 60));
	build_inner(&f, &s);
	res[1] = path("agent direct path", env.agent_fd, &f, env.ep1h,
		      XDP_REDIRECT, MZR_CNT_AGENT_DIRECT);

	/* Bouncer: for EP3, forwarded to H5. */
	tunnel_to(&f, IP4(10, 1, 1, 20));
	res[2] = path("bouncer forward", env.transit_fd, &f, env.ul0, XDP_TX,
		      MZR_CNT_BOUNCER_FWD);

	/* Divider: VPC B, to a bouncer of 10.2.1.0/24. */
	s = remote(IP4(10, 2, 1, 7));
	build_inner(&inner, &s);
	tunnel_in(&f, H2, VNI_B, 0, 64, &inner);
	res[3] = path("divider forward", env.transit_fd, &f, env.ul0, XDP_TX,
		      MZR_CNT_DIVIDER_FWD);

	/* Deliver: for EP2, decapsulated. */
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	tunnel_in(&f, H5, VNI_A, 0, 64, &inner);
	res[4] = path("deliver (decap)", env.transit_fd, &f, env.ul0,
		      XDP_REDIRECT, MZR_CNT_DELIVER);

	/* Transit: UDP to another port is the kernel's. */
	pkt_init(&f);
	pkt_eth(&f, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f, H2, US, 17, NULL);
	pkt_udp(&f, 5555, 4789);
	pkt_payload_pattern(&f, 40);
	pkt_finish(&f);
	res[5] = path("transit pass (not Mizar)", env.transit_fd, &f, env.ul0,
		      XDP_PASS, MZR_CNT_TRANSIT_PASS);

	/* The tc agent and the tc transit (bench_core_tc.c). */
	bench_core_tc(&env, repeat, rounds, tcr);

	/* Breakdown, on the bouncer's and the agent encap's frames. */
	st = stages_open();
#define BS(name, prog) { name, st->progs.prog, 0, 0 }
	{
		struct stage t[] = {
			BS("outer headers", bs_t_outer),
			BS("+ options (agent layout)", bs_t_options),
			BS("parse (+ inner)", bs_t_parse),
			BS("+ route (endpoint lookup)", bs_t_route),
			BS("+ hook point (empty)", bs_t_hook),
			BS("+ next hop (cache)", bs_t_nexthop),
		};
		struct stage a[] = {
			BS("parse", bs_a_parse),
			BS("+ admit, hook point (empty)", bs_a_hook),
			BS("+ route (net, ep, direct)", bs_a_route),
			BS("+ next hop (cache)", bs_a_nexthop),
			BS("+ L4 checksum", bs_a_csum),
		};
		struct stage m[] = {
			BS("per-CPU counter", bs_m_counter),
			BS("bpf_ktime_get_ns", bs_m_ktime),
			BS("bpf_ktime_get_coarse_ns", bs_m_ktime_coarse),
			BS("bpf_jiffies64", bs_m_jiffies),
			BS("bpf_fib_lookup OUTPUT", bs_m_fib_output),
			BS("bpf_fib_lookup OUTPUT|DIRECT", bs_m_fib_direct),
			BS("next-hop cache hit", bs_m_nh_cache),
			BS("endpoint lookup (hot)", bs_m_ep_lookup),
			BS("empty hook check", bs_m_chain_check),
			BS("option walk (other layouts)", bs_m_option_walk),
		};
		struct stage pa[] = {
			BS("+ next hop (cache)", bs_a_nexthop),
			BS("+ L4 checksum", bs_a_csum),
		};

		memcpy(bt, t, sizeof(t));
		memcpy(ba, a, sizeof(a));
		memcpy(bm, m, sizeof(m));
		memcpy(bp, pa, sizeof(pa));
		bc[0] = (struct stage)BS("L4 checksum, complete frame",
					 bs_m_l4csum);
		bc[1] = (struct stage)BS("L4 checksum, partial frame",
					 bs_m_l4csum);
		bc[2] = (struct stage)BS("L4 checksum, 200 B TCP, complete",
					 bs_m_l4csum);
		bc[3] = (struct stage)BS("L4 checksum, 200 B TCP, partial",
					 bs_m_l4csum);
	}
#undef BS
	tunnel_to(&f, IP4(10, 1, 1, 20));
	stage_run(bt, NB_T, &f, env.ul0);
	stage_run(bm, NB_M, &f, env.ul0);
	s = from_ep1(IP4(10, 1, 1, 20));
	build_inner(&f, &s);
	stage_run(ba, NB_A, &f, env.ep1h);
	stage_run(&bc[0], 1, &f, env.ep1h);
	pkt_l4_partial(&f, 14);
	stage_run(bp, NB_P, &f, env.ep1h);
	stage_run(&bc[1], 1, &f, env.ep1h);
	/* A mid-size TCP segment, 200 bytes of L4 (templates hold 256). */
	s.proto = 6;
	s.payload = 200 - 20;
	build_inner(&f, &s);
	stage_run(&bc[2], 1, &f, env.ep1h);
	pkt_l4_partial(&f, 14);
	stage_run(&bc[3], 1, &f, env.ep1h);
	miss_ns = dram_miss_ns();

	if (big) {
		sc[0] = (struct scale){ .eps = SMALL_EPS, .max_entries = 1024 };
		sc[1] = (struct scale){ .eps = big, .max_entries = big };
		for (n_sc = 0; n_sc < 2; n_sc++) {
			struct scale *c = &sc[n_sc];

			c->narrow_k = SMALL_EPS < c->eps ? SMALL_EPS : c->eps;
			if (c->narrow_k > spread)
				c->narrow_k = spread;
			c->wide_k = spread < c->eps ? spread : c->eps;
			scale_run(c, frames);
		}
	}

	printf("bench_core: %u iterations per run, fastest of %u runs; "
	       "ratio = path / floor (wrapper + MAC swap + XDP_TX)\n",
	       repeat, rounds);
	printf("  %-34s %9s %9s %8s\n", "path", "ns/pkt", "floor", "ratio");
	for (int i = 0; i < 7; i++)
		print_row(&res[i]);
	printf("  tc: ratio = path / floor (tc wrapper + MAC swap + "
	       "bpf_redirect;\n  fresh skbs: %u runs of one iteration, "
	       "floor without the wrapper)\n", repeat / 10);
	for (int i = 0; i < BENCH_TC_ROWS; i++)
		print_row(&(struct result){ tcr[i].name, tcr[i].ns,
					    tcr[i].floor_ns });
	printf("breakdown: ns/pkt, delta to the floor, delta to the stage "
	       "above\n");
	stage_print("bouncer walk (the full path last):", bt, NB_T, &res[2],
		    true);
	stage_print("agent walk (the full path last):", ba, NB_A, &res[0],
		    true);
	stage_print("agent walk, partial checksum (offload on in the "
		    "endpoint):", bp, NB_P, &res[6], true);
	stage_print("the agent's L4 checksum alone (l4csum.h, the agent's "
		    "frame):", bc, 4, NULL, false);
	stage_print("one primitive on top of the floor:", bm, NB_M, NULL,
		    false);
	printf("  DRAM miss (pointer chase over 256 MiB): %.1f ns\n",
	       miss_ns);
	for (int i = 0; i < n_sc; i++) {
		printf("  mzr_eps: %u endpoints, max_entries %u, memlock %llu "
		       "bytes = %.1f bytes per entry\n", sc[i].eps,
		       sc[i].max_entries, sc[i].memlock,
		       (double)sc[i].memlock / sc[i].max_entries);
		print_row(&sc[i].hot);
		printf("  %-34s %9.1f %9.1f %8.2f   (%u destinations)\n",
		       sc[i].narrow.name, sc[i].narrow.ns,
		       sc[i].narrow.floor_ns,
		       sc[i].narrow.ns / sc[i].narrow.floor_ns,
		       sc[i].narrow_k);
		if (sc[i].wide_k > sc[i].narrow_k)
			printf("  %-34s %9.1f %9.1f %8.2f   (%u destinations)"
			       "\n", sc[i].wide.name, sc[i].wide.ns,
			       sc[i].wide.floor_ns,
			       sc[i].wide.ns / sc[i].wide.floor_ns,
			       sc[i].wide_k);
	}

	printf("{\"bench\":\"core\",\"repeat\":%u,\"rounds\":%u,\"paths\":{",
	       repeat, rounds);
	for (int i = 0; i < 7; i++)
		json_result(keys[i], &res[i], i < 6);
	printf("},\"tc_paths\":{");
	for (int i = 0; i < BENCH_TC_ROWS; i++)
		json_result(tcr[i].key, &(struct result){ tcr[i].name,
			    tcr[i].ns, tcr[i].floor_ns },
			    i < BENCH_TC_ROWS - 1);
	printf("},\"breakdown\":{");
	stage_json("bouncer", bt, NB_T);
	printf(",");
	stage_json("agent", ba, NB_A);
	printf(",");
	stage_json("agent_partial", bp, NB_P);
	printf(",\"l4csum\":{");
	for (int i = 0; i < 4; i++)
		printf("%s\"%s\":{\"ns\":%.2f,\"floor_ns\":%.2f}", i ? "," : "",
		       (const char *[]){ "udp40_complete", "udp40_partial",
					 "tcp200_complete",
					 "tcp200_partial" }[i],
		       bc[i].ns, bc[i].floor_ns);
	printf("},");
	stage_json("primitives", bm, NB_M);
	printf(",\"dram_miss_ns\":%.2f},\"scale\":[", miss_ns);
	for (int i = 0; i < n_sc; i++) {
		printf("%s{\"endpoints\":%u,\"max_entries\":%u,"
		       "\"memlock_bytes\":%llu,\"bytes_per_entry\":%.1f,"
		       "\"spread_destinations\":%u,\"wide_destinations\":%u,",
		       i ? "," : "", sc[i].eps, sc[i].max_entries,
		       sc[i].memlock,
		       (double)sc[i].memlock / sc[i].max_entries,
		       sc[i].narrow_k, sc[i].wide_k);
		json_result("bouncer_hot", &sc[i].hot, true);
		json_result("bouncer_spread", &sc[i].narrow, true);
		json_result("bouncer_spread_wide", &sc[i].wide, false);
		printf("}");
	}
	printf("]}\n");

	bench_stages_bpf__destroy(st);
	bench_core_bpf__destroy(skel);
	mzr_host__reset(env.host);
	mzr_host__close(env.host);
	free(frames);
	return 0;
}
