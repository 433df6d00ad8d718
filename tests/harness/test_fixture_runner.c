// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The fixture runner passes frames that a real XDP program handles as
 * expected, and fails, with a readable diff, every fixture that is wrong:
 * verdict, bytes, length, checksums or counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>

#include "fixture.h"
#include "testenv.h"

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t mac_h[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
static const uint8_t mac_r[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x02 };

static int swap_fd, count_fd, stats_fd;

/* Where the captured output of a run goes. */
static char captured[16384];

/* Run a fixture with stdout captured into `captured`. */
static int run_captured(int prog_fd, int map_fd, const struct fixture *f)
{
	FILE *tmp = tmpfile();
	int saved, ret;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	ret = fixture_run(prog_fd, map_fd, f);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
	/* Echo it so the log shows what a failure looks like. */
	printf("---- captured ----\n%s------------------\n", captured);
	return ret;
}

static void expect_output(const char *needle)
{
	if (!strstr(captured, needle))
		fail_msg("output lacks \"%s\"", needle);
}

static void udp_frame(struct pkt *p, const uint8_t *dst, const uint8_t *src)
{
	pkt_init(p);
	pkt_eth(p, dst, src, 0);
	pkt_ipv4(p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_udp(p, 40000, 7);
	pkt_payload_pattern(p, 32);
	pkt_finish(p);
}

static void tcp_frame(struct pkt *p, const uint8_t *dst, const uint8_t *src)
{
	pkt_init(p);
	pkt_eth(p, dst, src, 0);
	pkt_ipv4(p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_tcp(p, 40000, 80, 1, 0, PKT_TCP_SYN);
	pkt_finish(p);
}

static void arp_frame(struct pkt *p, const uint8_t *dst, const uint8_t *src)
{
	static const uint8_t zero[6];

	pkt_init(p);
	pkt_eth(p, dst, src, 0);
	pkt_arp(p, 1, mac_a, IP4(10, 0, 0, 1), zero, IP4(10, 0, 0, 2));
	pkt_finish(p);
}

static void tunnel_frame(struct pkt *p, const uint8_t *dst, const uint8_t *src)
{
	pkt_init(p);
	pkt_eth(p, dst, src, 0);
	pkt_ipv4(p, IP4(192, 168, 1, 1), IP4(192, 168, 1, 2), 0, NULL);
	pkt_udp(p, MZR_SPORT_MIN + 5, MZR_GENEVE_PORT);
	pkt_geneve(p, 42, 0);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_RTS, IP4(192, 168, 1, 1));
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_FLAGS, MZR_F_DIRECT);
	pkt_eth(p, mac_b, mac_a, 0);
	pkt_ipv4(p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 0, NULL);
	pkt_icmp_echo(p, 8, 1, 1);
	pkt_payload_pattern(p, 56);
	pkt_finish(p);
}

static void swap_table(struct fixture *t)
{
	t[0] = (struct fixture){
		.desc = "a UDP frame is sent back out with its MACs swapped",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
	};
	udp_frame(&t[0].in, mac_b, mac_a);
	udp_frame(&t[0].out, mac_a, mac_b);

	t[1] = (struct fixture){
		.desc = "a TCP SYN received on lo is sent back swapped",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
		.ingress_ifindex = 1,
	};
	tcp_frame(&t[1].in, mac_b, mac_a);
	tcp_frame(&t[1].out, mac_a, mac_b);

	t[2] = (struct fixture){
		.desc = "a Geneve frame has only its outer MACs swapped",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
	};
	tunnel_frame(&t[2].in, mac_r, mac_h);
	tunnel_frame(&t[2].out, mac_h, mac_r);

	t[3] = (struct fixture){
		.desc = "an ARP request is sent back swapped",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
	};
	arp_frame(&t[3].in, mac_b, mac_a);
	arp_frame(&t[3].out, mac_a, mac_b);

	t[4] = (struct fixture){
		.desc = "a bare Ethernet header is sent back swapped",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
	};
	pkt_init(&t[4].in);
	pkt_eth(&t[4].in, mac_b, mac_a, 0x88b5);
	pkt_finish(&t[4].in);
	pkt_init(&t[4].out);
	pkt_eth(&t[4].out, mac_a, mac_b, 0x88b5);
	pkt_finish(&t[4].out);
}

#define N_SWAP 5

static void test_table_passes(void **state)
{
	static struct fixture t[N_SWAP];

	swap_table(t);
	assert_int_equal(fixture_run_table(swap_fd, -1, t, N_SWAP), 0);
}

static void test_wrong_bytes_fail_with_diff(void **state)
{
	static struct fixture f;

	f = (struct fixture){
		.desc = "deliberately wrong: expects the MACs unchanged",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
	};
	udp_frame(&f.in, mac_b, mac_a);
	pkt_copy(&f.out, &f.in);
	assert_int_equal(run_captured(swap_fd, -1, &f), -1);
	expect_output("FAIL: deliberately wrong: expects the MACs unchanged");
	expect_output("verdict: want XDP_TX, got XDP_TX");
	expect_output("first difference at 0x0005");
	expect_output("    want 0000: 02 00 00 00 00 0b 02 00 00 00 00 0a");
	expect_output("    got  0000: 02 00 00 00 00 0a 02 00 00 00 00 0b");
	expect_output("^^");
	expect_output("no differences in the remaining");
}

static void test_wrong_byte_deep_in_frame(void **state)
{
	static struct fixture f;
	long icmp;

	f = (struct fixture){
		.desc = "deliberately wrong: one inner payload byte differs",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
		.out_malformed = true, /* the checksum is not the point */
	};
	tunnel_frame(&f.in, mac_r, mac_h);
	tunnel_frame(&f.out, mac_h, mac_r);
	icmp = pkt_layer_off(&f.out, PKT_L_ICMP, 0);
	f.out.data[icmp + 8 + 20] ^= 0xff;
	assert_int_equal(run_captured(swap_fd, -1, &f), -1);
	expect_output("1 differing");
	assert_non_null(strstr(captured, "^^"));
}

static void test_wrong_verdict_fails(void **state)
{
	static struct fixture f;

	f = (struct fixture){
		.desc = "deliberately wrong: expects XDP_PASS",
		.verdict = XDP_PASS,
		.check_out = false,
		.counter = -1,
	};
	udp_frame(&f.in, mac_b, mac_a);
	assert_int_equal(run_captured(swap_fd, -1, &f), -1);
	expect_output("verdict: want XDP_PASS, got XDP_TX  <-- differs");
}

static void test_wrong_length_fails(void **state)
{
	static struct fixture f;

	f = (struct fixture){
		.desc = "deliberately wrong: expects 4 more bytes",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
		.out_malformed = true,
	};
	udp_frame(&f.in, mac_b, mac_a);
	udp_frame(&f.out, mac_a, mac_b);
	f.out.len += 4;
	assert_int_equal(run_captured(swap_fd, -1, &f), -1);
	expect_output("want 78 bytes, got 74");
	expect_output(" --");
}

static void test_bad_checksum_fails_unless_declared(void **state)
{
	static struct fixture f;

	/* Output equals expectation byte for byte, but carries a broken IPv4
	 * checksum: the runner must still fail it... */
	f = (struct fixture){
		.desc = "deliberately wrong: expected frame has a bad checksum",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = -1,
	};
	udp_frame(&f.in, mac_b, mac_a);
	f.in.data[14 + 10] ^= 0x5a;
	udp_frame(&f.out, mac_a, mac_b);
	f.out.data[14 + 10] ^= 0x5a;
	assert_int_equal(run_captured(swap_fd, -1, &f), -1);
	expect_output("output checksums: outer IPv4 header checksum");
	expect_output("output frame as expected");

	/* ...unless the fixture says the output is malformed on purpose. */
	f.out_malformed = true;
	assert_int_equal(run_captured(swap_fd, -1, &f), 0);
}

static void test_counter_checked(void **state)
{
	static struct fixture f;
	uint64_t before;

	f = (struct fixture){
		.desc = "a counted frame grows MZR_CNT_TRANSIT_PASS by one",
		.verdict = XDP_PASS,
		.check_out = true,
		.counter = MZR_CNT_TRANSIT_PASS,
	};
	udp_frame(&f.in, mac_b, mac_a);
	pkt_copy(&f.out, &f.in);
	before = fixture_counter(stats_fd, MZR_CNT_TRANSIT_PASS);
	assert_int_not_equal(before, UINT64_MAX);
	assert_int_equal(fixture_run_table(count_fd, stats_fd, &f, 1), 0);
	assert_int_equal(fixture_counter(stats_fd, MZR_CNT_TRANSIT_PASS),
			 before + 1);

	f.desc = "deliberately wrong: expects MZR_CNT_TRANSIT_RX";
	f.counter = MZR_CNT_TRANSIT_RX;
	assert_int_equal(run_captured(count_fd, stats_fd, &f), -1);
	expect_output("want +1, got +0");

	f.desc = "deliberately wrong: counter but no stats map";
	assert_int_equal(run_captured(count_fd, -1, &f), -1);
	expect_output("no stats map");
}

static void test_table_counts_failures(void **state)
{
	static struct fixture t[N_SWAP + 2];

	swap_table(t);
	t[N_SWAP] = t[0];
	t[N_SWAP].desc = "deliberately wrong: expects XDP_DROP";
	t[N_SWAP].verdict = XDP_DROP;
	t[N_SWAP + 1] = t[1];
	t[N_SWAP + 1].desc = "deliberately wrong: expects input unchanged";
	pkt_copy(&t[N_SWAP + 1].out, &t[N_SWAP + 1].in);
	assert_int_equal(fixture_run_table(swap_fd, -1, t, N_SWAP + 2), 2);
}

static void test_bad_ifindex_is_an_error(void **state)
{
	static struct fixture f;

	f = (struct fixture){
		.desc = "deliberately wrong: ingress on a missing interface",
		.verdict = XDP_TX,
		.counter = -1,
		.ingress_ifindex = 0x7fffff00,
	};
	udp_frame(&f.in, mac_b, mac_a);
	assert_int_equal(run_captured(swap_fd, -1, &f), -1);
	expect_output("BPF_PROG_TEST_RUN");
}

static void test_private_bpffs_pins(void **state)
{
	char dir[64], path[128];
	struct stat st;
	struct statfs sfs;

	test_bpffs_mount(dir);
	assert_int_equal(strncmp(dir, "/run/", 5), 0);
	assert_int_equal(statfs(dir, &sfs), 0);
	assert_true(sfs.f_type == BPF_FS_MAGIC);
	snprintf(path, sizeof(path), "%s/stats", dir);
	assert_int_equal(bpf_obj_pin(stats_fd, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_passes),
		cmocka_unit_test(test_wrong_bytes_fail_with_diff),
		cmocka_unit_test(test_wrong_byte_deep_in_frame),
		cmocka_unit_test(test_wrong_verdict_fails),
		cmocka_unit_test(test_wrong_length_fails),
		cmocka_unit_test(test_bad_checksum_fails_unless_declared),
		cmocka_unit_test(test_counter_checked),
		cmocka_unit_test(test_table_counts_failures),
		cmocka_unit_test(test_bad_ifindex_is_an_error),
		cmocka_unit_test(test_private_bpffs_pins),
	};
	struct bpf_object *swap_obj, *count_obj;
	int ret;

	test_require_root();
	test_private_netns();
	swap_fd = test_load_prog(MZR_TEST_BPF_XDP_SWAP_TX, "xdp_swap_tx",
				 &swap_obj);
	count_fd = test_load_prog(MZR_TEST_BPF_XDP_COUNT_PASS, "xdp_count_pass",
				  &count_obj);
	stats_fd = test_map_fd(count_obj, MZR_MAP_STATS);

	ret = cmocka_run_group_tests(tests, NULL, NULL);
	bpf_object__close(count_obj);
	bpf_object__close(swap_obj);
	return ret;
}
