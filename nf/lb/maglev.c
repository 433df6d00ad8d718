// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Maglev table population and backend-list parsing; see maglev.h. */
#include "maglev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

/* splitmix64's finaliser: the two hashes of a backend must be independent
 * so that offsets and skips do not correlate. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A backend's identity, independent of byte order and list position. */
static uint64_t backend_id(const struct lb_backend *b)
{
	return (uint64_t)ntohl(b->ip) << 16 | ntohs(b->port);
}

int lb_is_prime(uint32_t m)
{
	if (m < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return 0;
	return 1;
}

static const struct lb_backend *sort_base;

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = backend_id(&sort_base[*(const unsigned int *)a]);
	uint64_t y = backend_id(&sort_base[*(const unsigned int *)b]);

	return x < y ? -1 : x > y;
}

int lb_maglev_build(const struct lb_backend *be, unsigned int n, uint32_t m,
		    uint32_t *table)
{
	unsigned int order[LB_MAX_BACKENDS];
	uint64_t offset[LB_MAX_BACKENDS], skip[LB_MAX_BACKENDS];
	uint64_t next[LB_MAX_BACKENDS];
	uint32_t filled = 0;
	unsigned int i, k, w;

	if (!be || !table || !n || n > LB_MAX_BACKENDS || !lb_is_prime(m))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!be[i].weight || be[i].weight > LB_WEIGHT_MAX)
			return -EINVAL;
		order[i] = i;
	}
	/* Rounds visit backends by identity, so the table depends on the
	 * set only (and ties between equal ids are duplicates). */
	sort_base = be;
	qsort(order, n, sizeof(order[0]), cmp_id);
	for (i = 1; i < n; i++)
		if (backend_id(&be[order[i]]) == backend_id(&be[order[i - 1]]))
			return -EINVAL;
	for (i = 0; i < n; i++) {
		uint64_t id = backend_id(&be[order[i]]);

		offset[i] = mix64(id ^ 0x6d61676c65763031ULL) % m;
		skip[i] = mix64(id ^ 0x736b697073656564ULL) % (m - 1) + 1;
		next[i] = 0;
	}
	for (uint32_t s = 0; s < m; s++)
		table[s] = UINT32_MAX;

	for (;;) {
		for (k = 0; k < n; k++) {
			for (w = 0; w < be[order[k]].weight; w++) {
				uint64_t c;

				do {
					c = (offset[k] + next[k] * skip[k]) % m;
					next[k]++;
				} while (table[c] != UINT32_MAX);
				table[c] = order[k];
				if (++filled == m)
					return 0;
			}
		}
	}
}

static int parse_uint(const char *s, size_t len, unsigned long max,
		      unsigned long *out)
{
	unsigned long v = 0;

	if (!len || len > 6)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int lb_parse_backend(const char *s, uint16_t default_port,
		     struct lb_backend *out)
{
	const char *colon, *at, *end;
	char ip[INET_ADDRSTRLEN];
	unsigned long port = default_port, weight = 1;
	struct in_addr a;
	size_t iplen;
	int err;

	if (!s || !*s)
		return -EINVAL;
	end = s + strlen(s);
	at = strchr(s, '@');
	colon = strchr(s, ':');
	if (colon && at && colon > at)
		return -EINVAL;
	iplen = (size_t)((colon ? colon : at ? at : end) - s);
	if (!iplen || iplen >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1 || !a.s_addr ||
	    a.s_addr == INADDR_BROADCAST)
		return -EINVAL;
	if (colon) {
		err = parse_uint(colon + 1,
				 (size_t)((at ? at : end) - colon - 1), 65535,
				 &port);
		if (err)
			return err;
	}
	if (at) {
		err = parse_uint(at + 1, (size_t)(end - at - 1), LB_WEIGHT_MAX,
				 &weight);
		if (err)
			return err;
	}
	if (!port)
		return -ERANGE;
	out->ip = a.s_addr;
	out->port = htons((uint16_t)port);
	out->weight = (uint16_t)weight;
	return 0;
}

int lb_parse_backends(const char *s, uint16_t default_port,
		      struct lb_backend *out, unsigned int max, unsigned int *n,
		      const char **bad)
{
	static char item[64];
	const char *p = s, *comma;
	unsigned int count = 0, i;
	size_t len;
	int err;

	*bad = s;
	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len || len >= sizeof(item)) {
			snprintf(item, sizeof(item), "%.*s",
				 (int)(len < sizeof(item) ? len : 40), p);
			*bad = item;
			return -EINVAL;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		*bad = item;
		if (count >= max)
			return -E2BIG;
		err = lb_parse_backend(item, default_port, &out[count]);
		if (err)
			return err;
		for (i = 0; i < count; i++)
			if (out[i].ip == out[count].ip &&
			    out[i].port == out[count].port)
				return -EEXIST;
		count++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*n = count;
	*bad = NULL;
	return 0;
}
