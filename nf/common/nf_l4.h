/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF-side helpers the example NFs share: their per-CPU counters, the ports
 * of a flow (ICMP echo ids standing in for them), and rewriting an address
 * and port with the IPv4 and L4 checksums patched.
 */
#ifndef MZR_NF_L4_H
#define MZR_NF_L4_H

#include <linux/types.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/csum.h>
#include <mizar/bpf/parse.h>

/* The SDK's offset mask (<mizar/bpf/parse.h>), under the name the NFs
 * use. */
#define NF_OFF_MASK MZR_OFF_MASK

#define NF_ICMP_ECHOREPLY 0
#define NF_ICMP_ECHO 8

/* ICMP echo header (<linux/icmp.h> drags libc headers into BPF). */
struct nf_icmp_echo {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 seq;
};

/* Count one at @idx of @map, a PERCPU_ARRAY of __u64. */
static __always_inline void nf_count(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		*v += 1;
}

/*
 * The ports of the TCP or UDP header at @l4 (only its first 4 bytes are
 * read: an ICMP error quotes 8), or for an ICMP echo its id standing in
 * for them: a request's in *@sport, a reply's in *@dport, the other 0, so
 * that a reply is its request's flow reversed. -1 for other protocols,
 * other ICMP and short headers.
 */
static __always_inline int nf_l4_ports(const __u8 *l4, const void *end,
				       __u8 proto, __be16 *sport,
				       __be16 *dport)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		if ((const void *)(l4 + 4) > end)
			return -1;
		__builtin_memcpy(sport, l4, 2);
		__builtin_memcpy(dport, l4 + 2, 2);
		return 0;
	}
	if (proto != IPPROTO_ICMP || (const void *)(l4 + 8) > end)
		return -1;
	if (l4[0] == NF_ICMP_ECHO) {
		__builtin_memcpy(sport, l4 + 4, 2);
		*dport = 0;
		return 0;
	}
	if (l4[0] == NF_ICMP_ECHOREPLY) {
		*sport = 0;
		__builtin_memcpy(dport, l4 + 4, 2);
		return 0;
	}
	return -1;
}

/*
 * Rewrite the source (@src) or destination address of @iph to @ip and the
 * port of its TCP or UDP header at @l4 to @port (for ICMP echo, the id),
 * patching the IPv4 and L4 checksums incrementally (RFC 1624). A UDP
 * checksum of 0 ("none") stays 0. Returns 0, or -1 for a truncated frame.
 */
static __always_inline int nf_l4_rewrite(struct iphdr *iph, void *l4,
					 void *end, __u8 proto, int src,
					 __be32 ip, __be16 port)
{
	__be32 *addr = src ? &iph->saddr : &iph->daddr;
	__be16 *portp;
	__sum16 *check;
	__be32 old_ip;

	if ((void *)(iph + 1) > end)
		return -1;
	old_ip = *addr;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return -1;
		check = &tcp->check;
		portp = src ? &tcp->source : &tcp->dest;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > end)
			return -1;
		check = &udp->check;
		portp = src ? &udp->source : &udp->dest;
	} else {
		struct nf_icmp_echo *icmp = l4;

		if ((void *)(icmp + 1) > end)
			return -1;
		/* The id is covered by the ICMP checksum alone. */
		mzr_csum_replace2(&icmp->checksum, icmp->id, port);
		icmp->id = port;
		goto ip;
	}
	if (proto != IPPROTO_UDP || *check) {
		mzr_csum_replace4(check, old_ip, ip);
		mzr_csum_replace2(check, *portp, port);
		if (proto == IPPROTO_UDP && !*check)
			*check = 0xffff; /* 0 means "no checksum" in UDP */
	}
	*portp = port;
ip:
	mzr_csum_replace4(&iph->check, old_ip, ip);
	*addr = ip;
	return 0;
}

#endif /* MZR_NF_L4_H */
