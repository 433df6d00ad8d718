/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The endpoint's TCP/UDP checksum, computed in full by the XDP agent. An
 * endpoint with checksum offload on (a container runtime's default) sends
 * CHECKSUM_PARTIAL skbs whose L4 checksum field holds only the
 * pseudo-header sum; XDP sees bytes, not that state, and an XDP_REDIRECT
 * loses it, so the receiver would drop every such segment. The whole sum
 * is computed for every frame, partial or complete: an NF at agent-egress
 * may have edited a partial frame's field (RFC 1624 on a pseudo sum), so
 * the field cannot tell which kind it holds.
 */
#ifndef MZR_CORE_L4CSUM_H
#define MZR_CORE_L4CSUM_H

#include <mizar/bpf/csum.h>
#include "pkt.h"

/* The largest chunk bpf_csum_diff() sums at once. */
#define MZR_CSUM_CHUNK 512
/* Frames up to this many bytes of L4 are summed (a 9000-byte MTU fits). */
#define MZR_CSUM_CHUNKS 18

/* A tail (< 512 bytes) is read in 64-byte blocks, one bounds check each. */
#define MZR_CSUM_BLOCK 64
#define MZR_CSUM_BLOCKS (MZR_CSUM_CHUNK / MZR_CSUM_BLOCK - 1)

/* Add the @n (constant) u32 words at offset @off to @sum when @tail has
 * bit 4 * @n: one bounds check, straight-line loads. */
#define MZR_CSUM_WORDS(n)						\
	do {								\
		if (tail & (4 * (n))) {					\
			__u32 *w = data + (off & 0x3fff);		\
									\
			mzr_barrier_var(w);				\
			if ((void *)(w + (n)) > end)			\
				return -1;				\
			_Pragma("unroll")				\
			for (int k = 0; k < (n); k++)			\
				sum += w[k];				\
			off += 4 * (n);					\
		}							\
	} while (0)

/*
 * The one's complement sum (folded, not inverted) of the @tail (< 512)
 * bytes at offset @off of the XDP frame, read in place with native u32
 * loads into a u64 (no carry to handle below 2^32 words): 64-byte blocks,
 * then 32/16/8/4 bytes by the bits of @tail, the last 1-3 bytes as one
 * zero-padded word, as bpf_csum_diff() would sum them (the helper's byte
 * order). No helper call: below 512 bytes its fixed cost is more than the
 * loads (tools/bench breakdown, "+ L4 checksum, partial"). A global
 * function: its ways through are verified once. Returns the sum or -1.
 */
__noinline int mzr_core_csum_tail(struct xdp_md *xdp, __u32 off, __u32 tail)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	__u32 w, blocks;
	__u64 sum = 0;
	__u8 *b;

	mzr_barrier_var(off);
	mzr_barrier_var(tail);
	blocks = (tail & (MZR_CSUM_CHUNK - 1)) / MZR_CSUM_BLOCK;
	for (__u32 i = 0; i < MZR_CSUM_BLOCKS; i++) {
		__u32 *wp;

		if (i >= blocks)
			break;
		wp = data + (off & 0x3fff);
		mzr_barrier_var(wp);
		if ((void *)(wp + MZR_CSUM_BLOCK / 4) > end)
			return -1;
#pragma unroll
		for (int k = 0; k < MZR_CSUM_BLOCK / 4; k++)
			sum += wp[k];
		off += MZR_CSUM_BLOCK;
	}
	MZR_CSUM_WORDS(8);
	MZR_CSUM_WORDS(4);
	MZR_CSUM_WORDS(2);
	MZR_CSUM_WORDS(1);
	if (tail & 3) {
		b = data + (off & 0x3fff);
		mzr_barrier_var(b);
		if ((void *)(b + 3) > end) {
			/* The frame ends inside this word: only the
			 * bytes the tail has are read. */
			if ((void *)(b + 1) > end || (tail & 3) > 2)
				return -1;
			w = b[0];
			if ((tail & 3) > 1) {
				if ((void *)(b + 2) > end)
					return -1;
				w |= (__u32)b[1] << 8;
			}
		} else {
			w = b[0];
			if ((tail & 3) > 1)
				w |= (__u32)b[1] << 8;
			if ((tail & 3) > 2)
				w |= (__u32)b[2] << 16;
		}
		sum += w;
	}
	return mzr_csum_add_fold(sum);
}

