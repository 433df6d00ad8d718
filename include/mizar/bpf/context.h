/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The per-packet Mizar context as NFs see it: the accessor with its ABI
 * check, and the counters every NF may bump. Include <mizar/bpf/nf.h>
 * rather than this file; it is separate so that the core can share it.
 */
#ifndef MIZAR_BPF_CONTEXT_H
#define MIZAR_BPF_CONTEXT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/abi.h>
#include <mizar/bpf/maps.h>
#include <mizar/bpf/geneve.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/**
 * @brief Add one to counter @p idx (enum mzr_counter) of this CPU.
 */
static __always_inline void mzr_count(__u32 idx)
{
	mzr_percpu_inc(&mzr_stats, idx);
}

/**
 * @brief Count a drop under @p reason (enum mzr_drop_reason).
 */
static __always_inline void mzr_count_drop(__u32 reason)
{
	mzr_count(MZR_CNT_DROP_BASE + reason);
}

/**
 * @brief The context of the packet being processed, without any check.
 *
 * For the core, which owns the context (it resets and fills it at entry).
 * NFs use mzr_nf_ctx().
 */
static __always_inline struct mzr_ctx *mzr_ctx_raw(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mzr_ctx_map, &zero);
}

/**
 * @brief Whether the core's context @p ctx carries every field this NF was
 * built to read: the layout is append only, so a core with a newer
 * version and a longer struct serves older NFs.
 */
static __always_inline int mzr_ctx_compatible(const struct mzr_ctx *ctx)
{
	return ctx->version >= MZR_CTX_VERSION &&
	       ctx->len >= sizeof(struct mzr_ctx);
}

/**
 * @brief Enter an NF: the context of this packet, checked against the
 * version the NF was built for.
 *
 * On a version or length the NF does not understand (a core older than
 * the NF), counts MZR_DROP_NF_ABI and returns NULL: the NF must then return
 * XDP_DROP without touching the packet. (The core counts MZR_CNT_NF_RUN
 * once per chain it enters.)
 *
 * @return the per-CPU context, or NULL.
 */
static __always_inline struct mzr_ctx *mzr_nf_ctx(void)
{
	struct mzr_ctx *ctx = mzr_ctx_raw();

	if (!ctx)
		return NULL;
	if (!mzr_ctx_compatible(ctx)) {
		ctx->drop_reason = MZR_DROP_NF_ABI;
		mzr_count_drop(MZR_DROP_NF_ABI);
		return NULL;
	}
	return ctx;
}

/**
 * @brief Reset @p ctx for a new packet at @p hook in @p role, as the core
 * does before it parses (offsets absent, flow zero, scratch zero).
 */
static __always_inline void mzr_ctx_reset(struct mzr_ctx *ctx, __u8 role,
					  __u8 hook)
{
	__builtin_memset(ctx, 0, sizeof(*ctx));
	ctx->version = MZR_CTX_VERSION;
	ctx->len = sizeof(*ctx);
	ctx->role = role;
	ctx->hook = hook;
	ctx->outer_l3_off = MZR_OFF_NONE;
	ctx->outer_l4_off = MZR_OFF_NONE;
	ctx->geneve_off = MZR_OFF_NONE;
	ctx->inner_l2_off = MZR_OFF_NONE;
	ctx->inner_l3_off = MZR_OFF_NONE;
	ctx->inner_l4_off = MZR_OFF_NONE;
}

/* ---- Building a context from a tunnel frame (bypass-decap NFs) -------- */

/**
 * @brief The inner flow @p in (from mzr_parse_inner_frame_at()) into
 * @p ctx: offsets and the 5-tuple. One copy for the core's hooks and
 * mzr_tunnel_parse().
 */
static __always_inline void mzr_ctx_set_inner(struct mzr_ctx *ctx,
					      const struct mzr_inner *in)
{
	ctx->inner_l2_off = in->l2_off;
	ctx->inner_l3_off = in->l3_off;
	ctx->inner_l4_off = in->l4_off;
	ctx->saddr = in->saddr;
	ctx->daddr = in->daddr;
	ctx->sport = in->sport;
	ctx->dport = in->dport;
	ctx->proto = in->proto;
}

/* The inner frame at @c into @ctx, as the core parses it; @ctx is left
 * as it was on error. Returns 0 or the drop reason. */
static __always_inline int mzr_tunnel_parse_inner(struct mzr_cursor *c,
						  struct xdp_md *xdp,
						  struct mzr_ctx *ctx)
{
	struct mzr_inner in;
	__u32 reason = mzr_parse_inner_frame(c, xdp, &in);

	if (reason)
		return reason;
	mzr_ctx_set_inner(ctx, &in);
	return 0;
}

/**
 * @brief Parse a Mizar tunnel frame (outer Ethernet/IPv4 without options or
 * fragmentation/UDP 6081/Geneve, its options as TLVs, inner Ethernet with
 * IPv4 or ARP) into @p ctx, as the core parses it at a hook: offsets, VNI,
 * RTS, flags, inner flow (ARP: sender and target addresses; fragments:
 * no ports). For bypass-decap NFs, which receive such frames as they are.
 *
 * Built on the parsers of <mizar/bpf/parse.h> and the option walk of
 * <mizar/bpf/geneve.h> that the core uses, so the NF and the core agree:
 * up to 63 options are walked, unknown non-critical ones skipped, an
 * unknown critical one refused (RFC 8926), a Mizar RTS or FLAGS option of
 * the wrong length or an option running past the option area is a bad
 * option.
 *
 * @return 0 for a Mizar tunnel frame; MZR_NOT_OURS (-1) for any other
 * frame (not Geneve, or no option of class MZR_OPT_CLASS); otherwise the
 * enum mzr_drop_reason it should be dropped for (the core's reason). The
 * convention of every parser, <mizar/bpf/parse.h>.
 */
static __always_inline int mzr_tunnel_parse(struct xdp_md *xdp,
					    struct mzr_ctx *ctx)
{
	struct mzr_genevehdr *gnv;
	struct mzr_geneve_md md;
	struct mzr_cursor c;
	struct iphdr *iph;
	int ret;

	mzr_ctx_reset(ctx, MZR_ROLE_HOST, MZR_HOOK_DELIVER);
	ctx->ingress_ifindex = xdp->ingress_ifindex;
	mzr_cursor_init(&c, xdp);
	if (mzr_parse_tunnel_outer(&c, &iph))
		return MZR_NOT_OURS;
	ctx->outer_l3_off = MZR_OUTER_L3_OFF;
	ctx->outer_l4_off = MZR_OUTER_L4_OFF;
	ctx->geneve_off = MZR_GENEVE_OFF;

	ret = mzr_parse_genevehdr(&c, &gnv);
	if (ret < 0)
		return -ret;
	if (mzr_geneve_walk(gnv, c.end, &md))
		return MZR_DROP_BAD_OPTION;
	if (!md.n_mizar)
		return MZR_NOT_OURS;
	if (md.n_unknown_crit)
		return MZR_DROP_CRIT_OPTION;
	if (ret != MZR_ETH_P_TEB)
		return MZR_DROP_MALFORMED;
	ctx->vni = mzr_geneve_vni(gnv);
	if (!ctx->vni)
		return MZR_DROP_BAD_VNI;
	ctx->rts = md.rts;
	ctx->flags = md.flags;
	return mzr_tunnel_parse_inner(&c, xdp, ctx);
}

#endif /* MIZAR_BPF_CONTEXT_H */
