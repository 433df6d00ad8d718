// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-ratelimit reads rates and sizes as tc writes them and refuses
 * anything else; its bucket arithmetic neither overflows at the extremes
 * it accepts nor loses tokens to rounding under frequent refills.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rate.h"
#include "ratelimit.h"

static uint64_t rate(const char *s)
{
	uint64_t v = 0;

	assert_int_equal(mzr_rl_parse_rate(s, &v), 0);
	return v;
}

static void test_rate_units(void **state)
{
	assert_int_equal(rate("10mbit"), 10000000);
	assert_int_equal(rate("500kbit"), 500000);
	assert_int_equal(rate("1gbit"), 1000000000);
	assert_int_equal(rate("2tbit"), 2000000000000ULL);
	assert_int_equal(rate("800bit"), 800);
	assert_int_equal(rate("800"), 800); /* bare: bit/s, as tc */
	assert_int_equal(rate("64kibit"), 65536);
	assert_int_equal(rate("1mibit"), 1048576);
	assert_int_equal(rate("1gibit"), 1073741824ULL);
	assert_int_equal(rate("1tibit"), 1099511627776ULL);
	/* bps-style units are bytes per second */
	assert_int_equal(rate("100bps"), 800);
	assert_int_equal(rate("1kbps"), 8000);
	assert_int_equal(rate("2mbps"), 16000000);
	assert_int_equal(rate("1gbps"), 8000000000ULL);
	assert_int_equal(rate("1tbps"), 8000000000000ULL);
	assert_int_equal(rate("1kibps"), 8192);
	assert_int_equal(rate("1mibps"), 8388608);
	assert_int_equal(rate("1gibps"), 8589934592ULL);
	/* case-insensitive, fractions */
	assert_int_equal(rate("10Mbit"), 10000000);
	assert_int_equal(rate("10MBps"), 80000000);
	assert_int_equal(rate("1.5mbit"), 1500000);
	assert_int_equal(rate("0.25gbit"), 250000000);
	assert_int_equal(rate("1.000000001gbit"), 1000000001);
	/* the limits */
	assert_int_equal(rate("8bit"), 8);
	assert_int_equal(rate("1bps"), 8);
	assert_int_equal(rate("10tbit"), 10000000000000ULL);
	assert_int_equal(rate("1.25tbps"), 10000000000000ULL);
}

static void test_rate_bad(void **state)
{
	static const char *const bad[] = {
		"", "mbit", "10 mbit", " 10mbit", "10mbit ", "10mb", "10m",
		"10kbits", "10mbitx", "-1mbit", "+1mbit", "1e6bit", "0x10mbit",
		"1.mbit", ".5mbit", "1..5mbit", "1.5.5mbit", "1.0000000001gbit",
		"10Xbit", "ten", "inf", "nan", "10mbit/s",
	};
	uint64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mzr_rl_parse_rate(bad[i], &v) != -EINVAL)
			fail_msg("rate '%s' not refused as malformed", bad[i]);
	}
	assert_int_equal(mzr_rl_parse_rate(NULL, &v), -EINVAL);
	assert_int_equal(v, 42); /* untouched on error */
}

static void test_rate_range(void **state)
{
	static const char *const out[] = {
		"0", "0bit", "0mbit", "0.0gbit", "7bit", "7", "0.5bps",
		"0.000000001kbit",	/* 0.000001 bit/s */
		"10.000000001tbit", "11tbit", "2tbps", "10tibit",
		"18446744073709551615",	/* UINT64_MAX bit/s */
		"18446744073709551616",	/* one past */
		"99999999999999999999999gbit",
		"18446744073709551615tibps", /* the product overflows */
		"2305843009213693952bps",    /* 2^61 * 8 = 2^64 */
	};
	uint64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		if (mzr_rl_parse_rate(out[i], &v) != -ERANGE)
			fail_msg("rate '%s' not refused as out of range",
				 out[i]);
	}
	assert_int_equal(v, 42);
}

