// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl stats`: the back-plane's packet counters by role and hook,
 * missed tail calls and drops by reason; non-zero ones by default, every
 * one with `all`, per-second rates with `watch`.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mizar/nf.h>

#include "mizarctl.h"

/* The roles of MZR_COUNTERS (<mizar/abi.h>), in the order they first
 * appear there: a role the list gains shows without a change here. */
static unsigned int roles_of_counters(const char *roles[__MZR_CNT_ROLE_MAX])
{
	unsigned int n = 0, i, j;

	for (i = 0; i < __MZR_CNT_ROLE_MAX; i++) {
		for (j = 0; j < n && strcmp(roles[j], mzr_counter_role(i)); j++)
			;
		if (j == n)
			roles[n++] = mzr_counter_role(i);
	}
	return n;
}

int mzctl_counters_read(struct mzr_host *h, struct mzctl_counters *c)
{
	unsigned int i;
	int err;

	err = mzr_host__counters(h, c->cnt, __MZR_CNT_MAX);
	if (!err)
		err = mzr_host__missed(h, c->missed, MZR_MISSED_SIZE);
	if (err)
		return err;
	c->drops_total = 0;
	for (i = 1; i < __MZR_DROP_MAX; i++)
		c->drops_total += c->cnt[MZR_CNT_DROP_BASE + i];
	return 0;
}

/* Missed tail calls of @hook: in NF slots, and of the core continuation. */
static uint64_t missed_nf(const struct mzctl_counters *c, unsigned int hook)
{
	uint64_t nf = 0;
	unsigned int pos;

	for (pos = 0; pos < MZR_CHAIN_MAX; pos++)
		nf += c->missed[MZR_MISSED_IDX(hook, pos)];
	return nf;
}

static uint64_t missed_cont(const struct mzctl_counters *c, unsigned int hook)
{
	return c->missed[MZR_MISSED_IDX(hook, MZR_CHAIN_MAX)];
}

static bool role_has(const char *role, unsigned int i)
{
	return mzr_counter_role(i) && !strcmp(mzr_counter_role(i), role);
}

/* The JSON document: complete whatever the filter (scripts read it). */
static void print_json(const struct mzctl_counters *c)
{
	const char *roles[__MZR_CNT_ROLE_MAX];
	unsigned int n_roles = roles_of_counters(roles), r, i, hook;
	struct mzctl_json js;

	mzctl_json_begin(&js, stdout);
	mzctl_json_obj(&js, "roles");
	for (r = 0; r < n_roles; r++) {
		mzctl_json_obj(&js, roles[r]);
		for (i = 0; i < __MZR_CNT_ROLE_MAX; i++)
			if (role_has(roles[r], i))
				mzctl_json_u64(&js, mzr_counter_name(i),
					       c->cnt[i]);
		mzctl_json_obj_end(&js);
	}
	mzctl_json_obj_end(&js);
	mzctl_json_obj(&js, "hooks");
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		mzctl_json_obj(&js, mzr_hook_name(hook));
		mzctl_json_u64(&js, "missed_tail_calls",
			       missed_nf(c, hook) + missed_cont(c, hook));
		mzctl_json_u64(&js, "missed_nf", missed_nf(c, hook));
		mzctl_json_u64(&js, "missed_continuation",
			       missed_cont(c, hook));
		mzctl_json_obj_end(&js);
	}
	mzctl_json_obj_end(&js);
	mzctl_json_obj(&js, "drops");
	for (i = 1; i < __MZR_DROP_MAX; i++)
		mzctl_json_u64(&js, mzr_drop_reason_name(i),
			       c->cnt[MZR_CNT_DROP_BASE + i]);
	mzctl_json_obj_end(&js);
	mzctl_json_u64(&js, "drops_total", c->drops_total);
	mzctl_json_obj(&js, "counters");
	for (i = 0; i < __MZR_CNT_MAX; i++)
		if (mzr_counter_name(i) &&
		    (i < __MZR_CNT_ROLE_MAX || i > MZR_CNT_DROP_BASE))
			mzctl_json_u64(&js, mzr_counter_name(i), c->cnt[i]);
	mzctl_json_obj_end(&js);
	mzctl_json_end(&js);
}

