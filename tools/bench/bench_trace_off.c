// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_core -O: what the packet trace and the per-VPC/endpoint counters
 * cost each path, against the core built without trace points
 * (-DMZR_NO_TRACE, bench target mzr_core_notrace) loaded in the same
 * process on the same maps. Per path, each round in a fresh shuffled
 * order: the floor, the build without trace points, the normal build with
 * tracing off, with the counters on, with a trace on that filters every
 * packet out, and the build without trace points loaded a second time
 * (A/A: what noise and code layout alone make of two equal programs); the
 * machine's load drifts through all of them alike. Each ns/pkt is the
 * mean of the fastest half of the rounds (the kernel reports whole
 * nanoseconds, and 2% of the floor is about one: the truncation dithers
 * under noise); each cost is the median over the rounds of the difference
 * to the build without trace points in the same round, in % of the
 * floor. Each run must end with the path's verdict and move its counter
 * by exactly `repeat`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/mizar.h>
#include <mizar/trace.h>

#include "core_env.h"
#include "shared.h"
#include "bench_core_bpf.skel.h"
#include "mzr_core_notrace_bpf.skel.h"
#include "bench_wrap.h"
#include "bench_trace_off.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_core -O: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

enum { V_FLOOR, V_NOTRACE, V_OFF, V_COUNT, V_TRACE, V_NOTRACE2, V__N };

static const char *const v_keys[V__N] = { "floor", "compiled_out", "off",
					  "counters", "trace_filtered",
					  "compiled_out_again" };

struct off_path {
	const char *name, *key;
	int prog, notrace_prog, notrace2_prog;
	unsigned int ifindex;
	int verdict, cnt;
	struct pkt f;
	double ns[V__N], min[V__N], cost[V__N];
	double *samples[V__N];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of the round-by-round cost of variant @v over the build without
 * trace points, in % of that round's floor. */
static double paired_cost(double *const *smp, int v, unsigned int n)
{
	double *d = calloc(n, sizeof(*d)), m;

	if (!d)
		die("calloc", ENOMEM);
	for (unsigned int r = 0; r < n; r++)
		d[r] = 100 * (smp[v][r] - smp[V_NOTRACE][r]) / smp[V_FLOOR][r];
	qsort(d, n, sizeof(*d), cmp_double);
	m = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
	free(d);
	return m;
}

/* Mean of the fastest half (rounded up) of @n samples, sorted here. */
static double fast_half(double *v, unsigned int n)
{
	unsigned int k = (n + 1) / 2;
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (unsigned int i = 0; i < k; i++)
		sum += v[i];
	return sum / k;
}

static uint64_t counter(struct core_env *env, uint32_t idx)
{
	uint64_t v[__MZR_CNT_MAX];
	int err = mzr_host__counters(env->host, v, __MZR_CNT_MAX);

	if (err)
		die("mzr_host__counters", err);
	return v[idx];
}

/* The core without trace points, on the loaded back-plane's maps. */
static struct mzr_core_notrace_bpf *notrace_open(struct core_env *env)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct mzr_core_notrace_bpf *o;
	struct bpf_program *p;
	struct bpf_map *m;
	struct utsname u;
	char path[320];
	int err;

	/* As libmizar does (fib.h's weak CONFIG_HZ). */
	if (access("/proc/config.gz", R_OK) && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		if (access(path, R_OK))
			opts.kconfig = "CONFIG_HZ=0\n";
	}
	o = mzr_core_notrace_bpf__open_opts(&opts);
	if (!o)
		die("opening mzr_core_notrace", errno);
	bpf_object__for_each_map(m, o->obj) {
		int fd = mzr_host__map_fd(env->host, bpf_map__name(m));

		if (fd >= 0 && (err = bpf_map__reuse_fd(m, fd)))
			die(bpf_map__name(m), err);
	}
	bpf_object__for_each_program(p, o->obj)
		bpf_program__set_autoload(p, p == o->progs.mzr_transit ||
						     p == o->progs.mzr_agent);
	err = mzr_core_notrace_bpf__load(o);
	if (err)
		die("loading mzr_core_notrace", err);
	return o;
}

static void set_template(struct bench_core_bpf *skel, const struct pkt *f)
{
	struct bench_tmpl t = { .len = (uint32_t)f->len };
	uint32_t zero = 0, one = 1;

	if (f->len > BENCH_TMPL_MAX)
		die("template length", EINVAL);
	memcpy(t.b, f->data, f->len);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_tmpl), &zero, &t,
				BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.bench_cfg), &zero, &one,
				BPF_ANY))
		die("bench templates", errno);
}

/* One run of `repeat` iterations of the wrapper around @target: ns per
 * packet. */
