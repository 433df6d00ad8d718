/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-nat data path: the packet being translated, parsed and rewritten
 * (TCP, UDP, ICMP echo), and ICMP errors with the packet they quote.
 * Included once, by nat.bpf.c.
 */
#ifndef MZR_NF_NAT_PKT_H
#define MZR_NF_NAT_PKT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>
#include <mizar/bpf/csum.h>

#include "nat.h"
#include "nf_l4.h"
#include "nat_maps.h"

/* The IPv4 packet being translated; l4 points at its TCP, UDP or ICMP
 * header, whose bounds were checked. */
struct nat_pkt {
	struct iphdr *iph;
	void *l4;
	__be16 sport;	/* ICMP echo request: the id */
	__be16 dport;	/* ICMP echo reply: the id */
	__u8 proto;
	__u8 tcp_flags;	/* FIN, RST as NAT_ST_* */
};

/*
 * Parse the IPv4 packet at @l3_off. @out: the packet leaves the VPC (an
 * ICMP echo request is translatable), else it enters it (an echo reply
 * is). Returns 0 when the packet is one NAT translates.
 */
static __always_inline int nat_parse(struct xdp_md *xdp, __u32 l3_off,
				     int out, struct nat_pkt *p)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + (l3_off & NF_OFF_MASK);
	__u8 *l4;

	if ((void *)(iph + 1) > end || iph->version != 4 || iph->ihl < 5)
		return -1;
	if (mzr_ipv4_is_fragment(iph)) {
		nf_count(&nat_stats, NAT_C_FRAGMENT);
		return -1;
	}
	l4 = (__u8 *)iph + iph->ihl * 4;
	p->iph = iph;
	p->l4 = l4;
	p->proto = iph->protocol;
	p->tcp_flags = 0;
	if (p->proto == IPPROTO_ICMP) {
		struct nf_icmp_echo *icmp = (void *)l4;

		/* Only echo requests leave, only replies come back. */
		if ((void *)(icmp + 1) > end || icmp->code ||
		    icmp->type != (out ? NF_ICMP_ECHO : NF_ICMP_ECHOREPLY))
			return -1;
	} else if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)l4;

		if ((void *)(tcp + 1) > end)
			return -1;
		if (tcp->fin)
			p->tcp_flags |= NAT_ST_FIN;
		if (tcp->rst)
			p->tcp_flags |= NAT_ST_RST;
	} else if (p->proto == IPPROTO_UDP) {
		if ((void *)((struct udphdr *)l4 + 1) > end)
			return -1;
	}
	return nf_l4_ports(l4, end, p->proto, &p->sport, &p->dport);
}

/* Rewrite the source (@src) or destination address and port of @p (for
 * ICMP, the echo id). */
static __always_inline int nat_rewrite(struct xdp_md *xdp, struct nat_pkt *p,
				       int src, __be32 ip, __be16 port)
{
	return nf_l4_rewrite(p->iph, p->l4, (void *)(long)xdp->data_end,
			     p->proto, src, ip, port);
}

#define NAT_ICMP_UNREACH 3
#define NAT_ICMP_TIME_EXCEEDED 11
#define NAT_ICMP_PARAMPROB 12

/* An ICMP error and the start of the packet it quotes, bounds checked. */
struct nat_icmp_err {
	struct iphdr *iph;	/* the error's own header */
	struct nf_icmp_echo *icmp; /* type, code, checksum (rest unused) */
	struct iphdr *q;	/* the quoted IPv4 header */
	__u8 *ql4;		/* at least 8 bytes of its L4 header */
	__be16 qsport;		/* its ports (ICMP echo: the id) */
	__be16 qdport;
	__u8 proto;		/* its protocol: TCP, UDP or ICMP echo */
};

/*
 * Parse the IPv4 packet at @l3_off as an ICMP error (unreachable, incl.
 * fragmentation needed; time exceeded; parameter problem) quoting the
 * first bytes of a TCP, UDP or ICMP echo packet (RFC 792: header + 8).
 * Returns 0 when it is one.
 */
