// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl stats vpc N` / `stats ep vni N ip IP`: one VPC's or local
 * endpoint's packets and bytes in each direction on this host, and its
 * drops by reason (totals, or per-second rates with watch); and their
 * Prometheus families.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mizarctl.h"

static volatile sig_atomic_t traffic_stop;

static void on_signal(int sig)
{
	(void)sig;
	traffic_stop = 1;
}

static int read_one(struct mzr_host *h, const struct mzctl_traffic_sel *s,
		    int which, struct mzr_traffic *t)
{
	if (which == 0)
		return mzr_host__vpc_traffic(h, s->vpc, t);
	return mzr_host__ep_traffic(h, s->ep_vni, s->ep_ip, t);
}

static void label(const struct mzctl_traffic_sel *s, int which, char *buf,
		  size_t size)
{
	char ip[INET_ADDRSTRLEN];

	if (which == 0) {
		snprintf(buf, size, "vpc %u", s->vpc);
		return;
	}
	inet_ntop(AF_INET, &s->ep_ip, ip, sizeof(ip));
	snprintf(buf, size, "ep vni %u ip %s", s->ep_vni, ip);
}

/* Drops by reason of the selection into @d (zeros when the back-plane
 * predates them); their sum. */
static uint64_t read_drops(struct mzr_host *h,
			   const struct mzctl_traffic_sel *s, int which,
			   uint64_t *d)
{
	struct in_addr any = { 0 };
	uint64_t sum = 0;
	unsigned int r;

	if (mzr_host__drops(h, which ? s->ep_vni : s->vpc,
			    which ? s->ep_ip : any, d, __MZR_DROP_MAX))
		memset(d, 0, __MZR_DROP_MAX * sizeof(*d));
	for (r = 0; r < __MZR_DROP_MAX; r++)
		sum += d[r];
	return sum;
}

