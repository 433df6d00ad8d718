// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The host/object API refuses bad arguments before touching the kernel,
 * with a distinct errno and one log line each; the address logic behind
 * networks and endpoints; every counter and drop reason has a name.
 */
#include <ctype.h>
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
#include <mizar/nf.h>

#include "host_priv.h"

static int n_warn;
static char last_warn[256];

static int count_print(enum mzr_print_level level, const char *fmt,
		       va_list args)
{
	if (level == MZR_WARN) {
		n_warn++;
		vsnprintf(last_warn, sizeof(last_warn), fmt, args);
	}
	return 0;
}

static struct in_addr A(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* Expect @call to fail with @err and log exactly one line. */
#define EXPECT_ERR(err, call)                                                  \
	do {                                                                   \
		n_warn = 0;                                                    \
		assert_int_equal((call), (err));                               \
		assert_int_equal(n_warn, 1);                                   \
	} while (0)

static struct mzr_host *unloaded(void)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = "/run/mzr-unit-never-used");
	struct mzr_host *h = mzr_host__open(&o);

	assert_non_null(h);
	return h;
}

static void test_prefix_logic(void **state)
{
	assert_true(mzri_prefix_valid(A("10.0.0.0"), 24));
	assert_true(mzri_prefix_valid(A("10.0.0.0"), 8));
	assert_true(mzri_prefix_valid(A("10.0.0.4"), 30));
	assert_true(mzri_prefix_valid(A("0.0.0.0"), 0));
	assert_false(mzri_prefix_valid(A("10.0.0.1"), 24)); /* host bits */
	assert_false(mzri_prefix_valid(A("10.0.0.0"), 31)); /* no hosts */
	assert_false(mzri_prefix_valid(A("10.0.0.0"), 32));
	assert_false(mzri_prefix_valid(A("10.0.0.0"), 33));

	assert_true(mzri_prefix_contains(A("10.0.0.0"), 24, A("10.0.0.255")));
	assert_false(mzri_prefix_contains(A("10.0.0.0"), 24, A("10.0.1.0")));
	assert_true(mzri_prefix_contains(A("0.0.0.0"), 0, A("1.2.3.4")));

	/* Overlap is symmetric: one contains the other. */
	assert_true(mzri_prefix_overlap(A("10.0.0.0"), 16, A("10.0.5.0"), 24));
	assert_true(mzri_prefix_overlap(A("10.0.5.0"), 24, A("10.0.0.0"), 16));
	assert_true(mzri_prefix_overlap(A("10.0.0.0"), 24, A("10.0.0.0"), 24));
	assert_false(mzri_prefix_overlap(A("10.0.0.0"), 24, A("10.0.1.0"), 24));
	assert_false(mzri_prefix_overlap(A("10.0.0.0"), 25, A("10.0.0.128"),
					 25));
	assert_true(mzri_prefix_overlap(A("0.0.0.0"), 0, A("10.0.0.0"), 24));
}

static void test_gateway_logic(void **state)
{
	uint8_t mac[6];
	const uint8_t want[6] = { 0x02, 0x00, 10, 0, 1, 1 };

	assert_int_equal(mzri_first_host(A("10.0.1.0"), 24).s_addr,
			 A("10.0.1.1").s_addr);
	assert_int_equal(mzri_first_host(A("172.16.0.0"), 12).s_addr,
			 A("172.16.0.1").s_addr);
	mzri_gw_mac(A("10.0.1.1"), mac);
	assert_memory_equal(mac, want, 6);
}

static void test_address_checks(void **state)
{
	const uint8_t ok[6] = { 0x02, 0, 0, 0, 0, 1 };
	const uint8_t mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	const uint8_t zero[6] = { 0 };
	const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	assert_true(mzri_mac_valid(ok));
	assert_false(mzri_mac_valid(mcast));
	assert_false(mzri_mac_valid(zero));
	assert_false(mzri_mac_valid(bcast));
	assert_true(mzri_ip_valid(A("10.0.0.1")));
	assert_false(mzri_ip_valid(A("0.0.0.0")));
	assert_false(mzri_ip_valid(A("255.255.255.255")));
	assert_false(mzri_ip_valid(A("224.0.0.1")));
	assert_false(mzri_ip_valid(A("127.0.0.1")));
	assert_true(mzri_vni_valid(1));
	assert_true(mzri_vni_valid(16777215));
	assert_false(mzri_vni_valid(0));
	assert_false(mzri_vni_valid(16777216));
}

