// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-lb's Maglev tables and backend lists: every slot goes to a
 * backend, shares follow the weights, removing or adding a backend moves
 * few slots of the others, and the table depends on the backend set only.
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

#include "maglev.h"

#define M LB_RING_SIZE

static struct lb_backend be(const char *ip, uint16_t port, uint16_t weight)
{
	struct lb_backend b = { .port = htons(port), .weight = weight };

	assert_int_equal(inet_pton(AF_INET, ip, &b.ip), 1);
	return b;
}

/* n backends 10.1.0.1.. with port 80 and weight 1. */
static void make(struct lb_backend *b, unsigned int n)
{
	char ip[32];

	for (unsigned int i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.1.%u.%u", i / 200, i % 200 + 1);
		b[i] = be(ip, 80, 1);
	}
}

static uint32_t *build(const struct lb_backend *b, unsigned int n, uint32_t m)
{
	uint32_t *t = malloc(sizeof(*t) * m);

	assert_non_null(t);
	assert_int_equal(lb_maglev_build(b, n, m, t), 0);
	return t;
}

static void count(const uint32_t *t, uint32_t m, unsigned int n, uint32_t *cnt)
{
	memset(cnt, 0, sizeof(*cnt) * n);
	for (uint32_t s = 0; s < m; s++) {
		assert_true(t[s] < n);
		cnt[t[s]]++;
	}
}

static void test_every_slot_filled(void **state)
{
	struct lb_backend b[LB_MAX_BACKENDS];
	uint32_t cnt[LB_MAX_BACKENDS];
	static const uint32_t sizes[] = { 2, 3, 251, 4099, M };
	static const unsigned int ns[] = { 1, 2, 5, LB_MAX_BACKENDS };

	(void)state;
	make(b, LB_MAX_BACKENDS);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
			uint32_t *t = build(b, ns[j], sizes[i]);

			count(t, sizes[i], ns[j], cnt); /* each < n */
			free(t);
		}
	}
}

/* Equal weights: every backend within 1% of M/n (the paper's bound for
 * M = 65537 and a few hundred backends is looser; we check ours). */
static void test_equal_shares(void **state)
{
	struct lb_backend b[LB_MAX_BACKENDS];
	uint32_t cnt[LB_MAX_BACKENDS];
	static const unsigned int ns[] = { 2, 3, 7, 16, LB_MAX_BACKENDS };

	(void)state;
	make(b, LB_MAX_BACKENDS);
	for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
		unsigned int n = ns[j];
		uint32_t *t = build(b, n, M);
		double ideal = (double)M / n;

		count(t, M, n, cnt);
		for (unsigned int i = 0; i < n; i++) {
			double dev = (cnt[i] - ideal) / ideal;

			if (dev > 0.01 || dev < -0.01)
				fail_msg(
					"n=%u backend %u: %u slots, ideal %.0f",
					n, i, cnt[i], ideal);
		}
		free(t);
	}
}

/* Weights 1, 2, 3, 4 (and 1 vs 100): shares within 1% of weight/total. */
static void test_weighted_shares(void **state)
{
	struct lb_backend b[4] = { be("10.0.0.1", 80, 1), be("10.0.0.2", 80, 2),
				   be("10.0.0.3", 8080, 3),
				   be("10.0.0.4", 80, 4) };
	struct lb_backend c[2] = { be("10.0.0.1", 80, 1),
				   be("10.0.0.2", 80, 100) };
	uint32_t cnt[4], *t;

	(void)state;
	t = build(b, 4, M);
	count(t, M, 4, cnt);
	for (unsigned int i = 0; i < 4; i++) {
		double ideal = (double)M * (i + 1) / 10;
		double dev = (cnt[i] - ideal) / ideal;

		if (dev > 0.01 || dev < -0.01)
			fail_msg("weight %u: %u slots, ideal %.0f", i + 1,
				 cnt[i], ideal);
	}
	free(t);
	t = build(c, 2, M);
	count(t, M, 2, cnt);
	assert_true(cnt[0] > M / 101 * 0.95 && cnt[0] < M / 101 * 1.05);
	free(t);
}

/*
 * Removing one of n backends: its slots go to the others, and only a few
 * slots of the survivors change hands (Maglev is not perfectly minimal;
 * for M = 65537 we bound it at 2% of the table). Adding it back restores
 * the original table exactly (the table depends on the set only).
 */
static void test_minimal_disruption(void **state)
{
	struct lb_backend b[LB_MAX_BACKENDS], r[LB_MAX_BACKENDS];
	static const unsigned int ns[] = { 3, 10, 32 };

	(void)state;
	make(b, LB_MAX_BACKENDS);
	for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
		unsigned int n = ns[j], gone = n / 2, moved = 0, lost = 0;
		uint32_t *t0 = build(b, n, M), *t1, *t2;

		/* the survivors, keeping their identities */
		for (unsigned int i = 0, k = 0; i < n; i++)
			if (i != gone)
				r[k++] = b[i];
		t1 = build(r, n - 1, M);
		for (uint32_t s = 0; s < M; s++) {
			unsigned int before = t0[s];
			const struct lb_backend *after = &r[t1[s]];

			if (before == gone) {
				lost++;
				continue;
			}
			if (b[before].ip != after->ip)
				moved++;
		}
		printf("n=%u: removing one backend moved %u of %u surviving "
		       "slots (%.2f%%)\n",
		       n, moved, M - lost, 100.0 * moved / (M - lost));
		assert_true(moved <= M / 50);
		/* adding it back (at the end of the list) restores t0 */
		r[n - 1] = b[gone];
		t2 = build(r, n, M);
		for (uint32_t s = 0; s < M; s++)
			assert_int_equal(r[t2[s]].ip, b[t0[s]].ip);
		free(t0);
		free(t1);
		free(t2);
	}
}

