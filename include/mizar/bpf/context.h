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

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Value of an absent offset in struct mzr_ctx. */
#define MZR_OFF_NONE 0xffff

/**
 * @brief Add one to counter @p idx (enum mzr_counter) of this CPU.
 */
static __always_inline void mzr_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&mzr_stats, &idx);

	if (v)
		*v += 1; /* per-CPU: no other writer */
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

#define MZR_TUNNEL_MAX_OPTS 8 /* options walked before giving up */

/**
 * @brief Parse a Mizar tunnel frame (outer Ethernet/IPv4/UDP 6081/Geneve,
 * options as TLVs, inner Ethernet/IPv4 or ARP) into @p ctx, as the core
 * would: offsets, VNI, RTS, flags, inner 5-tuple. For bypass-decap NFs,
 * which receive such frames as they are.
 *
 * Unknown non-critical options are skipped; an unknown critical one is
 * refused, as RFC 8926 wants.
 *
 * @return 0 for a Mizar tunnel frame; -1 for any other frame (not Geneve,
 * or no option of class MZR_OPT_CLASS); otherwise the enum
 * mzr_drop_reason it should be dropped for.
 */
static __always_inline int mzr_tunnel_parse(struct xdp_md *xdp,
					    struct mzr_ctx *ctx)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	__u8 *p = data, *l2, *ip, *l4;
	__u32 off, opts_end, iph, i;
	int mizar = 0;

	mzr_ctx_reset(ctx, MZR_ROLE_HOST, MZR_HOOK_DELIVER);
	ctx->ingress_ifindex = xdp->ingress_ifindex;
	/* Outer Ethernet + IPv4 without options + UDP + Geneve base. */
	if (data + 14 + 20 + 8 + 8 > end)
		return -1;
	if (p[12] != 0x08 || p[13] != 0x00 || p[14] != 0x45 || p[23] != 17)
		return -1;
	if ((p[20] & 0x3f) || p[21]) /* fragments */
		return -1;
	if (p[36] != (MZR_GENEVE_PORT >> 8) || p[37] != (MZR_GENEVE_PORT & 0xff))
		return -1;
	ctx->outer_l3_off = 14;
	ctx->outer_l4_off = 34;
	ctx->geneve_off = 42;
	if ((p[42] >> 6) != MZR_GENEVE_VERSION)
		return MZR_DROP_GENEVE_VERSION;
	if (p[44] != (MZR_ETH_P_TEB >> 8) || p[45] != (MZR_ETH_P_TEB & 0xff))
		return -1;
	ctx->vni = ((__u32)p[46] << 16) | ((__u32)p[47] << 8) | p[48];
	opts_end = 50 + (p[42] & 0x3f) * 4;

	off = 50;
	for (i = 0; i < MZR_TUNNEL_MAX_OPTS; i++) {
		__u8 *o, type, len;
		__u16 cls;

		if (off >= opts_end)
			break;
		o = p + (off & 0x1ff); /* bounded for the verifier */
		if ((void *)(o + 8) > end)
			return MZR_DROP_BAD_OPTION;
		cls = ((__u16)o[0] << 8) | o[1];
		type = o[2];
		len = (o[3] & 0x1f) * 4;
		if (off + 4 + len > opts_end)
			return MZR_DROP_BAD_OPTION;
		if (cls == MZR_OPT_CLASS) {
			mizar = 1;
			if (type == MZR_OPT_RTS && len == 4)
				__builtin_memcpy(&ctx->rts, o + 4, 4);
			else if (type == MZR_OPT_FLAGS && len == 4)
				ctx->flags = ((__u32)o[4] << 24) |
					     ((__u32)o[5] << 16) |
					     ((__u32)o[6] << 8) | o[7];
			else if (type & MZR_OPT_CRITICAL)
				return MZR_DROP_CRIT_OPTION;
		} else if (type & MZR_OPT_CRITICAL) {
			return MZR_DROP_CRIT_OPTION;
		}
		off += 4 + len;
	}
	if (off < opts_end)
		return MZR_DROP_BAD_OPTION; /* more options than we walk */
	if (!mizar)
		return -1;
	if (!ctx->vni)
		return MZR_DROP_BAD_VNI;

	/* Inner Ethernet, then IPv4 (5-tuple) or ARP (offsets only). */
	off = opts_end & 0x1ff;
	ctx->inner_l2_off = off;
	l2 = p + off;
	if ((void *)(l2 + 14) > end)
		return MZR_DROP_MALFORMED;
	if (l2[12] == 0x08 && l2[13] == 0x06)
		return 0;
	if (l2[12] != 0x08 || l2[13] != 0x00)
		return MZR_DROP_NOT_IPV4;
	ip = l2 + 14;
	ctx->inner_l3_off = off + 14;
	if ((void *)(ip + 20) > end)
		return MZR_DROP_MALFORMED;
	iph = (ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || iph < 20)
		return MZR_DROP_MALFORMED;
	ctx->proto = ip[9];
	__builtin_memcpy(&ctx->saddr, ip + 12, 4);
	__builtin_memcpy(&ctx->daddr, ip + 16, 4);
	if ((ctx->proto == 6 || ctx->proto == 17) &&
	    !((ip[6] & 0x1f) | ip[7])) {
		l4 = ip + iph;
		ctx->inner_l4_off = off + 14 + iph;
		if ((void *)(l4 + 4) > end)
			return MZR_DROP_MALFORMED;
		__builtin_memcpy(&ctx->sport, l4, 2);
		__builtin_memcpy(&ctx->dport, l4 + 2, 2);
	}
	return 0;
}

#endif /* MIZAR_BPF_CONTEXT_H */