static void print_totals(struct mzctl *g, struct mzr_host *h,
			 const struct mzctl_traffic_sel *s, int which,
			 const struct mzr_traffic *t)
{
	uint64_t d[__MZR_DROP_MAX], total = read_drops(h, s, which, d);
	unsigned int r;
	char name[64];
	int first = 1;

	label(s, which, name, sizeof(name));
	if (g->json) {
		printf("{\"scope\":\"%s\",\"tx_packets\":%llu,\"tx_bytes\":%llu,\"rx_packets\":%llu,\"rx_bytes\":%llu,\"drops\":{",
		       name, (unsigned long long)t->tx_packets,
		       (unsigned long long)t->tx_bytes,
		       (unsigned long long)t->rx_packets,
		       (unsigned long long)t->rx_bytes);
		for (r = 0; r < __MZR_DROP_MAX; r++) {
			if (!d[r])
				continue;
			printf("%s\"%s\":%llu", first ? "" : ",",
			       mzr_drop_reason_name(r),
			       (unsigned long long)d[r]);
			first = 0;
		}
		printf("},\"drops_total\":%llu}\n", (unsigned long long)total);
		return;
	}
	printf("%s:\n", name);
	printf("    tx  %12llu packets %16llu bytes\n",
	       (unsigned long long)t->tx_packets,
	       (unsigned long long)t->tx_bytes);
	printf("    rx  %12llu packets %16llu bytes\n",
	       (unsigned long long)t->rx_packets,
	       (unsigned long long)t->rx_bytes);
	/* Only the reasons that dropped something, as `stats` does. */
	for (r = 0; r < __MZR_DROP_MAX; r++)
		if (d[r])
			printf("    drop %-22s %12llu packets\n",
			       mzr_drop_reason_name(r),
			       (unsigned long long)d[r]);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int mzctl_stats_traffic(struct mzctl *g, struct mzr_host *h,
			const struct mzctl_traffic_sel *s)
{
	struct mzr_traffic a[2], b[2];
	uint64_t da[2] = { 0 }, db, d[__MZR_DROP_MAX];
	int which, err, on;
	uint32_t done = 0;
	double t0, t1, dt;

	on = mzr_host__traffic_counting(h, -1);
	if (on == 0)
		fprintf(stderr, "mizarctl: stats: per-VPC/endpoint counters are off on this host ('mizarctl stats counters on')\n");
	for (which = 0; which < 2; which++) {
		if (!(which ? s->has_ep : s->has_vpc))
			continue;
		err = read_one(h, s, which, &a[which]);
		if (err)
			return mzctl_fail("stats", err);
		da[which] = read_drops(h, s, which, d);
		if (!s->watch)
			print_totals(g, h, s, which, &a[which]);
	}
	if (!s->watch)
		return MZCTL_OK;
	{
		struct sigaction sa = { .sa_handler = on_signal };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now_s();
	while (!traffic_stop && (!s->count || done < s->count)) {
		struct timespec ts = {
			.tv_sec = (time_t)s->interval,
			.tv_nsec = (long)((s->interval - (time_t)s->interval) *
					  1e9),
		};

		if (nanosleep(&ts, NULL) && traffic_stop)
			break;
		t1 = now_s();
		dt = t1 - t0 > 1e-6 ? t1 - t0 : 1e-6;
		for (which = 0; which < 2; which++) {
			char name[64];

			if (!(which ? s->has_ep : s->has_vpc))
				continue;
			err = read_one(h, s, which, &b[which]);
			if (err)
				return mzctl_fail("stats watch", err);
			db = read_drops(h, s, which, d);
			label(s, which, name, sizeof(name));
#define RATE(f) ((b[which].f - a[which].f) / dt)
			if (g->json)
				printf("{\"time\":%llu,\"scope\":\"%s\",\"tx_pps\":%.1f,\"tx_bps\":%.1f,\"rx_pps\":%.1f,\"rx_bps\":%.1f,\"drop_pps\":%.1f}\n",
				       (unsigned long long)time(NULL), name,
				       RATE(tx_packets), RATE(tx_bytes) * 8,
				       RATE(rx_packets), RATE(rx_bytes) * 8,
				       (db - da[which]) / dt);
			else
				printf("%s: tx %.1f pkt/s %.1f bit/s, rx %.1f pkt/s %.1f bit/s, drop %.1f pkt/s\n",
				       name, RATE(tx_packets),
				       RATE(tx_bytes) * 8, RATE(rx_packets),
				       RATE(rx_bytes) * 8, (db - da[which]) / dt);
#undef RATE
			a[which] = b[which];
			da[which] = db;
		}
		t0 = t1;
		done++;
	}
	return MZCTL_OK;
}

static void family(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

int mzctl_stats_counters(struct mzctl *g, int argc, char **argv)
{
	struct mzr_host *h;
	int on = -1, ret;

	if (argc == 1 && !strcmp(argv[0], "on"))
		on = 1;
	else if (argc == 1 && !strcmp(argv[0], "off"))
		on = 0;
	else if (argc) {
		mzctl_err("stats counters", "expected 'on', 'off' or nothing");
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, "stats counters");
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	ret = mzr_host__traffic_counting(h, on);
	if (ret < 0)
		return mzctl_fail("stats counters", ret);
	printf("per-VPC/endpoint counters: %s\n", ret ? "on" : "off");
	return MZCTL_OK;
}

/* mizar_vpc_drops_total{vni,reason} and mizar_endpoint_drops_total{vni,
 * ip,reason}: the (VPC or endpoint, reason) pairs that dropped something
 * (their keys are verified ones, bpf-core/trace_shared.h). */
static int drop_metrics(struct mzr_host *h, FILE *f)
{
	const size_t max = 16384; /* the table's size, MZR_OBS_MAX_DROP_KEYS */
	struct mzr_drop_entry *e = calloc(max, sizeof(*e));
	char ip[INET_ADDRSTRLEN];
	int n, k, ep;

	if (!e)
		return -ENOMEM;
	n = mzr_host__drops_list(h, e, max);
	if (n == -ENOENT) /* a back-plane that predates them */
		n = 0;
	for (ep = 0; ep < 2 && n >= 0; ep++) {
		const char *name = ep ? "mizar_endpoint_drops_total" :
					"mizar_vpc_drops_total";

		family(f, name, ep ?
		       "Drops of packets a local endpoint sent, or of packets to it after the route found it, by reason." :
		       "Drops of a VPC's packets on this host after its VPC was verified, by reason.");
		for (k = 0; k < n; k++) {
			if ((e[k].ip.s_addr != 0) != ep ||
			    !mzr_drop_reason_name(e[k].reason))
				continue;
			if (ep) {
				inet_ntop(AF_INET, &e[k].ip, ip, sizeof(ip));
				fprintf(f, "%s{vni=\"%u\",ip=\"%s\",reason=\"%s\"} %llu\n",
					name, e[k].vni, ip,
					mzr_drop_reason_name(e[k].reason),
					(unsigned long long)e[k].packets);
			} else {
				fprintf(f, "%s{vni=\"%u\",reason=\"%s\"} %llu\n",
					name, e[k].vni,
					mzr_drop_reason_name(e[k].reason),
					(unsigned long long)e[k].packets);
			}
		}
	}
	free(e);
	return n < 0 ? n : 0;
}

int mzctl_traffic_metrics(struct mzr_host *h, FILE *f)
{
	static const struct {
		const char *name, *help;
		bool ep, bytes;
	} fams[] = {
		{ "mizar_vpc_packets_total",
		  "Packets of a VPC's endpoints on this host: tx sent into the overlay, rx delivered.",
		  false, false },
		{ "mizar_vpc_bytes_total",
		  "Bytes (Ethernet frames, before encapsulation) of a VPC's endpoints on this host.",
		  false, true },
		{ "mizar_endpoint_packets_total",
		  "Packets of a local endpoint: tx sent into the overlay, rx delivered.",
		  true, false },
		{ "mizar_endpoint_bytes_total",
		  "Bytes (Ethernet frames, before encapsulation) of a local endpoint.",
		  true, true },
	};
	struct mzr_traffic_entry *e[2];
	int n[2], i, k;
	unsigned int j;
	char ip[INET_ADDRSTRLEN];

	for (i = 0; i < 2; i++) {
		e[i] = calloc(8192, sizeof(*e[i]));
		if (!e[i]) {
			free(e[0]);
			return -ENOMEM;
		}
	}
	n[0] = mzr_host__traffic_list(h, false, e[0], 8192);
	n[1] = mzr_host__traffic_list(h, true, e[1], 8192);
	for (j = 0; j < sizeof(fams) / sizeof(fams[0]); j++) {
		i = fams[j].ep;
		family(f, fams[j].name, fams[j].help);
		for (k = 0; k < n[i]; k++) {
			const struct mzr_traffic *t = &e[i][k].t;
			char lab[64];

			if (i) {
				inet_ntop(AF_INET, &e[i][k].ip, ip, sizeof(ip));
				snprintf(lab, sizeof(lab), "vni=\"%u\",ip=\"%s\"",
					 e[i][k].vni, ip);
			} else {
				snprintf(lab, sizeof(lab), "vni=\"%u\"",
					 e[i][k].vni);
			}
			fprintf(f, "%s{%s,dir=\"tx\"} %llu\n", fams[j].name, lab,
				(unsigned long long)(fams[j].bytes ?
							     t->tx_bytes :
							     t->tx_packets));
			fprintf(f, "%s{%s,dir=\"rx\"} %llu\n", fams[j].name, lab,
				(unsigned long long)(fams[j].bytes ?
							     t->rx_bytes :
							     t->rx_packets));
		}
	}
	free(e[0]);
	free(e[1]);
	if (n[0] < 0 || n[1] < 0)
		return n[0] < 0 ? n[0] : n[1];
	return drop_metrics(h, f);
}
