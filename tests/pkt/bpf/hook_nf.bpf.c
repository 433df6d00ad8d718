// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test NF for the real core's hooks. On entry it records the context it
 * was given (a copy, with the hit count) in its own map `hook_rec`, read
 * back by tests/pkt/test_core_hooks.c, and appends NF_ID to the scratch
 * (scratch[0] counts entries, ids from scratch[1]) so that the next NF
 * sees who ran before it. Then, by NF_MODE:
 *   0  continue (a pass-through NF);
 *   1  drop, counted under NF_DROP_REASON;
 *   2  rewrite the inner IPv4 destination to hook_cfg[0] (checksums
 *      patched) and ask the core to route the packet again.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>
#include <mizar/bpf/csum.h>

#ifndef NF_ID
#error "NF_ID must be defined"
#endif
#ifndef NF_MODE
#define NF_MODE 0
#endif
#ifndef NF_DROP_REASON
#define NF_DROP_REASON 0
#endif

MZR_NF_DECLARE("test-hook");

struct hook_rec {
	__u64 hits;
	struct mzr_ctx ctx;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hook_rec);
} hook_rec SEC(".maps");

/* Mode 2: the new inner destination (network order). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __be32);
} hook_cfg SEC(".maps");

static __always_inline __attribute__((unused)) int rewrite_daddr(struct xdp_md *xdp,
					 struct mzr_ctx *ctx)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	__u32 zero = 0, l3 = ctx->inner_l3_off, l4 = ctx->inner_l4_off;
	struct iphdr *iph;
	struct udphdr *udp;
	__be32 *newp, old, new;

	newp = bpf_map_lookup_elem(&hook_cfg, &zero);
	if (!newp || l3 == MZR_OFF_NONE)
		return -1;
	new = *newp;
	iph = data + (l3 & 0x1ff);
	if ((void *)(iph + 1) > end)
		return -1;
	old = iph->daddr;
	mzr_csum_replace4(&iph->check, old, new);
	iph->daddr = new;
	if (iph->protocol != IPPROTO_UDP || l4 == MZR_OFF_NONE)
		return 0;
	udp = data + (l4 & 0x1ff);
	if ((void *)(udp + 1) > end)
		return -1;
	if (udp->check) {
		mzr_csum_replace4(&udp->check, old, new);
		if (!udp->check)
			udp->check = 0xffff;
	}
	return 0;
}

SEC("xdp")
int hook_nf(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct hook_rec *rec;
	__u32 zero = 0;
	__u8 n;

	if (!ctx)
		return XDP_DROP;
	rec = bpf_map_lookup_elem(&hook_rec, &zero);
	if (rec) {
		rec->hits++;
		__builtin_memcpy(&rec->ctx, ctx, sizeof(*ctx));
	}
	n = ctx->scratch[0];
	if (n < 15) {
		ctx->scratch[1 + n] = NF_ID;
		ctx->scratch[0] = n + 1;
	}
#if NF_MODE == 1
	return mzr_nf_drop(ctx, NF_DROP_REASON);
#elif NF_MODE == 2
	if (rewrite_daddr(xdp, ctx))
		return mzr_nf_drop(ctx, MZR_DROP_MALFORMED);
	return mzr_nf_reroute(xdp, ctx);
#else
	return mzr_nf_next(xdp, ctx);
#endif
}

char _license[] SEC("license") = "GPL";
