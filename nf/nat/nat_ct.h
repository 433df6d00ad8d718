/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-nat data path: connection tracking, the nat_ct_out and nat_ct_in
 * entries of a connection (keys, timeouts, expiry, port allocation,
 * refresh). Included once, by nat.bpf.c.
 */
#ifndef MZR_NF_NAT_CT_H
#define MZR_NF_NAT_CT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>
#include <mizar/bpf/csum.h>

#include "nat.h"
#include "nf_l4.h"
#include "nat_maps.h"

/* Timeout @kind in ns: the operator's (nat_cfg), else @dflt seconds. */
static __always_inline __u64 nat_to(__u32 kind, __u32 dflt)
{
	__u32 zero = 0, sec = dflt;
	struct nat_cfg *cfg = bpf_map_lookup_elem(&nat_cfg, &zero);

	if (cfg && kind < __NAT_TK_MAX && cfg->timeout_sec[kind])
		sec = cfg->timeout_sec[kind];
	return (__u64)sec * NAT_NS;
}

static __always_inline __u64 nat_timeout(__u8 proto, __u8 state)
{
	if (proto == IPPROTO_TCP) {
		if (state & NAT_ST_RST)
			return nat_to(NAT_TK_TCP_RST, NAT_TO_TCP_RST);
		if ((state & NAT_ST_FIN) == NAT_ST_FIN)
			return nat_to(NAT_TK_TCP_CLOSE, NAT_TO_TCP_CLOSE);
		return nat_to(NAT_TK_TCP, NAT_TO_TCP);
	}
	if (proto == IPPROTO_UDP)
		return nat_to(NAT_TK_UDP, NAT_TO_UDP);
	return nat_to(NAT_TK_ICMP, NAT_TO_ICMP);
}

/* The shortest timeout a connection of @proto can have: an entry seen
 * more recently than that is alive whatever its twin says. */
static __always_inline __u64 nat_timeout_min(__u8 proto)
{
	__u64 t = nat_timeout(proto, 0), u;

	if (proto == IPPROTO_TCP) {
		u = nat_timeout(proto, NAT_ST_FIN);
		if (u < t)
			t = u;
		u = nat_timeout(proto, NAT_ST_RST);
		if (u < t)
			t = u;
	}
	return t;
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
static __always_inline int nat_over(__u8 proto,
				    const struct nat_ct_in_val *iv,
				    const struct nat_ct_out_val *ov, __u64 now)
{
	__u64 seen = 0;
	__u8 state = 0;

	if (iv) {
		seen = iv->seen_ns;
		state |= iv->state & NAT_ST_RST;
	}
	if (ov) {
		if (ov->seen_ns > seen)
			seen = ov->seen_ns;
		state |= ov->state & NAT_ST_RST;
	}
	if (iv && ov && (iv->state & NAT_ST_FIN) && (ov->state & NAT_ST_FIN))
		state |= NAT_ST_FIN;
	/* seen may be a little ahead: another CPU's clock read */
	return now > seen && now - seen > nat_timeout(proto, state);
}

static __always_inline int nat_conn_over(const struct nat_ct_in_key *ik,
					 const struct nat_ct_in_val *iv,
					 __u64 now)
{
	struct nat_ct_out_key ok = nat_out_key(ik, iv->vni, iv->ep_ip,
					       iv->ep_port);
	struct nat_ct_out_val *ov = bpf_map_lookup_elem(&nat_ct_out, &ok);

	if (ov && (ov->nat_ip != ik->nat_ip || ov->nat_port != ik->nat_port))
		ov = NULL;
	return nat_over(ik->proto, iv, ov, now);
}

/* The same seen from the egress entry. */
static __always_inline int nat_conn_over_out(const struct nat_ct_out_key *ok,
					     const struct nat_ct_out_val *ov,
					     __u64 now)
{
	struct nat_ct_in_key ik = nat_in_key(ok, ov->nat_ip, ov->nat_port);
	struct nat_ct_in_val *iv = bpf_map_lookup_elem(&nat_ct_in, &ik);

	if (iv && (iv->vni != ok->vni || iv->ep_ip != ok->ep_ip ||
		   iv->ep_port != ok->ep_port))
		iv = NULL;
	return nat_over(ok->proto, iv, ov, now);
}

/* nat_conn_over() for a packet's lookup: an entry stamped within the
 * shortest timeout is alive without a look at its twin. */
static __always_inline int nat_in_expired(const struct nat_ct_in_key *ik,
					  const struct nat_ct_in_val *iv,
					  __u64 now)
{
	if ((__s64)(now - iv->seen_ns) <= (__s64)nat_timeout_min(ik->proto))
		return 0;
	return nat_conn_over(ik, iv, now);
}

static __always_inline int nat_out_expired(const struct nat_ct_out_key *ok,
					   const struct nat_ct_out_val *ov,
					   __u64 now)
{
	if ((__s64)(now - ov->seen_ns) <= (__s64)nat_timeout_min(ok->proto))
		return 0;
	return nat_conn_over_out(ok, ov, now);
}

/* Forget a connection that is over, both halves (the other half only
 * while it still belongs to it). */
static __always_inline void nat_forget_in(const struct nat_ct_in_key *ik,
					  const struct nat_ct_in_val *iv)
{
	struct nat_ct_out_key ok = nat_out_key(ik, iv->vni, iv->ep_ip,
					       iv->ep_port);
	struct nat_ct_out_val *ov = bpf_map_lookup_elem(&nat_ct_out, &ok);

	if (ov && ov->nat_ip == ik->nat_ip && ov->nat_port == ik->nat_port)
		bpf_map_delete_elem(&nat_ct_out, &ok);
	bpf_map_delete_elem(&nat_ct_in, ik);
}

static __always_inline void nat_forget_out(const struct nat_ct_out_key *ok,
					   const struct nat_ct_out_val *ov)
{
	struct nat_ct_in_key ik = nat_in_key(ok, ov->nat_ip, ov->nat_port);
	struct nat_ct_in_val *iv = bpf_map_lookup_elem(&nat_ct_in, &ik);

	if (iv && iv->vni == ok->vni && iv->ep_ip == ok->ep_ip &&
	    iv->ep_port == ok->ep_port)
		bpf_map_delete_elem(&nat_ct_in, &ik);
	bpf_map_delete_elem(&nat_ct_out, ok);
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
	if (cur)
		cur->seen_ns = now;
	else
		bpf_map_update_elem(&nat_ct_in, &ik, &iv, BPF_NOEXIST);
	return 0;
}

/*
 * The same for an ingress entry and its egress twin. Only a DNAT
 * connection (the outside opened it) is kept alive from outside: an SNAT
 * mapping lives as long as its endpoint uses it (RFC 4787 REQ-6, outbound
 * refresh), so a remote host cannot hold it open on its own. Its twin is
 * still restored, with the stamp it had.
 */
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
	if (iv->kind == NAT_KIND_DNAT) {
		iv->seen_ns = now;
	} else {
		/* The endpoint's packets restamp iv about once a second:
		 * look for a lost twin only once it has been silent. */
		if (now - iv->seen_ns < 4 * NAT_REFRESH_NS ||
		    bpf_map_lookup_elem(&nat_ct_out, &ok))
			return;
		ov.seen_ns = iv->seen_ns;
	}
	bpf_map_update_elem(&nat_ct_out, &ok, &ov, BPF_NOEXIST);
}

#endif /* MZR_NF_NAT_CT_H */
