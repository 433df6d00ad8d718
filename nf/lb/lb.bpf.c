// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-lb data path: an L4 load balancer with Maglev consistent hashing.
 *
 * lb_egress (agent-egress): a packet from a local endpoint to a VIP is
 * sent to the backend its connection already uses, or to the one the
 * VIP's Maglev table gives for its flow hash; the inner destination is
 * rewritten and the core routes the packet again.
 *
 * lb_deliver (deliver): replies of backends get their source rewritten
 * back to the VIP before the client receives them. The core runs the
 * deliver hook on every delivery to a local endpoint, from the wire
 * (remote backend, tunnel frame) and on a same-host hairpin (backend on
 * the client's host, plain frame: no outer headers), so this one place
 * covers both.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>

#include "lb.h"
#include "nf_l4.h"

MZR_NF_DECLARE("mizar-lb");

/* The inner-map template, declared by sizes, not types: libbpf then
 * creates it without BTF key/value types, as the tool creates each ring
 * (bpf_map_create() without BTF). Kernels 5.15-6.1 refuse a ring whose
 * BTF-derived layout (timer_off) differs from the template's. */
struct lb_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_RING_SIZE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct lb_addr));
};

/* One Maglev table per VIP. The tool replaces a table by storing a new
 * inner map in its slot: a packet sees the old table or the new one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, __u32);
	__array(values, struct lb_ring);
} lb_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, struct lb_vip_key);
	__type(value, struct lb_vip);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_FILTER_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} lb_vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_CONN_SETS);
	__type(key, __u32);
	__type(value, struct lb_conn_set);
} lb_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct lb_flow);
	__type(value, struct lb_addr);
} lb_rconns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_VIPS * LB_MAX_BACKENDS);
	__type(key, struct lb_backend_key);
	__type(value, struct lb_rev);
} lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __LB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lb_stats SEC(".maps");

/* TCP or UDP with its ports parsed (not a later fragment). */
static __always_inline int lb_is_l4(const struct mzr_ctx *ctx)
{
	return (ctx->proto == IPPROTO_TCP || ctx->proto == IPPROTO_UDP) &&
	       ctx->inner_l3_off != MZR_OFF_NONE &&
	       ctx->inner_l4_off != MZR_OFF_NONE;
}

static __always_inline void lb_flow_of(struct lb_flow *f,
				       const struct mzr_ctx *ctx)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->vni = ctx->vni;
	f->saddr = ctx->saddr;
	f->daddr = ctx->daddr;
	f->sport = ctx->sport;
	f->dport = ctx->dport;
	f->proto = ctx->proto;
}

/* A TCP segment that opens a connection (SYN without ACK): it is placed
 * afresh even when its 5-tuple is in the table (a reused port). */
static __always_inline int lb_is_syn(struct xdp_md *xdp,
				     const struct mzr_ctx *ctx)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct tcphdr *tcp;

	if (ctx->proto != IPPROTO_TCP)
		return 0;
	tcp = data + (ctx->inner_l4_off & NF_OFF_MASK);
	if ((void *)(tcp + 1) > end)
		return 0;
	return tcp->syn && !tcp->ack;
}

/* The slot of lb_conns holding flow @f (of hash @h), its backend in
 * @be; NULL when the flow has none. */
static __always_inline struct lb_conn *lb_conn_find(const struct lb_flow *f,
						    __u32 h, struct lb_addr *be)
{
	__u32 idx = lb_conn_set_of(h);
	struct lb_conn_set *s = bpf_map_lookup_elem(&lb_conns, &idx);

	if (!s)
		return NULL;
	if (lb_conn_match(&s->way[0], f, h, be))
		return &s->way[0];
	if (lb_conn_match(&s->way[1], f, h, be))
		return &s->way[1];
	return NULL;
}

/* Place flow @f (of hash @h) on @be in its lb_conns set: in its own slot
 * (a SYN of a reused port), an empty one, or one not used since the
 * set's last eviction; both in use, the one @h picks. The survivor's
 * `ref` is cleared: it must be used again to be kept next time. */
