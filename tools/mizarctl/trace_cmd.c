// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl trace`: capture what the back-plane decides about each packet
 * (hook, verdict, drop reason) to pcapng, or one line per packet; and the
 * capture loop `monitor` shares. SIGINT/SIGTERM end it cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mizarctl.h"

static volatile sig_atomic_t trace_stop;

static void on_signal(int sig)
{
	(void)sig;
	trace_stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int mzctl_trace_loop(const char *cmd, struct mzr_trace *t, double duration,
		     const uint64_t *done, uint64_t count)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double end = duration > 0 ? now_s() + duration : 0;
	int err;

	/* No SA_RESTART: the signal interrupts the poll at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!trace_stop) {
		int ms = 200;

		if (end) {
			double left = end - now_s();

			if (left <= 0)
				break;
			if (left * 1000 < ms)
				ms = (int)(left * 1000) + 1;
		}
		err = mzr_trace__poll(t, ms);
		if (err < 0 && err != -EINTR) {
			mzctl_err(cmd, "reading events: %s", strerror(-err));
			return MZCTL_FAIL;
		}
		if (count && done && *done >= count)
			break;
	}
	return MZCTL_OK;
}

int mzctl_trace_opts(const char *cmd, struct mzctl_kw *kws,
		     struct mzr_trace_opts *o)
{
	const char *v;
	uint32_t u;

	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	if ((v = mzctl_kw_get(kws, "vni")->val) && mzctl_parse_vni(v, &o->vni)) {
		mzctl_err(cmd, "bad vni '%s' (1..16777215)", v);
		return -1;
	}
	if ((v = mzctl_kw_get(kws, "ip")->val)) {
		if (strchr(v, '/')) {
			if (mzctl_parse_prefix(v, &o->addr, &o->plen)) {
				mzctl_err(cmd, "bad prefix '%s' (A.B.C.D/LEN)", v);
				return -1;
			}
			if (!o->plen)
				o->addr.s_addr = 0;
		} else if (mzctl_parse_ip(v, &o->addr)) {
			mzctl_err(cmd, "bad IPv4 address '%s'", v);
			return -1;
		} else {
			o->plen = 32;
		}
	}
	if ((v = mzctl_kw_get(kws, "port")->val)) {
		if (mzctl_parse_u32(v, &u) || !u || u > 65535) {
			mzctl_err(cmd, "bad port '%s' (1..65535)", v);
			return -1;
		}
		o->port = u;
	}
	if ((v = mzctl_kw_get(kws, "proto")->val)) {
		if (!strcmp(v, "tcp"))
			o->proto = IPPROTO_TCP;
		else if (!strcmp(v, "udp"))
			o->proto = IPPROTO_UDP;
		else if (!strcmp(v, "icmp"))
			o->proto = IPPROTO_ICMP;
		else {
			mzctl_err(cmd, "bad proto '%s' (tcp, udp or icmp)", v);
			return -1;
		}
	}
	o->drops = mzctl_kw_get(kws, "drops")->val != NULL;
	if ((v = mzctl_kw_get(kws, "snaplen")->val) &&
	    (mzctl_parse_u32(v, &o->snaplen) || !o->snaplen ||
	     o->snaplen > 9216)) {
		mzctl_err(cmd, "bad snaplen '%s' (1..9216)", v);
		return -1;
	}
	if ((v = mzctl_kw_get(kws, "rate")->val) &&
	    (mzctl_parse_u32(v, &o->rate) || !o->rate)) {
		mzctl_err(cmd, "bad rate '%s' (events per second per CPU)", v);
		return -1;
	}
	return 0;
}

int mzctl_trace_limits(const char *cmd, struct mzctl_kw *kws,
		       uint64_t *count, double *duration)
{
	const char *v;
	uint32_t u;

	if ((v = mzctl_kw_get(kws, "count")->val)) {
		if (mzctl_parse_u32(v, &u) || !u) {
			mzctl_err(cmd, "bad count '%s' (a positive number)", v);
			return -1;
		}
		*count = u;
	}
	if ((v = mzctl_kw_get(kws, "duration")->val)) {
		char *end;

		*duration = strtod(v, &end);
		if (*end || !(*duration > 0) || *duration > 1e9) {
			mzctl_err(cmd, "bad duration '%s' (seconds > 0)", v);
			return -1;
		}
	}
	return 0;
}

void mzctl_trace_line(FILE *f, const struct mzr_trace_event *ev, bool json)
{
	char ts[40], host[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	char dst[INET_ADDRSTRLEN], outer[INET_ADDRSTRLEN] = "";
	struct mzr_trace_flow fl;
	const char *reason = ev->reason >= 0 ?
				     mzr_drop_reason_name(ev->reason) : NULL;
	const char *proto;
	char pbuf[8];
	time_t sec = ev->ts_ns / 1000000000ULL;
	struct tm tm;
	uint32_t vni;

	gmtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	mzr_trace__flow(ev, &fl);
	vni = ev->vni ? ev->vni : fl.vni;
	inet_ntop(AF_INET, &ev->host, host, sizeof(host));
	inet_ntop(AF_INET, &fl.saddr, src, sizeof(src));
	inet_ntop(AF_INET, &fl.daddr, dst, sizeof(dst));
	/* The frame's own outer header, else (decapsulated at deliver) the
	 * one the transit received. */
	if (fl.tunnel)
		inet_ntop(AF_INET, &fl.outer_saddr, outer, sizeof(outer));
	else if (ev->outer_src.s_addr)
		inet_ntop(AF_INET, &ev->outer_src, outer, sizeof(outer));
	switch (fl.proto) {
	case IPPROTO_TCP: proto = "tcp"; break;
	case IPPROTO_UDP: proto = "udp"; break;
	case IPPROTO_ICMP: proto = "icmp"; break;
	default:
		snprintf(pbuf, sizeof(pbuf), "%u", fl.proto);
		proto = fl.ip ? pbuf : "-";
	}
	if (json) {
		fprintf(f, "{\"time\":\"%s.%06uZ\",\"host\":\"%s\",\"hook\":\"%s\",\"verdict\":\"%s\",",
			ts, (unsigned int)(ev->ts_ns % 1000000000ULL / 1000),
			host, mzr_trace_hook_name(ev->hook),
			mzr_trace_verdict_name(ev));
		if (reason)
			fprintf(f, "\"reason\":\"%s\",", reason);
		else
			fprintf(f, "\"reason\":null,");
		fprintf(f, "\"vni\":%u,\"ifindex\":%u,\"len\":%u,", vni,
			ev->ifindex, ev->pkt_len);
		if (fl.ip)
			fprintf(f, "\"proto\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,",
				proto, src, dst, fl.sport, fl.dport);
		else
			fprintf(f, "\"proto\":null,\"src\":null,\"dst\":null,\"sport\":null,\"dport\":null,");
		if (outer[0])
			fprintf(f, "\"outer_src\":\"%s\",", outer);
		else
			fprintf(f, "\"outer_src\":null,");
		fprintf(f, "\"suppressed\":%llu}\n",
			(unsigned long long)ev->suppressed);
		return;
	}
	fprintf(f, "%s.%06u host=%s hook=%s verdict=%s", ts,
		(unsigned int)(ev->ts_ns % 1000000000ULL / 1000), host,
		mzr_trace_hook_name(ev->hook), mzr_trace_verdict_name(ev));
	if (reason)
		fprintf(f, " reason=%s", reason);
	fprintf(f, " vni=%u", vni);
	if (!fl.ip && ev->cap_len >= 14 &&
	    ((const uint8_t *)ev->data)[12] == 0x08 &&
	    ((const uint8_t *)ev->data)[13] == 0x06)
		fprintf(f, " arp");
	else if (fl.ip && (fl.sport || fl.dport))
		fprintf(f, " %s %s:%u > %s:%u", proto, src, fl.sport, dst,
			fl.dport);
	else if (fl.ip)
		fprintf(f, " %s %s > %s", proto, src, dst);
	if (outer[0])
		fprintf(f, " outer=%s", outer);
	fprintf(f, " len=%u\n", ev->pkt_len);
}

