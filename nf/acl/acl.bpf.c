// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-acl: a stateful network ACL for the endpoints of this host, run at
 * agent-egress (what they send) and deliver (what they are about to
 * receive). A packet of a tracked connection passes; otherwise the VPC's
 * rules decide, first match in ascending prio, else the VPC's default; an
 * allowed packet starts a tracked connection, whose replies then pass.
 * ARP is not subject to the ACL. See docs/nf-acl.md.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>

#include "acl.h"
#include "nf_l4.h"

MZR_NF_DECLARE("acl");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_ACL_MAX_VPCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mzr_acl_set);
} acl_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MZR_ACL_CT_SIZE);
	__type(key, struct mzr_acl_ct_key);
	__type(value, struct mzr_acl_ct_val);
} acl_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MZR_ACL_FRAG_SIZE);
	__type(key, struct mzr_acl_frag_key);
	__type(value, struct mzr_acl_frag_val);
} acl_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MZR_ACL_HITS_SIZE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mzr_acl_hit_key);
	__type(value, __u64);
} acl_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __MZR_ACL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} acl_stats SEC(".maps");

/* A packet's flow as the rules see it; ports in network order. */
struct acl_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

static __always_inline void acl_hit(__u32 vni, __u32 prio)
{
	struct mzr_acl_hit_key k = { .vni = vni, .prio = prio };
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&acl_hits, &k);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&acl_hits, &k, &one, BPF_NOEXIST);
}

/* Index of the first rule of @set matching @f, or -1. With @any_port,
 * the first rule that @f matches whatever its port (a later fragment's
 * port is unknown). */
static __always_inline int acl_match(const struct mzr_acl_set *set,
				     const struct acl_flow *f, int any_port)
{
	__u16 dport = bpf_ntohs(f->dport);
	__u32 i, n = set->n;

	for (i = 0; i < MZR_ACL_MAX_RULES; i++) {
		const struct mzr_acl_rule *r;

		if (i >= n)
			break;
		r = &set->rules[i];
		if ((f->saddr & r->src_mask) != r->src ||
		    (f->daddr & r->dst_mask) != r->dst)
			continue;
		if (r->proto != MZR_ACL_PROTO_ANY && r->proto != f->proto)
			continue;
		if (!any_port && (dport < r->dport_lo || dport > r->dport_hi))
			continue;
		return i;
	}
	return -1;
}

/* The action of @set for @f; counts the deciding rule (or the default)
 * when @count. */
static __always_inline __u8 acl_decide(const struct mzr_acl_set *set,
				       __u32 vni, const struct acl_flow *f,
				       int count)
{
	int i = acl_match(set, f, 0);

	if (i >= 0 && i < MZR_ACL_MAX_RULES) {
		if (count)
			acl_hit(vni, set->rules[i].prio);
		return set->rules[i].action;
	}
	if (count)
		acl_hit(vni, MZR_ACL_HIT_DEFAULT);
	return set->dflt;
}

/* Both directions of @f share one key; *@orig_lo says which way @f goes. */
static __always_inline void acl_ct_key(struct mzr_acl_ct_key *k, __u32 vni,
				       const struct acl_flow *f, __u8 *orig_lo)
{
	int fwd = f->saddr < f->daddr ||
		  (f->saddr == f->daddr && f->sport <= f->dport);

	__builtin_memset(k, 0, sizeof(*k));
	k->vni = vni;
	k->proto = f->proto;
	if (fwd) {
		k->lo_addr = f->saddr;
		k->lo_port = f->sport;
		k->hi_addr = f->daddr;
		k->hi_port = f->dport;
	} else {
		k->lo_addr = f->daddr;
		k->lo_port = f->dport;
		k->hi_addr = f->saddr;
		k->hi_port = f->sport;
	}
	*orig_lo = fwd;
}

