// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A bypass-decap NF: attached to the interface of an endpoint flagged
 * bypass-decap, it receives Mizar tunnel frames intact. It parses outer
 * headers, options and inner headers with the SDK's parser, keeps per-
 * source statistics (with the sender's host, from the RTS option), drops
 * frames of VPCs it does not serve, then decapsulates the frame itself and
 * passes the inner frame to the endpoint's stack. See docs/bypass-decap.md.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/context.h>

/* The VNI this endpoint serves; 0: any. Set before load (read-only data). */
const volatile __u32 bypass_vni = 0;

struct bypass_src_key {
	__u32 vni;
	__be32 saddr;
};

struct bypass_src_val {
	__u64 packets;
	__u64 bytes;
	__be32 rts;	/* underlay address of the sender's host */
	__u32 flags;	/* MZR_F_* of the last packet */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct bypass_src_key);
	__type(value, struct bypass_src_val);
} bypass_sources SEC(".maps");

/* Verdicts by cause: 0 decapsulated, 1 not a tunnel frame, 2 dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} bypass_verdicts SEC(".maps");

/* Not the core's context: a bypass endpoint runs on its own, so the
 * parse result lives on this program's stack-sized per-CPU scratch. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_ctx);
} bypass_ctx SEC(".maps");

static __always_inline void verdict(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&bypass_verdicts, &idx);

	if (v)
		*v += 1;
}

SEC("xdp")
int bypass_decap(struct xdp_md *xdp)
{
	struct bypass_src_val *s, init = {};
	struct bypass_src_key key;
	struct mzr_ctx *ctx;
	__u32 zero = 0, off;
	__u8 *p, *end;
	int ret;

	ctx = bpf_map_lookup_elem(&bypass_ctx, &zero);
	if (!ctx)
		return XDP_ABORTED;
	ret = mzr_tunnel_parse(xdp, ctx);
	if (ret < 0) {
		verdict(1);
		return XDP_PASS; /* not ours: the stack decides */
	}
	if (ret > 0 || (bypass_vni && ctx->vni != bypass_vni)) {
		verdict(2);
		return XDP_DROP;
	}

	key.vni = ctx->vni;
	key.saddr = ctx->saddr;
	s = bpf_map_lookup_elem(&bypass_sources, &key);
	if (!s) {
		bpf_map_update_elem(&bypass_sources, &key, &init, BPF_ANY);
		s = bpf_map_lookup_elem(&bypass_sources, &key);
		if (!s)
			return XDP_DROP;
	}
	__sync_fetch_and_add(&s->packets, 1);
	__sync_fetch_and_add(&s->bytes, xdp->data_end - xdp->data);
	s->rts = ctx->rts;
	s->flags = ctx->flags;

	/* Our own stack only accepts frames for our MAC: the outer frame was
	 * addressed to us, so give the inner frame the same destination. */
	p = (void *)(long)xdp->data;
	end = (void *)(long)xdp->data_end;
	off = ctx->inner_l2_off & 0x1ff;
	if ((void *)(p + off + 6) > (void *)end || (void *)(p + 6) > (void *)end)
		return XDP_DROP;
	__builtin_memcpy(p + off, p, 6);
	if (bpf_xdp_adjust_head(xdp, off))
		return XDP_DROP;
	verdict(0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
