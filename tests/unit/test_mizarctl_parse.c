// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizarctl reads addresses, prefixes, MACs, lists and keyword arguments
 * exactly as the command-line contract writes them, and nothing else.
 */
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

#include "mizarctl.h"

static void test_vni(void **state)
{
	uint32_t v;

	assert_int_equal(mzctl_parse_vni("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(mzctl_parse_vni("16777215", &v), 0);
	assert_int_equal(v, 16777215);
	assert_int_equal(mzctl_parse_vni("0", &v), -ERANGE);
	assert_int_equal(mzctl_parse_vni("16777216", &v), -ERANGE);
	assert_int_equal(mzctl_parse_vni("99999999999", &v), -EINVAL);
	assert_int_equal(mzctl_parse_vni("-1", &v), -EINVAL);
	assert_int_equal(mzctl_parse_vni("0x10", &v), -EINVAL);
	assert_int_equal(mzctl_parse_vni("", &v), -EINVAL);
	assert_int_equal(mzctl_parse_vni("12a", &v), -EINVAL);
	assert_int_equal(mzctl_parse_vni(" 1", &v), -EINVAL);
}

static void test_ip(void **state)
{
	struct in_addr a;

	assert_int_equal(mzctl_parse_ip("10.1.2.3", &a), 0);
	assert_int_equal(a.s_addr, htonl(0x0a010203));
	assert_int_equal(mzctl_parse_ip("10.1.2", &a), -EINVAL);
	assert_int_equal(mzctl_parse_ip("10.1.2.256", &a), -EINVAL);
	assert_int_equal(mzctl_parse_ip("10.1.2.3 ", &a), -EINVAL);
	assert_int_equal(mzctl_parse_ip("10.1.2.3/24", &a), -EINVAL);
	assert_int_equal(mzctl_parse_ip("", &a), -EINVAL);
}

static void test_prefix(void **state)
{
	struct in_addr a;
	unsigned int len;

	assert_int_equal(mzctl_parse_prefix("10.0.0.0/24", &a, &len), 0);
	assert_int_equal(a.s_addr, htonl(0x0a000000));
	assert_int_equal(len, 24);
	assert_int_equal(mzctl_parse_prefix("0.0.0.0/0", &a, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(mzctl_parse_prefix("10.0.0.0/32", &a, &len), 0);
	assert_int_equal(mzctl_parse_prefix("10.0.0.0/33", &a, &len), -EINVAL);
	assert_int_equal(mzctl_parse_prefix("10.0.0.0", &a, &len), -EINVAL);
	assert_int_equal(mzctl_parse_prefix("10.0.0.0/", &a, &len), -EINVAL);
	assert_int_equal(mzctl_parse_prefix("/24", &a, &len), -EINVAL);
	assert_int_equal(mzctl_parse_prefix("10.0.0/24", &a, &len), -EINVAL);
	assert_int_equal(mzctl_parse_prefix("10.0.0.0/024", &a, &len),
			 -EINVAL);
	assert_int_equal(mzctl_parse_prefix("10.0.0.0/2x", &a, &len), -EINVAL);
}

static void test_mac(void **state)
{
	const unsigned char want[6] = { 0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff };
	unsigned char mac[6];
	char buf[18];

	assert_int_equal(mzctl_parse_mac("aa:bb:cc:0d:ee:ff", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(mzctl_parse_mac("AA:BB:CC:0D:EE:FF", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_string_equal(mzctl_mac_str(want, buf), "aa:bb:cc:0d:ee:ff");
	assert_int_equal(mzctl_parse_mac("aa:bb:cc:d:ee:ff", mac), -EINVAL);
	assert_int_equal(mzctl_parse_mac("aa-bb-cc-0d-ee-ff", mac), -EINVAL);
	assert_int_equal(mzctl_parse_mac("aa:bb:cc:0d:ee", mac), -EINVAL);
	assert_int_equal(mzctl_parse_mac("aa:bb:cc:0d:ee:fg", mac), -EINVAL);
	assert_int_equal(mzctl_parse_mac("aa:bb:cc:0d:ee:ff:", mac), -EINVAL);
}

static void test_ip_list(void **state)
{
	struct in_addr a[3];
	unsigned int n;

	assert_int_equal(mzctl_parse_ip_list("1.1.1.1,2.2.2.2", a, 3, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(a[1].s_addr, htonl(0x02020202));
	assert_int_equal(mzctl_parse_ip_list("", a, 3, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mzctl_parse_ip_list("1.1.1.1,1.1.1.2,1.1.1.3", a, 3,
					     &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(mzctl_parse_ip_list("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4",
					     a, 3, &n), -E2BIG);
	assert_int_equal(mzctl_parse_ip_list("1.1.1.1,", a, 3, &n), -EINVAL);
	assert_int_equal(mzctl_parse_ip_list(",1.1.1.1", a, 3, &n), -EINVAL);
	assert_int_equal(mzctl_parse_ip_list("1.1.1.1, 2.2.2.2", a, 3, &n),
			 -EINVAL);
	assert_int_equal(mzctl_parse_ip_list("1.1.1.1,,2.2.2.2", a, 3, &n),
			 -EINVAL);
}

static void test_mode(void **state)
{
	enum mzr_xdp_mode m;

	assert_int_equal(mzctl_parse_mode("native", &m), 0);
	assert_int_equal(m, MZR_XDP_MODE_NATIVE);
	assert_int_equal(mzctl_parse_mode("generic", &m), 0);
	assert_int_equal(m, MZR_XDP_MODE_GENERIC);
	assert_int_equal(mzctl_parse_mode("dispatcher", &m), 0);
	assert_int_equal(m, MZR_XDP_MODE_DISPATCHER);
	assert_int_equal(mzctl_parse_mode("tc", &m), 0);
	assert_int_equal(m, MZR_XDP_MODE_TC);
	assert_int_equal(mzctl_parse_mode("hw", &m), -EINVAL);
}

static void test_keywords(void **state)
{
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "dev", true, false, NULL },
		{ "bypass-decap", false, false, NULL },
		{ NULL },
	};
	char *ok[] = { "dev", "veth0", "vni", "5", "bypass-decap" };
	char *unknown[] = { "vni", "5", "colour", "red" };
	char *twice[] = { "vni", "5", "vni", "6" };
	char *noval[] = { "vni" };
	char *missing[] = { "dev", "veth0" };

	assert_int_equal(mzctl_parse_kw("t", kw, 5, ok), 0);
	assert_string_equal(mzctl_kw_get(kw, "vni")->val, "5");
	assert_string_equal(mzctl_kw_get(kw, "dev")->val, "veth0");
	assert_non_null(mzctl_kw_get(kw, "bypass-decap")->val);

	assert_int_equal(mzctl_parse_kw("t", kw, 2, ok + 2), 0);
	assert_null(mzctl_kw_get(kw, "dev")->val); /* reset between calls */
	assert_null(mzctl_kw_get(kw, "bypass-decap")->val);

	assert_int_equal(mzctl_parse_kw("t", kw, 4, unknown), -1);
	assert_int_equal(mzctl_parse_kw("t", kw, 4, twice), -1);
	assert_int_equal(mzctl_parse_kw("t", kw, 1, noval), -1);
	assert_int_equal(mzctl_parse_kw("t", kw, 2, missing), -1);
}

static void test_json(void **state)
{
	struct mzctl_json js;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	mzctl_json_begin(&js, f);
	mzctl_json_str(&js, "name", "a\"b\\c\n");
	mzctl_json_arr(&js, "list");
	mzctl_json_u64(&js, NULL, 1);
	mzctl_json_obj(&js, NULL);
	mzctl_json_bool(&js, "x", true);
	mzctl_json_str(&js, "y", NULL);
	mzctl_json_obj_end(&js);
	mzctl_json_arr_end(&js);
	mzctl_json_u64(&js, "n", 18446744073709551615ULL);
	mzctl_json_end(&js);
	fclose(f);
	assert_string_equal(buf, "{\"name\":\"a\\\"b\\\\c\\u000a\","
				 "\"list\":[1,{\"x\":true,\"y\":null}],"
				 "\"n\":18446744073709551615}\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vni),	 cmocka_unit_test(test_ip),
		cmocka_unit_test(test_prefix),	 cmocka_unit_test(test_mac),
		cmocka_unit_test(test_ip_list),	 cmocka_unit_test(test_mode),
		cmocka_unit_test(test_keywords), cmocka_unit_test(test_json),
	};

	/* The keyword tests print their one-line errors: keep them quiet. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
