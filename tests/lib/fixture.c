// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fixture runner over BPF_PROG_TEST_RUN; see fixture.h. */
#include "fixture.h"
#include "testenv.h"

#include <errno.h>
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

int fixture_run(int prog_fd, int stats_fd, const struct fixture *f)
{
	uint8_t out[PKT_MAX + FIXTURE_HEADROOM];
	struct xdp_md ctx = {};
	struct __sk_buff skb = {};
	uint64_t before = 0, after = 0, before2 = 0, after2 = 0;
	char why[256] = "";
	bool ok = true;
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->in.data,
		    .data_size_in = (uint32_t)f->in.len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1, );

	if (f->tc) {
		skb.ifindex = f->ingress_ifindex;
		skb.gso_size = f->gso_size;
		skb.gso_segs = f->gso_size ? 2 : 0;
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	} else if (f->ingress_ifindex) {
		/* The kernel wants data_end equal to the input size. */
		ctx.data_end = (uint32_t)f->in.len;
		ctx.ingress_ifindex = f->ingress_ifindex;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}

	if (f->counter >= 0) {
		if (stats_fd < 0) {
			printf("FAIL: %s\n    counter %d to check but no "
			       "stats map given\n",
			       f->desc, f->counter);
			return -1;
		}
		if (read_counter(stats_fd, (uint32_t)f->counter, &before)) {
			printf("FAIL: %s\n", f->desc);
			return -1;
		}
	}

	if (f->has_counter2) {
		if (stats_fd < 0 ||
		    read_counter(stats_fd, (uint32_t)f->counter2, &before2)) {
			printf("FAIL: %s\n    counter %d unreadable\n", f->desc,
			       f->counter2);
			return -1;
		}
	}

	memset(out, 0, sizeof(out));
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		err = -errno;
		printf("FAIL: %s\n    BPF_PROG_TEST_RUN on prog fd %d: %s\n",
		       f->desc, prog_fd, strerror(-err));
		return -1;
	}

	if ((int)opts.retval != f->verdict)
		ok = false;
	if (f->check_out) {
		if (opts.data_size_out != f->out.len ||
		    memcmp(out, f->out.data, f->out.len))
			ok = false;
		if (!f->out_malformed &&
		    !pkt_checksums_ok(out, opts.data_size_out, why,
				      sizeof(why)))
			ok = false;
	}
	if (f->counter >= 0) {
		if (read_counter(stats_fd, (uint32_t)f->counter, &after))
			ok = false;
		else if (after - before != 1)
			ok = false;
	}
	if (f->has_counter2) {
		if (read_counter(stats_fd, (uint32_t)f->counter2, &after2))
			ok = false;
		else if (after2 - before2 != 1)
			ok = false;
	}
	if (ok)
		return 0;

	printf("FAIL: %s\n", f->desc);
	printf("    verdict: want %s, got %s%s\n",
	       fixture_verdict_name(f->verdict),
	       fixture_verdict_name((int)opts.retval),
	       (int)opts.retval == f->verdict ? "" : "  <-- differs");
	if (f->counter >= 0)
		printf("    counter %d: want +1, got %+lld\n", f->counter,
		       (long long)(after - before));
	if (f->has_counter2)
		printf("    counter %d: want +1, got %+lld\n", f->counter2,
		       (long long)(after2 - before2));
	if (f->check_out) {
		if (why[0])
			printf("    output checksums: %s\n", why);
		if (opts.data_size_out != f->out.len ||
		    memcmp(out, f->out.data, f->out.len))
			fixture_hexdiff(f->out.data, f->out.len, out,
					opts.data_size_out);
		else
			printf("    output frame as expected (%u bytes)\n",
			       opts.data_size_out);
	}
	fflush(stdout);
	return -1;
}

int fixture_run_table(int prog_fd, int stats_fd, const struct fixture *tab,
		      size_t n)
{
	int failed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (fixture_run(prog_fd, stats_fd, &tab[i])) {
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

void fixture_check(int prog_fd, int stats_fd, const struct fixture *f)
{
	if (fixture_run(prog_fd, stats_fd, f))
		test_failures++;
	else
		printf("ok: %s\n", f->desc);
}