static void test_opts_validation(void **state)
{
	struct {
		struct mzr_host_opts o;
		char future[16];
	} big;
	struct mzr_host *h;

	/* Bytes past the known fields must be zero (libbpf's rule). */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.future[3] = 1;
	n_warn = 0;
	errno = 0;
	assert_null(mzr_host__open(&big.o));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(n_warn, 1);

	/* A newer caller's zeroed tail is fine. */
	big.future[3] = 0;
	big.o.pin_root = "/run/mzr-unit";
	h = mzr_host__open(&big.o);
	assert_non_null(h);
	assert_string_equal(mzr_host__pin_root(h), "/run/mzr-unit");
	mzr_host__close(h);

	/* An older caller's shorter struct is fine: missing fields default. */
	big.o.sz = offsetofend(struct mzr_host_opts, pin_root);
	big.o.max_endpoints = 7; /* past the older sz: ignored */
	h = mzr_host__open(&big.o);
	assert_non_null(h);
	assert_int_equal(h->max_endpoints, MZR_DEFAULT_MAX_ENDPOINTS);
	mzr_host__close(h);

	/* sz smaller than the sz field itself. */
	big.o.sz = 1;
	errno = 0;
	assert_null(mzr_host__open(&big.o));
	assert_int_equal(errno, EINVAL);
}

static void test_pin_root_resolution(void **state)
{
	MZR_OPTS(mzr_host_opts, o);
	struct mzr_host *h;

	unsetenv("MIZAR_PIN_ROOT");
	h = mzr_host__open(NULL);
	assert_non_null(h);
	assert_string_equal(mzr_host__pin_root(h), MZR_DEFAULT_PIN_ROOT);
	mzr_host__close(h);

	setenv("MIZAR_PIN_ROOT", "/run/from-env/", 1);
	h = mzr_host__open(&o);
	assert_non_null(h);
	assert_string_equal(mzr_host__pin_root(h), "/run/from-env");
	mzr_host__close(h);

	o.pin_root = "/run/from-opts";
	h = mzr_host__open(&o);
	assert_non_null(h);
	assert_string_equal(mzr_host__pin_root(h), "/run/from-opts");
	mzr_host__close(h);
	unsetenv("MIZAR_PIN_ROOT");

	o.pin_root = "relative/dir";
	n_warn = 0;
	errno = 0;
	assert_null(mzr_host__open(&o));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(n_warn, 1);
}

static void test_vpc_args(void **state)
{
	struct mzr_host *h = unloaded();
	struct in_addr d[9];
	int i;

	for (i = 0; i < 9; i++)
		d[i].s_addr = htonl(0x0a000001 + i);
	EXPECT_ERR(-ERANGE, mzr_vpc__create(h, 0, NULL, 0));
	EXPECT_ERR(-ERANGE, mzr_vpc__create(h, 1U << 24, NULL, 0));
	EXPECT_ERR(-E2BIG, mzr_vpc__create(h, 5, d, 9));
	EXPECT_ERR(-EINVAL, mzr_vpc__create(h, 5, NULL, 1));
	d[1] = d[0];
	EXPECT_ERR(-EINVAL, mzr_vpc__create(h, 5, d, 2)); /* duplicate */
	d[1] = A("224.0.0.5");
	EXPECT_ERR(-EINVAL, mzr_vpc__update(h, 5, d, 2));
	EXPECT_ERR(-ERANGE, mzr_vpc__delete(h, 0));
	/* Valid arguments on a handle that is not loaded. */
	EXPECT_ERR(-EINVAL, mzr_vpc__create(h, 5, d, 1));
	mzr_host__close(h);
}

static void test_net_args(void **state)
{
	struct mzr_host *h = unloaded();
	struct in_addr b[9];
	MZR_OPTS(mzr_net_opts, o);
	int i;

	for (i = 0; i < 9; i++)
		b[i].s_addr = htonl(0xc0a80001 + i);
	EXPECT_ERR(-ERANGE,
		   mzr_net__create(h, 0, A("10.0.0.0"), 24, b, 1, NULL));
	EXPECT_ERR(-EINVAL,
		   mzr_net__create(h, 1, A("10.0.0.1"), 24, b, 1, NULL));
	EXPECT_ERR(-EINVAL,
		   mzr_net__create(h, 1, A("10.0.0.0"), 31, b, 1, NULL));
	EXPECT_ERR(-EDESTADDRREQ,
		   mzr_net__create(h, 1, A("10.0.0.0"), 24, b, 0, NULL));
	EXPECT_ERR(-E2BIG,
		   mzr_net__create(h, 1, A("10.0.0.0"), 24, b, 9, NULL));
	o.gw = A("10.0.1.1"); /* outside the prefix */
	EXPECT_ERR(-EINVAL,
		   mzr_net__create(h, 1, A("10.0.0.0"), 24, b, 1, &o));
	o.gw = A("10.0.0.255"); /* broadcast */
	EXPECT_ERR(-EINVAL,
		   mzr_net__create(h, 1, A("10.0.0.0"), 24, b, 1, &o));
	EXPECT_ERR(-EDESTADDRREQ,
		   mzr_net__update(h, 1, A("10.0.0.0"), 24, b, 0));
	EXPECT_ERR(-EINVAL, mzr_net__delete(h, 1, A("10.0.0.1"), 24));
	o.gw = A("10.0.0.254");
	EXPECT_ERR(-EINVAL, /* not loaded */
		   mzr_net__create(h, 1, A("10.0.0.0"), 24, b, 1, &o));
	mzr_host__close(h);
}