static double run_once(struct core_env *env, struct bench_core_bpf *skel,
		       const struct off_path *p, int target, bool floor,
		       unsigned int repeat)
{
	uint8_t out[BENCH_TMPL_MAX + 128];
	struct xdp_md ctx = { .data_end = (uint32_t)p->f.len,
			      .ingress_ifindex = p->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->f.data,
		    .data_size_in = (uint32_t)p->f.len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	uint32_t zero = 0;
	uint64_t before;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_target), &zero,
				&target, BPF_ANY))
		die("bench_target", errno);
	before = floor ? 0 : counter(env, (uint32_t)p->cnt);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bench_wrap),
				   &o))
		die("BPF_PROG_TEST_RUN", errno);
	if ((int)o.retval != (floor ? XDP_TX : p->verdict)) {
		fprintf(stderr, "bench_core -O: %s: verdict %u, want %d: not "
			"the path under test\n", p->name, o.retval,
			floor ? XDP_TX : p->verdict);
		exit(1);
	}
	if (!floor && counter(env, (uint32_t)p->cnt) - before != repeat) {
		fprintf(stderr, "bench_core -O: %s: counter %s did not move "
			"by %u\n", p->name, mzr_counter_name((uint32_t)p->cnt),
			repeat);
		exit(1);
	}
	return o.duration;
}

static void refresh_direct(struct core_env *env)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 1, 1, 60)) };
	struct mzr_direct_val v = { .host = htonl(H6),
				    .updated_ns = mono_ns() };

	if (bpf_map_update_elem(env->direct_fd, &k, &v, BPF_ANY))
		die("mzr_direct", errno);
}

static void path_set(struct off_path *p, const char *name, const char *key,
		     int prog, int notrace_prog, unsigned int ifindex,
		     int verdict, int cnt)
{
	memset(p, 0, sizeof(*p));
	p->notrace2_prog = -1;
	p->name = name;
	p->key = key;
	p->prog = prog;
	p->notrace_prog = notrace_prog;
	p->ifindex = ifindex;
	p->verdict = verdict;
	p->cnt = cnt;
}

/* The frames of bench_core's six paths. */
static void paths_build(struct core_env *env, struct off_path *p, int agent,
			int transit)
{
	struct inner_spec s;
	struct pkt inner;

	path_set(&p[0], "agent encap (to a bouncer)", "agent_encap",
				  env->agent_fd, agent, env->ep1h,
				  XDP_REDIRECT, MZR_CNT_AGENT_ENCAP);
	s = from_ep1(IP4(10, 1, 1, 20));
	build_inner(&p[0].f, &s);
	path_set(&p[1], "agent direct path", "agent_direct",
				  env->agent_fd, agent, env->ep1h,
				  XDP_REDIRECT, MZR_CNT_AGENT_DIRECT);
	s = from_ep1(IP4(10, 1, 1, 60));
	build_inner(&p[1].f, &s);
	path_set(&p[2], "bouncer forward", "bouncer_fwd",
				  env->transit_fd, transit, env->ul0, XDP_TX,
				  MZR_CNT_BOUNCER_FWD);
	s = remote(IP4(10, 1, 1, 20));
	build_inner(&inner, &s);
	tunnel_in(&p[2].f, H2, VNI_A, 0, 64, &inner);
	path_set(&p[3], "divider forward", "divider_fwd",
				  env->transit_fd, transit, env->ul0, XDP_TX,
				  MZR_CNT_DIVIDER_FWD);
	s = remote(IP4(10, 2, 1, 7));
	build_inner(&inner, &s);
	tunnel_in(&p[3].f, H2, VNI_B, 0, 64, &inner);
	path_set(&p[4], "deliver (decap)", "deliver",
				  env->transit_fd, transit, env->ul0,
				  XDP_REDIRECT, MZR_CNT_DELIVER);
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	tunnel_in(&p[4].f, H5, VNI_A, 0, 64, &inner);
	path_set(&p[5], "transit pass (not Mizar)", "transit_pass",
				  env->transit_fd, transit, env->ul0, XDP_PASS,
				  MZR_CNT_TRANSIT_PASS);
	pkt_init(&p[5].f);
	pkt_eth(&p[5].f, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&p[5].f, H2, US, 17, NULL);
	pkt_udp(&p[5].f, 5555, 4789);
	pkt_payload_pattern(&p[5].f, 40);
	pkt_finish(&p[5].f);
}

