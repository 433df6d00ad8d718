/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-ratelimit's map layout, shared by its BPF program and its tool: one
 * token bucket per (VNI, endpoint IP), refilled at the configured rate.
 */
#ifndef MZR_RL_H
#define MZR_RL_H

#include <linux/types.h>
#include <linux/bpf.h>

/* Configuration map, pinned at PIN_ROOT/nfcfg/ratelimit/rl_buckets. Not
 * "mzr_"-prefixed: those names are the maps shared with the core. */
#define MZR_RL_MAP "rl_buckets"
#define MZR_RL_MAX_ENTRIES 16384

#define MZR_RL_NSEC 1000000000ULL

/*
 * Limits that keep the refill arithmetic in a u64 (see struct
 * mzr_rl_bucket): capacity <= 2^32 B * 1e9 < 4.3e18, and a refill adds at
 * most capacity + rate, so tokens + refill < 8.6e18 < 2^64.
 */
#define MZR_RL_RATE_MIN_BITS 8ULL		   /* 1 byte/s */
#define MZR_RL_RATE_MAX_BITS 10000000000000ULL /* 10 Tbit/s */
#define MZR_RL_BURST_MIN 1514ULL  /* one full frame at MTU 1500 */
#define MZR_RL_BURST_MAX 0xffffffffULL
#define MZR_RL_BURST_DEFAULT_MIN 16384ULL

struct mzr_rl_key {
	__u32 vni;	/* host order */
	__be32 ip;	/* the endpoint's address, network order */
};

/*
 * A token bucket. Tokens are kept in byte-nanoseconds per second ("nano-
 * bytes", bytes * 1e9) so that a refill is elapsed_ns * rate with no
 * division and no rounding loss however often packets come. Everything
 * below the lock is read and written under it, by the data path and by
 * the tool (BPF_F_LOCK).
 */
struct mzr_rl_bucket {
	struct bpf_spin_lock lock;
	__u32 burst;		/* bytes, as configured */
	__u64 rate_bits;	/* bits/s, as configured (for show) */
	__u64 rate;		/* bytes/s: rate_bits / 8 */
	__u64 capacity_nb;	/* burst * 1e9 */
	__u64 fill_ns;		/* time to fill an empty bucket: clamp */
	__u64 tokens_nb;	/* available, as of last_ns */
	__u64 last_ns;		/* bpf_ktime_get_ns() of last refill */
	__u64 pass_pkts;
	__u64 pass_bytes;
	__u64 drop_pkts;
	__u64 drop_bytes;
};

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * Tokens of @b after @elapsed_ns more nanoseconds. Shared by the data path
 * (under the bucket's lock) and the tool. Beyond fill_ns the bucket is full
 * anyway; clamping there keeps elapsed * rate within a u64 for every
 * configuration the tool accepts, and a wrap from a foreign writer's
 * values still yields a full bucket rather than an empty one.
 */
static __always_inline __u64 mzr_rl_refill(const struct mzr_rl_bucket *b,
					   __u64 elapsed_ns)
{
	__u64 t;

	if (elapsed_ns > b->fill_ns)
		elapsed_ns = b->fill_ns;
	t = b->tokens_nb + elapsed_ns * b->rate;
	if (t > b->capacity_nb || t < b->tokens_nb)
		t = b->capacity_nb;
	return t;
}

#endif /* MZR_RL_H */
