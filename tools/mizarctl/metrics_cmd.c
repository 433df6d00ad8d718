// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl metrics`: the back-plane's counters and table fill levels in
 * the Prometheus text exposition format (version 0.0.4), printed once or
 * served at GET /metrics by a small single-threaded HTTP/1.1 server.
 */
#define _GNU_SOURCE /* accept4() */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <mizar/nf.h>

#include "mizarctl.h"

#define METRICS_DEFAULT_LISTEN "127.0.0.1:9469"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A label value with \, " and newline escaped, as the format wants. */
static void label_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Write every metric of @h to @f; 0 or -errno (nothing useful written). */
static int metrics_write(struct mzr_host *h, FILE *f)
{
	struct mzctl_counters c;
	struct mzr_table_usage *t;
	struct mzr_host_info info;
	unsigned int i, hook, pos;
	int n, err;

	err = mzctl_counters_read(h, &c);
	if (err)
		return err;
	err = mzr_host__info(h, &info);
	if (err)
		return err;
	n = mzctl_tables_get(h, &t);
	if (n < 0)
		return n;

	family(f, "mizar_packets_total", "counter",
	       "Packets counted by the back-plane, by role and counter.");
	for (i = 0; i < __MZR_CNT_ROLE_MAX; i++) {
		if (!mzr_counter_name(i))
			continue;
		fprintf(f, "mizar_packets_total{role=");
		label_value(f, mzr_counter_role(i));
		fprintf(f, ",counter=");
		label_value(f, mzr_counter_name(i));
		fprintf(f, "} %llu\n", (unsigned long long)c.cnt[i]);
	}

	family(f, "mizar_hook_packets_total", "counter",
	       "Packets reaching each NF hook point, whether or not its chain "
	       "is empty.");
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		fprintf(f, "mizar_hook_packets_total{hook=");
		label_value(f, mzr_hook_name(hook));
		fprintf(f, "} %llu\n",
			(unsigned long long)c.cnt[MZR_CNT_HOOK(hook)]);
	}

	family(f, "mizar_drops_total", "counter",
	       "Packets dropped by the back-plane, by named reason.");
	for (i = 1; i < __MZR_DROP_MAX; i++) {
		fprintf(f, "mizar_drops_total{reason=");
		label_value(f, mzr_drop_reason_name(i));
		fprintf(f, "} %llu\n",
			(unsigned long long)c.cnt[MZR_CNT_DROP_BASE + i]);
	}

	family(f, "mizar_missed_tail_calls_total", "counter",
	       "Tail calls that found no program, by hook and chain position "
	       "(pos=\"continuation\": the core's own).");
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		for (pos = 0; pos <= MZR_CHAIN_MAX; pos++) {
			fprintf(f, "mizar_missed_tail_calls_total{hook=");
			label_value(f, mzr_hook_name(hook));
			if (pos == MZR_CHAIN_MAX)
				fprintf(f, ",pos=\"continuation\"");
			else
				fprintf(f, ",pos=\"%u\"", pos);
			fprintf(f, "} %llu\n",
				(unsigned long long)
					c.missed[MZR_MISSED_IDX(hook, pos)]);
		}
	}

	family(f, "mizar_table_entries", "gauge",
	       "Entries in each table of the back-plane.");
	for (i = 0; i < (unsigned int)n; i++) {
		fprintf(f, "mizar_table_entries{table=");
		label_value(f, t[i].name);
		fprintf(f, "} %u\n", t[i].entries);
	}
	family(f, "mizar_table_capacity", "gauge",
	       "Capacity (maximum entries) of each table of the back-plane.");
	for (i = 0; i < (unsigned int)n; i++) {
		fprintf(f, "mizar_table_capacity{table=");
		label_value(f, t[i].name);
		fprintf(f, "} %u\n", t[i].capacity);
	}
	free(t);

	family(f, "mizar_host_info", "gauge",
	       "Always 1: the libmizar version and the underlay device of this "
	       "host.");
	fprintf(f, "mizar_host_info{version=");
	label_value(f, mzr_version_string());
	fprintf(f, ",dev=");
	label_value(f, info.ifindex ? info.ifname : "");
	fprintf(f, "} 1\n");
	return mzctl_traffic_metrics(h, f);
}

/* ---- HTTP -------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* "A.B.C.D:PORT" (port 0: any free port). */
static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	uint32_t port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, colon - s);
	ip[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (mzctl_parse_u32(colon + 1, &port) || port > 65535 ||
	    inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		return -EINVAL;
	sa->sin_port = htons(port);
	return 0;
}

static void send_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len) {
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR && !stop)
			continue;
		if (w <= 0)
			return; /* the client went away: its loss */
		buf += w;
		len -= w;
	}
}

static void respond(int fd, int code, const char *reason, const char *type,
		    const char *body, size_t len, bool head_only)
{
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n"
		     "%s"
		     "\r\n",
		     code, reason, type, len,
		     code == 405 ? "Allow: GET, HEAD\r\n" : "");
	send_all(fd, hdr, n);
	if (!head_only)
		send_all(fd, body, len);
}

static void respond_text(int fd, int code, const char *reason, const char *msg,
			 bool head_only)
{
	respond(fd, code, reason, "text/plain; charset=utf-8", msg, strlen(msg),
		head_only);
}

/* Fresh handle per scrape: a back-plane reset and re-created meanwhile
 * is seen, not the maps of the old one. */
