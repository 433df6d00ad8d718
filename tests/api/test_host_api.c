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
#include <fcntl.h>
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

static int snap_peer(const struct mzr_peer_info *p, void *ctx)
{
	snap_add(ctx, p, sizeof(*p));
	return 0;
}

static int snap_protect(const struct mzr_protect_info *p, void *ctx)
{
	snap_add(ctx, p, sizeof(*p));
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
	/* The known peers too: object calls keep their reference counts. */
	assert_int_equal(mzr_host__peer_for_each(h, snap_peer, s), 0);
	assert_int_equal(mzr_host__protect_for_each(h, snap_protect, s), 0);
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
	/* Hosted here before this host has an underlay address. */
	bad.ifname = "lo";
	EXPECT_UNCHANGED(-EINVAL, mzr_ep__create(h, &bad));
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

	/* Hosted here, but naming another host as its own. */
	busy = ep(100, "10.0.0.10", "192.168.7.9");
	busy.ifname = "mzt-vh0";
	EXPECT_UNCHANGED(-EINVAL, mzr_ep__create(h, &busy));
	busy = ep(100, "10.0.0.10", "192.168.7.1");

	/* A local endpoint gets the agent, in tc: no XDP program on its
	 * veth without NF chains (agent_mode.c). Its peer (here, in this
	 * netns) has neither XDP nor GRO: frames redirected to it would be
	 * dropped, which one line says. */
	s.ifname = "mzt-vh0";
	n_warn = 0;
	assert_int_equal(mzr_ep__create(h, &s), 0);
	assert_int_equal(n_warn, 1);
	assert_int_equal(mzr_ep__get(h, 100, s.ip, &ei), 0);
	assert_int_equal(ei.ifindex, if_nametoindex("mzt-vh0"));
	assert_int_equal(xdp_prog_on("mzt-vh0", &generic), 0);
	busy.ifname = "mzt-vh0"; /* one endpoint per veth */
	EXPECT_UNCHANGED(-EBUSY, mzr_ep__create(h, &busy));

	/* Someone else's XDP program on the veth: the tc agent does not
	 * need the XDP slot, the endpoint is created and deleted. */
	pass_fd = test_load_prog(MZR_TEST_BPF_XDP_PASS, NULL, &obj);
	assert_int_equal(bpf_xdp_attach(if_nametoindex("mzt-vh1"), pass_fd,
					XDP_FLAGS_DRV_MODE, NULL), 0);
	busy.ifname = "mzt-vh1";
	assert_int_equal(mzr_ep__create(h, &busy), 0);
	assert_int_equal(mzr_ep__delete(h, 100, busy.ip), 0);
	assert_int_equal(bpf_xdp_detach(if_nametoindex("mzt-vh1"),
					XDP_FLAGS_DRV_MODE, NULL), 0);
	bpf_object__close(obj);

	assert_int_equal(mzr_ep__delete(h, 100, s.ip), 0);
	assert_int_equal(xdp_prog_on("mzt-vh0", NULL), 0);
	/* A peer with GRO receives redirected frames, aggregated: no
	 * warning. */
	sh("ethtool -K mzt-ve0 gro on >/dev/null");
	n_warn = 0;
	assert_int_equal(mzr_ep__create(h, &s), 0);
	assert_int_equal(n_warn, 0);

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

/* Reset removes what libmizar created and nothing else, even when the
 * pin root is the root of a bpffs mount (the kernel's maps.debug and
 * progs.debug live there) or holds others' pins. */
static void test_reset_at_mount_root(void **state)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = bpffs);
	char path[256];
	struct mzr_host *h2;
	struct stat st;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "foreign", 4, 4, 1, NULL);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/foreign", bpffs);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);

	h2 = mzr_host__open(&o);
	assert_non_null(h2);
	assert_int_equal(mzr_host__load(h2), 0);
	n_warn = 0;
	assert_int_equal(mzr_host__reset(h2), 0);
	assert_int_equal(n_warn, 0);
	mzr_host__close(h2);

	snprintf(path, sizeof(path), "%s/maps", bpffs);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/progs", bpffs);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/foreign", bpffs);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(unlink(path), 0);
	/* The other back-plane on the same bpffs is untouched. */
	snprintf(path, sizeof(path), "%s/maps/mzr_host", root);
	assert_int_equal(stat(path, &st), 0);
	/* Nothing pinned is not an error. */
	h2 = mzr_host__open(&o);
	assert_int_equal(mzr_host__reset(h2), 0);
	mzr_host__close(h2);
}