struct trace_run {
	struct mzr_trace_pcapng *w;
	FILE *lines;
	uint64_t n;
	uint64_t count;
	int err;
};

static int trace_event(void *ctx, const struct mzr_trace_event *ev)
{
	struct trace_run *r = ctx;

	if (r->count && r->n >= r->count)
		return 1;
	if (r->w) {
		r->err = mzr_trace__pcapng_write(r->w, ev);
		if (r->err)
			return 1;
	} else {
		mzctl_trace_line(r->lines, ev, false);
	}
	r->n++;
	return r->count && r->n >= r->count;
}

static const char trace_usage[] =
	"usage: mizarctl trace [-w FILE|-] [vni N] [ip IP|CIDR] [port P]\n"
	"                      [proto tcp|udp|icmp] [drops] [count N]\n"
	"                      [duration SECONDS] [snaplen N] [rate N] [entries]\n"
	"Capture the packets the back-plane decides about, at each hook and at\n"
	"each program's exit with the final verdict. With -w, pcapng (- for\n"
	"stdout: mizarctl trace -w - | tshark -r -); each packet's comment names\n"
	"its hook, verdict, VNI, host and drop reason. Without -w, one line per\n"
	"packet. Filters run in the kernel; rate caps events per CPU per second\n"
	"(default 10000); entries adds each program's entry (verdict rx).\n"
	"Ctrl-C ends the capture with a complete file.\n";

