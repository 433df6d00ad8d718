// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-nat: source and destination NAT between a VPC and the underlay,
 * on a divider of the VPC.
 *
 *  - nat_exit, at the divider hook: the core runs it with role EXTERNAL
 *    for a packet whose destination is in no network of the VPC. A
 *    connection found in nat_ct_out, or a new one from an SNAT rule, gets
 *    its source rewritten; the frame is decapsulated and sent out on the
 *    underlay as plain IPv4 (FIB lookup, else the kernel routes it).
 *  - nat_entry, at the external hook (non-tunnel underlay traffic): a
 *    connection found in nat_ct_in, or a new one from a DNAT rule, gets
 *    its destination rewritten to the endpoint, and the NF asks the core
 *    to INJECT it into the connection's VPC, which encapsulates it and
 *    routes it to the endpoint.
 *
 * Everything else continues down the chain untouched.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>
#include <mizar/bpf/csum.h>
#include <mizar/bpf/parse.h>
#include <mizar/bpf/peers.h>

#include "nat.h"
#include "nf_l4.h"

MZR_NF_DECLARE("nat");

#ifndef AF_INET
#define AF_INET 2
#endif

#define NAT_NS 1000000000ULL
#define NAT_REFRESH_NS NAT_NS	/* rewrite an entry's seen_ns at most 1/s */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NAT_MAX_SNAT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat_snat_key);
	__type(value, struct nat_snat_val);
} nat_snat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NAT_MAX_DNAT);
	__type(key, struct nat_dnat_key);
	__type(value, struct nat_dnat_val);
} nat_dnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_MAX_CONN);
	__type(key, struct nat_ct_out_key);
	__type(value, struct nat_ct_out_val);
} nat_ct_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_MAX_CONN);
	__type(key, struct nat_ct_in_key);
	__type(value, struct nat_ct_in_val);
} nat_ct_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __NAT_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} nat_stats SEC(".maps");

static __always_inline int nat_drop(struct mzr_ctx *ctx, __u32 counter,
				    __u32 reason)
{
	nf_count(&nat_stats, counter);
	return mzr_nf_drop(ctx, reason);
}

/* The IPv4 packet being translated; l4 points at its TCP, UDP or ICMP
 * header, whose bounds were checked. */
struct nat_pkt {
	struct iphdr *iph;
	void *l4;
	__be16 sport;	/* ICMP echo request: the id */
	__be16 dport;	/* ICMP echo reply: the id */
	__u8 proto;
	__u8 tcp_flags;	/* FIN, RST as NAT_ST_* */
};

/*
 * Parse the IPv4 packet at @l3_off. @out: the packet leaves the VPC (an
 * ICMP echo request is translatable), else it enters it (an echo reply
 * is). Returns 0 when the packet is one NAT translates.
 */
static __always_inline int nat_parse(struct xdp_md *xdp, __u32 l3_off,
				     int out, struct nat_pkt *p)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + (l3_off & NF_OFF_MASK);
	__u8 *l4;

	if ((void *)(iph + 1) > end || iph->version != 4 || iph->ihl < 5)
		return -1;
	if (mzr_ipv4_is_fragment(iph)) {
		nf_count(&nat_stats, NAT_C_FRAGMENT);
		return -1;
	}
	l4 = (__u8 *)iph + iph->ihl * 4;
	p->iph = iph;
	p->l4 = l4;
	p->proto = iph->protocol;
	p->tcp_flags = 0;
	if (p->proto == IPPROTO_ICMP) {
		struct nf_icmp_echo *icmp = (void *)l4;

		/* Only echo requests leave, only replies come back. */
		if ((void *)(icmp + 1) > end || icmp->code ||
		    icmp->type != (out ? NF_ICMP_ECHO : NF_ICMP_ECHOREPLY))
			return -1;
	} else if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)l4;

		if ((void *)(tcp + 1) > end)
			return -1;
		if (tcp->fin)
			p->tcp_flags |= NAT_ST_FIN;
		if (tcp->rst)
			p->tcp_flags |= NAT_ST_RST;
	} else if (p->proto == IPPROTO_UDP) {
		if ((void *)((struct udphdr *)l4 + 1) > end)
			return -1;
	}
	return nf_l4_ports(l4, end, p->proto, &p->sport, &p->dport);
}

/* Rewrite the source (@src) or destination address and port of @p (for
 * ICMP, the echo id). */
