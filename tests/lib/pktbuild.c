// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Packet builder for tests; see pktbuild.h. */
#include "pktbuild.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_LEN 14
#define IPV4_LEN 20
#define UDP_LEN 8
#define TCP_LEN 20
#define ICMP_LEN 8
#define ARP_LEN 28
#define GENEVE_LEN 8
#define GENEVE_OPT_MAX 124 /* 5-bit length field in 4-byte words */
#define GENEVE_OPTS_MAX 252 /* 6-bit opt_len field in 4-byte words */

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

static void __attribute__((noreturn, format(printf, 1, 2)))
pkt_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "pktbuild: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Reserve @len zeroed bytes at the end of the frame. */
static uint8_t *pkt_grow(struct pkt *p, size_t len, const char *what)
{
	uint8_t *b;

	if (p->len > PKT_MAX || len > PKT_MAX - p->len)
		pkt_die("%s: %zu + %zu bytes exceeds PKT_MAX (%d)", what,
			p->len, len, PKT_MAX);
	b = p->data + p->len;
	memset(b, 0, len);
	p->len += len;
	return b;
}

static uint8_t *pkt_push(struct pkt *p, enum pkt_layer type, size_t len,
			 const char *what)
{
	size_t off = p->len;
	uint8_t *b;

	if (p->n_layers < 0 || p->n_layers >= PKT_MAX_LAYERS)
		pkt_die("%s: more than PKT_MAX_LAYERS (%d) layers", what,
			PKT_MAX_LAYERS);
	b = pkt_grow(p, len, what);
	p->layers[p->n_layers].type = type;
	p->layers[p->n_layers].off = off;
	p->layers[p->n_layers].flags = 0;
	p->n_layers++;
	return b;
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

void pkt_copy(struct pkt *dst, const struct pkt *src)
{
	memcpy(dst, src, sizeof(*dst));
}

void pkt_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6],
	     uint16_t ethertype)
{
	uint8_t *b = pkt_push(p, PKT_L_ETH, ETH_LEN, "pkt_eth");

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	put16(b + 12, ethertype);
}

void pkt_ipv4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
	      const struct pkt_ipv4_opts *o)
{
	static const struct pkt_ipv4_opts defaults;
	uint8_t ihl, *b;

	if (!o)
		o = &defaults;
	ihl = o->ihl ? o->ihl : 5;
	if (ihl < 5 || ihl > 15)
		pkt_die("pkt_ipv4: ihl %u out of range 5..15", ihl);
	b = pkt_push(p, PKT_L_IPV4, ihl * 4u, "pkt_ipv4");
	b[0] = 0x40 | ihl;
	b[1] = o->tos;
	put16(b + 4, o->id);
	put16(b + 6, o->frag_off);
	b[8] = o->ttl ? o->ttl : 64;
	b[9] = proto;
	put32(b + 12, src);
	put32(b + 16, dst);
	memset(b + IPV4_LEN, 0x01 /* NOP */, ihl * 4u - IPV4_LEN);
}

static void pkt_udp_common(struct pkt *p, uint16_t sport, uint16_t dport,
			   unsigned int flags)
{
	uint8_t *b = pkt_push(p, PKT_L_UDP, UDP_LEN, "pkt_udp");

	put16(b, sport);
	put16(b + 2, dport);
	p->layers[p->n_layers - 1].flags = flags;
}

void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	pkt_udp_common(p, sport, dport, 0);
}

void pkt_udp_nocsum(struct pkt *p, uint16_t sport, uint16_t dport)
{
	pkt_udp_common(p, sport, dport, PKT_F_NOCSUM);
}

void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t seq,
	     uint32_t ack, uint8_t flags)
{
	uint8_t *b = pkt_push(p, PKT_L_TCP, TCP_LEN, "pkt_tcp");

	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, seq);
	put32(b + 8, ack);
	b[12] = (TCP_LEN / 4) << 4;
	b[13] = flags;
	put16(b + 14, 0xffff); /* window */
}

