// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mizar-nat's command-line values (nf/common/nfparse.h): what they accept
 * and what they refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "nfparse.h"

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void ipport_accepts_address_and_port(void **state)
{
	struct in_addr ip;
	uint16_t port;

	(void)state;
	assert_int_equal(nf_parse_ipport("172.31.0.3:8080", &ip, &port), 0);
	assert_int_equal(ip.s_addr, ip4("172.31.0.3"));
	assert_int_equal(port, 8080);
	assert_int_equal(nf_parse_ipport("10.0.1.2:1", &ip, &port), 0);
	assert_int_equal(port, 1);
	assert_int_equal(nf_parse_ipport("10.0.1.2:65535", &ip, &port), 0);
	assert_int_equal(port, 65535);
}

static void ipport_refuses_bad_input(void **state)
{
	static const char *const bad[] = {
		"10.0.1.2", "10.0.1.2:", ":80", "10.0.1.2:0",
		"10.0.1.2:65536", "10.0.1.2:80x", "10.0.1:80",
		"10.0.1.2.5:80", "host:80", "10.0.1.2:-1", "10.0.1.2:+80",
		"10.0.1.2:80:80", "", "10.0.1.2 :80", "10.0.1.2: 80",
		"10.0.1.2:99999999999",
	};
	struct in_addr ip;
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nf_parse_ipport(bad[i], &ip, &port) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	assert_int_equal(nf_parse_ipport(NULL, &ip, &port), -EINVAL);
}

static void proto_is_tcp_or_udp(void **state)
{
	uint8_t p = 0;

	(void)state;
	assert_int_equal(nf_parse_proto("tcp", NF_PROTO_L4, &p), 0);
	assert_int_equal(p, IPPROTO_TCP);
	assert_int_equal(nf_parse_proto("udp", NF_PROTO_L4, &p), 0);
	assert_int_equal(p, IPPROTO_UDP);
	assert_int_equal(nf_parse_proto("icmp", NF_PROTO_L4, &p), -EINVAL);
	assert_int_equal(nf_parse_proto("TCP", NF_PROTO_L4, &p), -EINVAL);
	assert_int_equal(nf_parse_proto("", NF_PROTO_L4, &p), -EINVAL);
	assert_int_equal(nf_parse_proto(NULL, NF_PROTO_L4, &p), -EINVAL);
	assert_string_equal(nf_proto_name(IPPROTO_TCP), "tcp");
	assert_string_equal(nf_proto_name(IPPROTO_UDP), "udp");
	assert_string_equal(nf_proto_name(IPPROTO_ICMP), "icmp");
	assert_string_equal(nf_proto_name(99), "?");
}

static void prefixes_mask_and_match(void **state)
{
	struct in_addr a = { ip4("10.0.1.77") }, p = { ip4("10.0.1.0") };

	(void)state;
	assert_int_equal(nf_mask(a, 24).s_addr, ip4("10.0.1.0"));
	assert_int_equal(nf_mask(a, 32).s_addr, a.s_addr);
	assert_int_equal(nf_mask(a, 0).s_addr, 0);
	assert_true(nf_in_prefix(a, p, 24));
	assert_false(nf_in_prefix(a, p, 26));
	assert_true(nf_in_prefix(a, p, 0));
	assert_false(nf_in_prefix((struct in_addr){ ip4("10.0.2.1") }, p,
				   24));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipport_accepts_address_and_port),
		cmocka_unit_test(ipport_refuses_bad_input),
		cmocka_unit_test(proto_is_tcp_or_udp),
		cmocka_unit_test(prefixes_mask_and_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
