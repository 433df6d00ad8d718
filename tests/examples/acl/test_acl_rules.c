// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-acl reads rules exactly as the command-line contract writes them,
 * refuses what would be ambiguous (host bits, dport without tcp/udp,
 * reversed ranges, out-of-range prio), and keeps a VPC's rules in match
 * order with unique priorities.
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
#include <netinet/in.h>

#include <cmocka.h>

#include "acl_rules.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(vni, r, ...)                                                     \
	acl_rule_parse("rule add", ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), vni, r)

static void test_cidr(void **state)
{
	uint32_t a, m;

	assert_int_equal(acl_parse_cidr("10.0.0.0/8", &a, &m), 0);
	assert_int_equal(a, htonl(0x0a000000));
	assert_int_equal(m, htonl(0xff000000));
	assert_int_equal(acl_parse_cidr("10.1.2.3", &a, &m), 0);
	assert_int_equal(a, htonl(0x0a010203));
	assert_int_equal(m, 0xffffffffU);
	assert_int_equal(acl_parse_cidr("10.1.2.3/32", &a, &m), 0);
	assert_int_equal(m, 0xffffffffU);
	assert_int_equal(acl_parse_cidr("any", &a, &m), 0);
	assert_int_equal(a, 0);
	assert_int_equal(m, 0);
	assert_int_equal(acl_parse_cidr("0.0.0.0/0", &a, &m), 0);
	assert_int_equal(m, 0);
	/* Host bits beyond the prefix: refused, never widened. */
	assert_int_equal(acl_parse_cidr("10.0.0.5/24", &a, &m), -EDOM);
	assert_int_equal(acl_parse_cidr("1.0.0.0/0", &a, &m), -EDOM);
	assert_int_equal(acl_parse_cidr("10.0.0.0/33", &a, &m), -EINVAL);
	assert_int_equal(acl_parse_cidr("10.0.0/24", &a, &m), -EINVAL);
	assert_int_equal(acl_parse_cidr("10.0.0.0/", &a, &m), -EINVAL);
	assert_int_equal(acl_parse_cidr("", &a, &m), -EINVAL);
	assert_int_equal(acl_parse_cidr("ANY", &a, &m), -EINVAL);
	assert_int_equal(acl_parse_cidr(NULL, &a, &m), -EINVAL);
}

static void test_ports(void **state)
{
	uint16_t lo, hi;

	assert_int_equal(acl_parse_ports("5201", &lo, &hi), 0);
	assert_int_equal(lo, 5201);
	assert_int_equal(hi, 5201);
	assert_int_equal(acl_parse_ports("8000-8080", &lo, &hi), 0);
	assert_int_equal(lo, 8000);
	assert_int_equal(hi, 8080);
	assert_int_equal(acl_parse_ports("1-65535", &lo, &hi), 0);
	assert_int_equal(acl_parse_ports("80-80", &lo, &hi), 0);
	assert_int_equal(acl_parse_ports("90-80", &lo, &hi), -ERANGE);
	assert_int_equal(acl_parse_ports("0", &lo, &hi), -ERANGE);
	assert_int_equal(acl_parse_ports("65536", &lo, &hi), -ERANGE);
	assert_int_equal(acl_parse_ports("80-", &lo, &hi), -EINVAL);
	assert_int_equal(acl_parse_ports("-80", &lo, &hi), -EINVAL);
	assert_int_equal(acl_parse_ports("80-90-100", &lo, &hi), -EINVAL);
	assert_int_equal(acl_parse_ports("http", &lo, &hi), -EINVAL);
	assert_int_equal(acl_parse_ports("", &lo, &hi), -EINVAL);
}

