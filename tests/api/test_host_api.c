// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The back-plane API on a real kernel: a failing call names its problem
 * with its own errno and leaves every table as it was; endpoint batches
 * are all-or-nothing; any handle on the same pin root sees the same state;
 * local endpoints get the agent attached and reset tears everything down.
 * Runs in a private netns with a private bpffs under /run.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/mizar.h>

#include "testenv.h"

#define MAX_EPS 64

static char bpffs[128];
static char root[192];
static struct mzr_host *h;
static int n_warn;

static int count_print(enum mzr_print_level level, const char *fmt,
		       va_list args)
{
	if (level == MZR_WARN) {
		n_warn++;
		if (getenv("MZR_TEST_VERBOSE"))
			vfprintf(stderr, fmt, args);
	}
	return 0;
}

static struct in_addr A(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad address %s", s);
	return a;
}

static void sh(const char *cmd)
{
	if (system(cmd))
		fail_msg("command failed: %s", cmd);
}

/* ---- A fingerprint of every table, to prove "unchanged" ----------------- */

struct snap {
	char buf[1 << 16];
	size_t len;
};

static void snap_add(struct snap *s, const void *p, size_t n)
{
	assert_true(s->len + n <= sizeof(s->buf));
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static int snap_vpc(const struct mzr_vpc_info *i, void *ctx)
{
	snap_add(ctx, i, sizeof(*i));
	return 0;
}

static int snap_net(const struct mzr_net_info *i, void *ctx)
{
	snap_add(ctx, i, sizeof(*i));
	return 0;
}

static int snap_ep(const struct mzr_ep_info *i, void *ctx)
{
	snap_add(ctx, i, sizeof(*i));
	return 0;
}

static void snapshot(struct snap *s)
{
	struct mzr_host_info info;
	int fd = mzr_host__map_fd(h, "mzr_local");
	__u32 key, next, *prev = NULL;

	memset(s, 0, sizeof(*s));
	assert_int_equal(mzr_vpc__for_each(h, snap_vpc, s), 0);
	assert_int_equal(mzr_net__for_each(h, 0, snap_net, s), 0);
	assert_int_equal(mzr_ep__for_each(h, 0, snap_ep, s), 0);
	assert_int_equal(mzr_host__info(h, &info), 0);
	snap_add(s, &info.n_endpoints, sizeof(info.n_endpoints));
	snap_add(s, &info.n_local_endpoints, sizeof(info.n_local_endpoints));
	assert_true(fd >= 0);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		snap_add(s, &next, sizeof(next));
		key = next;
		prev = &key;
	}
}

static struct snap before, after;

/* @call fails with @err, logs one line, and changes no table. */
#define EXPECT_UNCHANGED(err, call)                                            \
	do {                                                                   \
		snapshot(&before);                                             \
		n_warn = 0;                                                    \
		assert_int_equal((call), (err));                               \
		assert_int_equal(n_warn, 1);                                   \
		snapshot(&after);                                              \
		assert_int_equal(before.len, after.len);                       \
		assert_memory_equal(before.buf, after.buf, before.len);        \
	} while (0)

static struct mzr_ep_spec ep(uint32_t vni, const char *ip, const char *host)
{
	struct mzr_ep_spec s = {
		.vni = vni,
		.ip = A(ip),
		.mac = { 0x02, 0x11, 0, 0, 0, 0 },
		.host = A(host),
	};

	memcpy(&s.mac[2], &s.ip.s_addr, 4);
	return s;
}

static int count_eps(void)
{
	struct mzr_host_info info;

	assert_int_equal(mzr_host__info(h, &info), 0);
	return info.n_endpoints;
}

/* ---- Setup: one back-plane with VPC 100 (10.0.0.0/24, 10.0.1.0/24) ------ */