/* The first packet's flow of a tracked connection. */
static __always_inline void acl_ct_orig(const struct mzr_acl_ct_key *k,
					const struct mzr_acl_ct_val *v,
					struct acl_flow *f)
{
	f->proto = k->proto;
	if (v->orig_lo) {
		f->saddr = k->lo_addr;
		f->sport = k->lo_port;
		f->daddr = k->hi_addr;
		f->dport = k->hi_port;
	} else {
		f->saddr = k->hi_addr;
		f->sport = k->hi_port;
		f->daddr = k->lo_addr;
		f->dport = k->lo_port;
	}
}

static __always_inline int acl_ct_fresh(const struct mzr_acl_ct_key *k,
					const struct mzr_acl_ct_val *v,
					__u64 now)
{
	__u64 idle = k->proto == IPPROTO_TCP ? MZR_ACL_CT_TCP_NS :
		     k->proto == IPPROTO_UDP ? MZR_ACL_CT_UDP_NS :
					       MZR_ACL_CT_OTHER_NS;

	/* Signed: another CPU may have stamped it just after we read the
	 * clock, and that entry is as fresh as can be. */
	return (__s64)(now - v->seen_ns) < (__s64)idle;
}

static __always_inline void acl_ct_touch(struct mzr_acl_ct_val *v, __u64 now)
{
	/* A write per packet would bounce the cache line between CPUs. */
	if ((__s64)(now - v->seen_ns) > (__s64)MZR_ACL_CT_REFRESH_NS)
		v->seen_ns = now;
}

/*
 * An ICMP error (unreachable, time exceeded, ...) quoting a packet of a
 * tracked connection passes, so that path MTU discovery and "port
 * unreachable" work through a default deny. The quoted packet was sent by
 * the error's destination. Returns 1 when it is such an error.
 */
static __always_inline int acl_icmp_related(const struct mzr_acl_set *set,
					    __u32 vni, __u8 *icmp,
					    void *end, __be32 to, __u64 now)
{
	struct mzr_acl_ct_val *v;
	struct mzr_acl_ct_key k;
	struct acl_flow q = {};
	__u8 *ip = icmp + 8, *l4;
	__u8 orig_lo;
	__u32 ihl;

	if ((void *)(ip + 20) > end)
		return 0;
	ihl = (ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20)
		return 0;
	q.proto = ip[9];
	__builtin_memcpy(&q.saddr, ip + 12, 4);
	__builtin_memcpy(&q.daddr, ip + 16, 4);
	if (q.saddr != to)
		return 0;
	l4 = ip + (ihl & 0x3c);
	if (nf_l4_ports(l4, end, q.proto, &q.sport, &q.dport))
		return 0;
	acl_ct_key(&k, vni, &q, &orig_lo);
	v = bpf_map_lookup_elem(&acl_ct, &k);
	return v && v->gen == set->gen && acl_ct_fresh(&k, v, now);
}

/*
 * The verdict on flow @f of a packet that is no ICMP error about a tracked
 * connection: its tracked connection, else the rules (an allowed flow
 * starts a tracked connection). 1 pass, 0 deny; counted.
 */
static __always_inline int acl_judge(const struct mzr_acl_set *set,
				     __u32 vni, const struct acl_flow *f,
				     __u64 now)
{
	struct mzr_acl_ct_val *ct, nv = {};
	struct mzr_acl_ct_key k;
	__u8 orig_lo;

	acl_ct_key(&k, vni, f, &orig_lo);
	ct = bpf_map_lookup_elem(&acl_ct, &k);
	if (ct && acl_ct_fresh(&k, ct, now)) {
		if (ct->gen == set->gen) {
			acl_ct_touch(ct, now);
			nf_count(&acl_stats, MZR_ACL_CNT_CT_PASS);
			return 1;
		}
		/* The policy changed since the connection was allowed:
		 * judge its first packet again under the new rules. */
		{
			struct acl_flow o;

			acl_ct_orig(&k, ct, &o);
			if (acl_decide(set, vni, &o, 0) == MZR_ACL_ALLOW) {
				ct->gen = set->gen;
				acl_ct_touch(ct, now);
				nf_count(&acl_stats, MZR_ACL_CNT_REVALIDATED);
				return 1;
			}
		}
		bpf_map_delete_elem(&acl_ct, &k);
		nf_count(&acl_stats, MZR_ACL_CNT_REVOKED);
	}

	if (acl_decide(set, vni, f, 1) != MZR_ACL_ALLOW) {
		nf_count(&acl_stats, MZR_ACL_CNT_DENY);
		return 0;
	}
	nv.seen_ns = now;
	nv.gen = set->gen;
	nv.orig_lo = orig_lo;
	bpf_map_update_elem(&acl_ct, &k, &nv, BPF_ANY);
	nf_count(&acl_stats, MZR_ACL_CNT_ALLOW);
	return 1;
}