static void test_prio_proto_action(void **state)
{
	uint16_t prio;
	uint8_t v;

	assert_int_equal(acl_parse_prio("1", &prio), 0);
	assert_int_equal(acl_parse_prio("65535", &prio), 0);
	assert_int_equal(prio, 65535);
	assert_int_equal(acl_parse_prio("0", &prio), -ERANGE);
	assert_int_equal(acl_parse_prio("65536", &prio), -ERANGE);
	assert_int_equal(acl_parse_prio("-1", &prio), -EINVAL);
	assert_int_equal(acl_parse_proto("tcp", &v), 0);
	assert_int_equal(v, IPPROTO_TCP);
	assert_int_equal(acl_parse_proto("udp", &v), 0);
	assert_int_equal(v, IPPROTO_UDP);
	assert_int_equal(acl_parse_proto("icmp", &v), 0);
	assert_int_equal(v, IPPROTO_ICMP);
	assert_int_equal(acl_parse_proto("any", &v), 0);
	assert_int_equal(v, MZR_ACL_PROTO_ANY);
	assert_int_equal(acl_parse_proto("6", &v), -EINVAL);
	assert_int_equal(acl_parse_proto("TCP", &v), -EINVAL);
	assert_int_equal(acl_parse_action("allow", &v), 0);
	assert_int_equal(v, MZR_ACL_ALLOW);
	assert_int_equal(acl_parse_action("deny", &v), 0);
	assert_int_equal(v, MZR_ACL_DENY);
	assert_int_equal(acl_parse_action("drop", &v), -EINVAL);
}

static void test_rule_parse(void **state)
{
	struct mzr_acl_rule r;
	uint32_t vni;

	assert_int_equal(PARSE(&vni, &r, "vni", "100", "prio", "10", "src",
			       "10.0.1.2/32", "dst", "10.0.1.0/24", "proto",
			       "tcp", "dport", "5201", "action", "allow"),
			 0);
	assert_int_equal(vni, 100);
	assert_int_equal(r.prio, 10);
	assert_int_equal(r.src, htonl(0x0a000102));
	assert_int_equal(r.src_mask, 0xffffffffU);
	assert_int_equal(r.dst, htonl(0x0a000100));
	assert_int_equal(r.dst_mask, htonl(0xffffff00));
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_int_equal(r.dport_lo, 5201);
	assert_int_equal(r.dport_hi, 5201);
	assert_int_equal(r.action, MZR_ACL_ALLOW);

	/* Keywords in any order; everything but vni, prio, action optional:
	 * any address, any protocol, any port. */
	assert_int_equal(PARSE(&vni, &r, "action", "deny", "prio", "7", "vni",
			       "5"),
			 0);
	assert_int_equal(r.src_mask, 0);
	assert_int_equal(r.dst_mask, 0);
	assert_int_equal(r.proto, MZR_ACL_PROTO_ANY);
	assert_int_equal(r.dport_lo, 0);
	assert_int_equal(r.dport_hi, 65535);
	assert_int_equal(r.action, MZR_ACL_DENY);

	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "7", "proto",
			       "udp", "dport", "53-54", "action", "allow"),
			 0);
	assert_int_equal(r.dport_lo, 53);
	assert_int_equal(r.dport_hi, 54);

	/* Refused. */
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "7", "proto",
			       "icmp", "dport", "5", "action", "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "7", "dport",
			       "80", "action", "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "7", "proto",
			       "any", "dport", "80", "action", "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "7", "proto",
			       "tcp", "dport", "80-79", "action", "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "7", "src",
			       "10.0.1.1/24", "action", "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "0", "action",
			       "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "0", "prio", "1", "action",
			       "allow"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "1"), -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "action", "allow"), -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "1", "action",
			       "allow", "prio", "2"),
			 -1);
	assert_int_equal(PARSE(&vni, &r, "vni", "5", "prio", "1", "action",
			       "allow", "sport", "2"),
			 -1);
}

static struct mzr_acl_rule rule(uint16_t prio, uint8_t action)
{
	struct mzr_acl_rule r = { .prio = prio, .action = action,
				  .dport_hi = 65535 };

	return r;
}

