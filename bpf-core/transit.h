/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The transit's steps (docs/architecture.md, "Transit"): parse, learn,
 * the next hop and the rewrites of exec. The walk that strings them
 * together (parse -> route (a plan) -> hook -> exec, so that a hook's
 * continuation resumes at exec with the same plan) is in the entry file,
 * mizar_core.bpf.c; the roles' routes are in route.h.
 */
#ifndef MZR_CORE_TRANSIT_H
#define MZR_CORE_TRANSIT_H

#include "route.h"
/* The agent's steps: tools/bench's stage programs build both walks from
 * this header. */
#include "agent.h"

/* A transit parser's "ours, but the kernel's" (a Mizar control frame, a
 * VPC this host does not know): passed up, counted. Beside MZR_NOT_OURS
 * (<mizar/bpf/parse.h>). */
#define MZR_TO_KERNEL (-2)

/* A Mizar host this host knows: itself, or an entry of mzr_peers. */
static __always_inline int mzr_core_peer_known(const struct mzr_host_cfg *host,
					       __be32 ip)
{
	return ip == host->ip || mzr_peer_known(ip);
}

/*
 * The option walk as a global function, one per program context: the
 * verifier checks it once, on its own, instead of re-walking the rest of
 * the program for every way the loop can end. Findings go to the per-CPU
 * scratch (md). A global function has one definition: the entry file
 * (and a stand-alone object such as tools/bench's) defines each with this
 * macro.
 */
#define MZR_DEFINE_WALK_OPTIONS(name, ctx_type)                                \
	__noinline int name(ctx_type *ctx)                                     \
	{                                                                      \
		void *data = (void *)(long)ctx->data;                          \
		void *end = (void *)(long)ctx->data_end;                       \
		struct mzr_genevehdr *g = data + MZR_GENEVE_OFF;               \
		struct mzr_scratch *s = mzr_scratch();                         \
									       \
		if (!s || (void *)(g + 1) > end)                               \
			return -MZR_DROP_MALFORMED;                            \
		return mzr_geneve_walk(g, end, &s->md);                        \
	}

/* Returns 0 or minus the drop reason. */
int mzr_core_walk_options(struct xdp_md *xdp);

/*
 * The options every Mizar agent writes (encap.h, struct mzr_encap_opts):
 * RTS then FLAGS, nothing else. Recognised by two word compares, so a
 * packet from a Mizar host skips the walk (~20 ns, tools/bench breakdown);
 * anything else takes the walk, which reaches the same result for this
 * layout. Returns 1 (@p's options filled) or 0.
 */
#define MZR_OPT_WORD(type) \
	bpf_htonl((__u32)MZR_OPT_CLASS << 16 | (type) << 8 | 1)

static __always_inline int mzr_std_options(const struct mzr_genevehdr *g,
					   void *end, struct mzr_pkt *p)
{
	const struct mzr_encap_opts *o = (const void *)(g + 1);

	if ((void *)(o + 1) > end ||
	    mzr_geneve_opts_len(g) != sizeof(*o) ||
	    *(const __be32 *)&o->rts_hdr != MZR_OPT_WORD(MZR_OPT_RTS) ||
	    *(const __be32 *)&o->flags_hdr != MZR_OPT_WORD(MZR_OPT_FLAGS))
		return 0;
	p->rts = o->rts;
	p->flags = bpf_ntohl(o->flags);
	p->rts_off = MZR_GENEVE_OFF + sizeof(*g) +
		     __builtin_offsetof(struct mzr_encap_opts, rts);
	p->flags_off = MZR_GENEVE_OFF + sizeof(*g) +
		       __builtin_offsetof(struct mzr_encap_opts, flags);
	return 1;
}