static __always_inline int nat_rewrite(struct xdp_md *xdp, struct nat_pkt *p,
				       int src, __be32 ip, __be16 port)
{
	return nf_l4_rewrite(p->iph, p->l4, (void *)(long)xdp->data_end,
			     p->proto, src, ip, port);
}

static __always_inline __u64 nat_timeout(__u8 proto, __u8 state)
{
	if (proto == IPPROTO_TCP) {
		if (state & NAT_ST_RST)
			return NAT_TO_TCP_RST * NAT_NS;
		if ((state & NAT_ST_FIN) == NAT_ST_FIN)
			return NAT_TO_TCP_CLOSE * NAT_NS;
		return NAT_TO_TCP * NAT_NS;
	}
	if (proto == IPPROTO_UDP)
		return NAT_TO_UDP * NAT_NS;
	return NAT_TO_ICMP * NAT_NS;
}

/* The two halves of a connection's state, each built from the other's. */
static __always_inline struct nat_ct_out_key
nat_out_key(const struct nat_ct_in_key *ik, __u32 vni, __be32 ep_ip,
	    __be16 ep_port)
{
	struct nat_ct_out_key ok = {
		.vni = vni,
		.ep_ip = ep_ip,
		.remote_ip = ik->remote_ip,
		.ep_port = ep_port,
		.remote_port = ik->remote_port,
		.proto = ik->proto,
	};

	return ok;
}

static __always_inline struct nat_ct_out_val
nat_out_val(__be32 nat_ip, __be16 nat_port, __u8 kind, __u64 now)
{
	struct nat_ct_out_val ov = {
		.nat_ip = nat_ip,
		.nat_port = nat_port,
		.kind = kind,
		.seen_ns = now,
	};

	return ov;
}

static __always_inline struct nat_ct_in_key
nat_in_key(const struct nat_ct_out_key *ok, __be32 nat_ip, __be16 nat_port)
{
	struct nat_ct_in_key ik = {
		.remote_ip = ok->remote_ip,
		.nat_ip = nat_ip,
		.remote_port = ok->remote_port,
		.nat_port = nat_port,
		.proto = ok->proto,
	};

	return ik;
}

static __always_inline struct nat_ct_in_val
nat_in_val(__u32 vni, __be32 ep_ip, __be16 ep_port, __u8 kind, __u64 now)
{
	struct nat_ct_in_val iv = {
		.vni = vni,
		.ep_ip = ep_ip,
		.ep_port = ep_port,
		.kind = kind,
		.seen_ns = now,
	};

	return iv;
}

/*
 * Whether the connection holding port @ik->nat_port is over: idle for
 * longer than its timeout in both directions. TCP is closing once each
 * direction has sent a FIN, or either an RST.
 */
static __always_inline int nat_conn_over(const struct nat_ct_in_key *ik,
					 const struct nat_ct_in_val *iv,
					 __u64 now)
{
	struct nat_ct_out_key ok = nat_out_key(ik, iv->vni, iv->ep_ip,
					       iv->ep_port);
	struct nat_ct_out_val *ov = bpf_map_lookup_elem(&nat_ct_out, &ok);
	__u64 seen = iv->seen_ns;
	__u8 state = iv->state & NAT_ST_RST;

	if (ov && ov->nat_ip == ik->nat_ip && ov->nat_port == ik->nat_port) {
		if (ov->seen_ns > seen)
			seen = ov->seen_ns;
		state |= ov->state & NAT_ST_RST;
		if ((iv->state & NAT_ST_FIN) && (ov->state & NAT_ST_FIN))
			state |= NAT_ST_FIN;
	}
	/* seen may be a little ahead: another CPU's clock read */
	return now > seen && now - seen > nat_timeout(ik->proto, state);
}

/*
 * Reserve a source port of @ik->nat_ip for the connection @iv describes
 * (ik's remote side filled in): probe from a port chosen by the flow's
 * hash, take the first one free or held by a connection that is over.
 * Returns the port (network order) or 0.
 */
static __always_inline __be16 nat_port_alloc(struct nat_ct_in_key *ik,
					     const struct nat_ct_in_val *iv,
					     __u32 hash, __u64 now)
{
	__u32 range = NAT_PORT_MAX - NAT_PORT_MIN + 1;
	struct nat_ct_in_val *cur;

	for (__u32 i = 0; i < NAT_PORT_TRIES; i++) {
		ik->nat_port = bpf_htons(NAT_PORT_MIN + (hash + i) % range);
		if (!bpf_map_update_elem(&nat_ct_in, ik, iv, BPF_NOEXIST))
			return ik->nat_port;
		cur = bpf_map_lookup_elem(&nat_ct_in, ik);
		if (cur && nat_conn_over(ik, cur, now) &&
		    !bpf_map_update_elem(&nat_ct_in, ik, iv, BPF_EXIST))
			return ik->nat_port;
	}
	return 0;
}

