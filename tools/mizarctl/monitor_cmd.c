// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl monitor`: the back-plane's decisions live, one line (or one
 * JSON object) per packet: time, host, hook, verdict, drop reason, VNI,
 * inner 5-tuple, outer source. `drops` keeps only drops (filtered in the
 * kernel); the kernel's rate cap reports what it suppressed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mizarctl.h"

struct monitor_run {
	bool json;
	uint64_t n;
	uint64_t suppressed;
};

static int monitor_event(void *ctx, const struct mzr_trace_event *ev)
{
	struct monitor_run *r = ctx;

	if (ev->suppressed > r->suppressed && !r->json)
		printf("# %llu events suppressed by the rate cap so far\n",
		       (unsigned long long)ev->suppressed);
	r->suppressed = ev->suppressed;
	mzctl_trace_line(stdout, ev, r->json);
	r->n++;
	return 0;
}

static const char monitor_usage[] =
	"usage: mizarctl [--json] monitor [drops] [vni N] [ip IP|CIDR]\n"
	"                [port P] [proto tcp|udp|icmp] [count N]\n"
	"                [duration SECONDS] [rate N]\n"
	"One line per decision the back-plane takes at a program's exit:\n"
	"time, host, hook, verdict, drop reason, VNI, inner flow, outer source.\n"
	"--json prints one JSON object per line. drops: only drops. The kernel\n"
	"caps events per CPU per second (rate, default 10000) and counts what\n"
	"it suppressed. Ctrl-C ends it.\n";

int mzctl_cmd_monitor(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "monitor";
	struct mzctl_kw kws[] = {
		{ "drops", false, false, NULL },
		{ "vni", true, false, NULL },
		{ "ip", true, false, NULL },
		{ "port", true, false, NULL },
		{ "proto", true, false, NULL },
		{ "count", true, false, NULL },
		{ "duration", true, false, NULL },
		{ "snaplen", true, false, NULL },
		{ "rate", true, false, NULL },
		{ NULL, false, false, NULL },
	};
	struct monitor_run r = { .json = g->json };
	struct mzr_trace_opts o;
	struct mzr_trace *t;
	struct mzr_host *h;
	double duration = 0;
	uint64_t count = 0;
	int ret, i;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			fputs(monitor_usage, stdout);
			return MZCTL_OK;
		}
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			/* `monitor --json` as well as `--json monitor` */
			r.json = true;
			memmove(argv + i, argv + i + 1,
				(argc - i - 1) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	if (mzctl_parse_kw(cmd, kws, argc, argv) ||
	    mzctl_trace_opts(cmd, kws, &o) ||
	    mzctl_trace_limits(cmd, kws, &count, &duration))
		return MZCTL_USAGE;
	if (!o.snaplen)
		o.snaplen = 160;	/* headers: outer, Geneve, inner */
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	mzctl_clear_libmsg();
	t = mzr_trace__start(h, &o, monitor_event, &r);
	if (!t)
		return mzctl_fail(cmd, -errno);
	fprintf(stderr, "mizarctl: monitor: listening (Ctrl-C ends)\n");
	ret = mzctl_trace_loop(cmd, t, duration, &r.n, count);
	fprintf(stderr, "mizarctl: monitor: %llu events, %llu suppressed by the rate cap, %llu lost\n",
		(unsigned long long)r.n,
		(unsigned long long)mzr_trace__suppressed(t),
		(unsigned long long)mzr_trace__lost(t));
	mzr_trace__stop(t);
	return ret;
}