void pkt_icmp_echo(struct pkt *p, uint8_t type, uint16_t id, uint16_t seq)
{
	uint8_t *b = pkt_push(p, PKT_L_ICMP, ICMP_LEN, "pkt_icmp_echo");

	b[0] = type;
	put16(b + 4, id);
	put16(b + 6, seq);
}

void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	uint8_t *b = pkt_push(p, PKT_L_ICMP, ICMP_LEN, "pkt_icmp");

	b[0] = type;
	b[1] = code;
	put32(b + 4, rest);
}

void pkt_arp(struct pkt *p, uint16_t op, const uint8_t sha[6], uint32_t spa,
	     const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *b = pkt_push(p, PKT_L_ARP, ARP_LEN, "pkt_arp");

	put16(b, 1); /* hardware: Ethernet */
	put16(b + 2, PKT_ETH_P_IPV4); /* protocol: IPv4 */
	b[4] = 6;
	b[5] = 4;
	put16(b + 6, op);
	memcpy(b + 8, sha, 6);
	put32(b + 14, spa);
	memcpy(b + 18, tha, 6);
	put32(b + 24, tpa);
}

void pkt_geneve(struct pkt *p, uint32_t vni, uint16_t proto)
{
	uint8_t *b = pkt_push(p, PKT_L_GENEVE, GENEVE_LEN, "pkt_geneve");

	if (vni > 0xffffff)
		pkt_die("pkt_geneve: VNI 0x%x wider than 24 bits", vni);
	put16(b + 2, proto ? proto : PKT_ETH_P_TEB);
	put32(b + 4, vni << 8);
}

void pkt_geneve_opt(struct pkt *p, uint16_t cls, uint8_t type, const void *data,
		    size_t len)
{
	size_t geneve_off;
	uint8_t *b;

	if (p->n_layers < 1 || p->layers[p->n_layers - 1].type != PKT_L_GENEVE)
		pkt_die("pkt_geneve_opt: must follow pkt_geneve()");
	if (len % 4 || len > GENEVE_OPT_MAX)
		pkt_die("pkt_geneve_opt: data length %zu not a multiple of 4 "
			"up to %d",
			len, GENEVE_OPT_MAX);
	geneve_off = p->layers[p->n_layers - 1].off;
	if (p->len + 4 + len - geneve_off - GENEVE_LEN > GENEVE_OPTS_MAX)
		pkt_die("pkt_geneve_opt: options exceed %d bytes",
			GENEVE_OPTS_MAX);
	b = pkt_grow(p, 4 + len, "pkt_geneve_opt");
	put16(b, cls);
	b[2] = type;
	b[3] = len / 4;
	if (len)
		memcpy(b + 4, data, len);
}

void pkt_geneve_opt_u32(struct pkt *p, uint16_t cls, uint8_t type,
			uint32_t value)
{
	uint8_t v[4];

	put32(v, value);
	pkt_geneve_opt(p, cls, type, v, sizeof(v));
}

void pkt_payload(struct pkt *p, const void *data, size_t len)
{
	uint8_t *b = pkt_push(p, PKT_L_RAW, len, "pkt_payload");

	if (len)
		memcpy(b, data, len);
}

void pkt_payload_pattern(struct pkt *p, size_t len)
{
	uint8_t *b = pkt_push(p, PKT_L_RAW, len, "pkt_payload_pattern");
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)i;
}

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += get16(b + i);
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Checksum of an L4 segment with the IPv4 pseudo-header, complemented. */
static uint16_t l4_csum(const uint8_t *ip, uint8_t proto, const uint8_t *l4,
			size_t l4_len)
{
	uint32_t sum;

	sum = pkt_csum_add(0, ip + 12, 8); /* saddr, daddr */
	sum += proto;
	sum += (uint32_t)l4_len;
	sum = pkt_csum_add(sum, l4, l4_len);
	return (uint16_t)~pkt_csum_fold(sum);
}