static __always_inline void acl_frag_key(struct mzr_acl_frag_key *k,
					 __u32 vni, const struct acl_flow *f,
					 __be16 id)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->vni = vni;
	k->saddr = f->saddr;
	k->daddr = f->daddr;
	k->id = id;
	k->proto = f->proto;
}

/* Remember the verdict on a datagram's first fragment for the rest. */
static __always_inline void acl_frag_note(__u32 vni, const struct acl_flow *f,
					  __be16 id, int pass, __u64 now)
{
	struct mzr_acl_frag_val v = {
		.seen_ns = now,
		.action = pass ? MZR_ACL_ALLOW : MZR_ACL_DENY,
	};
	struct mzr_acl_frag_key k;

	acl_frag_key(&k, vni, f, id);
	bpf_map_update_elem(&acl_frags, &k, &v, BPF_ANY);
}

/*
 * The verdict on a later fragment (no ports): its first fragment's, when
 * that was judged here in the last MZR_ACL_FRAG_NS; else the rules', when
 * no rule with a port range could decide it (the port would not matter).
 * 1 pass, 0 deny, -1 unknown (the first fragment unseen, and its ports
 * could have mattered). Counted.
 */
static __always_inline int acl_frag_later(const struct mzr_acl_set *set,
					  __u32 vni, const struct acl_flow *f,
					  __be16 id, __u64 now)
{
	struct mzr_acl_frag_val *v;
	struct mzr_acl_frag_key k;
	int i;

	acl_frag_key(&k, vni, f, id);
	v = bpf_map_lookup_elem(&acl_frags, &k);
	if (v && (__s64)(now - v->seen_ns) < (__s64)MZR_ACL_FRAG_NS) {
		nf_count(&acl_stats, MZR_ACL_CNT_FRAG_FOLLOW);
		return v->action == MZR_ACL_ALLOW;
	}
	i = acl_match(set, f, 1);
	if (i >= 0 && i < MZR_ACL_MAX_RULES &&
	    (set->rules[i].dport_lo != 0 || set->rules[i].dport_hi != 65535)) {
		nf_count(&acl_stats, MZR_ACL_CNT_FRAG_UNKNOWN);
		return -1;
	}
	if (acl_decide(set, vni, f, 1) != MZR_ACL_ALLOW) {
		nf_count(&acl_stats, MZR_ACL_CNT_DENY);
		return 0;
	}
	return 1;
}

