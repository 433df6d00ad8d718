/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Rates and sizes as tc(8) writes them, for mizar-ratelimit's command line
 * (pure functions, unit tested in tests/examples/ratelimit).
 */
#ifndef MZR_RL_RATE_H
#define MZR_RL_RATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a rate into bits per second: a decimal number (optionally with up
 * to 9 fractional digits) and a unit, case-insensitive, as tc does:
 *   bit kbit mbit gbit tbit          (x1, 1e3, 1e6, 1e9, 1e12 bit/s)
 *   kibit mibit gibit tibit          (x1024^n bit/s)
 *   bps kbps mbps gbps tbps          (BYTES per second: x8, 8e3, ...)
 *   kibps mibps gibps tibps          (x8 * 1024^n)
 * A bare number is bits per second (tc's convention).
 * @return 0; -EINVAL for anything that is not such a rate (no digits, an
 * unknown unit, trailing garbage); -ERANGE for a rate below 8 bit/s (zero
 * included) or above MZR_RL_RATE_MAX_BITS, or one that overflows.
 */
int mzr_rl_parse_rate(const char *s, uint64_t *bits);

/*
 * Parse a size in bytes: a decimal integer and an optional unit,
 * case-insensitive: b (x1), k kb kib (x1024), m mb mib (x1024^2),
 * g gb gib (x1024^3), as tc's burst sizes do.
 * @return 0; -EINVAL when malformed; -ERANGE outside [@min, @max] or on
 * overflow.
 */
int mzr_rl_parse_size(const char *s, uint64_t min, uint64_t max,
		      uint64_t *bytes);

/* The burst used when none is given: 250 ms of traffic at @bits per
 * second, at least MZR_RL_BURST_DEFAULT_MIN bytes, at most
 * MZR_RL_BURST_MAX. */
uint64_t mzr_rl_default_burst(uint64_t bits);

/* @bits per second in the largest decimal unit that divides it exactly
 * ("20mbit", "1500kbit", "12bit"), into @buf. */
const char *mzr_rl_rate_str(uint64_t bits, char *buf, size_t len);

struct mzr_rl_bucket;

/*
 * Set @b's configuration to @bits per second and @burst bytes (values the
 * parsers accepted) with a full bucket; last_ns and the counters are left
 * to the caller.
 */
void mzr_rl_configure(struct mzr_rl_bucket *b, uint64_t bits, uint64_t burst);

#endif /* MZR_RL_RATE_H */
