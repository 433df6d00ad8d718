// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The packet builder produces the bytes the RFCs say it should, and the
 * checksum walker catches a corrupted checksum at any depth. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pktbuild.h"

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };

/* Independent reference: one's complement sum, written out longhand. */
static uint16_t ref_csum(const uint8_t *b, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sum += (i % 2 == 0) ? (uint32_t)b[i] << 8 : b[i];
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)~sum;
}

/* Independent reference for TCP/UDP: pseudo-header laid out in a buffer. */
static uint16_t ref_l4_csum(const uint8_t *ip, uint8_t proto, const uint8_t *l4,
			    size_t len)
{
	uint8_t buf[PKT_MAX + 12];

	memcpy(buf, ip + 12, 8);
	buf[8] = 0;
	buf[9] = proto;
	buf[10] = len >> 8;
	buf[11] = len & 0xff;
	memcpy(buf + 12, l4, len);
	return ref_csum(buf, len + 12);
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: these words sum to 0xddf2. */
	static const uint8_t words[] = { 0x00, 0x01, 0xf2, 0x03,
					 0xf4, 0xf5, 0xf6, 0xf7 };

	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, words, 8)), 0xddf2);
	/* Odd length: the last byte is padded with a zero byte. */
	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, words, 7)),
			 pkt_csum_fold(0x0001 + 0xf203 + 0xf4f5 + 0xf600));
}

static void test_ipv4_header_reference(void **state)
{
	/* The classic worked example: checksum 0xb861. */
	static const uint8_t want[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};
	struct pkt_ipv4_opts o = { .frag_off = 0x4000 };
	struct pkt p;

	pkt_init(&p);
	pkt_ipv4(&p, IP4(192, 168, 0, 1), IP4(192, 168, 0, 199), 17, &o);
	pkt_payload_pattern(&p, 0x73 - 20);
	pkt_finish(&p);
	assert_int_equal(p.len, 0x73);
	assert_memory_equal(p.data, want, sizeof(want));
}

static void test_ipv4_nop_options(void **state)
{
	struct pkt_ipv4_opts o = {
		.ihl = 7, .ttl = 9, .tos = 0x10, .id = 0xbeef
	};
	char why[128];
	struct pkt p;
	long ip;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, 0);
	pkt_ipv4(&p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, &o);
	pkt_udp(&p, 1000, 2000);
	pkt_payload_pattern(&p, 5);
	pkt_finish(&p);

	ip = pkt_layer_off(&p, PKT_L_IPV4, 0);
	assert_int_equal(ip, 14);
	assert_int_equal(rd16(p.data + 12), 0x0800); /* ethertype filled */
	assert_int_equal(p.data[ip], 0x47);
	assert_int_equal(p.data[ip + 1], 0x10);
	assert_int_equal(rd16(p.data + ip + 2), 28 + 8 + 5);
	assert_int_equal(rd16(p.data + ip + 4), 0xbeef);
	assert_int_equal(p.data[ip + 8], 9);
	assert_int_equal(p.data[ip + 9], 17); /* proto filled from UDP */
	for (int i = 20; i < 28; i++)
		assert_int_equal(p.data[ip + i], 0x01); /* NOP */
	assert_int_equal(ref_csum(p.data + ip, 28), 0);
	assert_int_equal(pkt_layer_off(&p, PKT_L_UDP, 0), 14 + 28);
	assert_true(pkt_ok(&p, why, sizeof(why)));
}

static void test_udp_checksum(void **state)
{
	uint16_t c, want;
	struct pkt p;
	long ip, udp;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, 0x0800);
	pkt_ipv4(&p, IP4(10, 1, 2, 3), IP4(172, 16, 0, 9), 17, NULL);
	pkt_udp(&p, 53000, 53);
	pkt_payload(&p, "hello, mizar", 12);
	pkt_finish(&p);
	ip = pkt_layer_off(&p, PKT_L_IPV4, 0);
	udp = pkt_layer_off(&p, PKT_L_UDP, 0);

	assert_int_equal(rd16(p.data + udp), 53000);
	assert_int_equal(rd16(p.data + udp + 2), 53);
	assert_int_equal(rd16(p.data + udp + 4), 8 + 12);
	c = rd16(p.data + udp + 6);
	p.data[udp + 6] = p.data[udp + 7] = 0;
	want = ref_l4_csum(p.data + ip, 17, p.data + udp, 20);
	assert_int_equal(c, want ? want : 0xffff);
	assert_int_not_equal(c, 0);
}

