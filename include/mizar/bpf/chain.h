/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Running a hook's NF chain: reading the active bank, entering the chain by
 * tail call, and the accounting of a missed tail call. One implementation
 * for the core's hook points, stand-in cores in tests and mzr_nf_next()
 * (<mizar/bpf/nf.h>); the protocol is docs/nf-abi.md §1.
 */
#ifndef MIZAR_BPF_CHAIN_H
#define MIZAR_BPF_CHAIN_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/abi.h>
#include <mizar/bpf/context.h>

/* Returned by mzr_chain_enter() when the hook has no NF: go on inline. */
#define MZR_CHAIN_EMPTY (-1)

/**
 * @brief The chain of @p hook in the active bank: the bank, read once and
 * stored in @p bank, and its length (at most MZR_CHAIN_MAX; 0: no NF).
 */
static __always_inline __u32 mzr_chain_active(__u32 hook, __u32 *bank)
{
	__u32 key = MZR_CHAIN_CFG_BANK;
	__u32 *v = bpf_map_lookup_elem(&mzr_chain_cfg, &key);

	*bank = v ? *v & 1 : 0;
	key = MZR_CHAIN_CFG_LEN(*bank, hook);
	v = bpf_map_lookup_elem(&mzr_chain_cfg, &key);
	if (!v)
		return 0;
	return *v < MZR_CHAIN_MAX ? *v : MZR_CHAIN_MAX;
}

/**
 * @brief Account for a tail call that returned (an empty slot): counted as
 * drop reason MZR_DROP_MISSED_TAIL_CALL and in mzr_missed at (@p hook,
 * @p pos), where @p pos is the missing position (MZR_CHAIN_MAX: the
 * continuation).
 * @return XDP_DROP.
 */
static __always_inline int mzr_chain_missed(__u32 hook, __u32 pos)
{
	mzr_percpu_inc(&mzr_missed, MZR_MISSED_IDX(hook, pos));
	mzr_count_drop(MZR_DROP_MISSED_TAIL_CALL);
	return XDP_DROP;
}

/**
 * @brief Tail-call the first NF of @p hook's chain of @p len NFs in
 * @p bank (from mzr_chain_active()). @p ctx is filled by the caller; this
 * records hook, bank, length and position 0 in it and counts
 * MZR_CNT_NF_RUN. From there on the packet stays on @p bank, so a
 * concurrent chain update never mixes two chains.
 * @return only on a missed tail call, which is counted: XDP_DROP.
 */
static __always_inline int mzr_chain_start(struct xdp_md *xdp,
					   struct mzr_ctx *ctx, __u32 hook,
					   __u32 bank, __u32 len)
{
	ctx->hook = hook;
	ctx->chain_bank = bank;
	ctx->chain_len = len;
	ctx->chain_pos = 0;
	mzr_count(MZR_CNT_NF_RUN);
	bpf_tail_call(xdp, &mzr_progs, MZR_PROG_NF(bank, hook, 0));

	ctx->drop_reason = MZR_DROP_MISSED_TAIL_CALL;
	return mzr_chain_missed(hook, 0);
}

/**
 * @brief Run the chain of @p hook with the context @p ctx the caller
 * filled: mzr_chain_active(), then mzr_chain_start().
 * @return MZR_CHAIN_EMPTY when the hook has no NF (the caller goes on
 * inline); otherwise only on a missed tail call, which is counted: XDP_DROP.
 */
static __always_inline int mzr_chain_enter(struct xdp_md *xdp,
					   struct mzr_ctx *ctx, __u32 hook)
{
	__u32 bank, len = mzr_chain_active(hook, &bank);

	if (!len)
		return MZR_CHAIN_EMPTY;
	return mzr_chain_start(xdp, ctx, hook, bank, len);
}

#endif /* MIZAR_BPF_CHAIN_H */