/*
 * The options of @gnv as the walk left them in the scratch (@walk: its
 * reason, 0 when clean), judged as mzr_std_options() would: Geneve on our
 * port is Mizar's only with an option of our class (MZR_NOT_OURS
 * otherwise); Mizar Geneve is believed only from a Mizar host this host
 * knows (docs/security.md, rule 2: anyone on the underlay can write a
 * valid VNI). Returns 0 (@p's options filled), MZR_NOT_OURS or a drop
 * reason. Shared by the XDP and tc transits.
 */
static __always_inline int mzr_walked_options(const struct mzr_host_cfg *host,
					      const struct mzr_genevehdr *gnv,
					      void *end, struct mzr_pkt *p,
					      __u32 walk)
{
	struct mzr_scratch *scratch = mzr_scratch();
	struct mzr_geneve_md *md;

	if (!scratch)
		return MZR_DROP_MALFORMED;
	md = &scratch->md;
	if (!md->n_mizar)
		return MZR_NOT_OURS;
	if (!mzr_core_peer_known(host, p->outer_saddr))
		return MZR_DROP_UNKNOWN_PEER;
	if ((void *)(gnv + 1) + mzr_geneve_opts_len(gnv) > end)
		return MZR_DROP_MALFORMED;
	if (walk)
		return walk;
	if (md->n_unknown_crit)
		return MZR_DROP_CRIT_OPTION;
	p->rts = md->rts;
	p->flags = md->flags;
	p->rts_off = md->rts_off ? MZR_GENEVE_OFF + md->rts_off : 0;
	p->flags_off = md->flags_off ? MZR_GENEVE_OFF + md->flags_off : 0;
	return 0;
}

/*
 * The outer Ethernet, IPv4 and UDP headers of a frame for this host, up
 * to its Geneve header (XDP and tc). We only build and accept option-less,
 * unfragmented outer headers; anything else is somebody else's. Returns
 * the Geneve header (@c past the outer UDP header, @p's outer fields set)
 * or NULL: not ours.
 */
static __always_inline struct mzr_genevehdr *
mzr_parse_outer(struct mzr_cursor *c, const struct mzr_host_cfg *host,
		struct mzr_pkt *p)
{
	struct mzr_genevehdr *gnv;
	struct iphdr *iph;

	__builtin_memset(p, 0, sizeof(*p));
	p->inner_l4_off = MZR_OFF_NONE;
	if (mzr_parse_tunnel_outer(c, &iph) || iph->daddr != host->ip)
		return 0;
	p->outer_l3_off = MZR_OUTER_L3_OFF;
	p->outer_l4_off = MZR_OUTER_L4_OFF;
	p->geneve_off = MZR_GENEVE_OFF;
	p->outer_saddr = iph->saddr;
	gnv = c->pos;
	if ((void *)(gnv + 1) > c->end ||
	    mzr_geneve_version(gnv) != MZR_GENEVE_VERSION)
		return 0;
	return gnv;
}

/* mzr_fast_options(): not the standard layout, the option walk decides. */
#define MZR_WALK_NEEDED (-3)

/* The standard options (mzr_std_options()), from a Mizar host this host
 * knows (rule 2, as in mzr_walked_options()). Returns 0 (@p's options
 * filled), MZR_DROP_UNKNOWN_PEER or MZR_WALK_NEEDED. */
static __always_inline int mzr_fast_options(const struct mzr_host_cfg *host,
					    const struct mzr_genevehdr *gnv,
					    void *end, struct mzr_pkt *p)
{
	if (!mzr_std_options(gnv, end, p))
		return MZR_WALK_NEEDED;
	return mzr_core_peer_known(host, p->outer_saddr) ?
		       0 : MZR_DROP_UNKNOWN_PEER;
}

/* mzr_parse_tunnel_rest(): a Mizar control (OAM) frame, the kernel's. */
#define MZR_OAM (-4)

/*
 * After the options (XDP and tc, the frame at @start): RFC 8926 §3.4, a
 * control packet's payload is never forwarded (MZR_OAM: the kernel, a
 * control plane, may want it); then the payload type, the VNI and the
 * inner frame. Returns 0, MZR_OAM or a drop reason.
 */