/* jhash-style mix of the flow, to spread connections over the ports. */
static __always_inline __u32 nat_hash(__u32 a, __u32 b, __u32 c)
{
	a ^= b * 0x9e3779b1U;
	a = (a << 13 | a >> 19) * 5 + 0xe6546b64U;
	a ^= c * 0x85ebca6bU;
	a ^= a >> 16;
	a *= 0xc2b2ae35U;
	return a ^ (a >> 13);
}

/*
 * A new connection leaving the VPC under SNAT rule @rule: a port, then
 * both directions recorded. Returns the egress entry or NULL (counted).
 */
static __always_inline struct nat_ct_out_val *
nat_snat_new(const struct nat_ct_out_key *ok, const struct nat_snat_val *rule,
	     __u64 now)
{
	struct nat_ct_in_key ik = nat_in_key(ok, rule->to, 0);
	struct nat_ct_in_val iv = nat_in_val(ok->vni, ok->ep_ip, ok->ep_port,
					     NAT_KIND_SNAT, now);
	struct nat_ct_out_val ov = nat_out_val(rule->to, 0, NAT_KIND_SNAT, now);
	__u32 hash = nat_hash(ok->ep_ip ^ ok->vni, ok->remote_ip,
			      (__u32)ok->ep_port << 16 | ok->remote_port);

	ov.nat_port = nat_port_alloc(&ik, &iv, hash, now);
	if (!ov.nat_port) {
		nf_count(&nat_stats, NAT_C_NO_PORT);
		return NULL;
	}
	/* Another CPU may have set this connection up meanwhile: keep its
	 * mapping and give our port back. */
	if (bpf_map_update_elem(&nat_ct_out, ok, &ov, BPF_NOEXIST)) {
		bpf_map_delete_elem(&nat_ct_in, &ik);
		return bpf_map_lookup_elem(&nat_ct_out, ok);
	}
	nf_count(&nat_stats, NAT_C_SNAT_NEW);
	return bpf_map_lookup_elem(&nat_ct_out, ok);
}

/*
 * Record the TCP @flags a packet carried in an entry's *@state; whether
 * its timestamp @seen_ns is due for a refresh.
 */
static __always_inline int nat_note(__u8 *state, __u64 seen_ns, __u8 flags,
				    __u64 now)
{
	if ((*state | flags) != *state)
		*state |= flags;
	return now - seen_ns >= NAT_REFRESH_NS;
}

/*
 * Keep an egress entry alive: state bits now, the timestamp once a
 * second, and then its ingress twin: restored when the LRU evicted it
 * (that would cut the replies off). Returns -1 when the twin belongs to
 * another endpoint: this connection was idle long enough for its port to
 * be taken over, and needs a new one.
 */
static __always_inline int nat_touch_out(const struct nat_ct_out_key *ok,
					 struct nat_ct_out_val *ov,
					 __u8 flags, __u64 now)
{
	struct nat_ct_in_key ik = nat_in_key(ok, ov->nat_ip, ov->nat_port);
	struct nat_ct_in_val iv = nat_in_val(ok->vni, ok->ep_ip, ok->ep_port,
					     ov->kind, now);
	struct nat_ct_in_val *cur;

	if (!nat_note(&ov->state, ov->seen_ns, flags, now))
		return 0;
	cur = bpf_map_lookup_elem(&nat_ct_in, &ik);
	if (cur && (cur->vni != ok->vni || cur->ep_ip != ok->ep_ip ||
		    cur->ep_port != ok->ep_port))
		return -1;
	ov->seen_ns = now;
	if (!cur)
		bpf_map_update_elem(&nat_ct_in, &ik, &iv, BPF_NOEXIST);
	return 0;
}

/* The same for an ingress entry and its egress twin. */
static __always_inline void nat_touch_in(const struct nat_ct_in_key *ik,
					 struct nat_ct_in_val *iv,
					 __u8 flags, __u64 now)
{
	struct nat_ct_out_key ok = nat_out_key(ik, iv->vni, iv->ep_ip,
					       iv->ep_port);
	struct nat_ct_out_val ov = nat_out_val(ik->nat_ip, ik->nat_port,
					       iv->kind, now);

	if (!nat_note(&iv->state, iv->seen_ns, flags, now))
		return;
	iv->seen_ns = now;
	bpf_map_update_elem(&nat_ct_out, &ok, &ov, BPF_NOEXIST);
}

