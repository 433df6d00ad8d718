// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The trace library without a kernel: the pcapng writer's blocks (SHB,
 * one IDB per device and hook, EPBs with their comment, lengths that
 * agree front and back), the comment text, and the flow parser on a plain
 * frame, a Geneve frame with options, and truncated ones.
 */
#define _GNU_SOURCE /* memmem(), open_memstream() */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include <mizar/mizar.h>

/* Ethernet + IPv4 (@proto) + 4 bytes of ports at @p; its length. */
static size_t put_ip(uint8_t *p, const char *src, const char *dst,
		     uint8_t proto, uint16_t sport, uint16_t dport)
{
	memset(p, 0, 14 + 20 + 8);
	p[12] = 0x08;
	p[14] = 0x45;
	p[14 + 9] = proto;
	inet_pton(AF_INET, src, p + 14 + 12);
	inet_pton(AF_INET, dst, p + 14 + 16);
	p[34] = sport >> 8;
	p[35] = sport & 0xff;
	p[36] = dport >> 8;
	p[37] = dport & 0xff;
	return 14 + 20 + 8;
}

/* Outer UDP to 6081, Geneve VNI @vni with 8 bytes of options, then an
 * inner TCP frame. */
static size_t put_geneve(uint8_t *p, uint32_t vni)
{
	size_t n = put_ip(p, "172.31.0.1", "172.31.0.3", 17, 40000,
			  MZR_GENEVE_PORT);
	uint8_t *g = p + n;

	memset(g, 0, 16);
	g[0] = 2;	/* opt_len: 2 words */
	g[4] = vni >> 16;
	g[5] = vni >> 8;
	g[6] = vni;
	n += 16;
	return n + put_ip(p + n, "10.0.1.2", "10.0.1.3", 6, 1234, 80);
}

static void test_flow(void **state)
{
	uint8_t pkt[256];
	struct mzr_trace_event ev = { .data = pkt };
	struct mzr_trace_flow f;
	char a[16];

	(void)state;
	ev.cap_len = put_ip(pkt, "10.0.1.2", "10.0.1.3", 17, 4444, 5555);
	assert_int_equal(mzr_trace__flow(&ev, &f), 0);
	assert_true(f.ip);
	assert_false(f.tunnel);
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.sport, 4444);
	assert_int_equal(f.dport, 5555);
	assert_string_equal(inet_ntop(AF_INET, &f.saddr, a, sizeof(a)),
			    "10.0.1.2");

	ev.cap_len = put_geneve(pkt, 100);
	assert_int_equal(mzr_trace__flow(&ev, &f), 0);
	assert_true(f.tunnel);
	assert_true(f.ip);
	assert_int_equal(f.vni, 100);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.dport, 80);
	assert_string_equal(inet_ntop(AF_INET, &f.outer_saddr, a, sizeof(a)),
			    "172.31.0.1");
	assert_string_equal(inet_ntop(AF_INET, &f.daddr, a, sizeof(a)),
			    "10.0.1.3");

	/* Cut inside the inner IP header: the outer part only. */
	ev.cap_len = 14 + 20 + 8 + 16 + 14 + 10;
	assert_int_equal(mzr_trace__flow(&ev, &f), 0);
	assert_true(f.tunnel);
	assert_false(f.ip);
	/* Shorter than Ethernet, and bad arguments. */
	ev.cap_len = 10;
	assert_int_equal(mzr_trace__flow(&ev, &f), 0);
	assert_false(f.ip);
	assert_int_equal(mzr_trace__flow(NULL, &f), -EINVAL);
	assert_int_equal(mzr_trace__flow(&ev, NULL), -EINVAL);
}

static void test_comment(void **state)
{
	struct mzr_trace_event ev = { .hook = MZR_HOOK_BOUNCER, .verdict = 3,
				      .vni = 100, .reason = -1 };
	char buf[128];

	(void)state;
	inet_pton(AF_INET, "172.31.0.3", &ev.host);
	assert_string_equal(mzr_trace__comment(&ev, buf, sizeof(buf)),
			    "hook=bouncer verdict=tx vni=100 host=172.31.0.3");
	ev.hook = 6;
	ev.verdict = 1;
	ev.reason = MZR_DROP_SPOOFED;
	assert_string_equal(mzr_trace__comment(&ev, buf, sizeof(buf)),
			    "hook=agent verdict=drop vni=100 host=172.31.0.3 reason=spoofed");
	/* A deliver event names the host that sent the frame. */
	ev.hook = 3;
	ev.verdict = 4;
	ev.reason = -1;
	ev.outer_src.s_addr = htonl(0xac1f0001);
	assert_string_equal(mzr_trace__comment(&ev, buf, sizeof(buf)),
			    "hook=deliver verdict=redirect vni=100 host=172.31.0.3 outer=172.31.0.1");
	ev.reason = MZR_DROP_SPOOFED;
	assert_string_equal(mzr_trace__comment(&ev, buf, sizeof(buf)),
			    "hook=deliver verdict=redirect vni=100 host=172.31.0.3 reason=spoofed outer=172.31.0.1");
	ev.entry = true;
	assert_string_equal(mzr_trace_verdict_name(&ev), "rx");
	assert_string_equal(mzr_trace_hook_name(99), "?");
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_pcapng(void **state)
{
	uint8_t pkt[256], *buf;
	struct mzr_trace_event ev = { .data = pkt, .reason = -1 };
	struct mzr_trace_pcapng *w;
	size_t size = 0, off, n_idb = 0, n_epb = 0;
	char *mem = NULL;
	FILE *f;

	(void)state;
	f = open_memstream(&mem, &size);
	assert_non_null(f);
	w = mzr_trace__pcapng_open(f);
	assert_non_null(w);
	ev.cap_len = ev.pkt_len = put_geneve(pkt, 100);
	ev.pkt_len += 1000;	/* snapped */
	ev.ifindex = 1;
	ev.hook = MZR_HOOK_BOUNCER;
	ev.verdict = 3;
	assert_int_equal(mzr_trace__pcapng_write(w, &ev), 0);
	assert_int_equal(mzr_trace__pcapng_write(w, &ev), 0);
	ev.hook = MZR_HOOK_DELIVER;	/* same device, another hook */
	ev.cap_len = 43;		/* not a multiple of 4: padded */
	assert_int_equal(mzr_trace__pcapng_write(w, &ev), 0);
	assert_int_equal(mzr_trace__pcapng_close(w), 0);
	assert_int_equal(mzr_trace__pcapng_write(NULL, &ev), -EINVAL);
	fclose(f);

	buf = (uint8_t *)mem;
	assert_true(size >= 28);
	assert_int_equal(rd32(buf), 0x0A0D0D0A);
	assert_int_equal(rd32(buf + 8), 0x1A2B3C4D);
	for (off = 0; off < size;) {
		uint32_t type = rd32(buf + off), len = rd32(buf + off + 4);

		assert_true(len >= 12 && len % 4 == 0 && off + len <= size);
		assert_int_equal(rd32(buf + off + len - 4), len);
		if (type == 1)
			n_idb++;
		if (type == 6) {
			n_epb++;
			/* Interface 0 for the bouncer, 1 for deliver. */
			assert_int_equal(rd32(buf + off + 8), n_epb < 3 ? 0 : 1);
			assert_non_null(memmem(buf + off, len, "hook=", 5));
		}
		off += len;
	}
	assert_int_equal(off, size);
	assert_int_equal(n_idb, 2);
	assert_int_equal(n_epb, 3);
	assert_non_null(memmem(mem, size, "hook=deliver verdict=tx vni=0", 29));
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_pcapng),
	};

	mzr_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