static __always_inline int mzr_parse_tunnel_rest(struct mzr_cursor *c,
						 void *start,
						 const struct mzr_genevehdr *gnv,
						 struct mzr_pkt *p)
{
	if (gnv->flags & MZR_GENEVE_F_OAM)
		return MZR_OAM;
	if (gnv->proto != bpf_htons(MZR_ETH_P_TEB))
		return MZR_DROP_MALFORMED;
	c->pos = (void *)(gnv + 1) + mzr_geneve_opts_len(gnv);
	p->vni = mzr_geneve_vni(gnv);
	if (!p->vni)
		return MZR_DROP_BAD_VNI;
	return mzr_parse_inner_at(c, start, p);
}

/*
 * mzr_parse_tunnel_rest() for the transits (XDP and tc): a control frame,
 * and a frame whose VPC this host does not know and whose inner frame
 * does not parse, go to the kernel whatever they carry (a well-formed one
 * goes there from the route). Returns 0, MZR_TO_KERNEL (counted) or a
 * drop reason.
 */
static __always_inline int mzr_transit_rest(struct mzr_cursor *c, void *start,
					    const struct mzr_genevehdr *gnv,
					    struct mzr_pkt *p)
{
	int reason = mzr_parse_tunnel_rest(c, start, gnv, p);

	if (reason == MZR_OAM) {
		mzr_count(MZR_CNT_GENEVE_OAM);
		return MZR_TO_KERNEL;
	}
	if (reason && p->vni && !bpf_map_lookup_elem(&mzr_vpcs, &p->vni)) {
		mzr_count(MZR_CNT_UNKNOWN_VNI);
		return MZR_TO_KERNEL;
	}
	return reason;
}

/*
 * Parse the outer headers, Geneve and its options and the inner frame.
 * Returns MZR_GO, MZR_NOT_OURS, or a verdict. The VPC is looked up only when the
 * route needs it (mzr_transit_route()).
 *
 * Geneve on our port is Mizar's only when it carries an option of class
 * MZR_OPT_CLASS: until one is seen nothing is dropped (a version we cannot
 * parse, a frame cut short, a malformed option of another class: XDP_PASS,
 * other Geneve users keep working). A Mizar frame with bad input is
 * dropped with a reason; a Mizar control (OAM) frame goes to the kernel.
 */
static __always_inline int mzr_transit_parse(struct xdp_md *xdp,
					     const struct mzr_host_cfg *host,
					     struct mzr_pkt *p)
{
	struct mzr_genevehdr *gnv;
	struct mzr_cursor c;
	int reason;

	mzr_cursor_init(&c, xdp);
	gnv = mzr_parse_outer(&c, host, p);
	if (!gnv)
		return MZR_NOT_OURS;
	reason = mzr_fast_options(host, gnv, c.end, p);
	if (reason == MZR_WALK_NEEDED)
		reason = mzr_walked_options(host, gnv, c.end, p,
					    -mzr_core_walk_options(xdp));
	if (reason == MZR_NOT_OURS)
		return MZR_NOT_OURS;
	if (reason)
		return mzr_drop(reason);
	reason = mzr_transit_rest(&c, (void *)(long)xdp->data, gnv, p);
	if (reason == MZR_TO_KERNEL)
		return XDP_PASS;
	if (reason)
		return mzr_drop(reason);
	return MZR_GO;
}

/*
 * Per CPU, in front of mzr_direct: the senders this CPU confirmed in
 * mzr_direct within the last second (MZR_LEARN_L1_S), direct-mapped by
 * (VNI, source), so a flow's packets skip the clock and the LRU lookup
 * (~40 ns a delivery, tools/bench). A slot only ever suppresses a write
 * that would have changed nothing: another RTS host misses (a moved
 * sender is learned at once); an entry deleted from mzr_direct is learned
 * again within the second; a confirmed entry, refreshed at half its TTL,
 * is at most TTL / 2 + 1 s old while its flow lasts.
 */
