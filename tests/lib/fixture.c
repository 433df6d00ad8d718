// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fixture runner over BPF_PROG_TEST_RUN; see fixture.h. */
#include "fixture.h"
#include "testenv.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define HEX_LINE 16
#define DIFF_CONTEXT_BEFORE 1 /* lines shown before the first difference */
#define DIFF_CONTEXT_AFTER 2 /* and after it */

const char *fixture_verdict_name(int verdict)
{
	static char buf[32];

	switch (verdict) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		snprintf(buf, sizeof(buf), "XDP_?(%d)", verdict);
		return buf;
	}
}

static void hex_line(const char *tag, const uint8_t *b, size_t len,
		     size_t line_off)
{
	size_t i;

	printf("    %s %04zx:", tag, line_off);
	for (i = line_off; i < line_off + HEX_LINE; i++) {
		if (i < len)
			printf(" %02x", b[i]);
		else
			printf(" --");
	}
	printf("\n");
}

static bool byte_differs(const uint8_t *want, size_t want_len,
			 const uint8_t *got, size_t got_len, size_t i)
{
	if (i >= want_len || i >= got_len)
		return i < want_len || i < got_len;
	return want[i] != got[i];
}

void fixture_hexdiff(const uint8_t *want, size_t want_len, const uint8_t *got,
		     size_t got_len)
{
	size_t max = want_len > got_len ? want_len : got_len;
	size_t first = max, n_diff = 0, i, line, from, to;

	for (i = 0; i < max; i++) {
		if (!byte_differs(want, want_len, got, got_len, i))
			continue;
		if (first == max)
			first = i;
		n_diff++;
	}
	if (first == max) {
		printf("    frames identical (%zu bytes)\n", want_len);
		return;
	}
	printf("    first difference at 0x%04zx; want %zu bytes, got %zu; "
	       "%zu differing\n",
	       first, want_len, got_len, n_diff);

	line = first / HEX_LINE;
	from = line > DIFF_CONTEXT_BEFORE ? line - DIFF_CONTEXT_BEFORE : 0;
	to = line + DIFF_CONTEXT_AFTER;
	if (to > (max - 1) / HEX_LINE)
		to = (max - 1) / HEX_LINE;
	for (line = from; line <= to; line++) {
		size_t off = line * HEX_LINE;
		bool any = false;
		char mark[4 + 5 + 5 + HEX_LINE * 3 + 1];
		size_t m = 0;

		hex_line("want", want, want_len, off);
		hex_line("got ", got, got_len, off);
		m += (size_t)snprintf(mark, sizeof(mark), "    %4s %4s ", "",
				      "");
		for (i = off; i < off + HEX_LINE; i++) {
			bool d = i < max &&
				 byte_differs(want, want_len, got, got_len, i);

			any |= d;
			mark[m++] = ' ';
			mark[m++] = d ? '^' : ' ';
			mark[m++] = d ? '^' : ' ';
		}
		while (m && mark[m - 1] == ' ')
			m--;
		mark[m] = '\0';
		if (any)
			printf("%s\n", mark);
	}
	for (i = (to + 1) * HEX_LINE; i < max; i++)
		if (byte_differs(want, want_len, got, got_len, i))
			break;
	if (i < max)
		printf("    ... more differences, the next at 0x%04zx\n", i);
	else if ((to + 1) * HEX_LINE < max)
		printf("    ... no differences in the remaining %zu bytes\n",
		       max - (to + 1) * HEX_LINE);
}

static int read_counter(int stats_fd, uint32_t idx, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	int i, err;

	if (ncpu <= 0) {
		printf("    libbpf_num_possible_cpus: %s\n", strerror(-ncpu));
		return -1;
	}
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		abort();
	err = bpf_map_lookup_elem(stats_fd, &idx, vals);
	if (err) {
		err = -errno;
		printf("    counter %u lookup in map fd %d: %s\n", idx,
		       stats_fd, strerror(-err));
		free(vals);
		return -1;
	}
	for (i = 0; i < ncpu; i++)
		sum += vals[i];
	free(vals);
	*out = sum;
	return 0;
}

uint64_t fixture_counter(int stats_fd, uint32_t idx)
{
	uint64_t v;

	return read_counter(stats_fd, idx, &v) ? UINT64_MAX : v;
}

static size_t n_counters(const struct fixture *f)
{
	size_t n = 0;

	while (n < FIXTURE_MAX_COUNTERS &&
	       (f->counters[n].idx || f->counters[n].delta))
		n++;
	return n;
}

static void dump_frame(FILE *fp, const char *tag, const struct pkt *p,
		       bool malformed)
{
	fprintf(fp, "|%s%zu%s:", tag, p->len, malformed ? "m" : "");
	for (size_t i = 0; i < p->len; i++)
		fprintf(fp, "%02x", p->data[i]);
}

/* FIXTURE_DUMP=file: one line per fixture with everything it checks (a
 * baseline to compare table conversions with). */
