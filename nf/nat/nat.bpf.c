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
 * A connection idle past its timeout (nat_cfg, else the defaults of
 * nat.h) is over: outside packets for it are dropped (NAT_C_EXPIRED),
 * the endpoint's next packet starts a new one. ICMP errors about a
 * connection are translated both ways (the outer header and the quoted
 * one), so that path MTU discovery and "unreachable" work through NAT.
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
#include "nat_maps.h"
#include "nat_pkt.h"
#include "nat_ct.h"

MZR_NF_DECLARE("nat");

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

/* Strip the tunnel headers of a translated packet and send it out. */
static __always_inline int nat_out_send(struct xdp_md *xdp, struct mzr_ctx *ctx)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	__u8 own_mac[6];
	__u32 l2;

	/* The tunnel came to this host's MAC on the ingress device: the
	 * address the kernel accepts a frame to be routed at. */
	if (data + 6 > end)
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);
	__builtin_memcpy(own_mac, data, 6);
	l2 = ctx->inner_l2_off & NF_OFF_MASK;
	if (bpf_xdp_adjust_head(xdp, l2))
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_ENCAP);
	return nat_send(xdp, ctx, own_mac);
}

/*
 * An endpoint's ICMP error about a packet it received on a connection
 * (e.g. "port unreachable" to a remote host): the error leaves from the
 * connection's outside address, quoting the packet as the remote sent it.
 * Returns -1 when @e is about no live connection of this endpoint.
 */
static __always_inline int nat_exit_icmp_err(struct xdp_md *xdp,
					     struct mzr_ctx *ctx,
					     struct nat_icmp_err *e)
{
	struct nat_ct_out_key ok = {
		.vni = ctx->vni,
		.ep_ip = e->q->daddr,
		.remote_ip = e->q->saddr,
		.ep_port = e->qdport,
		.remote_port = e->qsport,
		.proto = e->proto,
	};
	struct nat_ct_out_val *ov;

	if (e->iph->saddr != ok.ep_ip)
		return -1;
	ov = bpf_map_lookup_elem(&nat_ct_out, &ok);
	if (!ov || nat_out_expired(&ok, ov, bpf_ktime_get_ns()))
		return -1;
	if (e->iph->ttl <= 1)
		return nat_drop(ctx, NAT_C_TTL, MZR_DROP_TTL_EXPIRED);
	if (nat_icmp_err_rewrite(xdp, e, 0, ov->nat_ip, ov->nat_port))
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);
	nf_count(&nat_stats, NAT_C_ICMP_OUT);
	return nat_out_send(xdp, ctx);
}

/* Divider hook: a packet of VPC ctx->vni for a destination outside it. */
SEC("xdp")
int nat_exit(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	struct nat_ct_out_key ok = {};
	struct nat_ct_out_val *ov;
	struct nat_icmp_err err;
	struct nat_pkt p;
	__u64 now;
	int ret;

	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */
	/* In-VPC routing (role DIVIDER) is the core's. */
	if (ctx->role != MZR_ROLE_EXTERNAL ||
	    ctx->inner_l3_off == MZR_OFF_NONE ||
	    ctx->inner_l2_off == MZR_OFF_NONE)
		return mzr_nf_next(xdp, ctx);
	if (!nat_icmp_err_parse(xdp, ctx->inner_l3_off, &err)) {
		ret = nat_exit_icmp_err(xdp, ctx, &err);
		if (ret >= 0)
			return ret;
		goto no_rule;
	}
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
	if (ov && nat_out_expired(&ok, ov, now)) {
		/* Idle past its timeout: a new connection, under the rules
		 * of now. */
		nat_forget_out(&ok, ov);
		ov = NULL;
	}
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
	return nat_out_send(xdp, ctx);

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

/*
 * An ICMP error from outside about a packet NAT sent out (e.g. a router's
 * "fragmentation needed" for path MTU discovery): it goes to the
 * connection's endpoint, quoting the packet as the endpoint sent it.
 * Returns -1 when @e is about no connection.
 */
static __always_inline int nat_entry_icmp_err(struct xdp_md *xdp,
					      struct mzr_ctx *ctx,
					      struct nat_icmp_err *e)
{
	struct nat_ct_in_key ik = {
		.remote_ip = e->q->daddr,
		.nat_ip = e->q->saddr,
		.remote_port = e->qdport,
		.nat_port = e->qsport,
		.proto = e->proto,
	};
	struct nat_ct_in_val *iv;

	if (e->iph->daddr != ik.nat_ip)
		return -1;
	iv = bpf_map_lookup_elem(&nat_ct_in, &ik);
	if (!iv)
		return -1;
	if (nat_in_expired(&ik, iv, bpf_ktime_get_ns()))
		return nat_drop(ctx, NAT_C_EXPIRED, MZR_DROP_NF);
	if (nat_icmp_err_rewrite(xdp, e, 1, iv->ep_ip, iv->ep_port))
		return nat_drop(ctx, NAT_C_ERROR, MZR_DROP_MALFORMED);
	nf_count(&nat_stats, NAT_C_ICMP_IN);
	ctx->vni = iv->vni;
	ctx->decision = MZR_DECIDE_INJECT;
	return mzr_nf_next(xdp, ctx);
}

/* External hook: plain IPv4 arriving on the underlay. */
SEC("xdp")
int nat_entry(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct nat_dnat_key dk = {};
	struct nat_ct_in_key ik = {};
	struct nat_dnat_val *rule;
	struct nat_ct_in_val *iv;
	struct ethhdr *eth = data;
	struct nat_icmp_err err;
	struct nat_pkt p;
	__u64 now;
	int ret;

	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */
	if (ctx->hook != MZR_HOOK_EXTERNAL || (void *)(eth + 1) > end ||
	    eth->h_proto != bpf_htons(ETH_P_IP))
		return mzr_nf_next(xdp, ctx);
	if (!nat_icmp_err_parse(xdp, sizeof(*eth), &err)) {
		ret = nat_entry_icmp_err(xdp, ctx, &err);
		return ret >= 0 ? ret : mzr_nf_next(xdp, ctx);
	}
	if (nat_parse(xdp, sizeof(*eth), 0, &p))
		return mzr_nf_next(xdp, ctx);
	ik.remote_ip = p.iph->saddr;
	ik.nat_ip = p.iph->daddr;
	ik.remote_port = p.sport;
	ik.nat_port = p.dport;
	ik.proto = p.proto;
	dk.ext_ip = ik.nat_ip;
	dk.ext_port = ik.nat_port;
	dk.proto = ik.proto;
	now = bpf_ktime_get_ns();
	iv = bpf_map_lookup_elem(&nat_ct_in, &ik);
	if (iv && nat_in_expired(&ik, iv, now)) {
		/* Over: dead from outside. A DNAT rule still there opens a
		 * new connection; an SNAT mapping only its endpoint can
		 * open again. */
		if (p.proto == IPPROTO_ICMP ||
		    !bpf_map_lookup_elem(&nat_dnat, &dk))
			return nat_drop(ctx, NAT_C_EXPIRED, MZR_DROP_NF);
		nat_forget_in(&ik, iv);
		iv = NULL;
	}
	if (!iv) {
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