/* A detach that fails makes reset fail (after it has done all it can),
 * so `mizarctl host reset` cannot report a clean teardown that is not. */
static void test_reset_reports_detach_failure(void **state)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	MZR_OPTS(mzr_attach_opts, ao, .ip = { htonl(0xc0a80701) });
	char path[256];
	struct stat st;
	int link, transit;

	sh("ip link add mzt-lk0 type veth peer name mzt-lk1 && "
	   "ip link set mzt-lk0 up && ip link set mzt-lk1 up");
	/* Our transit program, held on the interface by a bpf_link that
	 * someone else owns: netlink cannot detach it (-EBUSY). */
	snprintf(path, sizeof(path), "%s/progs/mzr_transit", root);
	transit = bpf_obj_get(path);
	assert_true(transit >= 0);
	link = bpf_link_create(transit, if_nametoindex("mzt-lk0"), BPF_XDP,
			       &lo);
	assert_true(link >= 0);
	assert_int_equal(mzr_host__attach(h, "mzt-lk0", &ao), 0);

	n_warn = 0;
	assert_int_equal(mzr_host__reset(h), -EBUSY);
	assert_int_equal(n_warn, 1);
	/* Everything else was still done. */
	assert_int_not_equal(stat(root, &st), 0);
	assert_int_equal(xdp_prog_on("mzt-lk0", NULL) != 0, 1);
	close(link);
	close(transit);
	assert_int_equal(xdp_prog_on("mzt-lk0", NULL), 0);
	sh("ip link del mzt-lk0");
}

/* A back-plane pinned with other map layouts (another libmizar version)
 * is refused, not misread. */
static void test_open_pinned_checks_layout(void **state)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root);
	char path[256];
	struct mzr_host *h2;
	int fd;

	snprintf(path, sizeof(path), "%s/maps/mzr_eps", root);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mzr_eps", 8, 8, 16, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	n_warn = 0;
	errno = 0;
	assert_null(mzr_host__open_pinned(&o));
	assert_int_equal(errno, EPROTO);
	assert_int_equal(n_warn, 1);

	/* The library's own layout is accepted. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bpf_obj_pin(mzr_host__map_fd(h, "mzr_eps"), path), 0);
	h2 = mzr_host__open_pinned(&o);
	assert_non_null(h2);
	mzr_host__close(h2);

	/* Chain slots are laid out by the ABI: a program array of another
	 * size (another MZR_CHAIN_MAX) is refused too. */
	snprintf(path, sizeof(path), "%s/maps/mzr_progs", root);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "mzr_progs", 4, 4,
			    MZR_PROG_ARRAY_SIZE + 1, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	n_warn = 0;
	errno = 0;
	assert_null(mzr_host__open_pinned(&o));
	assert_int_equal(errno, EPROTO);
	assert_int_equal(n_warn, 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bpf_obj_pin(mzr_host__map_fd(h, "mzr_progs"), path),
			 0);
}

/* The tc id of the program filtering ingress of @dev at our handle, or 0. */
static __u32 tc_prog_on(const char *dev)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = if_nametoindex(dev),
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = 0x4d5a, .priority = 1);

	return bpf_tc_query(&hook, &q) ? 0 : q.prog_id;
}

/* A second back-plane (another pin root) on the same interface is
 * refused and leaves the first one's tc hand-off in place. */