static int prev_layer(const struct pkt *p, int i, enum pkt_layer type)
{
	while (--i >= 0)
		if (p->layers[i].type == type)
			return i;
	return -1;
}

static uint8_t next_ip_proto(const struct pkt *p, int i)
{
	if (i + 1 >= p->n_layers)
		return 0;
	switch (p->layers[i + 1].type) {
	case PKT_L_UDP:
		return IPPROTO_UDP_;
	case PKT_L_TCP:
		return IPPROTO_TCP_;
	case PKT_L_ICMP:
		return IPPROTO_ICMP_;
	default:
		return 0;
	}
}

static uint16_t next_ethertype(const struct pkt *p, int i)
{
	if (i + 1 >= p->n_layers)
		return 0;
	switch (p->layers[i + 1].type) {
	case PKT_L_IPV4:
		return PKT_ETH_P_IPV4;
	case PKT_L_ARP:
		return PKT_ETH_P_ARP;
	default:
		return 0;
	}
}

static size_t layer_len(const struct pkt *p, int i)
{
	size_t end = i + 1 < p->n_layers ? p->layers[i + 1].off : p->len;

	return end - p->layers[i].off;
}

void pkt_finish(struct pkt *p)
{
	int i, ip;

	/* Lengths and implied fields first: checksums depend on them. */
	for (i = 0; i < p->n_layers; i++) {
		uint8_t *b = p->data + p->layers[i].off;
		size_t to_end = p->len - p->layers[i].off;

		switch (p->layers[i].type) {
		case PKT_L_ETH:
			if (!get16(b + 12))
				put16(b + 12, next_ethertype(p, i));
			break;
		case PKT_L_IPV4:
			if (to_end > 0xffff)
				pkt_die("pkt_finish: IPv4 length %zu", to_end);
			put16(b + 2, (uint16_t)to_end);
			if (!b[9])
				b[9] = next_ip_proto(p, i);
			break;
		case PKT_L_UDP:
			put16(b + 4, (uint16_t)to_end);
			break;
		case PKT_L_GENEVE:
			b[0] = (b[0] & 0xc0) |
			       ((layer_len(p, i) - GENEVE_LEN) / 4);
			break;
		default:
			break;
		}
	}

	/* Checksums, innermost first. */
	for (i = p->n_layers - 1; i >= 0; i--) {
		uint8_t *b = p->data + p->layers[i].off;
		size_t to_end = p->len - p->layers[i].off;
		uint16_t c;

		switch (p->layers[i].type) {
		case PKT_L_IPV4:
			put16(b + 10, 0);
			put16(b + 10, (uint16_t)~pkt_csum_fold(pkt_csum_add(
					      0, b, (b[0] & 0xf) * 4u)));
			break;
		case PKT_L_UDP:
		case PKT_L_TCP: {
			bool udp = p->layers[i].type == PKT_L_UDP;
			size_t csum_off = udp ? 6 : 16;

			put16(b + csum_off, 0);
			if (udp && (p->layers[i].flags & PKT_F_NOCSUM))
				break;
			ip = prev_layer(p, i, PKT_L_IPV4);
			if (ip < 0)
				pkt_die("pkt_finish: %s without IPv4",
					udp ? "UDP" : "TCP");
			c = l4_csum(p->data + p->layers[ip].off,
				    udp ? IPPROTO_UDP_ : IPPROTO_TCP_, b,
				    to_end);
			if (udp && !c)
				c = 0xffff; /* RFC 768: 0 means none */
			put16(b + csum_off, c);
			break;
		}
		case PKT_L_ICMP:
			put16(b + 2, 0);
			put16(b + 2, (uint16_t)~pkt_csum_fold(
					     pkt_csum_add(0, b, to_end)));
			break;
		default:
			break;
		}
	}
}

long pkt_layer_off(const struct pkt *p, enum pkt_layer type, int n)
{
	int i;

	for (i = 0; i < p->n_layers; i++)
		if (p->layers[i].type == type && n-- == 0)
			return (long)p->layers[i].off;
	return -1;
}