static int setup(void **state)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root,
		 .max_endpoints = MAX_EPS);
	struct in_addr b = A("192.168.7.1");

	h = mzr_host__open(&o);
	assert_non_null(h);
	assert_int_equal(mzr_host__load(h), 0);
	assert_int_equal(mzr_vpc__create(h, 100, NULL, 0), 0);
	assert_int_equal(mzr_net__create(h, 100, A("10.0.0.0"), 24, &b, 1,
					 NULL), 0);
	assert_int_equal(mzr_net__create(h, 100, A("10.0.1.0"), 24, &b, 1,
					 NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	struct stat st;

	assert_int_equal(mzr_host__reset(h), 0);
	assert_int_not_equal(stat(root, &st), 0);
	mzr_host__close(h);
	h = NULL;
	return 0;
}

/* ---- Tests --------------------------------------------------------------- */

static void test_load_twice_and_reopen(void **state)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root);
	MZR_OPTS(mzr_host_opts, none, .pin_root = "/run/mzr-no-such-root");
	struct mzr_vpc_info vi;
	struct mzr_host *h2;
	struct mzr_host_info info;

	h2 = mzr_host__open(&o);
	assert_non_null(h2);
	n_warn = 0;
	assert_int_equal(mzr_host__load(h2), -EEXIST);
	assert_int_equal(n_warn, 1);
	mzr_host__close(h2);

	errno = 0;
	assert_null(mzr_host__open_pinned(&none));
	assert_int_equal(errno, ENOENT);

	/* Another handle sees (and changes) the same tables. */
	h2 = mzr_host__open_pinned(&o);
	assert_non_null(h2);
	assert_int_equal(mzr_host__info(h2, &info), 0);
	assert_int_equal(info.max_endpoints, MAX_EPS);
	assert_int_equal(mzr_vpc__get(h2, 100, &vi), 0);
	assert_int_equal(mzr_vpc__create(h2, 200, NULL, 0), 0);
	mzr_host__close(h2);
	assert_int_equal(mzr_vpc__get(h, 200, &vi), 0);
	assert_int_equal(mzr_vpc__delete(h, 200), 0);
	assert_int_equal(mzr_vpc__get(h, 200, &vi), -ENOENT);
}

static void test_vpc_errors(void **state)
{
	struct in_addr d[9];
	struct mzr_vpc_info vi;
	int i;

	for (i = 0; i < 9; i++)
		d[i].s_addr = htonl(0xc0a80801 + i);
	EXPECT_UNCHANGED(-ERANGE, mzr_vpc__create(h, 0, NULL, 0));
	EXPECT_UNCHANGED(-ERANGE, mzr_vpc__create(h, 1U << 24, NULL, 0));
	EXPECT_UNCHANGED(-EEXIST, mzr_vpc__create(h, 100, d, 1));
	EXPECT_UNCHANGED(-E2BIG, mzr_vpc__create(h, 101, d, 9));
	EXPECT_UNCHANGED(-ENOENT, mzr_vpc__update(h, 101, d, 1));
	EXPECT_UNCHANGED(-ENOENT, mzr_vpc__delete(h, 101));
	EXPECT_UNCHANGED(-ENOTEMPTY, mzr_vpc__delete(h, 100));

	assert_int_equal(mzr_vpc__update(h, 100, d, 8), 0);
	assert_int_equal(mzr_vpc__get(h, 100, &vi), 0);
	assert_int_equal(vi.n_dividers, 8);
	assert_int_equal(vi.dividers[7].s_addr, d[7].s_addr);
	assert_int_equal(mzr_vpc__update(h, 100, NULL, 0), 0);
}

static void test_vpc_table_full(void **state)
{
	uint32_t vni;
	int err = 0;

	/* Fill the VPC table, then one more fails and changes nothing. */
	for (vni = 1000; !err; vni++)
		err = mzr_vpc__create(h, vni, NULL, 0);
	assert_int_equal(err, -ENOSPC);
	EXPECT_UNCHANGED(-ENOSPC, mzr_vpc__create(h, 999, NULL, 0));
	while (--vni >= 1000)
		mzr_vpc__delete(h, vni);
}