static __always_inline int acl_run(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	const struct mzr_acl_set *set;
	struct acl_flow f = {};
	struct mzr_ctx *ctx;
	__u8 *eth, *ip, *l4;
	int frag, later, pass;
	__be16 id;
	__u64 now;
	__u32 vni;

	ctx = mzr_nf_ctx();
	if (!ctx)
		return XDP_DROP; /* ABI mismatch, already counted */
	vni = ctx->vni;
	set = bpf_map_lookup_elem(&acl_sets, &vni);
	if (!set) {
		nf_count(&acl_stats, MZR_ACL_CNT_NO_POLICY);
		return mzr_nf_next(xdp, ctx);
	}

	/* The core parsed the inner frame already; these checks only prove
	 * it to the verifier. */
	if (ctx->inner_l2_off == MZR_OFF_NONE ||
	    ctx->inner_l3_off == MZR_OFF_NONE)
		return mzr_nf_drop(xdp, ctx, MZR_DROP_MALFORMED);
	eth = data + (ctx->inner_l2_off & NF_OFF_MASK);
	if ((void *)(eth + 14) > end)
		return mzr_nf_drop(xdp, ctx, MZR_DROP_MALFORMED);
	if (eth[12] != 0x08 || eth[13] != 0x00) {
		nf_count(&acl_stats, MZR_ACL_CNT_NOT_IP);
		return mzr_nf_next(xdp, ctx);
	}
	ip = data + (ctx->inner_l3_off & NF_OFF_MASK);
	if ((void *)(ip + 20) > end)
		return mzr_nf_drop(xdp, ctx, MZR_DROP_MALFORMED);
	frag = (ip[6] & 0x3f) || ip[7];
	later = (ip[6] & 0x1f) || ip[7];
	__builtin_memcpy(&id, ip + 4, 2);

	f.saddr = ctx->saddr;
	f.daddr = ctx->daddr;
	f.proto = ctx->proto;
	f.sport = ctx->sport;
	f.dport = ctx->dport;
	now = bpf_ktime_get_ns();

	if (later) {
		/* No ports here: the datagram's first fragment decides. */
		nf_count(&acl_stats, MZR_ACL_CNT_FRAGMENT);
		pass = acl_frag_later(set, vni, &f, id, now);
		if (pass < 0)
			return mzr_nf_drop(xdp, ctx, MZR_DROP_FRAGMENT);
		goto verdict;
	}
	if (frag) {
		/* The first fragment carries the L4 header (the core leaves
		 * a fragment's ports 0): judge it by its real ports. One too
		 * short to hold them cannot be judged (RFC 1858). */
		nf_count(&acl_stats, MZR_ACL_CNT_FRAGMENT);
		if ((f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP ||
		     f.proto == IPPROTO_ICMP) &&
		    ctx->inner_l4_off != MZR_OFF_NONE) {
			l4 = data + (ctx->inner_l4_off & NF_OFF_MASK);
			if (nf_l4_ports(l4, end, f.proto, &f.sport, &f.dport) &&
			    f.proto != IPPROTO_ICMP)
				return mzr_nf_drop(xdp, ctx, MZR_DROP_FRAGMENT);
		}
		pass = acl_judge(set, vni, &f, now);
		acl_frag_note(vni, &f, id, pass, now);
		goto verdict;
	}
	if (f.proto == IPPROTO_ICMP && ctx->inner_l4_off != MZR_OFF_NONE) {
		l4 = data + (ctx->inner_l4_off & NF_OFF_MASK);
		if ((void *)(l4 + 8) > end)
			return mzr_nf_drop(xdp, ctx, MZR_DROP_MALFORMED);
		switch (l4[0]) {
		case NF_ICMP_ECHO:
		case NF_ICMP_ECHOREPLY:
			nf_l4_ports(l4, end, f.proto, &f.sport, &f.dport);
			break;
		case ICMP_DEST_UNREACH:
		case ICMP_SOURCE_QUENCH:
		case ICMP_TIME_EXCEEDED:
		case ICMP_PARAMETERPROB:
			if (acl_icmp_related(set, vni, l4, end, f.daddr,
					     now)) {
				nf_count(&acl_stats, MZR_ACL_CNT_RELATED);
				return mzr_nf_next(xdp, ctx);
			}
			break;
		}
	}
	pass = acl_judge(set, vni, &f, now);
verdict:
	if (!pass)
		return mzr_nf_drop(xdp, ctx, MZR_DROP_NF);
	return mzr_nf_next(xdp, ctx);
}

/* What local endpoints send, before encapsulation. */
SEC("xdp")
int acl_egress(struct xdp_md *xdp)
{
	return acl_run(xdp);
}

/* What local endpoints are about to receive, still encapsulated. */
SEC("xdp")
int acl_deliver(struct xdp_md *xdp)
{
	return acl_run(xdp);
}

char _license[] SEC("license") = "Dual BSD/GPL";