static __always_inline void lb_conn_put(const struct lb_flow *f, __u32 h,
					const struct lb_addr *be)
{
	__u32 idx = lb_conn_set_of(h);
	struct lb_conn_set *s = bpf_map_lookup_elem(&lb_conns, &idx);
	struct lb_addr tmp;
	struct lb_conn *c;
	__u32 w;

	if (!s)
		return;
	if (lb_conn_match(&s->way[0], f, h, &tmp))
		w = 0;
	else if (lb_conn_match(&s->way[1], f, h, &tmp))
		w = 1;
	else if (!s->way[0].be.ip)
		w = 0;
	else if (!s->way[1].be.ip)
		w = 1;
	else {
		/* Both taken: the one not used since, else a hash bit. */
		w = s->way[0].ref == s->way[1].ref ? h >> 31 : s->way[0].ref;
		s->way[!(w & 1)].ref = 0;
		nf_count(&lb_stats, LB_CNT_CONN_EVICTED);
	}
	c = &s->way[w & 1];
	c->be = *be;
	c->flow = *f;
	c->check = lb_conn_check(h, be);
	c->ref = 0;
}

/*
 * Rewrite the inner destination (@dst) or source of the TCP or UDP packet
 * to @ip:@port: one RFC 1624 delta (~old + new) for the address, patched
 * into the IPv4 checksum, and with the port's into the L4 one (one fold
 * each, not one per field). A UDP checksum of 0 ("none") stays 0.
 * Returns 0, or -1 for a truncated frame.
 */
static __always_inline int lb_rewrite(struct xdp_md *xdp,
				      const struct mzr_ctx *ctx, int dst,
				      __be32 ip, __be16 port)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + (ctx->inner_l3_off & NF_OFF_MASK);
	void *l4 = data + (ctx->inner_l4_off & NF_OFF_MASK);
	__be32 *addr, old;
	__be16 *portp;
	__sum16 *check;
	__u64 d;

	if ((void *)(iph + 1) > end)
		return -1;
	if (ctx->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return -1;
		check = &tcp->check;
		portp = dst ? &tcp->dest : &tcp->source;
	} else {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > end)
			return -1;
		check = &udp->check;
		portp = dst ? &udp->dest : &udp->source;
	}
	addr = dst ? &iph->daddr : &iph->saddr;
	old = *addr;
	d = (__u16)~(old & 0xffff);
	d += (__u16)~(old >> 16);
	d += ip & 0xffff;
	d += ip >> 16;
	iph->check = ~mzr_csum_add_fold((__u16)~iph->check + d);
	if (ctx->proto == IPPROTO_TCP || *check) {
		*check = ~mzr_csum_add_fold((__u16)~*check + d +
					    (__u16)~*portp + port);
		if (ctx->proto == IPPROTO_UDP && !*check)
			*check = 0xffff; /* 0 means "no checksum" in UDP */
	}
	*addr = ip;
	*portp = port;
	return 0;
}

static __always_inline struct lb_rev *lb_rev_of(__u32 vni, __u8 proto,
						 __be32 ip, __be16 port)
{
	struct lb_backend_key bk = {
		.vni = vni, .ip = ip, .port = port, .proto = proto,
	};

	return bpf_map_lookup_elem(&lb_backends, &bk);
}

/* Whether a reply of @flow (client -> VIP), placed on @be, will find its
 * connection through lb_backends (no lb_rconns entry needed). */
static __always_inline int lb_rev_covers(const struct lb_flow *flow,
					 const struct lb_addr *be)
{
	struct lb_rev *r = lb_rev_of(flow->vni, flow->proto, be->ip, be->port);

	if (!r || r->n_vips > LB_REV_VIPS)
		return 0;
#pragma unroll
	for (__u32 i = 0; i < LB_REV_VIPS; i++)
		if (i < r->n_vips && r->vips[i].ip == flow->daddr &&
		    r->vips[i].port == flow->dport)
			return 1;
	return 0;
}

/*
 * Reply of a balanced connection (backend -> client): make it come from
 * the VIP. Its connection is the client -> VIP flow of one of the VIPs
 * lb_backends lists for the sender, whose lb_conns entry names the
 * sender; else (a backend of many VIPs) its lb_rconns entry. Returns 1
 * when it was one, 0 when not, -1 on a bad frame.
 */
static __always_inline int lb_unnat_reply(struct xdp_md *xdp,
					  struct mzr_ctx *ctx,
					  const struct lb_flow *flow)
{
	struct lb_rev *r = lb_rev_of(flow->vni, flow->proto, flow->saddr,
				     flow->sport);
	struct lb_addr vip = {}, be, *cur;
	struct lb_flow fwd;
	int found = 0;

	if (!r)
		return 0; /* not from a backend: one lookup for the rest */
	if (r->n_vips <= LB_REV_VIPS) {
		fwd = *flow;
		fwd.saddr = flow->daddr;
		fwd.sport = flow->dport;
#pragma unroll
		for (__u32 i = 0; i < LB_REV_VIPS; i++) {
			if (found || i >= r->n_vips)
				break;
			fwd.daddr = r->vips[i].ip;
			fwd.dport = r->vips[i].port;
			if (lb_conn_find(&fwd, lb_flow_hash(&fwd), &be) &&
			    be.ip == flow->saddr && be.port == flow->sport) {
				vip = r->vips[i];
				found = 1;
			}
		}
	}
	if (!found) {
		cur = bpf_map_lookup_elem(&lb_rconns, flow);
		if (!cur)
			return 0;
		vip = *cur;
	}
	if (lb_rewrite(xdp, ctx, 0, vip.ip, vip.port))
		return -1;
	ctx->saddr = vip.ip;
	ctx->sport = vip.port;
	return 1;
}