/* The same set in any order gives the same table, every time. */
static void test_deterministic(void **state)
{
	struct lb_backend b[8], rev[8];
	uint32_t *t0, *t1, *t2;

	(void)state;
	make(b, 8);
	b[3].weight = 5;
	for (unsigned int i = 0; i < 8; i++)
		rev[i] = b[7 - i];
	t0 = build(b, 8, M);
	t1 = build(b, 8, M);
	t2 = build(rev, 8, M);
	assert_memory_equal(t0, t1, sizeof(*t0) * M);
	for (uint32_t s = 0; s < M; s++)
		assert_int_equal(rev[t2[s]].ip, b[t0[s]].ip);
	free(t0);
	free(t1);
	free(t2);
}

static void test_bad_tables(void **state)
{
	struct lb_backend b[2] = { be("10.0.0.1", 80, 1),
				   be("10.0.0.2", 80, 1) };
	struct lb_backend dup[2] = { be("10.0.0.1", 80, 1),
				     be("10.0.0.1", 80, 2) };
	uint32_t t[4099];

	(void)state;
	assert_int_equal(lb_maglev_build(b, 0, 4099, t), -EINVAL);
	assert_int_equal(lb_maglev_build(b, LB_MAX_BACKENDS + 1, 4099, t),
			 -EINVAL);
	assert_int_equal(lb_maglev_build(b, 2, 4096, t),
			 -EINVAL); /* not prime */
	assert_int_equal(lb_maglev_build(b, 2, 1, t), -EINVAL);
	assert_int_equal(lb_maglev_build(dup, 2, 4099, t), -EINVAL);
	b[1].weight = 0;
	assert_int_equal(lb_maglev_build(b, 2, 4099, t), -EINVAL);
	b[1].weight = LB_WEIGHT_MAX + 1;
	assert_int_equal(lb_maglev_build(b, 2, 4099, t), -EINVAL);
	assert_true(lb_is_prime(65537) && lb_is_prime(4099) &&
		    !lb_is_prime(65535) && !lb_is_prime(1));
}

static void test_parse_backend(void **state)
{
	struct lb_backend b;

	(void)state;
	assert_int_equal(lb_parse_backend("10.0.1.5", 80, &b), 0);
	assert_int_equal(b.ip, htonl(0x0a000105));
	assert_int_equal(b.port, htons(80));
	assert_int_equal(b.weight, 1);
	assert_int_equal(lb_parse_backend("10.0.1.5:8080@7", 80, &b), 0);
	assert_int_equal(b.port, htons(8080));
	assert_int_equal(b.weight, 7);
	assert_int_equal(lb_parse_backend("10.0.1.5@100", 53, &b), 0);
	assert_int_equal(b.port, htons(53));
	assert_int_equal(b.weight, 100);

	assert_int_equal(lb_parse_backend("", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.5:", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend(":80", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.5@", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.5@2:80", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.256", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("0.0.0.0", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.5:8o", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.5:-1", 80, &b), -EINVAL);
	assert_int_equal(lb_parse_backend("10.0.1.5:0", 80, &b), -ERANGE);
	assert_int_equal(lb_parse_backend("10.0.1.5:65536", 80, &b), -ERANGE);
	assert_int_equal(lb_parse_backend("10.0.1.5@0", 80, &b), -ERANGE);
	assert_int_equal(lb_parse_backend("10.0.1.5@101", 80, &b), -ERANGE);
}

static void test_parse_backends(void **state)
{
	struct lb_backend b[LB_MAX_BACKENDS];
	const char *bad;
	unsigned int n;
	char many[4096] = "";

	(void)state;
	assert_int_equal(lb_parse_backends("10.0.1.5,10.0.1.6:81@2,10.0.1.5:81",
					   80, b, LB_MAX_BACKENDS, &n, &bad),
			 0);
	assert_int_equal(n, 3);
	assert_null(bad);
	assert_int_equal(b[1].weight, 2);
	assert_int_equal(b[2].port, htons(81));

	assert_int_equal(lb_parse_backends("10.0.1.5,,10.0.1.6", 80, b,
					   LB_MAX_BACKENDS, &n, &bad),
			 -EINVAL);
	assert_int_equal(lb_parse_backends("10.0.1.5,", 80, b, LB_MAX_BACKENDS,
					   &n, &bad),
			 -EINVAL);
	assert_int_equal(lb_parse_backends("10.0.1.5,x", 80, b, LB_MAX_BACKENDS,
					   &n, &bad),
			 -EINVAL);
	assert_string_equal(bad, "x");
	/* 10.0.1.5 and 10.0.1.5:80 are one backend when the VIP port is 80 */
	assert_int_equal(lb_parse_backends("10.0.1.5,10.0.1.5:80", 80, b,
					   LB_MAX_BACKENDS, &n, &bad),
			 -EEXIST);
	assert_string_equal(bad, "10.0.1.5:80");
	for (unsigned int i = 0; i <= LB_MAX_BACKENDS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s10.2.0.%u", i ? "," : "", i + 1);
	assert_int_equal(
		lb_parse_backends(many, 80, b, LB_MAX_BACKENDS, &n, &bad),
		-E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_slot_filled),
		cmocka_unit_test(test_equal_shares),
		cmocka_unit_test(test_weighted_shares),
		cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bad_tables),
		cmocka_unit_test(test_parse_backend),
		cmocka_unit_test(test_parse_backends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
