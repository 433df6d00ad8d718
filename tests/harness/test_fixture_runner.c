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

#include "fixture_frames.h"
#include "testenv.h"

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t mac_h[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
static const uint8_t mac_r[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x02 };

static int swap_fd, count_fd, stats_fd;

enum { P_SWAP = 1, P_COUNT, P_MAX };
static struct fixture_prog progs[P_MAX];
/* The programs with and without the counter map. */
static struct fixture_progs with_stats = { progs, P_MAX, -1 };
static struct fixture_progs no_stats = { progs, P_MAX, -1 };

/* Where the captured output of a run goes. */
static char captured[16384];

/* Run a fixture with stdout captured into `captured`. */
static int run_captured(const struct fixture_progs *ps,
			const struct fixture *f)
{
	FILE *tmp = tmpfile();
	int saved, ret;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	ret = fixture_run(ps, f);
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

#define UDP_FRAME(d, s)                                                        \
	UDP(.dmac = (d), .smac = (s), .src = IP4(10, 0, 0, 1),                 \
	    .dst = IP4(10, 0, 0, 2), .sport = 40000, .dport = 7, .payload = 32)
#define TCP_FRAME(d, s)                                                        \
	TCP(.dmac = (d), .smac = (s), .src = IP4(10, 0, 0, 1),                 \
	    .dst = IP4(10, 0, 0, 2), .sport = 40000, .dport = 80, .seq = 1)
#define ARP_FRAME(d, s)                                                        \
	ARP(.dmac = (d), .smac = (s), .sha = mac_a, .src = IP4(10, 0, 0, 1),   \
	    .dst = IP4(10, 0, 0, 2))

/* A tunnel frame with an outer UDP checksum, built by hand (the PKT()
 * path of the runner). */
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

static struct pkt tun_in, tun_out;

static const struct fixture swap_table[] = {
	{ .desc = "a UDP frame is sent back out with its MACs swapped",
	  .prog = P_SWAP, .in = UDP_FRAME(mac_b, mac_a),
	  .verdict = XDP_TX, .out = UDP_FRAME(mac_a, mac_b) },
	{ .desc = "a TCP SYN received on lo is sent back swapped",
	  .prog = P_SWAP, .dev = "lo", .in = TCP_FRAME(mac_b, mac_a),
	  .verdict = XDP_TX, .out = TCP_FRAME(mac_a, mac_b) },
	{ .desc = "a Geneve frame has only its outer MACs swapped",
	  .prog = P_SWAP, .in = PKT(&tun_in), .verdict = XDP_TX,
	  .out = PKT(&tun_out) },
	{ .desc = "an ARP request is sent back swapped",
	  .prog = P_SWAP, .in = ARP_FRAME(mac_b, mac_a), .verdict = XDP_TX,
	  .out = ARP_FRAME(mac_a, mac_b) },
	{ .desc = "a bare Ethernet header is sent back swapped",
	  .prog = P_SWAP, .in = ETH(.dmac = mac_b, .smac = mac_a,
				    .ethertype = 0x88b5),
	  .verdict = XDP_TX,
	  .out = ETH(.dmac = mac_a, .smac = mac_b, .ethertype = 0x88b5) },
};

#define N_SWAP ARRAY_SIZE(swap_table)

static void test_table_passes(void **state)
{
	assert_int_equal(fixture_run_table(&no_stats, swap_table, N_SWAP), 0);
}

static void test_wrong_bytes_fail_with_diff(void **state)
{
	const struct fixture f = {
		.desc = "deliberately wrong: expects the MACs unchanged",
		.prog = P_SWAP, .in = UDP_FRAME(mac_b, mac_a),
		.verdict = XDP_TX, .out_same = true,
	};

	assert_int_equal(run_captured(&no_stats, &f), -1);
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
	static struct pkt out;
	const struct fixture f = {
		.desc = "deliberately wrong: one inner payload byte differs",
		.prog = P_SWAP, .in = PKT(&tun_in), .verdict = XDP_TX,
		.out = PKT(&out),
		.out_malformed = true, /* the checksum is not the point */
	};

	pkt_copy(&out, &tun_out);
	out.data[pkt_layer_off(&out, PKT_L_ICMP, 0) + 8 + 20] ^= 0xff;
	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("1 differing");
	assert_non_null(strstr(captured, "^^"));
}

static void test_wrong_verdict_fails(void **state)
{
	const struct fixture f = {
		.desc = "deliberately wrong: expects XDP_PASS",
		.prog = P_SWAP, .in = UDP_FRAME(mac_b, mac_a),
		.verdict = XDP_PASS,
	};

	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("verdict: want XDP_PASS, got XDP_TX  <-- differs");
}

static void test_wrong_length_fails(void **state)
{
	static struct pkt out;
	const struct fixture f = {
		.desc = "deliberately wrong: expects 4 more bytes",
		.prog = P_SWAP, .in = UDP_FRAME(mac_b, mac_a),
		.verdict = XDP_TX, .out = PKT(&out), .out_malformed = true,
	};

	frame_build(&out, UDP_FRAME(mac_a, mac_b));
	out.len += 4;
	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("want 78 bytes, got 74");
	expect_output(" --");
}

static void test_bad_checksum_fails_unless_declared(void **state)
{
	/* Output equals expectation byte for byte, but carries a broken IPv4
	 * checksum: the runner must still fail it... */
	struct fixture f = {
		.desc = "deliberately wrong: expected frame has a bad checksum",
		.prog = P_SWAP,
		.in = UDP(.dmac = mac_b, .smac = mac_a, .src = IP4(10, 0, 0, 1),
			  .dst = IP4(10, 0, 0, 2), .sport = 40000, .dport = 7,
			  .payload = 32,
			  .patch = { PATCH(PKT_L_IPV4, 10, XOR, 0x5a) }),
		.verdict = XDP_TX,
		.out = UDP(.dmac = mac_a, .smac = mac_b, .src = IP4(10, 0, 0, 1),
			   .dst = IP4(10, 0, 0, 2), .sport = 40000, .dport = 7,
			   .payload = 32,
			   .patch = { PATCH(PKT_L_IPV4, 10, XOR, 0x5a) }),
	};

	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("output checksums: outer IPv4 header checksum");
	expect_output("output frame as expected");

	/* ...unless the fixture says the output is malformed on purpose. */
	f.out_malformed = true;
	assert_int_equal(run_captured(&no_stats, &f), 0);
}

static void test_counter_checked(void **state)
{
	struct fixture f = {
		.desc = "a counted frame grows MZR_CNT_TRANSIT_PASS by one",
		.prog = P_COUNT, .in = UDP_FRAME(mac_b, mac_a),
		.verdict = XDP_PASS, .out_same = true,
		.counters = { { MZR_CNT_TRANSIT_PASS, 1 } },
	};
	uint64_t before;

	before = fixture_counter(stats_fd, MZR_CNT_TRANSIT_PASS);
	assert_int_not_equal(before, UINT64_MAX);
	assert_int_equal(fixture_run_table(&with_stats, &f, 1), 0);
	assert_int_equal(fixture_counter(stats_fd, MZR_CNT_TRANSIT_PASS),
			 before + 1);

	f.desc = "deliberately wrong: expects MZR_CNT_TRANSIT_RX";
	f.counters[0].idx = MZR_CNT_TRANSIT_RX;
	assert_int_equal(run_captured(&with_stats, &f), -1);
	expect_output("want +1, got +0");

	f.desc = "deliberately wrong: counter but no stats map";
	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("no stats map");
}

/* A list of counters: every one is checked, growth 0 included, and any
 * one wrong fails the fixture naming it. */
static void test_counter_list(void **state)
{
	struct fixture f = {
		.desc = "one counter grows by one, another stays",
		.prog = P_COUNT, .in = UDP_FRAME(mac_b, mac_a),
		.verdict = XDP_PASS, .out_same = true,
		.counters = { { MZR_CNT_TRANSIT_PASS, 1 },
			      { MZR_CNT_TRANSIT_RX, 0 } },
	};

	assert_int_equal(run_captured(&with_stats, &f), 0);

	f.desc = "deliberately wrong: the second counter expected to grow";
	f.counters[1].delta = 1;
	assert_int_equal(run_captured(&with_stats, &f), -1);
	expect_output("want +1, got +0  <-- differs");

	f.desc = "deliberately wrong: expects two of one counter";
	f.counters[0].delta = 2;
	f.counters[1].delta = 0;
	assert_int_equal(run_captured(&with_stats, &f), -1);
	expect_output("want +2, got +1  <-- differs");
}

static void test_table_counts_failures(void **state)
{
	struct fixture t[N_SWAP + 2];

	memcpy(t, swap_table, sizeof(swap_table));
	t[N_SWAP] = t[0];
	t[N_SWAP].desc = "deliberately wrong: expects XDP_DROP";
	t[N_SWAP].verdict = XDP_DROP;
	t[N_SWAP + 1] = t[1];
	t[N_SWAP + 1].desc = "deliberately wrong: expects input unchanged";
	t[N_SWAP + 1].out = NULL;
	t[N_SWAP + 1].out_same = true;
	assert_int_equal(fixture_run_table(&no_stats, t, N_SWAP + 2), 2);
}

static void test_bad_ifindex_is_an_error(void **state)
{
	struct fixture f = {
		.desc = "deliberately wrong: ingress on a missing interface",
		.prog = P_SWAP, .in = UDP_FRAME(mac_b, mac_a),
		.verdict = XDP_TX, .ingress_ifindex = 0x7fffff00,
	};

	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("BPF_PROG_TEST_RUN");

	f.desc = "deliberately wrong: ingress on a device by a missing name";
	f.ingress_ifindex = 0;
	f.dev = "nosuchdev0";
	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("no device nosuchdev0");
}

static void test_unknown_prog_is_an_error(void **state)
{
	struct fixture f = {
		.desc = "deliberately wrong: no .prog",
		.in = UDP_FRAME(mac_b, mac_a), .verdict = XDP_TX,
	};

	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output(".prog 0 names no program");
	f.prog = P_MAX;
	assert_int_equal(run_captured(&no_stats, &f), -1);
	expect_output("names no program");
}

/* The hand-built path (struct fixture_pkt) runs through the same runner. */
static void test_pkt_fixture(void **state)
{
	static struct fixture_pkt f = {
		.desc = "a hand-built frame swapped", .verdict = XDP_TX,
		.check_out = true, .counter = -1,
	};

	frame_build(&f.in, UDP_FRAME(mac_b, mac_a));
	frame_build(&f.out, UDP_FRAME(mac_a, mac_b));
	assert_int_equal(fixture_pkt_run_table(swap_fd, -1, &f, 1), 0);
	pkt_copy(&f.out, &f.in);
	assert_int_equal(fixture_pkt_run(swap_fd, -1, &f), -1);
}

static const uint8_t *world_mac(uint32_t ip)
{
	return ip == IP4(192, 168, 1, 1) ? mac_h : mac_r;
}

static uint32_t world_resolve(uint32_t ip, const struct pkt *inner)
{
	return ip == IP4(0, 0, 0, 1) ? IP4(192, 168, 1, 9) : ip;
}

static uint16_t world_sport(const struct pkt *inner)
{
	return (uint16_t)(49152 + inner->len);
}

/* The frame builder: defaults from the macros and the world, patches,
 * cuts, quotes, the length to pad to. */
static void test_frame_build(void **state)
{
	static const struct frame_world w = {
		.self = IP4(192, 168, 1, 1), .self_mac = mac_h,
		.mac_of = world_mac, .resolve_ip = world_resolve,
		.flow_sport = world_sport,
	};
	const struct frame_world *saved = frame_world;
	const struct frame *icmp = ICMP(.dmac = mac_b, .smac = mac_a,
					.src = IP4(10, 0, 0, 1),
					.dst = IP4(10, 0, 0, 2), .len = 100);
	struct pkt p;
	char why[128];
	long g;

	frame_world = &w;
	/* Arriving at self from .2: to self's MAC, from .2's. */
	frame_build(&p, GENEVE(.from = IP4(192, 168, 1, 2),
			       .to = IP4(192, 168, 1, 1), .sport = 51000,
			       .vni = 42, .flags = MZR_F_DIRECT,
			       .inner = icmp));
	assert_true(pkt_ok(&p, why, sizeof(why)));
	assert_memory_equal(p.data, mac_h, 6);
	assert_memory_equal(p.data + 6, mac_r, 6);
	assert_int_equal(p.data[14 + 8], 64);	    /* TTL */
	assert_int_equal(p.data[14 + 6], 0x40);	    /* DF */
	assert_int_equal(p.data[34] << 8 | p.data[35], 51000);
	g = pkt_layer_off(&p, PKT_L_GENEVE, 0);
	assert_int_equal(p.data[g + 6], 42);	    /* VNI */
	assert_int_equal(p.data[g + 15], 2);	    /* RTS = .from */
	assert_int_equal(p.data[g + 23], MZR_F_DIRECT);
	assert_int_equal(p.len, 50 + 16 + 100);
	assert_int_equal(p.data[50 + 16 + 34], 8); /* the inner ICMP */

	/* Leaving self towards a placeholder: resolved, from self's MAC,
	 * source port from the flow. */
	frame_build(&p, GENEVE(.from = IP4(192, 168, 1, 1),
			       .to = IP4(0, 0, 0, 1), .flow_sport = true,
			       .vni = 42, .no_flags_opt = true,
			       .inner = icmp));
	assert_memory_equal(p.data, mac_r, 6);
	assert_memory_equal(p.data + 6, mac_h, 6);
	assert_int_equal(p.data[33], 9);
	assert_int_equal(p.data[34] << 8 | p.data[35], 49152 + 100);
	assert_int_equal(p.len, 50 + 8 + 100);

	/* An ICMP error quoting another frame's header and 8 bytes. */
	frame_build(&p, FRAG_NEEDED(icmp, .dmac = mac_a, .smac = mac_b,
				    .src = IP4(10, 0, 0, 2),
				    .dst = IP4(10, 0, 0, 1), .mtu = 1434));
	assert_true(pkt_ok(&p, why, sizeof(why)));
	assert_int_equal(p.len, 14 + 20 + 8 + 20 + 8);
	assert_int_equal(p.data[34], 3);
	assert_int_equal(p.data[34 + 6] << 8 | p.data[34 + 7], 1434);

	/* Patches after the checksums, then the cut. */
	frame_build(&p, UDP_FRAME(mac_a, mac_b));
	{
		struct pkt q;

		frame_build(&q, UDP(.dmac = mac_a, .smac = mac_b,
				    .src = IP4(10, 0, 0, 1),
				    .dst = IP4(10, 0, 0, 2), .sport = 40000,
				    .dport = 7, .payload = 32,
				    .patch = { PATCH(PKT_L_UDP, 6, XOR, 0xff),
					       PATCH(PKT_L_IPV4, 1, SET, 4) },
				    .cut = 50));
		assert_int_equal(q.len, 50);
		assert_int_equal(q.data[34 + 6], p.data[34 + 6] ^ 0xff);
		assert_int_equal(q.data[15], 4);
	}
	frame_world = saved;
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
		cmocka_unit_test(test_counter_list),
		cmocka_unit_test(test_table_counts_failures),
		cmocka_unit_test(test_bad_ifindex_is_an_error),
		cmocka_unit_test(test_unknown_prog_is_an_error),
		cmocka_unit_test(test_pkt_fixture),
		cmocka_unit_test(test_frame_build),
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
	progs[P_SWAP] = (struct fixture_prog){ .name = "xdp_swap_tx",
						 .fd = swap_fd };
	progs[P_COUNT] = (struct fixture_prog){ .name = "xdp_count_pass",
						  .fd = count_fd };
	with_stats.stats_fd = stats_fd;
	tunnel_frame(&tun_in, mac_r, mac_h);
	tunnel_frame(&tun_out, mac_h, mac_r);

	ret = cmocka_run_group_tests(tests, NULL, NULL);
	bpf_object__close(count_obj);
	bpf_object__close(swap_obj);
	return ret;
}