static void test_second_backplane_refused(void **state)
{
	MZR_OPTS(mzr_host_opts, o2, .pin_root = NULL);
	MZR_OPTS(mzr_attach_opts, ao);
	char root2[sizeof(root) + 8];
	struct mzr_host *h2;
	__u32 first;

	snprintf(root2, sizeof(root2), "%s-two", root);
	o2.pin_root = root2;
	sh("ip link add mzt-bp0 type veth peer name mzt-bp1 && "
	   "ip addr add 192.168.9.1/24 dev mzt-bp0 && "
	   "ip link set mzt-bp0 up && ip link set mzt-bp1 up");
	assert_int_equal(mzr_host__attach(h, "mzt-bp0", &ao), 0);
	first = tc_prog_on("mzt-bp0");
	assert_int_not_equal(first, 0);

	h2 = mzr_host__open(&o2);
	assert_non_null(h2);
	assert_int_equal(mzr_host__load(h2), 0);
	n_warn = 0;
	assert_int_equal(mzr_host__attach(h2, "mzt-bp0", &ao), -EBUSY);
	assert_true(n_warn >= 1);
	assert_int_equal(tc_prog_on("mzt-bp0"), first);
	assert_int_equal(mzr_host__reset(h2), 0);
	mzr_host__close(h2);
	assert_int_equal(tc_prog_on("mzt-bp0"), first);
	sh("ip link del mzt-bp0");
}

static void assert_cloexec(const struct mzr_host *hh)
{
	static const char *const maps[] = { "mzr_host", "mzr_eps", "mzr_progs",
					    "mzr_stats", "mzr_missed" };
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		fd = mzr_host__map_fd(hh, maps[i]);
		assert_true(fd >= 0);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	}
}

/* The library's fds do not leak into a caller's exec()ed children. */
static void test_fds_close_on_exec(void **state)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root);
	struct mzr_host *h2;

	assert_cloexec(h); /* loaded */
	h2 = mzr_host__open_pinned(&o);
	assert_non_null(h2);
	assert_cloexec(h2); /* reopened from the pins */
	mzr_host__close(h2);
}

/* Can a program loaded with expected attach type 0 (what an freplace
 * extension must have) tail-call through mzr_progs, owned by BPF_XDP
 * programs? Linux >= 6.17 says no (prog array owner check). */
static bool ext_can_tail_call(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_PSEUDO_MAP_FD,
		  .imm = mzr_host__map_fd(h, "mzr_progs") },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "eat0", "GPL", insns, 6,
			       NULL);

	if (fd < 0) {
		assert_int_equal(errno, EINVAL);
		return false;
	}
	close(fd);
	return true;
}

/*
 * Asked for the dispatcher, the transit program runs under it only where
 * the core's tail calls work from an extension; there a packet through the
 * dispatcher runs an NF chain (tail call out of the extension) and the
 * core's continuation (second tail call) with no missed tail call.
 * Elsewhere the library attaches plainly and says so.
 */