static __always_inline int nat_icmp_err_parse(struct xdp_md *xdp,
					      __u32 l3_off,
					      struct nat_icmp_err *e)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + (l3_off & NF_OFF_MASK);
	__u8 *icmp, *q, *ql4;

	if ((void *)(iph + 1) > end || iph->version != 4 || iph->ihl < 5 ||
	    iph->protocol != IPPROTO_ICMP || mzr_ipv4_is_fragment(iph))
		return -1;
	icmp = (__u8 *)iph + ((iph->ihl * 4) & 0x3c);
	q = icmp + 8;
	if ((void *)(q + 20) > end)
		return -1;
	if (icmp[0] != NAT_ICMP_UNREACH && icmp[0] != NAT_ICMP_TIME_EXCEEDED &&
	    icmp[0] != NAT_ICMP_PARAMPROB)
		return -1;
	/* A quoted later fragment has no L4 header to match. */
	if ((q[0] >> 4) != 4 || (q[0] & 0x0f) < 5 || (q[6] & 0x1f) || q[7])
		return -1;
	ql4 = q + ((q[0] * 4) & 0x3c);
	if ((void *)(ql4 + 8) > end)
		return -1;
	e->iph = iph;
	e->icmp = (void *)icmp;
	e->q = (void *)q;
	e->ql4 = ql4;
	e->proto = q[9];
	if (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP &&
	    e->proto != IPPROTO_ICMP)
		return -1;
	return nf_l4_ports(ql4, end, e->proto, &e->qsport, &e->qdport);
}

/*
 * Translate ICMP error @e: the quoted packet's source (@inbound: it is
 * the packet NAT sent out) or destination (it is the packet the endpoint
 * received) address becomes @ip and that side's port (ICMP echo: the id)
 * @port, and the error's own destination (inbound) or source becomes
 * @ip too. Checksums are patched incrementally: the quoted IPv4 and L4
 * ones (a TCP checksum only when quoted), then the ICMP one for every
 * quoted word that changed, then the outer IPv4 one.
 */
static __always_inline int nat_icmp_err_rewrite(struct xdp_md *xdp,
						struct nat_icmp_err *e,
						int inbound, __be32 ip,
						__be16 port)
{
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = e->iph, *q = e->q;
	__u8 *l4 = e->ql4;
	__sum16 *l4sum = 0, *isum;
	__be16 *portp, old_port, old_qsum, old_l4sum = 0;
	__be32 *qaddr, *oaddr, old_ip;

	if ((void *)(iph + 1) > end || (void *)(q + 1) > end ||
	    (void *)(l4 + 8) > end || (void *)(e->icmp + 1) > end)
		return -1;
	isum = &e->icmp->checksum;
	qaddr = inbound ? &q->saddr : &q->daddr;
	oaddr = inbound ? &iph->daddr : &iph->saddr;
	old_ip = *qaddr;
	old_qsum = q->check;
	if (e->proto == IPPROTO_ICMP) {
		portp = (__be16 *)(l4 + 4);
		l4sum = (__sum16 *)(l4 + 2);
	} else {
		portp = (__be16 *)(l4 + (inbound ? 0 : 2));
		if (e->proto == IPPROTO_UDP) {
			if (*(__be16 *)(l4 + 6))
				l4sum = (__sum16 *)(l4 + 6);
		} else if ((void *)(l4 + 18) <= end) {
			l4sum = (__sum16 *)(l4 + 16);
		}
	}
	old_port = *portp;
	if (l4sum) {
		old_l4sum = *l4sum;
		if (e->proto != IPPROTO_ICMP)
			mzr_csum_replace4(l4sum, old_ip, ip);
		mzr_csum_replace2(l4sum, old_port, port);
		if (e->proto == IPPROTO_UDP && !*l4sum)
			*l4sum = 0xffff;
	}
	*portp = port;
	mzr_csum_replace4(&q->check, old_ip, ip);
	*qaddr = ip;
	mzr_csum_replace4(isum, old_ip, ip);
	mzr_csum_replace2(isum, old_port, port);
	mzr_csum_replace2(isum, old_qsum, q->check);
	if (l4sum)
		mzr_csum_replace2(isum, old_l4sum, *l4sum);
	mzr_csum_replace4(&iph->check, *oaddr, ip);
	*oaddr = ip;
	return 0;
}

#endif /* MZR_NF_NAT_PKT_H */