#define MZR_LEARN_L1_SLOTS 1024
#define MZR_LEARN_L1_S 1

struct mzr_learn_l1 {
	__be32 ip;		/* 0: empty */
	__u32 vni;
	__be32 host;		/* the RTS host confirmed */
	__u32 seen;		/* low bits of bpf_jiffies64() */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MZR_LEARN_L1_SLOTS);
	__type(key, __u32);
	__type(value, struct mzr_learn_l1);
} mzr_learn_l1 SEC(".maps");

/* MZR_LEARN_L1_S in jiffies (fib.h). */
static __always_inline __u64 mzr_learn_l1_age(void)
{
	return mzr_age_jiffies(MZR_LEARN_L1_S);
}

_Static_assert(MZR_LEARN_L1_SLOTS == 1 << (32 - 22), "slot bits");

static __always_inline __u32 mzr_learn_l1_slot(__u32 vni, __be32 ip)
{
	return ((__u32)ip * 0x9e3779b1U ^ vni * 0x85ebca6bU) >> 22;
}

/* (VNI, inner source) -> RTS host, rewritten only when it changed or is
 * about to age out (keeps the LRU's cache lines quiet). Never from a packet
 * a divider routed: between networks Mizar routes through dividers (the
 * divider hook, the inner TTL), so no direct path crosses networks.
 * Called at delivery, after the deliver hook's chain accepted the frame;
 * the RTS is believed only when it is the outer source, a known peer
 * (docs/security.md, rule 3). */
static __always_inline void mzr_learn(const struct mzr_pkt *p)
{
	struct mzr_ep_key k = { .vni = p->vni, .ip = p->saddr };
	struct mzr_direct_val v = {}, *cur;
	struct mzr_learn_l1 *l1;
	__u32 slot;
	__u64 now, jnow;

	/* A scaled endpoint's copies share its address: no one host is
	 * "the" path to it (scaled.h); a peered packet's source is in
	 * another VPC. */
	if (p->is_arp || !p->rts ||
	    (p->flags & (MZR_F_ROUTED | MZR_F_SCALED | MZR_F_PEERED)))
		return;
	/* The outer source is a known peer: every frame reaching delivery
	 * went through mzr_transit_parse(), which checked it (rule 2). */
	if (p->rts != p->outer_saddr) {
		mzr_count(MZR_CNT_LEARN_REFUSED);
		return;
	}
	slot = mzr_learn_l1_slot(k.vni, k.ip);
	l1 = bpf_map_lookup_elem(&mzr_learn_l1, &slot);
	jnow = bpf_jiffies64();
	if (l1 && l1->ip == k.ip && l1->vni == k.vni && l1->host == p->rts &&
	    (__u32)jnow - l1->seen < mzr_learn_l1_age())
		return;
	/* A tick's precision is plenty for a 30 s TTL (coarse: half the
	 * cost of bpf_ktime_get_ns(), tools/bench breakdown). */
	now = bpf_ktime_get_coarse_ns();
	cur = bpf_map_lookup_elem(&mzr_direct, &k);
	if (!cur || cur->host != p->rts ||
	    now - cur->updated_ns >= MZR_DIRECT_TTL_NS / 2) {
		v.host = p->rts;
		v.updated_ns = now;
		bpf_map_update_elem(&mzr_direct, &k, &v, BPF_ANY);
		mzr_count(MZR_CNT_LEARNED);
	}
	if (!l1)
		return;
	/* ip written last: a program interrupting the fill on this CPU
	 * sees an empty slot. */
	l1->ip = 0;
	asm volatile("" ::: "memory");
	l1->vni = k.vni;
	l1->host = p->rts;
	l1->seen = (__u32)jnow;
	asm volatile("" ::: "memory");
	l1->ip = k.ip;
}

