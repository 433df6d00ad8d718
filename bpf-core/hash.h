/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Symmetric flow hash: both directions of a flow pick the same bouncer,
 * divider and UDP source port. */
#ifndef MZR_CORE_HASH_H
#define MZR_CORE_HASH_H

#include <linux/types.h>

#define MZR_HASH_SEED 0x4d7a5231U

static __always_inline __u32 mzr_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* jhash_3words() of the kernel (lookup3 final mix). */
static __always_inline __u32 mzr_jhash_3words(__u32 a, __u32 b, __u32 c,
					      __u32 initval)
{
	a += 0xdeadbeef + (3 << 2) + initval;
	b += 0xdeadbeef + (3 << 2) + initval;
	c += 0xdeadbeef + (3 << 2) + initval;
	c ^= b; c -= mzr_rol32(b, 14);
	a ^= c; a -= mzr_rol32(c, 11);
	b ^= a; b -= mzr_rol32(a, 25);
	c ^= b; c -= mzr_rol32(b, 16);
	a ^= c; a -= mzr_rol32(c, 4);
	b ^= a; b -= mzr_rol32(a, 14);
	c ^= b; c -= mzr_rol32(b, 24);
	return c;
}

/* Order-independent in (saddr, sport) <-> (daddr, dport). Addresses and
 * ports as in the packet (network byte order). */
static __always_inline __u32 mzr_flow_hash(__be32 saddr, __be32 daddr,
					   __be16 sport, __be16 dport,
					   __u8 proto)
{
	__u32 lo = saddr < daddr ? saddr : daddr;
	__u32 hi = saddr < daddr ? daddr : saddr;
	__u32 plo = sport < dport ? sport : dport;
	__u32 phi = sport < dport ? dport : sport;

	return mzr_jhash_3words(lo, hi, (plo << 16 | phi) ^ proto,
				MZR_HASH_SEED);
}

#endif /* MZR_CORE_HASH_H */