static void test_size(void **state)
{
	uint64_t v = 0;

	assert_int_equal(mzr_rl_parse_size("32000", 1514, 0xffffffff, &v), 0);
	assert_int_equal(v, 32000);
	assert_int_equal(mzr_rl_parse_size("64k", 1514, 0xffffffff, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(mzr_rl_parse_size("2KB", 1514, 0xffffffff, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(mzr_rl_parse_size("1mib", 1514, 0xffffffff, &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(mzr_rl_parse_size("3g", 1514, 0xffffffff, &v), 0);
	assert_int_equal(v, 3221225472ULL);
	assert_int_equal(mzr_rl_parse_size("1514b", 1514, 0xffffffff, &v), 0);
	assert_int_equal(v, 1514);
	assert_int_equal(mzr_rl_parse_size("4294967295", 1514, 0xffffffff, &v),
			 0);

	v = 42;
	assert_int_equal(mzr_rl_parse_size("", 1514, 0xffffffff, &v), -EINVAL);
	assert_int_equal(mzr_rl_parse_size("k", 1514, 0xffffffff, &v), -EINVAL);
	assert_int_equal(mzr_rl_parse_size("1.5k", 1514, 0xffffffff, &v),
			 -EINVAL);
	assert_int_equal(mzr_rl_parse_size("64kbit", 1514, 0xffffffff, &v),
			 -EINVAL);
	assert_int_equal(mzr_rl_parse_size("-2000", 1514, 0xffffffff, &v),
			 -EINVAL);
	assert_int_equal(mzr_rl_parse_size("1513", 1514, 0xffffffff, &v),
			 -ERANGE);
	assert_int_equal(mzr_rl_parse_size("0", 1514, 0xffffffff, &v), -ERANGE);
	assert_int_equal(mzr_rl_parse_size("4g", 1514, 0xffffffff, &v),
			 -ERANGE);
	assert_int_equal(mzr_rl_parse_size("4294967296", 1514, 0xffffffff, &v),
			 -ERANGE);
	assert_int_equal(mzr_rl_parse_size("18446744073709551616", 1514,
					   0xffffffff, &v),
			 -ERANGE);
	assert_int_equal(mzr_rl_parse_size("17179869184g", 1514, 0xffffffff,
					   &v),
			 -ERANGE); /* 2^34 * 2^30 wraps to 0 */
	assert_int_equal(v, 42);
}

static void test_default_burst_and_format(void **state)
{
	char buf[32];

	assert_int_equal(mzr_rl_default_burst(20000000), 625000);
	assert_int_equal(mzr_rl_default_burst(8), MZR_RL_BURST_DEFAULT_MIN);
	assert_int_equal(mzr_rl_default_burst(MZR_RL_RATE_MAX_BITS),
			 MZR_RL_BURST_MAX);
	assert_string_equal(mzr_rl_rate_str(20000000, buf, sizeof(buf)),
			    "20mbit");
	assert_string_equal(mzr_rl_rate_str(1500000, buf, sizeof(buf)),
			    "1500kbit");
	assert_string_equal(mzr_rl_rate_str(65536, buf, sizeof(buf)),
			    "65536bit");
	assert_string_equal(mzr_rl_rate_str(10000000000000ULL, buf,
					    sizeof(buf)),
			    "10tbit");
}

/* The extremes the tool accepts: no wrap, the bucket fills to the brim. */
static void test_refill_extremes(void **state)
{
	static const uint64_t rates[] = { 8, 8000, 20000000,
					  MZR_RL_RATE_MAX_BITS };
	static const uint64_t bursts[] = { MZR_RL_BURST_MIN, 250000,
					   MZR_RL_BURST_MAX };
	struct mzr_rl_bucket b;
	size_t i, j;

	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		for (j = 0; j < sizeof(bursts) / sizeof(bursts[0]); j++) {
			memset(&b, 0, sizeof(b));
			mzr_rl_configure(&b, rates[i], bursts[j]);
			assert_int_equal(b.tokens_nb, b.capacity_nb);
			/* empty, then idle for ever (and exactly fill_ns) */
			b.tokens_nb = 0;
			assert_int_equal(mzr_rl_refill(&b, UINT64_MAX),
					 b.capacity_nb);
			assert_int_equal(mzr_rl_refill(&b, b.fill_ns),
					 b.capacity_nb);
			/* almost full, largest step */
			b.tokens_nb = b.capacity_nb - 1;
			assert_int_equal(mzr_rl_refill(&b, b.fill_ns),
					 b.capacity_nb);
			/* just short of full: not yet full */
			b.tokens_nb = 0;
			if (b.fill_ns > 2)
				assert_true(mzr_rl_refill(&b, b.fill_ns - 2) <
					    b.capacity_nb);
		}
	}
}

/* 1000 bytes/s refilled every 100 us for one second: exactly 1000 bytes,
 * though each step is a tenth of a byte. */
static void test_refill_no_rounding_loss(void **state)
{
	struct mzr_rl_bucket b;
	int i;

	memset(&b, 0, sizeof(b));
	mzr_rl_configure(&b, 8000, 16384);
	b.tokens_nb = 0;
	for (i = 0; i < 10000; i++)
		b.tokens_nb = mzr_rl_refill(&b, 100000);
	assert_int_equal(b.tokens_nb, 1000 * MZR_RL_NSEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_units),
		cmocka_unit_test(test_rate_bad),
		cmocka_unit_test(test_rate_range),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_default_burst_and_format),
		cmocka_unit_test(test_refill_extremes),
		cmocka_unit_test(test_refill_no_rounding_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