/* Send the rewritten tunnel packet to its next hop on the underlay, with
 * outer source @src: a forwarded packet keeps its sender's (the delivering
 * host checks the RTS against it before learning), a fresh one (@fresh:
 * new TTL) is this host's. */
static __always_inline int mzr_transit_send(struct xdp_md *xdp,
					    const struct mzr_host_cfg *host,
					    __be32 src, __be32 next, int fresh,
					    __u32 counter)
{
	struct mzr_next_hop nh;
	__u32 reason;
	int rc;

	rc = mzr_fib_next_hop(xdp, host, next, &nh);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* The same bytes as below but for the Ethernet header, up to
		 * mzr_neigh on this interface's tc ingress: it sends the
		 * frame out through the neighbour subsystem, which resolves
		 * the next hop and writes the Ethernet header. A NIC driver
		 * without XDP metadata: the kernel forwards the frame
		 * addressed to us (and decrements the TTL) instead. */
		int meta = !mzr_neigh_handoff(xdp, &nh);

		reason = mzr_outer_forward(xdp, src, next, meta && !fresh);
		if (!reason)
			reason = mzr_set_macs(xdp, host->mac, 0);
		if (reason)
			return mzr_drop(reason);
		mzr_count(counter);
		mzr_count(MZR_CNT_KERNEL_FWD);
		return XDP_PASS;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return mzr_drop(MZR_DROP_FIB);
	reason = mzr_outer_forward(xdp, src, next, !fresh);
	if (!reason)
		reason = mzr_set_macs(xdp, nh.dmac, nh.smac);
	if (reason)
		return mzr_drop(reason);
	mzr_count(counter);
	if (nh.ifindex == xdp->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(nh.ifindex, 0);
}

static __always_inline void mzr_arp_swap(struct ethhdr *eth,
					 struct mzr_arp *arp, const __u8 *mac,
					 __be32 target)
{
	__builtin_memcpy(eth->h_dest, arp->sha, 6);
	__builtin_memcpy(eth->h_source, mac, 6);
	arp->op = bpf_htons(MZR_ARP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, 6);
	arp->tpa = arp->spa;
	__builtin_memcpy(arp->sha, mac, 6);
	arp->spa = target;
}

/*
 * Turn the ARP request into the reply from plan->mac (XDP and tc): to the
 * host the request came from, never to an RTS it claims
 * (docs/security.md, rule 5), so a reply cannot be aimed at a third
 * party. A requester on this host (its agent injected the request): 0
 * with *@local its veth, the caller hands the reply straight to it. Else a
 * new packet from this host, fresh TTL and RTS this host, for the caller
 * to send to p->outer_saddr (*@local 0). Returns 0 or a drop reason.
 */
static __always_inline __u32 mzr_arp_answer(void *data, void *end,
					    const struct mzr_host_cfg *host,
					    const struct mzr_pkt *p,
					    const struct mzr_plan *plan,
					    __u32 *local)
{
	__u32 l2 = p->inner_l2_off & MZR_OFF_MASK;
	struct ethhdr *eth = data + l2;
	struct mzr_arp *arp = data + l2 + sizeof(*eth);
	struct iphdr *iph = data + MZR_OUTER_L3_OFF;
	struct mzr_ep_val *req;

	*local = 0;
	if ((void *)(arp + 1) > end || (void *)(iph + 1) > end)
		return MZR_DROP_MALFORMED;
	mzr_arp_swap(eth, arp, plan->mac, p->daddr);
	if (p->outer_saddr == host->ip) {
		req = mzr_ep_lookup(p->vni, p->saddr);
		if (!req || !(req->flags & MZR_EP_F_LOCAL))
			return MZR_DROP_NO_ENDPOINT;
		*local = req->ifindex;
		return 0;
	}
	iph->ttl = MZR_OUTER_TTL;
	iph->id = 0;
	iph->check = 0;
	iph->check = mzr_ipv4_csum(iph);
	if (p->rts_off) {
		__be32 *rts = data + (p->rts_off & MZR_OFF_MASK);

		if ((void *)(rts + 1) > end)
			return MZR_DROP_MALFORMED;
		*rts = host->ip;
	}
	return 0;
}

/* Bouncer ARP responder's reply (step 3), sent. */
static __always_inline int mzr_arp_reply(struct xdp_md *xdp,
					 const struct mzr_host_cfg *host,
					 const struct mzr_pkt *p,
					 const struct mzr_plan *plan)
{
	__u32 local, reason;

	reason = mzr_arp_answer((void *)(long)xdp->data,
				(void *)(long)xdp->data_end, host, p, plan,
				&local);
	if (!reason && local)
		reason = mzr_decap(xdp, p) ? MZR_DROP_ENCAP : 0;
	if (reason)
		return mzr_drop(reason);
	if (local) {
		mzr_count(plan->counter);
		return bpf_redirect(local, 0);
	}
	return mzr_transit_send(xdp, host, host->ip, p->outer_saddr, 1,
				plan->counter);
}

/*
 * A forwarding hop's rewrites of the frame (XDP and tc): outer TTL <= 1
 * is dropped ttl_expired; then the FLAGS option, the inner TTL of a routed
 * hop and the VNI across a peering, as @plan says. Returns 0 or a drop
 * reason.
 */
static __always_inline __u32 mzr_forward_rewrite(void *data, void *end,
						 const struct mzr_pkt *p,
						 const struct mzr_plan *plan)
{
	struct iphdr *iph = data + MZR_OUTER_L3_OFF;
	__u32 reason;

	if ((void *)(iph + 1) > end)
		return MZR_DROP_MALFORMED;
	if (iph->ttl <= 1)
		return MZR_DROP_TTL_EXPIRED;
	reason = mzr_flags_rewrite(data, end, p->flags_off, plan->set_flags,
				   plan->clear_flags);
	if (!reason && plan->dec_inner_ttl && !p->is_arp)
		reason = mzr_ipv4_dec_ttl_at(data, end,
					     p->inner_l3_off & MZR_OFF_MASK);
	/* A peered VPC's divider. */
	if (!reason && plan->vni)
		reason = mzr_geneve_set_vni(data, end, plan->vni);
	return reason;
}

/* Everything after a transit hook: shared by mzr_transit and the
 * continuations. */
static __always_inline int mzr_transit_exec(struct xdp_md *xdp,
					    const struct mzr_host_cfg *host,
					    const struct mzr_pkt *p,
					    const struct mzr_plan *plan)
{
	__u32 reason;

	switch (plan->action) {
	case MZR_ACT_DELIVER:
		mzr_learn(p);
		reason = mzr_decap(xdp, p);
		if (!reason)
			reason = mzr_set_macs(xdp, plan->mac, 0);
		if (reason)
			return mzr_drop(reason);
		mzr_count(plan->counter);
		return bpf_redirect(plan->ifindex, 0);
	case MZR_ACT_DELIVER_BYPASS:
		mzr_learn(p);
		/* The tunnel frame came addressed to this host's NIC: the
		 * endpoint's kernel accepts it only at its own MAC. */
		reason = mzr_set_macs(xdp, plan->mac, 0);
		if (reason)
			return mzr_drop(reason);
		mzr_count(plan->counter);
		return bpf_redirect(plan->ifindex, 0);
	case MZR_ACT_ARP_REPLY:
		return mzr_arp_reply(xdp, host, p, plan);
	case MZR_ACT_FORWARD:
		break;
	case MZR_ACT_EXIT:
		return mzr_drop(MZR_DROP_NO_ROUTE);
	default:
		return mzr_drop(MZR_DROP_MALFORMED);
	}

	reason = mzr_forward_rewrite((void *)(long)xdp->data,
				     (void *)(long)xdp->data_end, p, plan);
	if (reason)
		return mzr_drop(reason);
	return mzr_transit_send(xdp, host, p->outer_saddr, plan->next, 0,
				plan->counter);
}

/* Role an NF sees at each transit hook: EXTERNAL at the divider hook
 * for a packet leaving the VPC. */
static __always_inline __u8 mzr_hook_role(const struct mzr_plan *plan)
{
	if (plan->action == MZR_ACT_EXIT)
		return MZR_ROLE_EXTERNAL;
	switch (plan->hook) {
	case MZR_HOOK_BOUNCER:
		return MZR_ROLE_BOUNCER;
	case MZR_HOOK_DIVIDER:
		return MZR_ROLE_DIVIDER;
	case MZR_HOOK_DELIVER:
		return MZR_ROLE_HOST;
	default:
		return MZR_ROLE_EXTERNAL;
	}
}

/* Non-Mizar traffic: the external hook when it has a chain, else the
 * kernel. */
static __always_inline int mzr_transit_not_ours(struct xdp_md *xdp,
						struct mzr_pkt *p)
{
	int ret;

	__builtin_memset(p, 0, sizeof(*p));
	p->outer_l3_off = MZR_OFF_NONE;
	p->outer_l4_off = MZR_OFF_NONE;
	p->geneve_off = MZR_OFF_NONE;
	p->inner_l2_off = MZR_OFF_NONE;
	p->inner_l3_off = MZR_OFF_NONE;
	p->inner_l4_off = MZR_OFF_NONE;
	ret = mzr_hook(xdp, MZR_HOOK_EXTERNAL, MZR_ROLE_EXTERNAL, p, 0);
	if (ret != MZR_GO)
		return ret;
	mzr_count(MZR_CNT_TRANSIT_PASS);
	return XDP_PASS;
}

/* Whether the frame is tunnel traffic for this host (UDP 6081 to us). */
static __always_inline int mzr_is_tunnel_to_us(struct xdp_md *xdp,
					       const struct mzr_host_cfg *host)
{
	struct mzr_cursor c;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct udphdr *udp;

	mzr_cursor_init(&c, xdp);
	if (mzr_parse_ethhdr(&c, &eth) != ETH_P_IP ||
	    mzr_parse_iphdr(&c, &iph) != IPPROTO_UDP ||
	    iph->daddr != host->ip || mzr_ipv4_is_fragment(iph))
		return 0;
	return mzr_parse_udphdr(&c, &udp) == MZR_GENEVE_PORT;
}

/*
 * An external NF injected a plain IPv4 frame (e.g. NAT rewrote its
 * destination to an endpoint): encapsulate it into VPC @vni as this
 * host's agent would, addressed to this host, for the transit walk.
 */
static __always_inline int mzr_external_wrap(struct xdp_md *xdp,
					     const struct mzr_host_cfg *host,
					     __u32 vni)
{
	struct mzr_pkt p = {};
	struct mzr_cursor c;
	__u32 reason;

	if (!vni || !bpf_map_lookup_elem(&mzr_vpcs, &vni))
		return mzr_drop(MZR_DROP_BAD_VNI);
	mzr_cursor_init(&c, xdp);
	reason = mzr_parse_inner(&c, xdp, &p);
	if (!reason && p.is_arp)
		reason = MZR_DROP_ARP;
	if (!reason && mzr_too_big(host, xdp->data_end - xdp->data))
		reason = MZR_DROP_TOO_BIG;
	if (!reason)
		reason = mzr_encap_push(xdp, vni, host->ip, host->ip, 0,
					mzr_udp_sport(mzr_pkt_hash(&p)),
					host->mac, host->mac);
	if (reason)
		return mzr_drop(reason);
	return MZR_GO;
}

#endif /* MZR_CORE_TRANSIT_H */
