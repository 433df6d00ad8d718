/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Geneve (RFC 8926) for XDP: the base header parser and a bounded TLV walk
 * of its options that collects Mizar's metadata (class MZR_OPT_CLASS).
 * Layout in docs/wire-format.md.
 */
#ifndef MIZAR_BPF_GENEVE_H
#define MIZAR_BPF_GENEVE_H

#include <mizar/abi.h>
#include <mizar/bpf/parse.h>

/* Geneve base header; bit fields kept as bytes to stay endian-neutral. */
struct mzr_genevehdr {
	__u8 ver_optlen;	/* version (2 bits), option length (6 bits) */
	__u8 flags;		/* O (0x80), C (0x40), reserved */
	__be16 proto;		/* protocol type, MZR_ETH_P_TEB */
	__u8 vni[3];
	__u8 rsvd;
};

#define MZR_GENEVE_F_OAM 0x80
#define MZR_GENEVE_F_CRITICAL 0x40
#define MZR_GENEVE_OPTS_MAX 252 /* 6-bit length in 4-byte words */

/* One option TLV header; data (4 * len bytes) follows. */
struct mzr_geneve_opt {
	__be16 opt_class;
	__u8 type;		/* MZR_OPT_CRITICAL | type */
	__u8 len;		/* 3 reserved bits, length (5 bits, words) */
};

static __always_inline __u32 mzr_geneve_version(const struct mzr_genevehdr *g)
{
	return g->ver_optlen >> 6;
}

/* Length of the options in bytes. */
static __always_inline __u32 mzr_geneve_opts_len(const struct mzr_genevehdr *g)
{
	return (g->ver_optlen & 0x3f) * 4;
}

static __always_inline __u32 mzr_geneve_vni(const struct mzr_genevehdr *g)
{
	return (__u32)g->vni[0] << 16 | (__u32)g->vni[1] << 8 | g->vni[2];
}

/* Geneve base header plus its options (the cursor lands on the inner
 * frame). Returns the protocol type, -MZR_DROP_MALFORMED when the header
 * or its option area is truncated,
 * -MZR_DROP_GENEVE_VERSION for a version other than 0. */
static __always_inline int mzr_parse_genevehdr(struct mzr_cursor *c,
					       struct mzr_genevehdr **gnv)
{
	struct mzr_genevehdr *g = c->pos;
	__u32 olen;

	if ((void *)(g + 1) > c->end)
		return -MZR_DROP_MALFORMED;
	if (mzr_geneve_version(g) != MZR_GENEVE_VERSION)
		return -MZR_DROP_GENEVE_VERSION;
	olen = mzr_geneve_opts_len(g);
	if ((void *)(g + 1) + olen > c->end)
		return -MZR_DROP_MALFORMED;
	c->pos = (void *)(g + 1) + olen;
	*gnv = g;
	return bpf_ntohs(g->proto);
}

/* What the option walk found. Offsets are from the Geneve header to the
 * option's data, 0 when the option is absent. */
struct mzr_geneve_md {
	__be32 rts;		/* MZR_OPT_RTS: sender's host */
	__u32 flags;		/* MZR_OPT_FLAGS, host byte order */
	__u16 rts_off;
	__u16 flags_off;
	/* 1 when seen, not counts: a count would give the verifier one
	 * state per value and a walk inlined into an NF would not verify. */
	__u8 n_mizar;		/* an option of class MZR_OPT_CLASS */
	__u8 n_unknown_crit;	/* an unknown critical option (any class) */
	__u16 pad;
};

/*
 * Walk the options of @g as TLVs (never by position). Options of our class
 * with a known type are decoded, other non-critical options skipped,
 * unknown critical ones counted (RFC 8926: the receiver drops the packet if
 * it is the tunnel endpoint). Returns 0, or -MZR_DROP_BAD_OPTION when an
 * option runs past the option area or the frame, or a known option has a
 * wrong length. @end is the end of the frame: every read is checked
 * against it, so the option area may run past it (a truncated frame).
 * On error @md keeps what was seen before, n_mizar included (an option
 * whose class field is in the frame counts as seen even when its length is
 * bad): a frame with no Mizar option is not Mizar's to drop.
 */
static __always_inline int mzr_geneve_walk(const struct mzr_genevehdr *g,
					   void *end, struct mzr_geneve_md *md)
{
	void *opts = (void *)(g + 1);
	__u32 total = mzr_geneve_opts_len(g);
	__u32 off = 0;

	__builtin_memset(md, 0, sizeof(*md));
	/* Each option takes at least 4 bytes: at most 63 iterations. */
	for (int i = 0; i < MZR_GENEVE_OPTS_MAX / 4; i++) {
		struct mzr_geneve_opt *o;
		__u32 olen;

		if (off >= total || off >= MZR_GENEVE_OPTS_MAX)
			break;
		o = opts + off;
		if ((void *)(o + 1) > end)
			return -MZR_DROP_BAD_OPTION;
		if (o->opt_class == bpf_htons(MZR_OPT_CLASS))
			md->n_mizar = 1;
		olen = sizeof(*o) + (o->len & 0x1f) * 4;
		if (off + olen > total)
			return -MZR_DROP_BAD_OPTION;
		if (o->opt_class == bpf_htons(MZR_OPT_CLASS)) {
			if (o->type == MZR_OPT_RTS ||
			    o->type == MZR_OPT_FLAGS) {
				__be32 *v = (void *)(o + 1);

				if (olen != sizeof(*o) + 4 ||
				    (void *)(v + 1) > end)
					return -MZR_DROP_BAD_OPTION;
				if (o->type == MZR_OPT_RTS) {
					md->rts = *v;
					md->rts_off = sizeof(*g) + off + 4;
				} else {
					md->flags = bpf_ntohl(*v);
					md->flags_off = sizeof(*g) + off + 4;
				}
			} else if (o->type & MZR_OPT_CRITICAL) {
				md->n_unknown_crit = 1;
			}
		} else if (o->type & MZR_OPT_CRITICAL) {
			md->n_unknown_crit = 1;
		}
		off += olen;
	}
	return 0;
}

#endif /* MIZAR_BPF_GENEVE_H */
