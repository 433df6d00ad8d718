// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-ratelimit: caps the egress of endpoints at a rate. Runs at the
 * agent-egress hook (frames an endpoint on this host sends, before
 * encapsulation); each configured (VNI, source IP) has a token bucket,
 * and a frame that finds fewer tokens than its length is dropped.
 * Endpoints without a bucket, and ARP, pass untouched.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

#include "ratelimit.h"

MZR_NF_DECLARE("ratelimit");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_RL_MAX_ENTRIES);
	__type(key, struct mzr_rl_key);
	__type(value, struct mzr_rl_bucket);
} rl_buckets SEC(".maps");

/*
 * Refill @b for the time since its last refill and take @len bytes when
 * they are there. One lock per bucket: an endpoint's flows may be spread
 * over several CPUs (RSS) and must draw on one budget.
 */
static __always_inline int rl_take(struct mzr_rl_bucket *b, __u64 now,
				   __u64 len)
{
	__u64 cost = len * MZR_RL_NSEC, elapsed = 0, tokens;
	int ok;

	bpf_spin_lock(&b->lock);
	/* Another CPU may have refilled after we read the clock. */
	if (now > b->last_ns) {
		elapsed = now - b->last_ns;
		b->last_ns = now;
	}
	tokens = mzr_rl_refill(b, elapsed);
	ok = tokens >= cost;
	if (ok) {
		tokens -= cost;
		b->pass_pkts++;
		b->pass_bytes += len;
	} else {
		b->drop_pkts++;
		b->drop_bytes += len;
	}
	b->tokens_nb = tokens;
	bpf_spin_unlock(&b->lock);
	return ok;
}

SEC("xdp")
int ratelimit_egress(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct mzr_rl_bucket *b;
	struct mzr_rl_key key;
	__u8 *eth;

	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */
	/* Only the endpoint's IPv4 traffic is metered: ARP is what keeps
	 * the endpoint reachable, and it is tiny. */
	if (ctx->inner_l2_off != 0 || ctx->inner_l3_off == MZR_OFF_NONE)
		return mzr_nf_next(xdp, ctx);
	eth = data;
	if ((void *)(eth + 14) > end || eth[12] != 0x08 || eth[13] != 0x00)
		return mzr_nf_next(xdp, ctx);

	key.vni = ctx->vni;
	key.ip = ctx->saddr;
	b = bpf_map_lookup_elem(&rl_buckets, &key);
	if (!b)
		return mzr_nf_next(xdp, ctx);
	if (!rl_take(b, bpf_ktime_get_ns(), (__u64)(end - data)))
		return mzr_nf_drop(xdp, ctx, MZR_DROP_NF);
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "Dual BSD/GPL";