static void serve_metrics(struct mzctl *g, int fd, bool head_only)
{
	MZR_OPTS(mzr_host_opts, opts, .pin_root = g->pin_root);
	struct mzr_host *h;
	char *body = NULL, msg[160];
	size_t len = 0;
	FILE *f;
	int err;

	h = mzr_host__open_pinned(&opts);
	if (!h) {
		snprintf(msg, sizeof(msg), "no back-plane: %s\n",
			 strerror(errno));
		respond_text(fd, 503, "Service Unavailable", msg, head_only);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		mzr_host__close(h);
		respond_text(fd, 500, "Internal Server Error",
			     "out of memory\n", head_only);
		return;
	}
	err = metrics_write(h, f);
	fclose(f);
	mzr_host__close(h);
	if (err) {
		snprintf(msg, sizeof(msg), "reading the back-plane: %s\n",
			 strerror(-err));
		respond_text(fd, 500, "Internal Server Error", msg, head_only);
	} else {
		respond(fd, 200, "OK", METRICS_CONTENT_TYPE, body, len,
			head_only);
	}
	free(body);
}

/* Read one request head from @fd and answer it. */
static void handle(struct mzctl *g, int fd)
{
	char req[4096], method[16], target[1024], version[16];
	struct timeval tv = { .tv_sec = 5 };
	size_t got = 0;
	ssize_t r;
	char *q;

	/* One slow client must not hold the (single) server forever. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		r = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (r < 0 && errno == EINTR && !stop)
			continue;
		if (r <= 0)
			break;
		got += r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	if (!strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
		if (got)
			respond_text(fd, 400, "Bad Request",
				     "incomplete or oversized request head\n",
				     false);
		return;
	}
	if (sscanf(req, "%15s %1023s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		respond_text(fd, 400, "Bad Request", "bad request line\n",
			     false);
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0'; /* scrapers may add parameters; none is used */
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		respond_text(fd, 405, "Method Not Allowed",
			     "only GET and HEAD\n", false);
		return;
	}
	if (strcmp(target, "/metrics")) {
		respond_text(fd, 404, "Not Found", "only /metrics is here\n",
			     !strcmp(method, "HEAD"));
		return;
	}
	serve_metrics(g, fd, !strcmp(method, "HEAD"));
}

static int metrics_serve(struct mzctl *g, const char *listen_at)
{
	const char *cmd = "metrics serve";
	struct sigaction sa = { .sa_handler = on_signal };
	struct sockaddr_in addr, bound;
	socklen_t alen = sizeof(bound);
	char ip[INET_ADDRSTRLEN];
	int one = 1, lfd, cfd;

	if (parse_listen(listen_at, &addr)) {
		mzctl_err(cmd, "bad listen address '%s' (A.B.C.D:PORT)",
			  listen_at);
		return MZCTL_USAGE;
	}
	/* Fail now, not at the first scrape, when there is no back-plane. */
	if (!mzctl_host(g, cmd))
		return MZCTL_FAIL;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		mzctl_err(cmd, "socket: %s", strerror(errno));
		return MZCTL_FAIL;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&bound, &alen)) {
		mzctl_err(cmd, "listen on %s: %s", listen_at, strerror(errno));
		close(lfd);
		return MZCTL_FAIL;
	}
	/* No SA_RESTART: a signal must end a blocked accept(). */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	inet_ntop(AF_INET, &bound.sin_addr, ip, sizeof(ip));
	printf("serving metrics at http://%s:%u/metrics\n", ip,
	       ntohs(bound.sin_port));
	fflush(stdout);
	while (!stop) {
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			mzctl_err(cmd, "accept: %s", strerror(errno));
			close(lfd);
			return MZCTL_FAIL;
		}
		handle(g, cfd);
		close(cfd);
	}
	close(lfd);
	return MZCTL_OK;
}

static const char *const metrics_usage =
	"Usage: mizarctl metrics\n"
	"       mizarctl metrics serve [listen ADDR:PORT]\n"
	"\n"
	"The back-plane's packet counters, drops by reason, missed tail calls\n"
	"and table fill levels in the Prometheus text exposition format.\n"
	"serve: answer GET /metrics over HTTP/1.1 at ADDR:PORT (default\n"
	"      " METRICS_DEFAULT_LISTEN
	"; port 0: any free port, printed) until\n"
	"      SIGINT/SIGTERM. Other paths get 404.\n";

int mzctl_cmd_metrics(struct mzctl *g, int argc, char **argv)
{
	const char *listen_at = METRICS_DEFAULT_LISTEN;
	struct mzr_host *h;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			fputs(metrics_usage, stdout);
			return MZCTL_OK;
		}
	}
	if (!argc || !strcmp(argv[0], "show")) {
		if (argc > 1) {
			mzctl_err("metrics", "unknown argument '%s'", argv[1]);
			return MZCTL_USAGE;
		}
		h = mzctl_host(g, "metrics");
		if (!h)
			return MZCTL_FAIL;
		err = metrics_write(h, stdout);
		return err ? mzctl_fail("metrics", err) : MZCTL_OK;
	}
	if (strcmp(argv[0], "serve")) {
		mzctl_err("metrics",
			  "unknown sub-command '%s' (see mizarctl metrics "
			  "--help)",
			  argv[0]);
		return MZCTL_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "listen") ||
		     !strcmp(argv[i], "--listen")) &&
		    i + 1 < argc) {
			listen_at = argv[++i];
		} else if (!strncmp(argv[i], "--listen=", 9)) {
			listen_at = argv[i] + 9;
		} else {
			mzctl_err("metrics serve", "unknown argument '%s'",
				  argv[i]);
			return MZCTL_USAGE;
		}
	}
	return metrics_serve(g, listen_at);
}