int mzctl_cmd_trace(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "trace";
	struct mzctl_kw kws[] = {
		{ "-w", true, false, NULL },
		{ "vni", true, false, NULL },
		{ "ip", true, false, NULL },
		{ "port", true, false, NULL },
		{ "proto", true, false, NULL },
		{ "drops", false, false, NULL },
		{ "count", true, false, NULL },
		{ "duration", true, false, NULL },
		{ "snaplen", true, false, NULL },
		{ "rate", true, false, NULL },
		{ "entries", false, false, NULL },
		{ NULL, false, false, NULL },
	};
	struct trace_run r = {};
	struct mzr_trace_opts o;
	struct mzr_trace *t;
	struct mzr_host *h;
	const char *file;
	double duration = 0;
	FILE *out = NULL;
	int ret, i;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			fputs(trace_usage, stdout);
			return MZCTL_OK;
		}
	}
	if (mzctl_parse_kw(cmd, kws, argc, argv) ||
	    mzctl_trace_opts(cmd, kws, &o))
		return MZCTL_USAGE;
	o.entries = mzctl_kw_get(kws, "entries")->val != NULL;
	if (mzctl_trace_limits(cmd, kws, &r.count, &duration))
		return MZCTL_USAGE;
	file = mzctl_kw_get(kws, "-w")->val;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	if (file) {
		out = strcmp(file, "-") ? fopen(file, "wbe") : stdout;
		if (!out) {
			mzctl_err(cmd, "cannot write %s: %s", file,
				  strerror(errno));
			return MZCTL_FAIL;
		}
		r.w = mzr_trace__pcapng_open(out);
		if (!r.w) {
			mzctl_err(cmd, "cannot write %s: %s", file,
				  strerror(errno));
			if (out != stdout)
				fclose(out);
			return MZCTL_FAIL;
		}
	} else {
		r.lines = stdout;
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
	mzctl_clear_libmsg();
	t = mzr_trace__start(h, &o, trace_event, &r);
	if (!t) {
		ret = mzctl_fail(cmd, -errno);
		goto out;
	}
	/* Tells scripts the kernel side is on: packets from now are seen. */
	fprintf(stderr, "mizarctl: trace: capturing (Ctrl-C ends)\n");
	ret = mzctl_trace_loop(cmd, t, duration, &r.n, r.count);
	if (r.err) {
		mzctl_err(cmd, "writing %s: %s", file, strerror(-r.err));
		ret = MZCTL_FAIL;
	}
	fprintf(stderr, "mizarctl: trace: %llu packets, %llu suppressed by the rate cap, %llu lost\n",
		(unsigned long long)r.n,
		(unsigned long long)mzr_trace__suppressed(t),
		(unsigned long long)mzr_trace__lost(t));
	mzr_trace__stop(t);
out:
	if (r.w)
		mzr_trace__pcapng_close(r.w);
	if (out && out != stdout && fclose(out) && ret == MZCTL_OK) {
		mzctl_err(cmd, "writing %s: %s", file, strerror(errno));
		ret = MZCTL_FAIL;
	}
	return ret;
}