static void test_set_sorted(void **state)
{
	static const uint16_t in[] = { 50, 10, 30, 65535, 1, 20, 40 };
	static const uint16_t want[] = { 1, 10, 20, 30, 40, 50, 65535 };
	struct mzr_acl_set set;
	struct mzr_acl_rule r;
	unsigned int i;

	acl_set_init(&set);
	assert_true(acl_set_is_empty(&set));
	assert_int_equal(set.dflt, MZR_ACL_ALLOW);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		r = rule(in[i], i % 2);
		assert_int_equal(acl_set_insert(&set, &r), 0);
	}
	assert_int_equal(set.n, 7);
	for (i = 0; i < set.n; i++)
		assert_int_equal(set.rules[i].prio, want[i]);
	assert_false(acl_set_is_empty(&set));

	/* A duplicate prio is refused and changes nothing. */
	r = rule(30, MZR_ACL_ALLOW);
	r.proto = IPPROTO_UDP;
	assert_int_equal(acl_set_insert(&set, &r), -EEXIST);
	assert_int_equal(set.n, 7);
	assert_int_equal(set.rules[acl_set_find(&set, 30)].proto, 0);

	assert_int_equal(acl_set_remove(&set, 30), 0);
	assert_int_equal(acl_set_remove(&set, 30), -ENOENT);
	assert_int_equal(acl_set_find(&set, 30), -1);
	assert_int_equal(set.n, 6);
	assert_int_equal(set.rules[2].prio, 20);
	assert_int_equal(set.rules[3].prio, 40);
	assert_int_equal(set.rules[6].prio, 0); /* cleared */
	assert_int_equal(acl_set_remove(&set, 1), 0);
	assert_int_equal(acl_set_remove(&set, 65535), 0);
	assert_int_equal(set.n, 4);
	assert_int_equal(set.rules[0].prio, 10);
	assert_int_equal(set.rules[3].prio, 50);

	/* No rule and default allow says nothing; default deny does. */
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		acl_set_remove(&set, want[i]);
	assert_int_equal(set.n, 0);
	assert_true(acl_set_is_empty(&set));
	set.dflt = MZR_ACL_DENY;
	assert_false(acl_set_is_empty(&set));
}

static void test_set_full(void **state)
{
	struct mzr_acl_set set;
	struct mzr_acl_rule r;
	unsigned int i;

	acl_set_init(&set);
	for (i = 0; i < MZR_ACL_MAX_RULES; i++) {
		r = rule((uint16_t)(1000 - i * 7), MZR_ACL_DENY);
		assert_int_equal(acl_set_insert(&set, &r), 0);
	}
	r = rule(5, MZR_ACL_DENY);
	assert_int_equal(acl_set_insert(&set, &r), -ENOSPC);
	assert_int_equal(set.n, MZR_ACL_MAX_RULES);
	for (i = 1; i < set.n; i++)
		assert_true(set.rules[i - 1].prio < set.rules[i].prio);
}

static void test_format(void **state)
{
	struct mzr_acl_rule r = rule(1, MZR_ACL_ALLOW);
	char buf[32];

	assert_string_equal(acl_cidr_str(htonl(0x0a000100),
					 htonl(0xffffff00), buf),
			    "10.0.1.0/24");
	assert_string_equal(acl_cidr_str(htonl(0x0a000102), 0xffffffffU, buf),
			    "10.0.1.2/32");
	assert_string_equal(acl_cidr_str(0, 0, buf), "any");
	assert_string_equal(acl_ports_str(&r, buf), "any");
	r.dport_lo = r.dport_hi = 5201;
	assert_string_equal(acl_ports_str(&r, buf), "5201");
	r.dport_lo = 8000;
	r.dport_hi = 8080;
	assert_string_equal(acl_ports_str(&r, buf), "8000-8080");
	assert_string_equal(acl_proto_str(IPPROTO_ICMP, buf), "icmp");
	assert_string_equal(acl_proto_str(0, buf), "any");
	assert_string_equal(acl_action_str(MZR_ACL_DENY), "deny");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_prio_proto_action),
		cmocka_unit_test(test_rule_parse),
		cmocka_unit_test(test_set_sorted),
		cmocka_unit_test(test_set_full),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