static void test_udp_nocsum(void **state)
{
	char why[128];
	struct pkt p;
	long udp;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, 0);
	pkt_ipv4(&p, IP4(10, 1, 2, 3), IP4(10, 1, 2, 4), 0, NULL);
	pkt_udp_nocsum(&p, 1, 2);
	pkt_payload_pattern(&p, 33);
	pkt_finish(&p);
	udp = pkt_layer_off(&p, PKT_L_UDP, 0);
	assert_int_equal(rd16(p.data + udp + 6), 0);
	assert_int_equal(rd16(p.data + udp + 4), 41);
	assert_true(pkt_ok(&p, why, sizeof(why)));
}

static void test_tcp_checksum(void **state)
{
	struct pkt p;
	long ip, tcp;
	uint16_t c;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, 0);
	pkt_ipv4(&p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_tcp(&p, 40000, 80, 0x01020304, 0x0a0b0c0d,
		PKT_TCP_SYN | PKT_TCP_ACK);
	pkt_payload_pattern(&p, 7); /* odd length */
	pkt_finish(&p);
	ip = pkt_layer_off(&p, PKT_L_IPV4, 0);
	tcp = pkt_layer_off(&p, PKT_L_TCP, 0);

	assert_int_equal(p.data[ip + 9], 6);
	assert_int_equal(p.data[tcp + 12], 0x50);
	assert_int_equal(p.data[tcp + 13], 0x12);
	assert_int_equal(rd16(p.data + tcp + 4), 0x0102);
	c = rd16(p.data + tcp + 16);
	p.data[tcp + 16] = p.data[tcp + 17] = 0;
	assert_int_equal(c, ref_l4_csum(p.data + ip, 6, p.data + tcp, 27));
}

static void test_icmp_echo_reference(void **state)
{
	/* type 8, id 0x1234, seq 1, no data: ~(0x0800 + 0x1234 + 0x0001). */
	static const uint8_t want[8] = { 0x08, 0x00, 0xe5, 0xca,
					 0x12, 0x34, 0x00, 0x01 };
	struct pkt p;
	long icmp;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, 0);
	pkt_ipv4(&p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_icmp_echo(&p, 8, 0x1234, 1);
	pkt_finish(&p);
	icmp = pkt_layer_off(&p, PKT_L_ICMP, 0);
	assert_int_equal(icmp, 34);
	assert_int_equal(p.data[14 + 9], 1);
	assert_memory_equal(p.data + icmp, want, sizeof(want));
	assert_int_equal(p.len, 42);
}

static void test_arp_layout(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	static const uint8_t want[28] = {
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
		0x00, 0x00, 0x00, 0x0a, 10,   0,    0,	  1,	0,    0,
		0,    0,    0,	  0,	10,   0,    0,	  2,
	};
	struct pkt p;

	pkt_init(&p);
	pkt_eth(&p, bcast, mac_a, 0);
	pkt_arp(&p, 1, mac_a, IP4(10, 0, 0, 1), zero, IP4(10, 0, 0, 2));
	pkt_finish(&p);
	assert_int_equal(p.len, 42);
	assert_int_equal(rd16(p.data + 12), 0x0806);
	assert_memory_equal(p.data + 14, want, sizeof(want));
	assert_true(pkt_checksums_ok(p.data, p.len, NULL, 0));
}

/* Outer Ethernet/IPv4/UDP/Geneve with two Mizar options around an inner
 * Ethernet/IPv4/ICMP echo. */