static void test_net_errors(void **state)
{
	struct in_addr b[9];
	struct mzr_net_info ni;
	MZR_OPTS(mzr_net_opts, o, .gw = A("10.0.2.254"));
	int i;

	for (i = 0; i < 9; i++)
		b[i].s_addr = htonl(0xc0a80701 + i);
	EXPECT_UNCHANGED(-ERANGE, mzr_net__create(h, 0, A("10.0.2.0"), 24, b,
						  1, NULL));
	EXPECT_UNCHANGED(-EINVAL, mzr_net__create(h, 100, A("10.0.2.1"), 24,
						  b, 1, NULL));
	EXPECT_UNCHANGED(-ENOENT, mzr_net__create(h, 101, A("10.0.2.0"), 24,
						  b, 1, NULL));
	EXPECT_UNCHANGED(-EEXIST, mzr_net__create(h, 100, A("10.0.0.0"), 24,
						  b, 1, NULL));
	EXPECT_UNCHANGED(-EADDRINUSE, mzr_net__create(h, 100, A("10.0.0.0"),
						      16, b, 1, NULL));
	EXPECT_UNCHANGED(-EADDRINUSE, mzr_net__create(h, 100, A("10.0.0.128"),
						      25, b, 1, NULL));
	EXPECT_UNCHANGED(-EDESTADDRREQ, mzr_net__create(h, 100, A("10.0.2.0"),
							24, b, 0, NULL));
	EXPECT_UNCHANGED(-E2BIG, mzr_net__create(h, 100, A("10.0.2.0"), 24, b,
						 9, NULL));
	EXPECT_UNCHANGED(-ENOENT, mzr_net__update(h, 100, A("10.0.2.0"), 24,
						  b, 1));
	/* The trie answers longest-prefix matches; the API must not. */
	EXPECT_UNCHANGED(-ENOENT, mzr_net__delete(h, 100, A("10.0.0.0"), 25));
	EXPECT_UNCHANGED(-ENOENT, mzr_net__get(h, 100, A("10.0.0.0"), 25,
					       &ni));

	/* Same prefix in another VPC is fine; gateway given and default. */
	assert_int_equal(mzr_vpc__create(h, 300, NULL, 0), 0);
	assert_int_equal(mzr_net__create(h, 300, A("10.0.0.0"), 16, b, 2,
					 NULL), 0);
	assert_int_equal(mzr_net__get(h, 300, A("10.0.0.0"), 16, &ni), 0);
	assert_int_equal(ni.gw.s_addr, A("10.0.0.1").s_addr);
	assert_int_equal(ni.n_bouncers, 2);
	assert_int_equal(mzr_net__create(h, 100, A("10.0.2.0"), 24, b, 1, &o),
			 0);
	assert_int_equal(mzr_net__get(h, 100, A("10.0.2.0"), 24, &ni), 0);
	assert_int_equal(ni.gw.s_addr, A("10.0.2.254").s_addr);
	assert_int_equal(ni.gw_mac[0], 0x02);
	assert_int_equal(ni.gw_mac[5], 254);
	assert_int_equal(mzr_net__update(h, 100, A("10.0.2.0"), 24, b + 3, 1),
			 0);
	assert_int_equal(mzr_net__get(h, 100, A("10.0.2.0"), 24, &ni), 0);
	assert_int_equal(ni.bouncers[0].s_addr, b[3].s_addr);
	assert_int_equal(ni.gw.s_addr, A("10.0.2.254").s_addr); /* kept */
	assert_int_equal(mzr_net__delete(h, 100, A("10.0.2.0"), 24), 0);
	assert_int_equal(mzr_net__delete(h, 300, A("10.0.0.0"), 16), 0);
	assert_int_equal(mzr_vpc__delete(h, 300), 0);
}

static void test_ep_errors(void **state)
{
	struct mzr_ep_spec s = ep(100, "10.0.0.5", "192.168.7.2"), bad;
	struct mzr_ep_info ei;

	assert_int_equal(mzr_ep__create(h, &s), 0);
	EXPECT_UNCHANGED(-EEXIST, mzr_ep__create(h, &s));
	bad = ep(101, "10.0.0.6", "192.168.7.2");
	EXPECT_UNCHANGED(-ENOENT, mzr_ep__create(h, &bad));
	bad = ep(100, "10.0.9.6", "192.168.7.2");
	EXPECT_UNCHANGED(-EADDRNOTAVAIL, mzr_ep__create(h, &bad));
	bad = ep(100, "10.0.0.255", "192.168.7.2");
	EXPECT_UNCHANGED(-EADDRNOTAVAIL, mzr_ep__create(h, &bad));
	bad = ep(100, "10.0.0.1", "192.168.7.2"); /* the gateway */
	EXPECT_UNCHANGED(-EADDRINUSE, mzr_ep__create(h, &bad));
	bad = ep(100, "10.0.0.6", "192.168.7.2");
	bad.ifname = "mzr-nodev0";
	EXPECT_UNCHANGED(-ENODEV, mzr_ep__create(h, &bad));
	EXPECT_UNCHANGED(-ENOENT, mzr_ep__delete(h, 100, A("10.0.0.6")));
	EXPECT_UNCHANGED(-ENOTEMPTY, mzr_net__delete(h, 100, A("10.0.0.0"),
						     24));

	s.flags = MZR_EP_BYPASS_DECAP;
	assert_int_equal(mzr_ep__get(h, 100, A("10.0.0.5"), &ei), 0);
	assert_int_equal(ei.host.s_addr, A("192.168.7.2").s_addr);
	assert_int_equal(ei.ifindex, 0);
	assert_int_equal(ei.flags, 0);
	assert_int_equal(mzr_ep__delete(h, 100, A("10.0.0.5")), 0);
	assert_int_equal(mzr_ep__create(h, &s), 0);
	assert_int_equal(mzr_ep__get(h, 100, A("10.0.0.5"), &ei), 0);
	assert_int_equal(ei.flags, MZR_EP_BYPASS_DECAP);
	assert_int_equal(mzr_ep__delete(h, 100, A("10.0.0.5")), 0);
	assert_int_equal(count_eps(), 0);
}