/*
 * Compute the TCP or UDP (@proto) checksum of the IPv4 packet whose
 * header is at @l3_off and L4 header at @l4_off of the XDP frame. A UDP
 * checksum of 0 ("none") stays 0.
 *
 * A global function: the verifier checks it once. Returns 0, or -1 for a
 * frame whose lengths do not hold.
 */
__noinline int mzr_core_l4_csum(struct xdp_md *xdp, __u32 l3_off,
				__u32 l4_off, __u32 proto)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	__u32 len, ip_len, chunks, tail, off, cs_off, pseudo;
	struct iphdr *iph;
	__sum16 *check;
	__u64 sum;

	/* Bounded for the verifier (the compiler must not fold it away). */
	mzr_barrier_var(l3_off);
	mzr_barrier_var(l4_off);
	l3_off &= MZR_OFF_MASK;
	l4_off &= MZR_OFF_MASK;
	iph = data + l3_off;
	/* One register for the check and the reads. */
	mzr_barrier_var(iph);
	if ((void *)(iph + 1) > end)
		return -1;
	ip_len = bpf_ntohs(iph->tot_len);
	if (l4_off < l3_off + 20 || l3_off + ip_len < l4_off + 8)
		return -1;
	len = l3_off + ip_len - l4_off;
	if (proto == IPPROTO_UDP) {
		/* UDP's checksum covers its own length: bytes the IP
		 * payload carries past it are not part of the datagram. */
		struct udphdr *udp = data + l4_off;
		__u32 ulen;

		mzr_barrier_var(udp);
		if ((void *)(udp + 1) > end)
			return -1;
		ulen = bpf_ntohs(udp->len);
		if (ulen < 8 || ulen > len)
			return -1;
		len = ulen;
	}
	if (len > MZR_CSUM_CHUNK * MZR_CSUM_CHUNKS)
		return -1;
	cs_off = (l4_off + (proto == IPPROTO_TCP ? 16 : 6)) & 0x3ff;
	check = data + cs_off;
	mzr_barrier_var(check);
	if ((void *)(check + 1) > end)
		return -1;
	if (proto == IPPROTO_UDP && !*check)
		return 0;
	sum = (__u64)iph->saddr + iph->daddr + bpf_htons(proto) +
	      bpf_htons(len);
	pseudo = mzr_csum_add_fold(sum);
	*check = 0;
	sum = pseudo;
	chunks = len / MZR_CSUM_CHUNK;
	off = l4_off;
	for (__u32 i = 0; i < MZR_CSUM_CHUNKS; i++) {
		void *pos;

		if (i >= chunks)
			break;
		data = (void *)(long)xdp->data;
		end = (void *)(long)xdp->data_end;
		off &= 0x3fff;
		pos = data + off;
		mzr_barrier_var(pos);
		if (pos + MZR_CSUM_CHUNK > end)
			return -1;
		sum = bpf_csum_diff(0, 0, pos, MZR_CSUM_CHUNK, sum);
		off += MZR_CSUM_CHUNK;
	}
	tail = len % MZR_CSUM_CHUNK;
	if (tail) {
		int t = mzr_core_csum_tail(xdp, off, tail);

		if (t < 0)
			return -1;
		sum += t;
	}
	data = (void *)(long)xdp->data;
	end = (void *)(long)xdp->data_end;
	check = data + cs_off;
	mzr_barrier_var(check);
	if ((void *)(check + 1) > end)
		return -1;
	*check = ~mzr_csum_add_fold(sum);
	if (proto == IPPROTO_UDP && !*check)
		*check = 0xffff;
	return 0;
}

static __always_inline int mzr_l4_csum_do(struct xdp_md *xdp,
					  const struct mzr_pkt *p)
{
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return 0;
	if (p->inner_l4_off == MZR_OFF_NONE || !p->sport)
		return 0; /* a fragment, or ports not parsed */
	return mzr_core_l4_csum(xdp, p->inner_l3_off, p->inner_l4_off,
				p->proto);
}

/* Compute the checksum of the endpoint's frame parsed in @p (TCP or UDP,
 * unfragmented), whatever its field holds: right after an NF may have
 * edited the frame. Returns 0 (also for frames it leaves alone) or -1. */
static __always_inline int mzr_l4_csum_fill(struct xdp_md *xdp,
					    const struct mzr_pkt *p)
{
	return mzr_l4_csum_do(xdp, p);
}

#endif /* MZR_CORE_L4CSUM_H */