static void build_tunnel(struct pkt *p, bool outer_csum)
{
	pkt_init(p);
	pkt_eth(p, mac_b, mac_a, 0);
	pkt_ipv4(p, IP4(192, 168, 1, 1), IP4(192, 168, 1, 2), 0, NULL);
	if (outer_csum)
		pkt_udp(p, 49152, PKT_GENEVE_PORT);
	else
		pkt_udp_nocsum(p, 49152, PKT_GENEVE_PORT);
	pkt_geneve(p, 0x123456, 0);
	pkt_geneve_opt_u32(p, 0x0111, 0x01, IP4(192, 168, 1, 1));
	pkt_geneve_opt_u32(p, 0x0111, 0x02, 0x1);
	pkt_eth(p, mac_a, mac_b, 0);
	pkt_ipv4(p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_icmp_echo(p, 8, 7, 9);
	pkt_payload_pattern(p, 56);
	pkt_finish(p);
}

static void test_geneve_layout(void **state)
{
	static const uint8_t want[8 + 16] = {
		0x04, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0x00,
		0x01, 0x11, 0x01, 0x01, 192,  168,  1,	  1,
		0x01, 0x11, 0x02, 0x01, 0x00, 0x00, 0x00, 0x01,
	};
	size_t inner_len = 14 + 20 + 8 + 56;
	struct pkt p;
	long gen, udp, inner_eth, inner_ip;

	build_tunnel(&p, true);
	gen = pkt_layer_off(&p, PKT_L_GENEVE, 0);
	udp = pkt_layer_off(&p, PKT_L_UDP, 0);
	inner_eth = pkt_layer_off(&p, PKT_L_ETH, 1);
	inner_ip = pkt_layer_off(&p, PKT_L_IPV4, 1);
	assert_int_equal(gen, 42);
	assert_int_equal(inner_eth, 42 + 24);
	assert_int_equal(inner_ip, inner_eth + 14);
	assert_memory_equal(p.data + gen, want, sizeof(want));
	assert_int_equal(p.len, 14 + 20 + 8 + 24 + inner_len);
	assert_int_equal(rd16(p.data + 14 + 2), 20 + 8 + 24 + inner_len);
	assert_int_equal(rd16(p.data + udp + 4), 8 + 24 + inner_len);
	assert_int_equal(rd16(p.data + inner_ip + 2), inner_len - 14);
	assert_int_equal(rd16(p.data + inner_eth + 12), 0x0800);
	assert_int_equal(pkt_layer_off(&p, PKT_L_ETH, 2), -1);
}

static void test_geneve_option_lengths(void **state)
{
	static const uint8_t data8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char why[128];
	struct pkt p;
	long gen;

	pkt_init(&p);
	pkt_eth(&p, mac_b, mac_a, 0);
	pkt_ipv4(&p, IP4(1, 1, 1, 1), IP4(2, 2, 2, 2), 0, NULL);
	pkt_udp(&p, 1, PKT_GENEVE_PORT);
	pkt_geneve(&p, 1, 0);
	pkt_geneve_opt(&p, 0xffff, 0x80, data8, 8);
	pkt_geneve_opt(&p, 0x0101, 0x05, NULL, 0);
	pkt_finish(&p);
	gen = pkt_layer_off(&p, PKT_L_GENEVE, 0);
	assert_int_equal(p.data[gen] & 0x3f, (4 + 8 + 4) / 4);
	assert_int_equal(p.data[gen] >> 6, 0);
	assert_int_equal(p.data[gen + 8 + 3] & 0x1f, 2);
	assert_int_equal(rd16(p.data + gen + 8 + 12), 0x0101);
	assert_int_equal(p.data[gen + 8 + 14], 0x05);
	assert_int_equal(p.data[gen + 8 + 15] & 0x1f, 0);
	assert_int_equal(p.len, gen + 8 + 16);
	/* Geneve announces an Ethernet frame that is not there. */
	assert_false(pkt_ok(&p, why, sizeof(why)));
	assert_non_null(strstr(why, "inner Ethernet header truncated"));
}

static void test_tunnel_checksums(void **state)
{
	char why[160];
	struct pkt p;
	long inner_ip, icmp, udp;

	build_tunnel(&p, true);
	assert_true(pkt_ok(&p, why, sizeof(why)));
	assert_string_equal(why, "");
	inner_ip = pkt_layer_off(&p, PKT_L_IPV4, 1);
	icmp = pkt_layer_off(&p, PKT_L_ICMP, 0);
	udp = pkt_layer_off(&p, PKT_L_UDP, 0);
	assert_int_equal(ref_csum(p.data + inner_ip, 20), 0);
	assert_int_equal(ref_csum(p.data + icmp, p.len - icmp), 0);
	assert_int_equal(
		ref_l4_csum(p.data + 14, 17, p.data + udp, p.len - udp), 0);

	build_tunnel(&p, false);
	assert_int_equal(rd16(p.data + udp + 6), 0);
	assert_true(pkt_ok(&p, why, sizeof(why)));
}

static void expect_bad(struct pkt *p, size_t off, const char *needle)
{
	char why[160];

	p->data[off] ^= 0x01;
	assert_false(pkt_ok(p, why, sizeof(why)));
	if (!strstr(why, needle))
		fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
	p->data[off] ^= 0x01;
	assert_true(pkt_ok(p, why, sizeof(why)));
}

static void test_detects_corruption(void **state)
{
	struct pkt p, t;
	long icmp, inner_ip, udp, tcp;

	build_tunnel(&p, true);
	icmp = pkt_layer_off(&p, PKT_L_ICMP, 0);
	inner_ip = pkt_layer_off(&p, PKT_L_IPV4, 1);
	udp = pkt_layer_off(&p, PKT_L_UDP, 0);
	expect_bad(&p, 14 + 10, "outer IPv4 header checksum");
	expect_bad(&p, 14 + 8, "outer IPv4 header checksum"); /* TTL */
	expect_bad(&p, udp + 6, "outer UDP checksum");
	/* The outer UDP checksum covers the inner frame and is seen first. */
	expect_bad(&p, inner_ip + 11, "outer UDP checksum");
	expect_bad(&p, p.len - 1, "outer UDP checksum");

	/* Without the outer UDP checksum the inner ones must still be seen. */
	build_tunnel(&p, false);
	expect_bad(&p, inner_ip + 11, "inner IPv4 header checksum");
	expect_bad(&p, inner_ip + 15, "inner IPv4 header checksum");
	expect_bad(&p, icmp + 2, "inner ICMP checksum");
	expect_bad(&p, p.len - 1, "inner ICMP checksum");

	pkt_init(&t);
	pkt_eth(&t, mac_b, mac_a, 0);
	pkt_ipv4(&t, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_tcp(&t, 1, 2, 3, 4, PKT_TCP_ACK);
	pkt_payload_pattern(&t, 10);
	pkt_finish(&t);
	tcp = pkt_layer_off(&t, PKT_L_TCP, 0);
	expect_bad(&t, tcp + 17, "outer TCP checksum");
	expect_bad(&t, t.len - 3, "outer TCP checksum");
}

static void test_detects_bad_lengths(void **state)
{
	char why[160];
	struct pkt p;

	build_tunnel(&p, false);
	pkt_truncate(&p, p.len - 1);
	assert_false(pkt_ok(&p, why, sizeof(why)));
	assert_non_null(strstr(why, "outer IPv4 tot_len"));

	build_tunnel(&p, false);
	p.data[pkt_layer_off(&p, PKT_L_GENEVE, 0)] |= 0x3f;
	assert_false(pkt_ok(&p, why, sizeof(why)));
	assert_non_null(strstr(why, "Geneve options"));

	/* Ethernet padding after tot_len is not an error. */
	build_tunnel(&p, true);
	p.data[p.len++] = 0;
	assert_true(pkt_ok(&p, why, sizeof(why)));
}

static void test_truncate_forgets_layers(void **state)
{
	struct pkt p;

	build_tunnel(&p, true);
	pkt_truncate(&p, 14 + 20 + 4);
	assert_int_equal(p.len, 38);
	assert_int_equal(pkt_layer_off(&p, PKT_L_UDP, 0), 34);
	assert_int_equal(pkt_layer_off(&p, PKT_L_GENEVE, 0), -1);
	assert_int_equal(p.n_layers, 3);
}

static void test_copy(void **state)
{
	struct pkt a, b;

	build_tunnel(&a, true);
	pkt_copy(&b, &a);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(pkt_layer_off(&b, PKT_L_ICMP, 0),
			 pkt_layer_off(&a, PKT_L_ICMP, 0));
}

/* Run @fn in a child; it must die with SIGABRT. */
static void expect_abort(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Keep the child's message out of the test output noise. */
		freopen("/dev/null", "w", stderr);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void overflow_payload(void)
{
	static struct pkt p;

	pkt_init(&p);
	pkt_payload_pattern(&p, PKT_MAX - 10);
	pkt_eth(&p, mac_a, mac_b, 0);
}

static void overflow_layers(void)
{
	static struct pkt p;

	pkt_init(&p);
	for (int i = 0; i <= PKT_MAX_LAYERS; i++)
		pkt_payload(&p, "x", 1);
}

static void bad_geneve_opt(void)
{
	static struct pkt p;

	pkt_init(&p);
	pkt_geneve(&p, 1, 0);
	pkt_geneve_opt(&p, 1, 1, "abc", 3);
}

static void test_overflow_aborts(void **state)
{
	expect_abort(overflow_payload);
	expect_abort(overflow_layers);
	expect_abort(bad_geneve_opt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_reference),
		cmocka_unit_test(test_ipv4_nop_options),
		cmocka_unit_test(test_udp_checksum),
		cmocka_unit_test(test_udp_nocsum),
		cmocka_unit_test(test_tcp_checksum),
		cmocka_unit_test(test_icmp_echo_reference),
		cmocka_unit_test(test_arp_layout),
		cmocka_unit_test(test_geneve_layout),
		cmocka_unit_test(test_geneve_option_lengths),
		cmocka_unit_test(test_tunnel_checksums),
		cmocka_unit_test(test_detects_corruption),
		cmocka_unit_test(test_detects_bad_lengths),
		cmocka_unit_test(test_truncate_forgets_layers),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_overflow_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