static void test_ep_table_full(void **state)
{
	struct mzr_ep_spec s;
	char ip[32];
	int i;

	for (i = 0; i < MAX_EPS; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", 2 + i);
		s = ep(100, ip, "192.168.7.2");
		assert_int_equal(mzr_ep__create(h, &s), 0);
	}
	s = ep(100, "10.0.1.2", "192.168.7.2");
	EXPECT_UNCHANGED(-ENOSPC, mzr_ep__create(h, &s));
	for (i = 0; i < MAX_EPS; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", 2 + i);
		assert_int_equal(mzr_ep__delete(h, 100, A(ip)), 0);
	}
	assert_int_equal(count_eps(), 0);
}

static void fill_batch(struct mzr_ep_spec *s, int n, int base)
{
	char ip[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.0.1.%d", base + i);
		s[i] = ep(100, ip, "192.168.7.3");
	}
}

static void test_batch_all_or_nothing(void **state)
{
	struct mzr_ep_spec s[MAX_EPS + 1], one = ep(100, "10.0.1.17",
						     "192.168.7.3");
	struct mzr_ep_info ei;
	size_t idx;

	assert_int_equal(mzr_ep__create(h, &one), 0);

	/* A duplicate of an existing endpoint at index 7 (found by the
	 * kernel after 7 insertions, which must be rolled back). */
	fill_batch(s, 10, 10);
	EXPECT_UNCHANGED(-EEXIST, mzr_ep__create_batch(h, s, 10, &idx));
	assert_int_equal(idx, 7);

	/* A duplicate inside the batch. */
	fill_batch(s, 10, 30);
	s[6] = s[2];
	EXPECT_UNCHANGED(-EEXIST, mzr_ep__create_batch(h, s, 10, &idx));
	assert_int_equal(idx, 6);

	/* Validation failures, found before the kernel sees anything. */
	fill_batch(s, 10, 30);
	s[5].ip = A("10.0.9.5");
	EXPECT_UNCHANGED(-EADDRNOTAVAIL, mzr_ep__create_batch(h, s, 10, &idx));
	assert_int_equal(idx, 5);
	fill_batch(s, 10, 30);
	s[3].vni = 101;
	EXPECT_UNCHANGED(-ENOENT, mzr_ep__create_batch(h, s, 10, &idx));
	assert_int_equal(idx, 3);
	fill_batch(s, 10, 30);
	s[4].vni = 0;
	EXPECT_UNCHANGED(-ERANGE, mzr_ep__create_batch(h, s, 10, &idx));
	assert_int_equal(idx, 4);
	fill_batch(s, 10, 30);
	s[8].ifname = "lo";
	EXPECT_UNCHANGED(-EINVAL, mzr_ep__create_batch(h, s, 10, &idx));
	assert_int_equal(idx, 8);

	/* Fills the table part way: nothing stays. */
	fill_batch(s, MAX_EPS, 40);
	EXPECT_UNCHANGED(-ENOSPC, mzr_ep__create_batch(h, s, MAX_EPS, &idx));
	assert_int_equal(idx, MAX_EPS - 1);

	/* And a good batch goes in whole. */
	fill_batch(s, 20, 100);
	assert_int_equal(mzr_ep__create_batch(h, s, 20, &idx), 0);
	assert_int_equal(count_eps(), 21);
	assert_int_equal(mzr_ep__get(h, 100, A("10.0.1.119"), &ei), 0);
	assert_memory_equal(ei.mac, s[19].mac, 6);
	for (idx = 0; idx < 20; idx++)
		assert_int_equal(mzr_ep__delete(h, 100, s[idx].ip), 0);
	assert_int_equal(mzr_ep__delete(h, 100, one.ip), 0);
}

static __u32 xdp_prog_on(const char *ifname, bool *generic)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	assert_int_equal(bpf_xdp_query(if_nametoindex(ifname), 0, &q), 0);
	if (generic)
		*generic = q.skb_prog_id != 0;
	return q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
}

