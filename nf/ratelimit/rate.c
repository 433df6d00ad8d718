// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

#include "ratelimit.h"
#include "rate.h"

struct unit {
	const char *name;
	uint64_t scale;
};

#define KI 1024ULL
#define MI (KI * KI)
#define GI (MI * KI)
#define TI (GI * KI)

/* tc's get_rate() table (lib/utils.c in iproute2). */
static const struct unit rate_units[] = {
	{ "", 1 },	/* bare number: bit/s */
	{ "bit", 1 },	   { "kbit", 1000ULL },
	{ "mbit", 1000000ULL },	   { "gbit", 1000000000ULL },
	{ "tbit", 1000000000000ULL },
	{ "kibit", KI },   { "mibit", MI },
	{ "gibit", GI },   { "tibit", TI },
	{ "bps", 8 },	   { "kbps", 8000ULL },
	{ "mbps", 8000000ULL },	   { "gbps", 8000000000ULL },
	{ "tbps", 8000000000000ULL },
	{ "kibps", 8 * KI }, { "mibps", 8 * MI },
	{ "gibps", 8 * GI }, { "tibps", 8 * TI },
	{ NULL, 0 },
};

static const struct unit size_units[] = {
	{ "", 1 },	{ "b", 1 },
	{ "k", KI },	{ "kb", KI },  { "kib", KI },
	{ "m", MI },	{ "mb", MI },  { "mib", MI },
	{ "g", GI },	{ "gb", GI },  { "gib", GI },
	{ NULL, 0 },
};

static const struct unit *find_unit(const struct unit *t, const char *s)
{
	for (; t->name; t++)
		if (!strcasecmp(t->name, s))
			return t;
	return NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Leading decimal integer; -ERANGE past a u64. */
static int parse_digits(const char **sp, uint64_t *out, unsigned int *n)
{
	const char *s = *sp;
	uint64_t v = 0;
	int err = 0;

	*n = 0;
	for (; is_digit(*s); s++, (*n)++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			err = -ERANGE;
	}
	*sp = s;
	*out = v;
	return err;
}

int mzr_rl_parse_rate(const char *s, uint64_t *bits)
{
	uint64_t ip, frac = 0, pow10 = 1, v;
	const struct unit *u;
	unsigned int n, nf = 0;
	unsigned __int128 f;
	int err;

	if (!s)
		return -EINVAL;
	err = parse_digits(&s, &ip, &n);
	if (!n)
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (parse_digits(&s, &frac, &nf) || !nf || nf > 9)
			return -EINVAL;
		while (nf--)
			pow10 *= 10;
	}
	u = find_unit(rate_units, s);
	if (!u)
		return -EINVAL;
	if (err || __builtin_mul_overflow(ip, u->scale, &v))
		return -ERANGE;
	f = (unsigned __int128)frac * u->scale / pow10;
	if (__builtin_add_overflow(v, (uint64_t)f, &v))
		return -ERANGE;
	if (v < MZR_RL_RATE_MIN_BITS || v > MZR_RL_RATE_MAX_BITS)
		return -ERANGE;
	*bits = v;
	return 0;
}

int mzr_rl_parse_size(const char *s, uint64_t min, uint64_t max,
		      uint64_t *bytes)
{
	const struct unit *u;
	unsigned int n;
	uint64_t v;
	int err;

	if (!s)
		return -EINVAL;
	err = parse_digits(&s, &v, &n);
	if (!n)
		return -EINVAL;
	u = find_unit(size_units, s);
	if (!u)
		return -EINVAL;
	if (err || __builtin_mul_overflow(v, u->scale, &v))
		return -ERANGE;
	if (v < min || v > max)
		return -ERANGE;
	*bytes = v;
	return 0;
}

uint64_t mzr_rl_default_burst(uint64_t bits)
{
	uint64_t b = bits / 8 / 4;

	if (b < MZR_RL_BURST_DEFAULT_MIN)
		b = MZR_RL_BURST_DEFAULT_MIN;
	if (b > MZR_RL_BURST_MAX)
		b = MZR_RL_BURST_MAX;
	return b;
}

const char *mzr_rl_rate_str(uint64_t bits, char *buf, size_t len)
{
	static const struct unit dec[] = {
		{ "tbit", 1000000000000ULL }, { "gbit", 1000000000ULL },
		{ "mbit", 1000000ULL },	      { "kbit", 1000ULL },
		{ NULL, 0 },
	};
	const struct unit *u;

	for (u = dec; u->name; u++) {
		if (bits && bits % u->scale == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bits / u->scale,
				 u->name);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 "bit", bits);
	return buf;
}

void mzr_rl_configure(struct mzr_rl_bucket *b, uint64_t bits, uint64_t burst)
{
	b->burst = burst;
	b->rate_bits = bits;
	b->rate = bits / 8;
	b->capacity_nb = burst * MZR_RL_NSEC;
	/* Rounded up: the clamp must never stop short of a full bucket. */
	b->fill_ns = b->capacity_nb / b->rate + 1;
	b->tokens_nb = b->capacity_nb;
}