SEC("xdp")
int lb_egress(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct lb_addr be, back, *cur;
	struct lb_vip_key vk = {};
	struct lb_flow flow, rflow;
	struct lb_vip *vip;
	__u32 *n_vips, slot, h;

	if (!ctx)
		return XDP_DROP;
	if (!lb_is_l4(ctx))
		return mzr_nf_next(xdp, ctx);
	slot = lb_vip_slot(ctx->vni, ctx->daddr, ctx->dport, ctx->proto);
	n_vips = bpf_map_lookup_elem(&lb_vip_filter, &slot);
	if (!n_vips || !*n_vips)
		return mzr_nf_next(xdp, ctx); /* no VIP's: most traffic */
	lb_flow_of(&flow, ctx);
	h = lb_flow_hash(&flow);

	/* A known connection: its entry exists only while its VIP does. */
	if (!lb_is_syn(xdp, ctx)) {
		struct lb_conn *c = lb_conn_find(&flow, h, &be);

		if (c) {
			if (!c->ref) /* one write per eviction round */
				c->ref = 1;
			nf_count(&lb_stats, LB_CNT_CONN_HIT);
			goto rewrite;
		}
	}

	vk.vni = ctx->vni;
	vk.vip = ctx->daddr;
	vk.port = ctx->dport;
	vk.proto = ctx->proto;
	vip = bpf_map_lookup_elem(&lb_vips, &vk);
	if (!vip)
		return mzr_nf_next(xdp, ctx); /* another key in the slot */

	{
		__u32 ring_idx = vip->ring, rslot = lb_ring_index(h);
		void *ring = bpf_map_lookup_elem(&lb_rings, &ring_idx);

		cur = ring ? bpf_map_lookup_elem(ring, &rslot) : NULL;
		if (!cur || !cur->ip) {
			nf_count(&lb_stats, LB_CNT_NO_BACKEND);
			return mzr_nf_drop(ctx, MZR_DROP_NF);
		}
		be = *cur;
		lb_conn_put(&flow, h, &be);
		nf_count(&lb_stats, LB_CNT_NEW_CONN);
	}

	/* The reply direction, when lb_backends cannot lead the reply to
	 * this connection (a backend of many VIPs): written with the
	 * placement. A packet of a known connection does not look it up
	 * again: the replies' own lookups keep it recently used. */
	if (!lb_rev_covers(&flow, &be)) {
		rflow = flow;
		rflow.saddr = be.ip;
		rflow.sport = be.port;
		rflow.daddr = flow.saddr;
		rflow.dport = flow.sport;
		back.ip = flow.daddr;
		back.port = flow.dport;
		back.pad = 0;
		if (bpf_map_update_elem(&lb_rconns, &rflow, &back, BPF_ANY))
			nf_count(&lb_stats, LB_CNT_CONN_FULL);
	}

rewrite:
	if (lb_rewrite(xdp, ctx, 1, be.ip, be.port))
		return mzr_nf_drop(ctx, MZR_DROP_MALFORMED);
	ctx->daddr = be.ip;
	ctx->dport = be.port;
	return mzr_nf_reroute(xdp, ctx);
}

SEC("xdp")
int lb_deliver(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct lb_flow flow;
	int ret;

	if (!ctx)
		return XDP_DROP;
	if (!lb_is_l4(ctx))
		return mzr_nf_next(xdp, ctx);
	lb_flow_of(&flow, ctx);
	ret = lb_unnat_reply(xdp, ctx, &flow);
	if (ret < 0)
		return mzr_nf_drop(ctx, MZR_DROP_MALFORMED);
	if (ret > 0)
		/* No outer headers: the agent's same-host hairpin. */
		nf_count(&lb_stats, ctx->outer_l3_off == MZR_OFF_NONE ?
					    LB_CNT_REPLY_LOCAL :
					    LB_CNT_REPLY);
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "Dual BSD/GPL";