static void test_attach_local_and_reset(void **state)
{
	MZR_OPTS(mzr_attach_opts, ao);
	MZR_OPTS(mzr_attach_opts, gen, .mode = MZR_XDP_MODE_GENERIC,
		 .ip = { htonl(0xc0a80701) });
	struct mzr_ep_spec s = ep(100, "10.0.0.9", "192.168.7.1");
	struct mzr_ep_spec busy = ep(100, "10.0.0.10", "192.168.7.1");
	struct mzr_host_info info;
	struct mzr_ep_info ei;
	struct bpf_object *obj;
	int pass_fd;
	bool generic;

	sh("ip link add mzt-und0 type veth peer name mzt-und1 && "
	   "ip addr add 192.168.7.1/24 dev mzt-und0 && "
	   "ip link set mzt-und0 up && ip link set mzt-und1 up && "
	   "ip link add mzt-vh0 type veth peer name mzt-ve0 && "
	   "ip link set mzt-vh0 up && ip link set mzt-ve0 up && "
	   "ip link add mzt-vh1 type veth peer name mzt-ve1 && "
	   "ip link set mzt-vh1 up && ip link set mzt-ve1 up");

	n_warn = 0;
	assert_int_equal(mzr_host__attach(h, "mzt-nodev", &ao), -ENODEV);
	assert_int_equal(n_warn, 1);
	assert_int_equal(mzr_host__attach(h, "mzt-und0", &ao), 0);
	assert_int_equal(mzr_host__xdp_mode(h), MZR_XDP_MODE_NATIVE);
	assert_int_equal(mzr_host__info(h, &info), 0);
	assert_int_equal(info.ip.s_addr, A("192.168.7.1").s_addr);
	assert_string_equal(info.ifname, "mzt-und0");
	assert_int_equal(info.mtu, 1500);
	assert_int_not_equal(xdp_prog_on("mzt-und0", NULL), 0);
	/* Attaching again (a second `host init`) is harmless. */
	assert_int_equal(mzr_host__attach(h, "mzt-und0", &ao), 0);

	/* A local endpoint gets the agent; deleting it detaches it. */
	s.ifname = "mzt-vh0";
	assert_int_equal(mzr_ep__create(h, &s), 0);
	assert_int_equal(mzr_ep__get(h, 100, s.ip, &ei), 0);
	assert_int_equal(ei.ifindex, if_nametoindex("mzt-vh0"));
	assert_int_not_equal(xdp_prog_on("mzt-vh0", &generic), 0);
	assert_false(generic);
	busy.ifname = "mzt-vh0"; /* one endpoint per veth */
	EXPECT_UNCHANGED(-EBUSY, mzr_ep__create(h, &busy));

	/* Someone else's XDP program on the veth: refused, nothing left. */
	pass_fd = test_load_prog(MZR_TEST_BPF_XDP_PASS, NULL, &obj);
	assert_int_equal(bpf_xdp_attach(if_nametoindex("mzt-vh1"), pass_fd,
					XDP_FLAGS_DRV_MODE, NULL), 0);
	busy.ifname = "mzt-vh1";
	EXPECT_UNCHANGED(-EBUSY, mzr_ep__create(h, &busy));
	assert_int_equal(bpf_xdp_detach(if_nametoindex("mzt-vh1"),
					XDP_FLAGS_DRV_MODE, NULL), 0);
	bpf_object__close(obj);

	assert_int_equal(mzr_ep__delete(h, 100, s.ip), 0);
	assert_int_equal(xdp_prog_on("mzt-vh0", NULL), 0);
	assert_int_equal(mzr_ep__create(h, &s), 0);

	/* Generic mode on request (the underlay moves to it). */
	assert_int_equal(mzr_host__attach(h, "mzt-und1", &gen), 0);
	assert_int_equal(mzr_host__xdp_mode(h), MZR_XDP_MODE_GENERIC);
	assert_int_equal(xdp_prog_on("mzt-und0", NULL), 0);
	xdp_prog_on("mzt-und1", &generic);
	assert_true(generic);

	/* Reset detaches the underlay and every endpoint veth (teardown
	 * checks the pins are gone). */
	assert_int_equal(mzr_host__reset(h), 0);
	assert_int_equal(xdp_prog_on("mzt-und1", NULL), 0);
	assert_int_equal(xdp_prog_on("mzt-vh0", NULL), 0);
	sh("ip link del mzt-und0; ip link del mzt-vh0; ip link del mzt-vh1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_twice_and_reopen,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpc_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpc_table_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_net_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ep_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ep_table_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch_all_or_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_local_and_reset,
						setup, teardown),
	};

	test_require_root();
	test_private_netns();
	test_bpffs_mount(bpffs);
	snprintf(root, sizeof(root), "%s/host", bpffs);
	mzr_set_print(count_print);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
