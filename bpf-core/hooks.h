/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hook points: run the active bank's NF chain of a hook by tail call, with
 * the per-packet context filled in, or fall through inline when the chain
 * is empty. The chain's last NF tail-calls the hook's continuation
 * (mzr_cont_*), which resumes from the plan saved here.
 */
#ifndef MZR_CORE_HOOKS_H
#define MZR_CORE_HOOKS_H

#include "pkt.h"
#include <mizar/bpf/chain.h>

enum mzr_action {
	MZR_ACT_DELIVER = 1,	/* decapsulate to a local endpoint */
	MZR_ACT_DELIVER_BYPASS,	/* hand the tunnel packet to the endpoint */
	MZR_ACT_ARP_REPLY,	/* answer the ARP request to the sender */
	MZR_ACT_FORWARD,	/* rewrite the outer header to plan->next */
	MZR_ACT_EXIT,		/* divider: leaves the VPC; no_route unless
				 * a divider NF takes it (NAT) */
	MZR_ACT_HAIRPIN,	/* agent: same-host endpoint, plain frame to
				 * plan->ifindex with plan->mac */
};

#define MZR_HOOK_NONE __MZR_HOOK_MAX
#define MZR_HOOK_BIT(hook) (1U << (hook))

/* Every hook, and MZR_HOOK_NONE, fits in these bits. */
#define MZR_HOOK_MASK 7
_Static_assert(MZR_HOOK_NONE <= MZR_HOOK_MASK, "hooks fit MZR_HOOK_MASK");

/* MZR_HOOK_BIT() of a hook read from a map (a saved plan): masked, so
 * the verifier sees a shift it accepts. */
static __always_inline __u32 mzr_hook_bit(__u32 hook)
{
	return MZR_HOOK_BIT(hook & MZR_HOOK_MASK);
}

static __always_inline struct mzr_plan *mzr_plan_get(void)
{
	struct mzr_scratch *s = mzr_scratch();

	return s ? &s->plan : 0;
}

static __always_inline void mzr_ctx_fill(struct mzr_ctx *c,
					 struct xdp_md *xdp, __u8 hook,
					 __u8 role, __u32 bank, __u32 len,
					 const struct mzr_pkt *p)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->version = MZR_CTX_VERSION;
	c->len = sizeof(*c);
	c->role = role;
	c->hook = hook;
	c->vni = p->vni;
	c->outer_l3_off = p->outer_l3_off;
	c->outer_l4_off = p->outer_l4_off;
	c->geneve_off = p->geneve_off;
	c->inner_l2_off = p->inner_l2_off;
	c->inner_l3_off = p->inner_l3_off;
	c->inner_l4_off = p->inner_l4_off;
	c->saddr = p->saddr;
	c->daddr = p->daddr;
	c->sport = p->sport;
	c->dport = p->dport;
	c->proto = p->proto;
	c->chain_bank = bank;
	c->chain_len = len;
	c->rts = p->rts;
	c->flags = p->flags;
	c->ingress_ifindex = xdp->ingress_ifindex;
}

/* A tail call that returned: the slot was empty. Counted twice: as a drop
 * reason and at its (hook, position) in mzr_missed (<mizar/bpf/chain.h>). */
static __always_inline int mzr_missed_tail_call(__u32 hook, __u32 pos)
{
	return mzr_chain_missed(hook, pos);
}

/*
 * Enter @hook: counted at the hook point (MZR_CNT_HOOK(), one per-CPU
 * increment whether or not the chain is empty). Returns MZR_GO when its
 * chain is empty (the caller goes on inline), otherwise does not return
 * unless the tail call fails, which is a counted drop.
 */
static __always_inline int mzr_hook(struct xdp_md *xdp, __u8 hook, __u8 role,
				    const struct mzr_pkt *p,
				    const struct mzr_plan *plan)
{
	__u32 bank, len;
	struct mzr_plan *saved;
	struct mzr_ctx *c;

	mzr_count(MZR_CNT_HOOK(hook));
	mzr_trace_note_hook(hook, p->vni, p->daddr);
	len = mzr_chain_active(hook, &bank);
	if (!len)
		return MZR_GO;
	c = mzr_ctx_raw();
	saved = mzr_plan_get();
	if (!c || !saved)
		return mzr_drop(MZR_DROP_MISSED_TAIL_CALL);
	mzr_ctx_fill(c, xdp, hook, role, bank, len, p);
	if (plan)
		*saved = *plan;
	return mzr_chain_start(xdp, c, hook, bank, len);
}

#endif /* MZR_CORE_HOOKS_H */
