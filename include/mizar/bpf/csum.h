/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Internet checksum helpers for XDP: incremental updates (RFC 1624) when a
 * field changes, and a full IPv4 header checksum for headers the program
 * builds itself.
 */
#ifndef MIZAR_BPF_CSUM_H
#define MIZAR_BPF_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

static __always_inline __u16 mzr_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Fold a 64-bit accumulator into a 16-bit one's complement sum (not
 * inverted). */
static __always_inline __u32 mzr_csum_add_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u32)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field. All values
 * as stored in the packet (network byte order). */
static __always_inline void mzr_csum_replace2(__sum16 *sum, __be16 old,
					      __be16 new)
{
	__u64 s = (__u16)~*sum;

	s += (__u16)~old;
	s += new;
	*sum = ~mzr_csum_add_fold(s);
}

/* The same for a 32-bit field (e.g. an IPv4 address). */
static __always_inline void mzr_csum_replace4(__sum16 *sum, __be32 old,
					      __be32 new)
{
	__u64 s = (__u16)~*sum;

	s += (__u16)~(old & 0xffff);
	s += (__u16)~(old >> 16);
	s += new & 0xffff;
	s += new >> 16;
	*sum = ~mzr_csum_add_fold(s);
}

/* Checksum of a 20-byte IPv4 header (no options), its check field taken as
 * zero. */
static __always_inline __sum16 mzr_ipv4_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 s = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		if (i != 5) /* the check field */
			s += w[i];
	return ~mzr_csum_add_fold(s);
}

/* Decrement an IPv4 TTL and patch the checksum, as the kernel's
 * ip_decrease_ttl(). The caller checks ttl > 1 first. */
static __always_inline void mzr_ipv4_dec_ttl(struct iphdr *iph)
{
	__u32 check = iph->check;

	check += bpf_htons(0x0100);
	iph->check = (__sum16)(check + (check >= 0xffff));
	iph->ttl--;
}

#endif /* MIZAR_BPF_CSUM_H */
