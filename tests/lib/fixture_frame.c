// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Frame descriptions built into bytes with pktbuild.h; see fixture.h. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mizar/abi.h>

const uint8_t frame_mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
const uint8_t frame_mac_zero[6];

const struct frame_world *frame_world;

#define ETH_HDR 14
#define IPV4_HDR 20
#define TRAILER_BYTE 0xee

static void __attribute__((noreturn)) bad(const char *why)
{
	fprintf(stderr, "frame_build: %s\n", why);
	abort();
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static size_t l4_len(const struct frame *f)
{
	if ((f->frag_off & 0x1fff) != 0) /* a later fragment: no L4 header */
		return 0;
	switch (f->proto) {
	case 17:
		return 8;
	case 6:
		return 20;
	case 1:
		return 8;
	default:
		return 0;
	}
}

/* Pattern bytes: .payload, or what pads the frame to .len bytes. */
static size_t pad_len(const struct frame *f, size_t hdr)
{
	if (!f->len)
		return f->payload;
	if (f->len < hdr)
		bad("len shorter than the headers");
	return f->len - hdr;
}

static void build_ipv4(struct pkt *p, const struct frame *f)
{
	struct pkt_ipv4_opts o = { .ttl = f->ttl, .tos = f->tos,
				   .frag_off = f->frag_off, .ihl = f->ihl };
	size_t ihl = f->ihl ? f->ihl : 5;
	struct pkt q;

	if (!f->dmac || !f->smac)
		bad("an IPv4 frame without .dmac or .smac");
	pkt_eth(p, f->dmac, f->smac, PKT_ETH_P_IPV4);
	pkt_ipv4(p, f->src, f->dst, f->proto, &o);
	if (l4_len(f)) {
		switch (f->proto) {
		case 17:
			pkt_udp(p, f->sport, f->dport);
			break;
		case 6:
			pkt_tcp(p, f->sport, f->dport, f->seq, f->ack,
				f->tcp_flags);
			break;
		case 1:
			pkt_icmp(p, f->type, f->code,
				 f->mtu ? f->mtu :
					  (uint32_t)f->id << 16 | f->echo_seq);
			break;
		}
	}
	if (f->quote) {
		frame_build(&q, f->quote);
		pkt_payload(p, q.data + ETH_HDR,
			    (size_t)(q.data[ETH_HDR] & 0xf) * 4 + f->quote_l4);
	}
	if (pad_len(f, ETH_HDR + ihl * 4 + l4_len(f)))
		pkt_payload_pattern(p, pad_len(f, ETH_HDR + ihl * 4 +
						      l4_len(f)));
	pkt_finish(p);
	if (f->trailer) {
		/* IP bytes past the datagram: tot_len grows, L4 stays. */
		uint8_t *ip = p->data + ETH_HDR;
		uint16_t tot = (uint16_t)((ip[2] << 8 | ip[3]) + f->trailer);
		uint16_t c;

		if (p->len + f->trailer > PKT_MAX)
			bad("trailer too long");
		memset(p->data + p->len, TRAILER_BYTE, f->trailer);
		p->len += f->trailer;
		put16(ip + 2, tot);
		put16(ip + 10, 0);
		c = (uint16_t)~pkt_csum_fold(pkt_csum_add(0, ip, ihl * 4));
		put16(ip + 10, c);
	}
}

static void build_geneve(struct pkt *p, const struct frame *f)
{
	const struct frame_world *w = frame_world;
	struct pkt_ipv4_opts o = { .ttl = f->ttl, .tos = f->tos,
				   .frag_off = f->frag_off, .ihl = f->ihl };
	const uint8_t *dmac = f->dmac, *smac = f->smac;
	uint32_t dst = f->dst;
	uint16_t sport = f->sport;
	struct pkt inner;

	pkt_init(&inner);
	if (f->inner)
		frame_build(&inner, f->inner);
	if (w && w->resolve_ip)
		dst = w->resolve_ip(dst, &inner);
	if (f->flow_sport) {
		if (!w || !w->flow_sport)
			bad(".flow_sport without a world");
		sport = w->flow_sport(&inner);
	}
	if (!dmac || !smac) {
		if (!w)
			bad("GENEVE without MACs nor a world");
		if (!dmac)
			dmac = w->mac_of(dst);
		if (!smac)
			smac = dst == w->self ? w->mac_of(f->src) : w->self_mac;
	}

	pkt_eth(p, dmac, smac, PKT_ETH_P_IPV4);
	pkt_ipv4(p, f->src, dst, 17, &o);
	pkt_udp_nocsum(p, sport, PKT_GENEVE_PORT);
	pkt_geneve(p, f->vni, 0);
	if (f->opts[0].cls) {
		for (int i = 0; i < FRAME_MAX_OPTS && f->opts[i].cls; i++) {
			const struct frame_opt *op = &f->opts[i];

			if (op->data || op->raw)
				pkt_geneve_opt(p, op->cls, op->type, op->data,
					       op->len);
			else
				pkt_geneve_opt_u32(p, op->cls, op->type,
						   op->val);
		}
	} else if (!f->no_opts) {
		pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_RTS,
				   f->rts ? f->rts : f->src);
		if (!f->no_flags_opt)
			pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_FLAGS,
					   f->flags);
	}
	if (inner.len)
		pkt_payload(p, inner.data, inner.len);
	pkt_finish(p);
}

static void apply_patches(struct pkt *p, const struct frame *f)
{
	for (int i = 0; i < FRAME_MAX_PATCHES && f->patch[i].op; i++) {
		const struct frame_patch *pa = &f->patch[i];
		long off = pkt_layer_off(p, pa->layer, pa->nth);
		uint8_t *b;

		if (off < 0 || (size_t)off + pa->off >= p->len)
			bad("patch outside the frame");
		b = p->data + off + pa->off;
		switch (pa->op) {
		case PATCH_SET:
			*b = pa->val;
			break;
		case PATCH_XOR:
			*b ^= pa->val;
			break;
		case PATCH_OR:
			*b |= pa->val;
			break;
		default:
			bad("unknown patch");
		}
	}
}

void frame_build(struct pkt *p, const struct frame *f)
{
	pkt_init(p);
	switch (f->kind) {
	case FRAME_IPV4:
		build_ipv4(p, f);
		break;
	case FRAME_ARP:
		if (!f->dmac || !f->smac)
			bad("an ARP frame without .smac");
		pkt_eth(p, f->dmac, f->smac, PKT_ETH_P_ARP);
		pkt_arp(p, f->op, f->sha ? f->sha : f->smac, f->src,
			f->tha ? f->tha : frame_mac_zero, f->dst);
		pkt_finish(p);
		break;
	case FRAME_ETH:
		if (!f->dmac || !f->smac)
			bad("an Ethernet frame without .dmac or .smac");
		pkt_eth(p, f->dmac, f->smac, f->ethertype);
		if (pad_len(f, ETH_HDR))
			pkt_payload_pattern(p, pad_len(f, ETH_HDR));
		pkt_finish(p);
		break;
	case FRAME_GENEVE:
		build_geneve(p, f);
		break;
	case FRAME_RAW: {
		static const uint8_t zeros[PKT_MAX];

		if (f->nbytes)
			pkt_payload(p, f->bytes ? f->bytes : zeros, f->nbytes);
		break;
	}
	case FRAME_PKT:
		pkt_copy(p, f->pkt);
		break;
	default:
		bad("no frame kind");
	}
	apply_patches(p, f);
	if (f->cut)
		pkt_truncate(p, f->cut);
}