static void test_attach_dispatcher(void **state)
{
	MZR_OPTS(mzr_attach_opts, ao, .mode = MZR_XDP_MODE_DISPATCHER,
		 .ip = { htonl(0xc0a80701) });
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct mzr_host_info info;
	char path[256];
	__u32 transit_id;
	bool works;
	int fd;

	sh("ip link add mzt-dp0 type veth peer name mzt-dp1 && "
	   "ip link set mzt-dp0 up && ip link set mzt-dp1 up");
	setenv("LIBXDP_BPFFS", bpffs, 1); /* libxdp's pins, private here */
	works = ext_can_tail_call();
	assert_int_equal(mzr_host__attach(h, "mzt-dp0", &ao), 0);
	assert_int_equal(mzr_host__info(h, &info), 0);
	assert_int_equal(bpf_xdp_query(if_nametoindex("mzt-dp0"), 0, &q), 0);
	snprintf(path, sizeof(path), "%s/progs/mzr_transit", root);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	{
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(pi);

		assert_int_equal(bpf_obj_get_info_by_fd(fd, &pi, &len), 0);
		transit_id = pi.id;
	}
	close(fd);
	if (!works) {
		print_message("dispatcher refused: mzr_progs only takes programs loaded with expected attach type BPF_XDP; attached natively\n");
		assert_int_equal(info.mode, MZR_XDP_MODE_NATIVE);
		assert_int_equal(q.drv_prog_id, transit_id);
	} else if (info.mode == MZR_XDP_MODE_DISPATCHER) {
		uint64_t missed0[MZR_MISSED_SIZE], missed1[MZR_MISSED_SIZE];
		unsigned char pkt[64] = { [12] = 0x86, [13] = 0xdd };
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt,
			    .data_size_in = sizeof(pkt), .repeat = 1);
		struct mzr_nf *nf;
		__u64 hits[64] = {};
		__u32 zero = 0;
		int i, dfd;

		/* A non-tunnel frame enters the external hook's chain. */
		snprintf(path, sizeof(path),
			 "%s/tests/pkt/pkt_hook_rec_1.bpf.o",
			 getenv("MZR_BUILD_DIR"));
		nf = mzr_nf__open_file(path, NULL);
		assert_non_null(nf);
		assert_int_equal(mzr_nf__load(nf, h), 0);
		assert_int_equal(mzr_host__nf_insert(h, "rec", nf,
						     MZR_HOOK_EXTERNAL,
						     MZR_NF_POS_END), 0);
		assert_int_not_equal(q.drv_prog_id ? q.drv_prog_id :
				     q.skb_prog_id, transit_id);
		dfd = bpf_prog_get_fd_by_id(q.drv_prog_id ? q.drv_prog_id :
					    q.skb_prog_id);
		assert_true(dfd >= 0);
		assert_int_equal(mzr_host__missed(h, missed0,
						  MZR_MISSED_SIZE), 0);
		assert_int_equal(bpf_prog_test_run_opts(dfd, &t), 0);
		assert_int_equal(t.retval, XDP_PASS);
		assert_int_equal(mzr_host__missed(h, missed1,
						  MZR_MISSED_SIZE), 0);
		for (i = 0; i < MZR_MISSED_SIZE; i++)
			assert_int_equal(missed1[i], missed0[i]);
		assert_int_equal(bpf_map_lookup_elem(
			bpf_map__fd(bpf_object__find_map_by_name(
				mzr_nf__bpf_object(nf), "hook_rec")),
			&zero, hits), 0);
		assert_int_equal(hits[0], 1);
		assert_int_equal(mzr_host__nf_remove(h, "rec"), 0);
		mzr_nf__close(nf);
	} else {
		/* The kernel would run it but libxdp could not (no bpffs,
		 * no freplace): a plain attach, said so. */
		assert_int_equal(info.mode, MZR_XDP_MODE_NATIVE);
		assert_int_equal(q.drv_prog_id, transit_id);
	}
	/* Reset takes the transit program off in either mode. */
	assert_int_equal(mzr_host__reset(h), 0);
	assert_int_equal(xdp_prog_on("mzt-dp0", NULL), 0);
	sh("ip link del mzt-dp0");
	unsetenv("LIBXDP_BPFFS");
}

/* ---- Known peers --------------------------------------------------------- */

struct peer_find {
	struct in_addr ip;
	struct mzr_peer_info got;
	int n;
};

static int find_peer(const struct mzr_peer_info *p, void *ctx)
{
	struct peer_find *f = ctx;

	if (p->ip.s_addr == f->ip.s_addr) {
		f->got = *p;
		f->n++;
	}
	return 0;
}

/* Whether @ip is a known peer; its entry in *@out. */
static bool peer(const char *ip, struct mzr_peer_info *out)
{
	struct peer_find f = { .ip = A(ip) };

	assert_int_equal(mzr_host__peer_for_each(h, find_peer, &f), 0);
	if (out)
		*out = f.got;
	return f.n == 1;
}

static void test_peers_follow_objects(void **state)
{
	struct in_addr d[2] = { A("192.168.9.1"), A("192.168.9.2") };
	struct mzr_ep_spec b[3] = { ep(100, "10.0.0.5", "192.168.9.3"),
				    ep(100, "10.0.0.6", "192.168.9.3"),
				    ep(100, "10.0.0.7", "192.168.9.4") };
	struct mzr_ep_spec one = ep(100, "10.0.1.5", "192.168.9.1");
	struct mzr_peer_info pi;
	size_t bad;

	/* The network's bouncer (setup) is known, twice named. */
	assert_true(peer("192.168.7.1", &pi));
	assert_int_equal(pi.refs, 2);
	assert_int_equal(pi.flags, 0);

	assert_int_equal(mzr_vpc__create(h, 300, d, 2), 0);
	assert_true(peer("192.168.9.1", NULL) && peer("192.168.9.2", NULL));
	assert_int_equal(mzr_vpc__update(h, 300, d, 1), 0);
	assert_false(peer("192.168.9.2", NULL));
	assert_int_equal(mzr_ep__create(h, &one), 0);
	assert_true(peer("192.168.9.1", &pi));
	assert_int_equal(pi.refs, 2);
	assert_int_equal(mzr_vpc__delete(h, 300), 0);
	assert_true(peer("192.168.9.1", &pi));
	assert_int_equal(pi.refs, 1);
	assert_int_equal(mzr_ep__delete(h, 100, one.ip), 0);
	assert_false(peer("192.168.9.1", NULL));

	/* A batch: one reference per endpoint, per distinct host. */
	assert_int_equal(mzr_ep__create_batch(h, b, 3, &bad), 0);
	assert_true(peer("192.168.9.3", &pi));
	assert_int_equal(pi.refs, 2);
	assert_true(peer("192.168.9.4", &pi));
	assert_int_equal(pi.refs, 1);
	/* A failing batch (duplicate) takes no reference. */
	EXPECT_UNCHANGED(-EEXIST, mzr_ep__create_batch(h, b, 3, &bad));
	for (int i = 0; i < 3; i++)
		assert_int_equal(mzr_ep__delete(h, 100, b[i].ip), 0);
	assert_false(peer("192.168.9.3", NULL) || peer("192.168.9.4", NULL));
}