/* Text: the same sections; with !@all, zero lines and empty sections go. */
static void print_text(const struct mzctl_counters *c, bool all)
{
	const char *roles[__MZR_CNT_ROLE_MAX];
	unsigned int n_roles = roles_of_counters(roles), r, i, hook, shown = 0;
	bool head;

	printf("Packets by role:\n");
	for (r = 0; r < n_roles; r++) {
		head = false;
		for (i = 0; i < __MZR_CNT_ROLE_MAX; i++) {
			if (!role_has(roles[r], i) || (!all && !c->cnt[i]))
				continue;
			if (!head)
				printf("  %s\n", roles[r]);
			head = true;
			printf("    %-22s %llu\n", mzr_counter_name(i),
			       (unsigned long long)c->cnt[i]);
			shown++;
		}
		if (all && !head)
			printf("  %s\n", roles[r]);
	}
	head = false;
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		uint64_t nf = missed_nf(c, hook), cont = missed_cont(c, hook);

		if (!all && !nf && !cont)
			continue;
		if (!head)
			printf("Missed tail calls by hook (NF slots / "
			       "continuation):\n");
		head = true;
		printf("    %-22s %llu / %llu\n", mzr_hook_name(hook),
		       (unsigned long long)nf, (unsigned long long)cont);
		shown++;
	}
	printf("Drops by reason:\n");
	for (i = 1; i < __MZR_DROP_MAX; i++) {
		uint64_t v = c->cnt[MZR_CNT_DROP_BASE + i];

		if (!all && !v)
			continue;
		printf("    %-22s %llu\n", mzr_drop_reason_name(i),
		       (unsigned long long)v);
	}
	printf("    %-22s %llu\n", "total", (unsigned long long)c->drops_total);
	if (!all)
		printf("(%s; 'mizarctl stats all' shows every counter)\n",
		       shown || c->drops_total ? "zero counters not shown" :
						 "every counter is zero");
}

/* ---- watch ------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One named value of the flat list that watch prints. */
struct flat {
	const char *name;
	uint64_t v;
};

#define FLAT_MAX (__MZR_CNT_MAX + 2 * __MZR_HOOK_MAX)

static unsigned int flatten(const struct mzctl_counters *c, struct flat *f)
{
	static char names[__MZR_HOOK_MAX][2][48];
	unsigned int i, hook, n = 0;

	for (i = 0; i < __MZR_CNT_MAX; i++)
		if (mzr_counter_name(i) &&
		    (i < __MZR_CNT_ROLE_MAX || i > MZR_CNT_DROP_BASE))
			f[n++] =
				(struct flat){ mzr_counter_name(i), c->cnt[i] };
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		snprintf(names[hook][0], sizeof(names[hook][0]), "missed_nf_%s",
			 mzr_hook_name(hook));
		snprintf(names[hook][1], sizeof(names[hook][1]),
			 "missed_continuation_%s", mzr_hook_name(hook));
		f[n++] = (struct flat){ names[hook][0], missed_nf(c, hook) };
		f[n++] = (struct flat){ names[hook][1], missed_cont(c, hook) };
	}
	return n;
}

/*
 * Per-second rates every @interval seconds, until SIGINT/SIGTERM (or
 * @count intervals when non-zero). A counter reset in between (a smaller
 * value) counts from zero.
 */
