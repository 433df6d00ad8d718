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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_cfg);
} nat_cfg SEC(".maps");

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

#define NAT_ICMP_UNREACH 3
#define NAT_ICMP_TIME_EXCEEDED 11
#define NAT_ICMP_PARAMPROB 12

/* An ICMP error and the start of the packet it quotes, bounds checked. */
struct nat_icmp_err {
	struct iphdr *iph;	/* the error's own header */
	struct nf_icmp_echo *icmp; /* type, code, checksum (rest unused) */
	struct iphdr *q;	/* the quoted IPv4 header */
	__u8 *ql4;		/* at least 8 bytes of its L4 header */
	__be16 qsport;		/* its ports (ICMP echo: the id) */
	__be16 qdport;
	__u8 proto;		/* its protocol: TCP, UDP or ICMP echo */
};

/*
 * Parse the IPv4 packet at @l3_off as an ICMP error (unreachable, incl.
 * fragmentation needed; time exceeded; parameter problem) quoting the
 * first bytes of a TCP, UDP or ICMP echo packet (RFC 792: header + 8).
 * Returns 0 when it is one.
 */
static __always_inline int nat_icmp_err_parse(struct xdp_md *xdp,
					      __u32 l3_off,
					      struct nat_icmp_err *e)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + (l3_off & NF_OFF_MASK);
	__u8 *icmp, *q, *ql4;

	if ((void *)(iph + 1) > end || iph->version != 4 || iph->ihl < 5 ||
	    iph->protocol != IPPROTO_ICMP || mzr_ipv4_is_fragment(iph))
		return -1;
	icmp = (__u8 *)iph + ((iph->ihl * 4) & 0x3c);
	q = icmp + 8;
	if ((void *)(q + 20) > end)
		return -1;
	if (icmp[0] != NAT_ICMP_UNREACH && icmp[0] != NAT_ICMP_TIME_EXCEEDED &&
	    icmp[0] != NAT_ICMP_PARAMPROB)
		return -1;
	/* A quoted later fragment has no L4 header to match. */
	if ((q[0] >> 4) != 4 || (q[0] & 0x0f) < 5 || (q[6] & 0x1f) || q[7])
		return -1;
	ql4 = q + ((q[0] * 4) & 0x3c);
	if ((void *)(ql4 + 8) > end)
		return -1;
	e->iph = iph;
	e->icmp = (void *)icmp;
	e->q = (void *)q;
	e->ql4 = ql4;
	e->proto = q[9];
	if (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP &&
	    e->proto != IPPROTO_ICMP)
		return -1;
	return nf_l4_ports(ql4, end, e->proto, &e->qsport, &e->qdport);
}

/*
 * Translate ICMP error @e: the quoted packet's source (@inbound: it is
 * the packet NAT sent out) or destination (it is the packet the endpoint
 * received) address becomes @ip and that side's port (ICMP echo: the id)
 * @port, and the error's own destination (inbound) or source becomes
 * @ip too. Checksums are patched incrementally: the quoted IPv4 and L4
 * ones (a TCP checksum only when quoted), then the ICMP one for every
 * quoted word that changed, then the outer IPv4 one.
 */
static __always_inline int nat_icmp_err_rewrite(struct xdp_md *xdp,
						struct nat_icmp_err *e,
						int inbound, __be32 ip,
						__be16 port)
{
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = e->iph, *q = e->q;
	__u8 *l4 = e->ql4;
	__sum16 *l4sum = 0, *isum;
	__be16 *portp, old_port, old_qsum, old_l4sum = 0;
	__be32 *qaddr, *oaddr, old_ip;

	if ((void *)(iph + 1) > end || (void *)(q + 1) > end ||
	    (void *)(l4 + 8) > end || (void *)(e->icmp + 1) > end)
		return -1;
	isum = &e->icmp->checksum;
	qaddr = inbound ? &q->saddr : &q->daddr;
	oaddr = inbound ? &iph->daddr : &iph->saddr;
	old_ip = *qaddr;
	old_qsum = q->check;
	if (e->proto == IPPROTO_ICMP) {
		portp = (__be16 *)(l4 + 4);
		l4sum = (__sum16 *)(l4 + 2);
	} else {
		portp = (__be16 *)(l4 + (inbound ? 0 : 2));
		if (e->proto == IPPROTO_UDP) {
			if (*(__be16 *)(l4 + 6))
				l4sum = (__sum16 *)(l4 + 6);
		} else if ((void *)(l4 + 18) <= end) {
			l4sum = (__sum16 *)(l4 + 16);
		}
	}
	old_port = *portp;
	if (l4sum) {
		old_l4sum = *l4sum;
		if (e->proto != IPPROTO_ICMP)
			mzr_csum_replace4(l4sum, old_ip, ip);
		mzr_csum_replace2(l4sum, old_port, port);
		if (e->proto == IPPROTO_UDP && !*l4sum)
			*l4sum = 0xffff;
	}
	*portp = port;
	mzr_csum_replace4(&q->check, old_ip, ip);
	*qaddr = ip;
	mzr_csum_replace4(isum, old_ip, ip);
	mzr_csum_replace2(isum, old_port, port);
	mzr_csum_replace2(isum, old_qsum, q->check);
	if (l4sum)
		mzr_csum_replace2(isum, old_l4sum, *l4sum);
	mzr_csum_replace4(&iph->check, *oaddr, ip);
	*oaddr = ip;
	return 0;
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