/*
 * Send the decapsulated frame out: the FIB gives the next hop (this NF is
 * a router hop: TTL - 1); when it cannot (neighbour unresolved, a local
 * or unroutable destination, too big for the route), the kernel of this
 * host routes it, which works when the frame came in on the device the
 * FIB names (@own_mac is that device's address).
 */
static __always_inline int nat_send(struct xdp_md *xdp, struct mzr_ctx *ctx,
				    const __u8 *own_mac)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	struct bpf_fib_lookup f = {};
	int rc;

	if ((void *)(iph + 1) > end)
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);
	/* A tenant never reaches a Mizar host or a protected underlay
	 * prefix through SNAT (docs/security.md, rule 4). */
	if (mzr_underlay_check(iph->daddr))
		return mzr_nf_drop(ctx, MZR_DROP_TO_UNDERLAY);
	f.family = AF_INET;
	f.tos = iph->tos;
	f.l4_protocol = iph->protocol;
	f.tot_len = bpf_ntohs(iph->tot_len);
	f.ipv4_src = iph->saddr;
	f.ipv4_dst = iph->daddr;
	f.ifindex = xdp->ingress_ifindex;
	rc = bpf_fib_lookup(xdp, &f, sizeof(f), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		mzr_ipv4_dec_ttl(iph);
		__builtin_memcpy(eth->h_dest, f.dmac, 6);
		__builtin_memcpy(eth->h_source, f.smac, 6);
		nf_count(&nat_stats, NAT_C_TX);
		if (f.ifindex == xdp->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(f.ifindex, 0);
	}
	if (f.ifindex != xdp->ingress_ifindex)
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_FIB);
	__builtin_memcpy(eth->h_dest, own_mac, 6);
	__builtin_memcpy(eth->h_source, own_mac, 6);
	nf_count(&nat_stats, NAT_C_KERNEL);
	return XDP_PASS;
}

/* Divider hook: a packet of VPC ctx->vni for a destination outside it. */
SEC("xdp")
int nat_exit(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct nat_ct_out_key ok = {};
	struct nat_ct_out_val *ov;
	struct nat_pkt p;
	__u8 own_mac[6];
	__u64 now;
	void *data, *end;
	__u32 l2;

	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */
	/* In-VPC routing (role DIVIDER) is the core's. */
	if (ctx->role != MZR_ROLE_EXTERNAL ||
	    ctx->inner_l3_off == MZR_OFF_NONE ||
	    ctx->inner_l2_off == MZR_OFF_NONE)
		return mzr_nf_next(xdp, ctx);
	if (nat_parse(xdp, ctx->inner_l3_off, 1, &p))
		goto no_rule;
	ok.vni = ctx->vni;
	ok.ep_ip = p.iph->saddr;
	ok.remote_ip = p.iph->daddr;
	ok.ep_port = p.sport;
	ok.remote_port = p.dport;
	ok.proto = p.proto;
	now = bpf_ktime_get_ns();
	ov = bpf_map_lookup_elem(&nat_ct_out, &ok);
	if (ov && nat_touch_out(&ok, ov, p.tcp_flags, now)) {
		/* Its port went to another connection: start afresh. */
		bpf_map_delete_elem(&nat_ct_out, &ok);
		ov = NULL;
	}
	if (!ov) {
		struct nat_snat_key rk = {
			.prefixlen = 64,
			.vni = bpf_htonl(ctx->vni),
			.addr = ok.ep_ip,
		};
		struct nat_snat_val *rule = bpf_map_lookup_elem(&nat_snat, &rk);

		if (!rule)
			goto no_rule;
		ov = nat_snat_new(&ok, rule, now);
		if (!ov)
			return mzr_nf_drop(ctx, MZR_DROP_NF);
		ov->state |= p.tcp_flags;
	}
	if (p.iph->ttl <= 1)
		return nat_drop(ctx, NAT_C_TTL, MZR_DROP_TTL_EXPIRED);
	nf_count(&nat_stats, ov->kind == NAT_KIND_DNAT ? NAT_C_DNAT_OUT :
						       NAT_C_SNAT_OUT);
	if (nat_rewrite(xdp, &p, 1, ov->nat_ip, ov->nat_port))
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);

	/* The tunnel came to this host's MAC on the ingress device: the
	 * address the kernel accepts a frame to be routed at. */
	data = (void *)(long)xdp->data;
	end = (void *)(long)xdp->data_end;
	if (data + 6 > end)
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);
	__builtin_memcpy(own_mac, data, 6);
	l2 = ctx->inner_l2_off & NF_OFF_MASK;
	if (bpf_xdp_adjust_head(xdp, l2))
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_ENCAP);
	return nat_send(xdp, ctx, own_mac);