static void test_ep_args(void **state)
{
	struct mzr_host *h = unloaded();
	struct mzr_ep_spec s = {
		.vni = 7,
		.ip = A("10.0.0.5"),
		.mac = { 0x02, 0, 0, 0, 0, 5 },
		.host = A("192.168.0.1"),
	};
	struct mzr_ep_spec bad;

	assert_int_equal(mzri_ep_spec_check(&s), 0);
	bad = s, bad.vni = 0;
	EXPECT_ERR(-ERANGE, mzr_ep__create(h, &bad));
	bad = s, bad.ip.s_addr = 0;
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &bad));
	bad = s, bad.mac[0] = 1;
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &bad));
	bad = s, bad.host = A("255.255.255.255");
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &bad));
	bad = s, bad.flags = 0x80;
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &bad));
	bad = s, bad.ifname = "";
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &bad));
	bad = s, bad.ifname = "a-name-longer-than-ifnamsiz";
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &bad));
	EXPECT_ERR(-EINVAL, mzr_ep__create(h, &s)); /* not loaded */
	EXPECT_ERR(-ERANGE, mzr_ep__delete(h, 0, s.ip));
	mzr_host__close(h);
}

static bool is_snake(const char *s)
{
	if (!s || !*s || !islower((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return false;
	return true;
}

static void test_counter_names_complete(void **state)
{
	unsigned int i, j;
	char want[64];

	for (i = 0; i < __MZR_CNT_ROLE_MAX; i++) {
		assert_true(is_snake(mzr_counter_name(i)));
		assert_non_null(mzr_counter_role(i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(mzr_counter_name(i),
						mzr_counter_name(j));
	}
	for (i = __MZR_CNT_ROLE_MAX; i < MZR_CNT_DROP_BASE; i++)
		assert_null(mzr_counter_name(i));
	for (i = 0; i < __MZR_DROP_MAX; i++) {
		assert_true(is_snake(mzr_drop_reason_name(i)));
		for (j = 0; j < i; j++)
			assert_string_not_equal(mzr_drop_reason_name(i),
						mzr_drop_reason_name(j));
		snprintf(want, sizeof(want), "drop_%s",
			 mzr_drop_reason_name(i));
		assert_string_equal(mzr_counter_name(MZR_CNT_DROP_BASE + i),
				    want);
		assert_string_equal(mzr_counter_role(MZR_CNT_DROP_BASE + i),
				    "drop");
	}
	assert_null(mzr_drop_reason_name(__MZR_DROP_MAX));
	assert_null(mzr_counter_name(MZR_CNT_DROP_BASE + __MZR_DROP_MAX));
	assert_null(mzr_counter_name(__MZR_CNT_MAX));
	assert_string_equal(mzr_drop_reason_name(MZR_DROP_TTL_EXPIRED),
			    "ttl_expired");
	assert_string_equal(mzr_counter_name(MZR_CNT_BOUNCER_FWD),
			    "bouncer_fwd");
	/* Every hook point has a packet counter, under its role. */
	assert_string_equal(mzr_counter_name(MZR_CNT_HOOK(MZR_HOOK_DELIVER)),
			    "hook_deliver");
	assert_string_equal(mzr_counter_role(MZR_CNT_HOOK(MZR_HOOK_DELIVER)),
			    "host");
	assert_string_equal(mzr_counter_name(MZR_CNT_HOOK(MZR_HOOK_EXTERNAL)),
			    "external");
	for (i = 0; i < __MZR_HOOK_MAX; i++) {
		assert_true(MZR_CNT_HOOK(i) < __MZR_CNT_ROLE_MAX);
		for (j = 0; j < i; j++)
			assert_int_not_equal(MZR_CNT_HOOK(i), MZR_CNT_HOOK(j));
	}
	for (i = 0; i < __MZR_HOOK_MAX; i++)
		assert_non_null(mzr_hook_name(i));
	assert_string_equal(mzr_hook_name(MZR_HOOK_AGENT_EGRESS),
			    "agent-egress");
}

static void test_strerror_names_api_errors(void **state)
{
	char buf[128];

	assert_int_equal(mzr_strerror(-ENOSPC, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Table full");
	assert_int_equal(mzr_strerror(-EDESTADDRREQ, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "bouncer"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_logic),
		cmocka_unit_test(test_gateway_logic),
		cmocka_unit_test(test_address_checks),
		cmocka_unit_test(test_opts_validation),
		cmocka_unit_test(test_pin_root_resolution),
		cmocka_unit_test(test_vpc_args),
		cmocka_unit_test(test_net_args),
		cmocka_unit_test(test_ep_args),
		cmocka_unit_test(test_counter_names_complete),
		cmocka_unit_test(test_strerror_names_api_errors),
	};

	mzr_set_print(count_print);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