static void dump_fixture(const struct fixture_prog *prog, uint32_t ifindex,
			 const struct fixture *f, const struct pkt *in,
			 const struct pkt *out)
{
	const char *path = getenv("FIXTURE_DUMP");
	struct fixture_counter c[FIXTURE_MAX_COUNTERS];
	size_t n = n_counters(f);
	struct bpf_prog_info info = {};
	uint32_t il = sizeof(info);
	FILE *fp;

	if (!path)
		return;
	fp = fopen(path, "a");
	if (!fp)
		return;
	bpf_obj_get_info_by_fd(prog->fd, &info, &il);
	memcpy(c, f->counters, sizeof(c));
	for (size_t i = 1; i < n; i++) /* sorted by index */
		for (size_t j = i; j > 0 && c[j - 1].idx > c[j].idx; j--) {
			struct fixture_counter t = c[j];

			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	fprintf(fp, "%s|%s|if%u|tc%d|gso%u|v%d|", f->desc, info.name, ifindex,
		prog->tc, f->gso_size, f->verdict);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%d:%+lld,", c[i].idx, c[i].delta);
	dump_frame(fp, "in", in, false);
	if (out)
		dump_frame(fp, "out", out, f->out_malformed);
	fprintf(fp, "\n");
	fclose(fp);
}

static const char *tc_verdict_name(int verdict)
{
	static char buf[32];

	switch (verdict) {
	case -1:
		return "TC_ACT_UNSPEC";
	case 0:
		return "TC_ACT_OK";
	case 2:
		return "TC_ACT_SHOT";
	case 7:
		return "TC_ACT_REDIRECT";
	default:
		snprintf(buf, sizeof(buf), "TC_ACT_?(%d)", verdict);
		return buf;
	}
}

static const struct fixture_prog *prog_of(const struct fixture_progs *ps,
					  const struct fixture *f)
{
	if (f->prog <= 0 || (size_t)f->prog >= ps->n ||
	    !ps->progs[f->prog].name) {
		printf("FAIL: %s\n    .prog %d names no program\n", f->desc,
		       f->prog);
		return NULL;
	}
	return &ps->progs[f->prog];
}

/* The ingress ifindex (0: none), or -1 when the device is missing. */
static long ifindex_of(const struct fixture_prog *prog,
		       const struct fixture *f)
{
	const char *dev = f->dev ? f->dev : prog->dev;
	unsigned int i;

	if (f->ingress_ifindex || !dev)
		return f->ingress_ifindex;
	i = if_nametoindex(dev);
	if (!i) {
		printf("FAIL: %s\n    no device %s: %s\n", f->desc, dev,
		       strerror(errno));
		return -1;
	}
	return i;
}

int fixture_run(const struct fixture_progs *ps, const struct fixture *f)
{
	uint8_t out[PKT_MAX + FIXTURE_HEADROOM];
	static struct pkt in, want;
	const struct fixture_prog *prog = prog_of(ps, f);
	const struct fixture_counter *c = f->counters;
	size_t nc = n_counters(f);
	uint64_t before[FIXTURE_MAX_COUNTERS] = {};
	uint64_t after[FIXTURE_MAX_COUNTERS] = {};
	bool check_out = f->out || f->out_same, cnt_bad = false;
	struct xdp_md ctx = {};
	struct __sk_buff skb = {};
	long ifindex;
	char why[256] = "";
	bool ok = true;
	int err;

	if (!prog)
		return -1;
	if (!f->in) {
		printf("FAIL: %s\n    no .in frame\n", f->desc);
		return -1;
	}
	frame_build(&in, f->in);
	if (f->out)
		frame_build(&want, f->out);
	else if (f->out_same)
		pkt_copy(&want, &in);
	ifindex = ifindex_of(prog, f);
	if (ifindex < 0)
		return -1;
	dump_fixture(prog, (uint32_t)ifindex, f, &in,
		     check_out ? &want : NULL);

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data,
		    .data_size_in = (uint32_t)in.len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1, );

	if (prog->tc) {
		skb.ifindex = (uint32_t)ifindex;
		skb.gso_size = f->gso_size;
		skb.gso_segs = f->gso_size ? 2 : 0;
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	} else if (ifindex) {
		/* The kernel wants data_end equal to the input size. */
		ctx.data_end = (uint32_t)in.len;
		ctx.ingress_ifindex = (uint32_t)ifindex;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}

	if (nc && ps->stats_fd < 0) {
		printf("FAIL: %s\n    counter %d to check but no stats map "
		       "given\n", f->desc, c[0].idx);
		return -1;
	}
	for (size_t i = 0; i < nc; i++) {
		if (read_counter(ps->stats_fd, (uint32_t)c[i].idx,
				 &before[i])) {
			printf("FAIL: %s\n    counter %d unreadable\n",
			       f->desc, c[i].idx);
			return -1;
		}
	}

	memset(out, 0, sizeof(out));
	err = bpf_prog_test_run_opts(prog->fd, &opts);
	if (err) {
		err = -errno;
		printf("FAIL: %s\n    BPF_PROG_TEST_RUN on %s (fd %d): %s\n",
		       f->desc, prog->name, prog->fd, strerror(-err));
		return -1;
	}

	if ((int)opts.retval != f->verdict)
		ok = false;
	if (check_out) {
		if (opts.data_size_out != want.len ||
		    memcmp(out, want.data, want.len))
			ok = false;
		if (!f->out_malformed &&
		    !pkt_checksums_ok(out, opts.data_size_out, why,
				      sizeof(why)))
			ok = false;
	}
	for (size_t i = 0; i < nc; i++) {
		if (read_counter(ps->stats_fd, (uint32_t)c[i].idx, &after[i]) ||
		    (long long)(after[i] - before[i]) != c[i].delta)
			cnt_bad = true;
	}
	if (ok && !cnt_bad)
		return 0;

	printf("FAIL: %s\n", f->desc);
	printf("    verdict: want %s, ",
	       prog->tc ? tc_verdict_name(f->verdict) :
			  fixture_verdict_name(f->verdict));
	printf("got %s%s\n",
	       prog->tc ? tc_verdict_name((int)opts.retval) :
			  fixture_verdict_name((int)opts.retval),
	       (int)opts.retval == f->verdict ? "" : "  <-- differs");
	for (size_t i = 0; i < nc; i++) {
		long long got = (long long)(after[i] - before[i]);

		printf("    counter %d: want %+lld, got %+lld%s\n", c[i].idx,
		       c[i].delta, got,
		       got == c[i].delta ? "" : "  <-- differs");
	}
	if (check_out) {
		if (why[0])
			printf("    output checksums: %s\n", why);
		if (opts.data_size_out != want.len ||
		    memcmp(out, want.data, want.len))
			fixture_hexdiff(want.data, want.len, out,
					opts.data_size_out);
		else
			printf("    output frame as expected (%u bytes)\n",
			       opts.data_size_out);
	}
	fflush(stdout);
	return -1;
}