static void test_peers_explicit(void **state)
{
	struct in_addr l[3] = { A("192.168.9.10"), A("192.168.9.11"),
				A("192.168.7.1") };
	struct in_addr bad[2] = { A("192.168.9.12"), A("224.0.0.1") };
	struct in_addr dup[2] = { A("192.168.9.12"), A("192.168.9.12") };
	struct mzr_peer_info pi;

	assert_int_equal(mzr_host__peer_add_batch(h, l, 3), 0);
	assert_true(peer("192.168.9.10", &pi));
	assert_int_equal(pi.flags, MZR_PEER_EXPLICIT);
	assert_true(peer("192.168.7.1", &pi));
	assert_int_equal(pi.flags, MZR_PEER_EXPLICIT);
	assert_int_equal(pi.refs, 2);
	/* All or none, one line each. */
	EXPECT_UNCHANGED(-EEXIST, mzr_host__peer_add(h, l[1]));
	EXPECT_UNCHANGED(-EINVAL, mzr_host__peer_add_batch(h, bad, 2));
	EXPECT_UNCHANGED(-EINVAL, mzr_host__peer_add_batch(h, dup, 2));
	EXPECT_UNCHANGED(-ENOENT, mzr_host__peer_delete_batch(
					  h, (struct in_addr[]){ l[0], bad[0] },
					  2));
	assert_int_equal(mzr_host__peer_delete_batch(h, l, 3), 0);
	assert_false(peer("192.168.9.10", NULL));
	/* Still named by the networks: known, no longer explicit. */
	assert_true(peer("192.168.7.1", &pi));
	assert_int_equal(pi.flags, 0);
	EXPECT_UNCHANGED(-ENOENT, mzr_host__peer_delete(h, l[2]));
}

static int count_protect(const struct mzr_protect_info *p, void *ctx)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

static void test_protect(void **state)
{
	int n = 0;

	assert_int_equal(mzr_host__protect_for_each(h, count_protect, &n), 0);
	assert_int_equal(n, 0); /* none by default */
	assert_int_equal(mzr_host__protect_add(h, A("10.99.0.0"), 16), 0);
	EXPECT_UNCHANGED(-EEXIST, mzr_host__protect_add(h, A("10.99.0.0"), 16));
	EXPECT_UNCHANGED(-EINVAL, mzr_host__protect_add(h, A("10.99.0.1"), 16));
	EXPECT_UNCHANGED(-EINVAL, mzr_host__protect_add(h, A("10.99.0.0"), 33));
	EXPECT_UNCHANGED(-ENOENT, mzr_host__protect_delete(h, A("10.99.0.0"),
							   17));
	assert_int_equal(mzr_host__protect_for_each(h, count_protect, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(mzr_host__protect_delete(h, A("10.99.0.0"), 16), 0);
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
		cmocka_unit_test_setup_teardown(test_reset_at_mount_root,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reset_reports_detach_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_pinned_checks_layout,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_backplane_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_close_on_exec, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attach_dispatcher, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_peers_follow_objects,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers_explicit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_protect, setup, teardown),
	};

	test_require_root();
	test_private_netns();
	test_bpffs_mount(bpffs);
	snprintf(root, sizeof(root), "%s/host", bpffs);
	mzr_set_print(count_print);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