void pkt_truncate(struct pkt *p, size_t len)
{
	if (len > p->len)
		pkt_die("pkt_truncate: %zu beyond frame length %zu", len,
			p->len);
	p->len = len;
	while (p->n_layers > 0 && p->layers[p->n_layers - 1].off >= len)
		p->n_layers--;
}

/* ---- Verification ------------------------------------------------------ */

struct walk {
	const uint8_t *f;
	size_t len;
	char *why;
	size_t why_len;
};

static bool __attribute__((format(printf, 2, 3)))
walk_fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->why && w->why_len) {
		va_start(ap, fmt);
		vsnprintf(w->why, w->why_len, fmt, ap);
		va_end(ap);
	}
	return false;
}

static const char *depth_name(int depth)
{
	return depth ? "inner" : "outer";
}

static bool walk_eth(struct walk *w, size_t off, size_t end, int depth);

static bool walk_geneve(struct walk *w, size_t off, size_t end, int depth)
{
	const uint8_t *b = w->f + off;
	size_t hlen;

	if (end - off < GENEVE_LEN)
		return walk_fail(w, "%s Geneve header truncated at 0x%zx",
				 depth_name(depth), off);
	hlen = GENEVE_LEN + (b[0] & 0x3f) * 4u;
	if (end - off < hlen)
		return walk_fail(w,
				 "%s Geneve options (%zu bytes) run past "
				 "the frame at 0x%zx",
				 depth_name(depth), hlen - GENEVE_LEN, off);
	/* Not ours to judge beyond checksums: only walk version 0 Ethernet. */
	if (b[0] >> 6 != 0 || get16(b + 2) != PKT_ETH_P_TEB)
		return true;
	if (depth >= 3)
		return walk_fail(w, "Geneve nested too deep at 0x%zx", off);
	return walk_eth(w, off + hlen, end, depth + 1);
}

static bool walk_ipv4(struct walk *w, size_t off, size_t end, int depth)
{
	const uint8_t *ip = w->f + off, *l4;
	const char *d = depth_name(depth);
	size_t hlen, tot, l4_len;
	uint16_t frag, c;

	if (end - off < IPV4_LEN)
		return walk_fail(w, "%s IPv4 header truncated at 0x%zx", d,
				 off);
	if (ip[0] >> 4 != 4)
		return walk_fail(w, "%s IPv4 version %u at 0x%zx", d,
				 ip[0] >> 4, off);
	hlen = (ip[0] & 0xf) * 4u;
	tot = get16(ip + 2);
	if (hlen < IPV4_LEN || hlen > end - off)
		return walk_fail(w, "%s IPv4 ihl %zu bytes invalid at 0x%zx", d,
				 hlen, off);
	if (tot < hlen || tot > end - off)
		return walk_fail(w,
				 "%s IPv4 tot_len %zu inconsistent with "
				 "%zu bytes available at 0x%zx",
				 d, tot, end - off, off);
	c = pkt_csum_fold(pkt_csum_add(0, ip, hlen));
	if (c != 0xffff)
		return walk_fail(
			w,
			"%s IPv4 header checksum 0x%04x wrong at "
			"0x%zx (should be 0x%04x)",
			d, get16(ip + 10), off + 10,
			(uint16_t)~pkt_csum_fold(pkt_csum_add(0, ip, hlen) +
						 (uint16_t)~get16(ip + 10)));
	frag = get16(ip + 6);
	if (frag & 0x3fff)
		return true; /* a fragment: L4 checksum not verifiable */

	l4 = ip + hlen;
	l4_len = tot - hlen;
	off += hlen;
	end = off + l4_len;
	switch (ip[9]) {
	case IPPROTO_UDP_: {
		size_t ulen;

		if (l4_len < UDP_LEN)
			return walk_fail(w, "%s UDP header truncated at 0x%zx",
					 d, off);
		ulen = get16(l4 + 4);
		if (ulen < UDP_LEN || ulen > l4_len)
			return walk_fail(w,
					 "%s UDP length %zu inconsistent "
					 "with IPv4 payload %zu at 0x%zx",
					 d, ulen, l4_len, off + 4);
		if (get16(l4 + 6)) {
			c = pkt_csum_fold(pkt_csum_add(0, ip + 12, 8) +
					  IPPROTO_UDP_ + (uint32_t)ulen +
					  pkt_csum_add(0, l4, ulen));
			if (c != 0xffff)
				return walk_fail(w,
						 "%s UDP checksum 0x%04x "
						 "wrong at 0x%zx",
						 d, get16(l4 + 6), off + 6);
		}
		if (get16(l4 + 2) == PKT_GENEVE_PORT)
			return walk_geneve(w, off + UDP_LEN, off + ulen, depth);
		return true;
	}
	case IPPROTO_TCP_:
		if (l4_len < TCP_LEN)
			return walk_fail(w, "%s TCP header truncated at 0x%zx",
					 d, off);
		if (l4_csum(ip, IPPROTO_TCP_, l4, l4_len) != 0)
			return walk_fail(w,
					 "%s TCP checksum 0x%04x wrong at "
					 "0x%zx",
					 d, get16(l4 + 16), off + 16);
		return true;
	case IPPROTO_ICMP_:
		if (l4_len < 4)
			return walk_fail(w,
					 "%s ICMP header truncated at "
					 "0x%zx",
					 d, off);
		if (pkt_csum_fold(pkt_csum_add(0, l4, l4_len)) != 0xffff)
			return walk_fail(w,
					 "%s ICMP checksum 0x%04x wrong at "
					 "0x%zx",
					 d, get16(l4 + 2), off + 2);
		return true;
	default:
		return true;
	}
}