int bench_trace_off(struct core_env *env, struct bench_core_bpf *skel,
		    unsigned int repeat, unsigned int rounds)
{
	struct mzr_trace_opts to = { .sz = sizeof(to), .vni = 0xffffff };
	struct mzr_core_notrace_bpf *nt = notrace_open(env);
	/* The same build loaded again (another JIT image): the A/A
	 * difference, what layout and noise alone make of two equals. */
	struct mzr_core_notrace_bpf *nt2 = notrace_open(env);
	struct off_path p[6];
	const int n = 6;

	srand(1);
	paths_build(env, p, bpf_program__fd(nt->progs.mzr_agent),
		    bpf_program__fd(nt->progs.mzr_transit));
	for (int i = 0; i < n; i++)
		p[i].notrace2_prog = p[i].prog == env->agent_fd ?
			bpf_program__fd(nt2->progs.mzr_agent) :
			bpf_program__fd(nt2->progs.mzr_transit);
	for (int i = 0; i < n; i++) {
		for (int v = 0; v < V__N; v++) {
			p[i].samples[v] = calloc(rounds, sizeof(double));
			if (!p[i].samples[v])
				die("calloc", ENOMEM);
		}
		set_template(skel, &p[i].f);
		for (unsigned int r = 0; r < rounds; r++) {
			int order[V__N];

			/* A fresh order each round: no variant always
			 * follows the same one. */
			for (int k = 0; k < V__N; k++)
				order[k] = k;
			for (int k = V__N - 1; k > 0; k--) {
				int j = rand() % (k + 1), tmp = order[k];

				order[k] = order[j];
				order[j] = tmp;
			}
			for (int k = 0; k < V__N; k++) {
				int v = order[k];
				struct mzr_trace *t = NULL;
				int prog = v == V_NOTRACE ? p[i].notrace_prog :
					   v == V_NOTRACE2 ?
						   p[i].notrace2_prog :
						   p[i].prog;
				double ns;

				if (v == V_FLOOR)
					prog = bpf_program__fd(
						skel->progs.bench_floor);
				if (v == V_COUNT &&
				    mzr_host__traffic_counting(env->host,
							       1) < 0)
					die("traffic counting on", EINVAL);
				if (v == V_TRACE &&
				    !(t = mzr_trace__start(env->host, &to, NULL,
							   NULL)))
					die("trace start", errno);
				if (i == 1) /* the direct path stays fresh */
					refresh_direct(env);
				ns = run_once(env, skel, &p[i], prog,
					      v == V_FLOOR, repeat);
				if (v == V_COUNT &&
				    mzr_host__traffic_counting(env->host,
							       0) < 0)
					die("traffic counting off", EINVAL);
				mzr_trace__stop(t);
				p[i].samples[v][r] = ns;
			}
		}
		for (int v = 0; v < V__N; v++)
			p[i].cost[v] = paired_cost(p[i].samples, v, rounds);
		for (int v = 0; v < V__N; v++) {
			p[i].ns[v] = fast_half(p[i].samples[v], rounds);
			p[i].min[v] = p[i].samples[v][0];
			free(p[i].samples[v]);
		}
	}

	printf("bench_core -O: %u iterations per run, %u interleaved "
	       "rounds; ns/pkt (mean of the fastest half), and the cost over "
	       "the build without trace points in %% of the floor (median "
	       "of the rounds' differences)\n", repeat, rounds);
	printf("  %-28s %7s %8s %7s %7s %8s %8s %8s %7s\n", "path", "floor",
	       "compiled", "off", "off%", "counters", "cnt%", "trace%",
	       "A/A%");
	for (int i = 0; i < n; i++) {
		double f = p[i].ns[V_FLOOR], b = p[i].ns[V_NOTRACE];

		printf("  %-28s %7.1f %8.1f %7.1f %+6.1f%% %8.1f %+7.1f%% "
		       "%+7.1f%% %+6.1f%%\n", p[i].name, f, b,
		       p[i].ns[V_OFF], p[i].cost[V_OFF], p[i].ns[V_COUNT],
		       p[i].cost[V_COUNT], p[i].cost[V_TRACE],
		       p[i].cost[V_NOTRACE2]);
	}
	printf("{\"bench\":\"core_trace_off\",\"repeat\":%u,\"rounds\":%u,"
	       "\"paths\":{", repeat, rounds);
	for (int i = 0; i < n; i++) {
		printf("%s\"%s\":{", i ? "," : "", p[i].key);
		for (int v = 0; v < V__N; v++)
			printf("%s\"%s_ns\":%.2f,\"%s_min_ns\":%.0f",
			       v ? "," : "", v_keys[v], p[i].ns[v], v_keys[v],
			       p[i].min[v]);
		printf(",\"off_cost_pct_of_floor\":%.2f,"
		       "\"counters_cost_pct_of_floor\":%.2f,"
		       "\"trace_filtered_cost_pct_of_floor\":%.2f,"
		       "\"aa_pct_of_floor\":%.2f}",
		       p[i].cost[V_OFF], p[i].cost[V_COUNT],
		       p[i].cost[V_TRACE], p[i].cost[V_NOTRACE2]);
	}
	printf("}}\n");
	mzr_core_notrace_bpf__destroy(nt);
	mzr_core_notrace_bpf__destroy(nt2);
	return 0;
}
