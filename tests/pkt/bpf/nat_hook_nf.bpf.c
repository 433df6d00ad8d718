// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test NF for the core's NAT hooks (tests/pkt/test_core_nat_hooks.c). It
 * records the context it was given in `nh_rec` and, at the external hook
 * when `nh_cfg` says so, rewrites the destination of the plain IPv4 frame
 * (checksums patched), sets the VPC and asks the core to INJECT it.
 * Otherwise it continues.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>
#include <mizar/bpf/csum.h>

MZR_NF_DECLARE("test-nat-hook");

struct nh_rec {
	__u64 hits;
	struct mzr_ctx ctx;
};

struct nh_cfg {
	__u32 inject;	/* at the external hook: rewrite and INJECT */
	__u32 vni;	/* into this VPC */
	__be32 daddr;	/* new destination */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nh_rec);
} nh_rec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nh_cfg);
} nh_cfg SEC(".maps");

/* The plain frame's IPv4 destination := @daddr (UDP checksum too). */
static __always_inline int rewrite(struct xdp_md *xdp, __be32 daddr)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + 14;
	struct udphdr *udp = data + 14 + sizeof(*iph);
	__u8 *eth = data;
	__be32 old;

	if ((void *)(udp + 1) > end || eth[12] != 0x08 || eth[13] != 0x00 ||
	    iph->ihl != 5)
		return -1;
	old = iph->daddr;
	mzr_csum_replace4(&iph->check, old, daddr);
	iph->daddr = daddr;
	if (iph->protocol == IPPROTO_UDP && udp->check) {
		mzr_csum_replace4(&udp->check, old, daddr);
		if (!udp->check)
			udp->check = 0xffff;
	}
	return 0;
}

SEC("xdp")
int nat_hook_nf(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct nh_cfg *cfg;
	struct nh_rec *r;
	__u32 zero = 0;

	if (!ctx)
		return XDP_DROP;
	r = bpf_map_lookup_elem(&nh_rec, &zero);
	if (r) {
		r->hits++;
		__builtin_memcpy(&r->ctx, ctx, sizeof(r->ctx));
	}
	cfg = bpf_map_lookup_elem(&nh_cfg, &zero);
	if (cfg && cfg->inject && ctx->hook == MZR_HOOK_EXTERNAL &&
	    !rewrite(xdp, cfg->daddr)) {
		ctx->vni = cfg->vni;
		ctx->decision = MZR_DECIDE_INJECT;
	}
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "Dual BSD/GPL";