static bool walk_eth(struct walk *w, size_t off, size_t end, int depth)
{
	uint16_t type;

	if (end - off < ETH_LEN)
		return walk_fail(w, "%s Ethernet header truncated at 0x%zx",
				 depth_name(depth), off);
	type = get16(w->f + off + 12);
	if (type == PKT_ETH_P_IPV4)
		return walk_ipv4(w, off + ETH_LEN, end, depth);
	if (type == PKT_ETH_P_ARP && end - off - ETH_LEN < ARP_LEN)
		return walk_fail(w, "%s ARP truncated at 0x%zx",
				 depth_name(depth), off + ETH_LEN);
	return true;
}

bool pkt_checksums_ok(const uint8_t *frame, size_t len, char *why,
		      size_t why_len)
{
	struct walk w = { frame, len, why, why_len };

	if (why && why_len)
		why[0] = '\0';
	return walk_eth(&w, 0, len, 0);
}

bool pkt_ok(const struct pkt *p, char *why, size_t why_len)
{
	return pkt_checksums_ok(p->data, p->len, why, why_len);
}

void pkt_dump(const uint8_t *frame, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 16 == 0)
			printf("%s    %04zx:", i ? "\n" : "", i);
		printf(" %02x", frame[i]);
	}
	printf("\n");
}

void pkt_l4_partial(struct pkt *p, size_t l3)
{
	uint8_t *ip = p->data + l3, *l4;
	size_t hl, l4_len;
	uint32_t sum;
	uint16_t v;

	if (l3 + 20 > p->len ||
	    (ip[9] != IPPROTO_UDP_ && ip[9] != IPPROTO_TCP_))
		pkt_die("pkt_l4_partial: no TCP/UDP over IPv4 at %zu", l3);
	hl = (size_t)(ip[0] & 0xf) * 4;
	l4 = ip + hl;
	l4_len = (size_t)(ip[2] << 8 | ip[3]) - hl;
	if (ip[9] == IPPROTO_UDP_)
		l4_len = (size_t)(l4[4] << 8 | l4[5]);
	sum = pkt_csum_add(0, ip + 12, 8) + ip[9] + (uint32_t)l4_len;
	v = pkt_csum_fold(sum);
	put16(l4 + (ip[9] == IPPROTO_UDP_ ? 6 : 16), v);
}