static int stats_watch(struct mzctl *g, struct mzr_host *h, bool all,
		       double interval, uint32_t count)
{
	struct mzctl_counters a, b;
	struct flat fa[FLAT_MAX], fb[FLAT_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	struct mzctl_json js;
	double t0, t1, dt;
	unsigned int n, i, k, shown;
	uint32_t done = 0;
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = mzctl_counters_read(h, &a);
	if (err)
		return mzctl_fail("stats watch", err);
	t0 = now_s();
	if (!g->json) {
		printf("per-second rates every %gs, %s (Ctrl-C ends)\n",
		       interval, all ? "every counter" : "non-zero ones");
		fflush(stdout);
	}
	while (!stop && (!count || done < count)) {
		struct timespec ts = {
			.tv_sec = (time_t)interval,
			.tv_nsec = (long)((interval - (time_t)interval) * 1e9),
		};

		/* A signal cuts the sleep short: no last partial interval. */
		if (nanosleep(&ts, NULL) && stop)
			break;
		err = mzctl_counters_read(h, &b);
		if (err)
			return mzctl_fail("stats watch", err);
		t1 = now_s();
		dt = t1 - t0 > 1e-6 ? t1 - t0 : 1e-6;
		n = flatten(&a, fa);
		flatten(&b, fb);
		if (g->json) {
			mzctl_json_begin(&js, stdout);
			mzctl_json_u64(&js, "time", (uint64_t)time(NULL));
			mzctl_json_obj(&js, "rates");
		} else {
			time_t now = time(NULL);
			char tbuf[32];

			strftime(tbuf, sizeof(tbuf), "%H:%M:%S",
				 localtime(&now));
			printf("%s\n", tbuf);
		}
		shown = 0;
		for (i = 0; i < n; i++) {
			uint64_t d = fb[i].v >= fa[i].v ? fb[i].v - fa[i].v :
							  fb[i].v;
			double rate = d / dt;

			if (!all && !d)
				continue;
			shown++;
			if (g->json) {
				/* Integral rates keep the JSON writer's u64. */
				mzctl_json_u64(&js, fb[i].name,
					       (uint64_t)(rate + 0.5));
				continue;
			}
			printf("    %-30s %12.1f/s  (total %llu)\n", fb[i].name,
			       rate, (unsigned long long)fb[i].v);
		}
		if (g->json) {
			mzctl_json_obj_end(&js);
			mzctl_json_end(&js);
		} else if (!shown) {
			printf("    (no counter moved)\n");
		}
		fflush(stdout);
		for (k = 0; k < __MZR_CNT_MAX; k++)
			a.cnt[k] = b.cnt[k];
		for (k = 0; k < MZR_MISSED_SIZE; k++)
			a.missed[k] = b.missed[k];
		t0 = t1;
		done++;
	}
	return MZCTL_OK;
}

/* ---- the command ------------------------------------------------------- */

static const char *const stats_usage =
	"Usage: mizarctl stats [all] [vpc N] [ep vni N ip IP] [watch [interval "
	"S] [count N]]\n"
	"       mizarctl stats reset\n"
	"       mizarctl stats counters [on|off]\n"
	"\n"
	"Packet counters by role and hook, missed tail calls by hook, and "
	"drops\n"
	"by named reason. Text output lists the non-zero counters only; "
	"-j/--json\n"
	"prints every counter, always.\n"
	"  all, --all       list every counter, zeros included\n"
	"  watch, --watch   print per-second rates every second (interval S)\n"
	"                   until Ctrl-C/SIGINT/SIGTERM (or count N "
	"intervals);\n"
	"                   with -j one JSON object per line\n"
	"  vpc N, ep vni N ip IP\n"
	"                   one VPC's / local endpoint's packets and bytes on\n"
	"                   this host: tx sent into the overlay (before\n"
	"                   encapsulation), rx delivered to endpoints; off\n"
	"                   until 'stats counters on' (they cost per packet)\n"
	"  counters on|off  switch this host's per-VPC/endpoint counters\n"
	"  reset            zero every counter\n";

static int stats_reset(struct mzctl *g, int argc, char **argv)
{
	struct mzr_host *h;
	int err;

	if (argc) {
		mzctl_err("stats reset", "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, "stats reset");
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_host__counters_reset(h);
	return err ? mzctl_fail("stats reset", err) : MZCTL_OK;
}

int mzctl_cmd_stats(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "stats";
	bool all = false, watch = false;
	struct mzctl_traffic_sel sel = { 0 };
	struct mzctl_counters c;
	struct in_addr ip;
	double interval = 1.0;
	uint32_t count = 0, vni;
	struct mzr_host *h;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			fputs(stats_usage, stdout);
			return MZCTL_OK;
		}
	}
	if (argc && !strcmp(argv[0], "reset"))
		return stats_reset(g, argc - 1, argv + 1);
	if (argc && !strcmp(argv[0], "counters"))
		return mzctl_stats_counters(g, argc - 1, argv + 1);
	/* "stats show" was the sub-command's name: still accepted. */
	i = argc && !strcmp(argv[0], "show") ? 1 : 0;
	for (; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "all") || !strcmp(a, "--all")) {
			all = true;
		} else if (!strcmp(a, "watch") || !strcmp(a, "--watch")) {
			watch = true;
		} else if (!strcmp(a, "interval") && watch) {
			char *end;

			interval = v ? strtod(v, &end) : 0;
			if (!v || *end ||
			    !(interval >= 0.1 && interval <= 3600)) {
				mzctl_err(cmd,
					  "bad interval '%s' (seconds, 0.1 to "
					  "3600)",
					  v ? v : "");
				return MZCTL_USAGE;
			}
			i++;
		} else if (!strcmp(a, "count") && watch) {
			if (!v || mzctl_parse_u32(v, &count) || !count) {
				mzctl_err(cmd, "bad count '%s'", v ? v : "");
				return MZCTL_USAGE;
			}
			i++;
		} else if (!strcmp(a, "vpc")) {
			if (!v || mzctl_parse_vni(v, &vni)) {
				mzctl_err(cmd, "bad vni '%s'", v ? v : "");
				return MZCTL_USAGE;
			}
			sel.has_vpc = true;
			sel.vpc = vni;
			i++;
		} else if (!strcmp(a, "ep")) {
			if (i + 4 >= argc || strcmp(argv[i + 1], "vni") ||
			    strcmp(argv[i + 3], "ip")) {
				mzctl_err(cmd, "ep needs 'ep vni N ip IP'");
				return MZCTL_USAGE;
			}
			if (mzctl_parse_vni(argv[i + 2], &vni)) {
				mzctl_err(cmd, "bad vni '%s'", argv[i + 2]);
				return MZCTL_USAGE;
			}
			if (mzctl_parse_ip(argv[i + 4], &ip)) {
				mzctl_err(cmd, "bad ip '%s'", argv[i + 4]);
				return MZCTL_USAGE;
			}
			sel.has_ep = true;
			sel.ep_vni = vni;
			sel.ep_ip = ip;
			i += 4;
		} else {
			mzctl_err(cmd,
				  "unknown argument '%s' (see mizarctl stats "
				  "--help)",
				  a);
			return MZCTL_USAGE;
		}
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	if (sel.has_vpc || sel.has_ep) {
		/* Never host-wide numbers to a per-VPC question. */
		sel.watch = watch;
		sel.interval = interval;
		sel.count = count;
		return mzctl_stats_traffic(g, h, &sel);
	}
	if (watch)
		return stats_watch(g, h, all, interval, count);
	err = mzctl_counters_read(h, &c);
	if (err)
		return mzctl_fail(cmd, err);
	if (g->json)
		print_json(&c);
	else
		print_text(&c, all);
	return MZCTL_OK;
}