int fixture_run_table(const struct fixture_progs *ps,
		      const struct fixture *tab, size_t n)
{
	int failed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (fixture_run(ps, &tab[i])) {
			printf("fixture %zu/%zu FAILED: %s\n", i + 1, n,
			       tab[i].desc);
			failed++;
		} else {
			printf("fixture %zu/%zu ok: %s\n", i + 1, n,
			       tab[i].desc);
		}
	}
	printf("%zu fixtures, %d failed\n", n, failed);
	fflush(stdout);
	return failed;
}

int fixture_xdp_run(int prog_fd, uint32_t ifindex, const struct pkt *in,
		    struct pkt *out)
{
	uint8_t buf[PKT_MAX + FIXTURE_HEADROOM];
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .data_out = buf,
		    .data_size_out = sizeof(buf), .repeat = 1);

	if (ifindex) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	if (out) {
		pkt_init(out);
		if (o.data_size_out > sizeof(out->data)) {
			fprintf(stderr, "output of %u bytes\n",
				o.data_size_out);
			exit(1);
		}
		memcpy(out->data, buf, o.data_size_out);
		out->len = o.data_size_out;
	}
	return (int)o.retval;
}

void fixture_check(const struct fixture_progs *ps, const struct fixture *f)
{
	if (fixture_run(ps, f))
		test_failures++;
	else
		printf("ok: %s\n", f->desc);
}

/* A hand-built fixture as a one-program table entry. */
static void from_pkt_fixture(const struct fixture_pkt *lf, struct fixture *f,
			     struct frame *in, struct frame *out)
{
	*in = (struct frame){ .kind = FRAME_PKT, .pkt = &lf->in };
	*out = (struct frame){ .kind = FRAME_PKT, .pkt = &lf->out };
	*f = (struct fixture){ .desc = lf->desc, .prog = 1, .in = in,
			       .verdict = lf->verdict,
			       .out = lf->check_out ? out : NULL,
			       .ingress_ifindex = lf->ingress_ifindex,
			       .out_malformed = lf->out_malformed,
			       .gso_size = lf->gso_size };
	if (lf->counter >= 0)
		f->counters[0] = (struct fixture_counter){ lf->counter, 1 };
}

int fixture_pkt_run(int prog_fd, int stats_fd, const struct fixture_pkt *f)
{
	const struct fixture_prog progs[2] = {
		[1] = { .name = "prog", .fd = prog_fd, .tc = f->tc },
	};
	const struct fixture_progs ps = { progs, 2, stats_fd };
	struct frame in, out;
	struct fixture nf;

	from_pkt_fixture(f, &nf, &in, &out);
	return fixture_run(&ps, &nf);
}

void fixture_pkt_check(int prog_fd, int stats_fd, const struct fixture_pkt *f)
{
	if (fixture_pkt_run(prog_fd, stats_fd, f))
		test_failures++;
	else
		printf("ok: %s\n", f->desc);
}

int fixture_pkt_run_table(int prog_fd, int stats_fd,
			  const struct fixture_pkt *tab, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		bool bad = fixture_pkt_run(prog_fd, stats_fd, &tab[i]) != 0;

		printf("fixture %zu/%zu %s: %s\n", i + 1, n,
		       bad ? "FAILED" : "ok", tab[i].desc);
		failed += bad;
	}
	printf("%zu fixtures, %d failed\n", n, failed);
	fflush(stdout);
	return failed;
}