no_rule:
	nf_count(&nat_stats, NAT_C_NO_RULE);
	return mzr_nf_next(xdp, ctx);
}

/* A new connection to a DNAT rule's address: both directions recorded.
 * Returns the ingress entry or NULL. */
static __always_inline struct nat_ct_in_val *
nat_dnat_new(const struct nat_ct_in_key *ik, const struct nat_dnat_val *rule,
	     __u64 now)
{
	struct nat_ct_out_key ok = nat_out_key(ik, rule->vni, rule->ip,
					       rule->port);
	struct nat_ct_out_val ov = nat_out_val(ik->nat_ip, ik->nat_port,
					       NAT_KIND_DNAT, now);
	struct nat_ct_in_val iv = nat_in_val(rule->vni, rule->ip, rule->port,
					     NAT_KIND_DNAT, now);

	/* The endpoint's side may exist: this connection's (its ingress
	 * entry was evicted), or an SNAT connection of the same endpoint
	 * port to the same remote, which wins. */
	if (bpf_map_update_elem(&nat_ct_out, &ok, &ov, BPF_NOEXIST)) {
		struct nat_ct_out_val *cur;

		cur = bpf_map_lookup_elem(&nat_ct_out, &ok);
		if (!cur || cur->kind != NAT_KIND_DNAT ||
		    cur->nat_ip != ik->nat_ip || cur->nat_port != ik->nat_port)
			return NULL;
	}
	if (bpf_map_update_elem(&nat_ct_in, ik, &iv, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&nat_ct_in, ik)) {
		bpf_map_delete_elem(&nat_ct_out, &ok);
		return NULL;
	}
	nf_count(&nat_stats, NAT_C_DNAT_NEW);
	return bpf_map_lookup_elem(&nat_ct_in, ik);
}

/* External hook: plain IPv4 arriving on the underlay. */
SEC("xdp")
int nat_entry(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct nat_ct_in_key ik = {};
	struct nat_ct_in_val *iv;
	struct ethhdr *eth = data;
	struct nat_pkt p;
	__u64 now;

	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */
	if (ctx->hook != MZR_HOOK_EXTERNAL || (void *)(eth + 1) > end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) ||
	    nat_parse(xdp, sizeof(*eth), 0, &p))
		return mzr_nf_next(xdp, ctx);
	ik.remote_ip = p.iph->saddr;
	ik.nat_ip = p.iph->daddr;
	ik.remote_port = p.sport;
	ik.nat_port = p.dport;
	ik.proto = p.proto;
	now = bpf_ktime_get_ns();
	iv = bpf_map_lookup_elem(&nat_ct_in, &ik);
	if (!iv) {
		struct nat_dnat_key dk = {
			.ext_ip = ik.nat_ip,
			.ext_port = ik.nat_port,
			.proto = ik.proto,
		};
		struct nat_dnat_val *rule;

		if (p.proto == IPPROTO_ICMP)
			return mzr_nf_next(xdp, ctx);
		rule = bpf_map_lookup_elem(&nat_dnat, &dk);
		if (!rule)
			return mzr_nf_next(xdp, ctx);
		iv = nat_dnat_new(&ik, rule, now);
		if (!iv)
			return mzr_nf_next(xdp, ctx);
	}
	nat_touch_in(&ik, iv, p.tcp_flags, now);
	nf_count(&nat_stats, iv->kind == NAT_KIND_DNAT ? NAT_C_DNAT_IN :
						       NAT_C_SNAT_IN);
	if (nat_rewrite(xdp, &p, 0, iv->ep_ip, iv->ep_port))
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);
	/* The core encapsulates it into the VPC and routes it to the
	 * endpoint (its bouncer, or this host's veth). */
	ctx->vni = iv->vni;
	ctx->decision = MZR_DECIDE_INJECT;
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "Dual BSD/GPL";
