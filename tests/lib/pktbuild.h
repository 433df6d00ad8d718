/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small packet builder for tests: frames are built header by header into
 * a buffer, and checksums and lengths are fixed up by pkt_finish().
 */
#ifndef MZR_TEST_PKTBUILD_H
#define MZR_TEST_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048
#define PKT_MAX_LAYERS 12

enum pkt_layer {
	PKT_L_ETH = 1,
	PKT_L_IPV4,
	PKT_L_UDP,
	PKT_L_TCP,
	PKT_L_ICMP,
	PKT_L_ARP,
	PKT_L_GENEVE,
	PKT_L_RAW,
};

struct pkt {
	uint8_t data[PKT_MAX];
	size_t len;
	int n_layers;
	struct {
		enum pkt_layer type;
		size_t off;
		unsigned int flags; /* PKT_F_* */
	} layers[PKT_MAX_LAYERS];
};

/* Layer flags. */
#define PKT_F_NOCSUM 0x1 /* UDP built with pkt_udp_nocsum() */

/* TCP flags for pkt_tcp(). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/* Well-known values, host byte order. */
#define PKT_ETH_P_IPV4 0x0800
#define PKT_ETH_P_ARP 0x0806
#define PKT_ETH_P_TEB 0x6558
#define PKT_GENEVE_PORT 6081

/* All addresses in host byte order (e.g. 0x0a000001 for 10.0.0.1). */
#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |      \
	 (uint32_t)(d))

/*
 * Builders append one header at the current end of the frame and abort()
 * with a message when it would exceed PKT_MAX bytes or PKT_MAX_LAYERS.
 * Every layer nests to the end of the frame (no trailers).
 */
void pkt_init(struct pkt *p);
/* @ethertype 0: filled by pkt_finish() from the next layer (IPv4, ARP). */
void pkt_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6],
	     uint16_t ethertype);
/* IPv4 header; tot_len and checksum are fixed by pkt_finish(). @o may be
 * NULL. @proto 0: filled by pkt_finish() from the next layer (UDP, TCP,
 * ICMP). */
struct pkt_ipv4_opts {
	uint8_t ttl;	   /* 0: 64 */
	uint8_t tos;
	uint16_t id;
	uint16_t frag_off; /* host order, includes flags (0x4000 = DF) */
	uint8_t ihl;	   /* 0: 5; >5 appends NOP options */
};
void pkt_ipv4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
	      const struct pkt_ipv4_opts *o);
void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport);
/* Leave the UDP checksum zero (as the outer header of a tunnel may). */
void pkt_udp_nocsum(struct pkt *p, uint16_t sport, uint16_t dport);
void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t seq,
	     uint32_t ack, uint8_t flags);
void pkt_icmp_echo(struct pkt *p, uint8_t type, uint16_t id, uint16_t seq);
/* Any ICMP header: @type, @code and the 4 bytes after the checksum (e.g.
 * the next-hop MTU of a Fragmentation Needed in the low 16 bits), host
 * order. What it quotes follows with pkt_payload(). */
void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
/* ARP for IPv4 over Ethernet; op 1 request, 2 reply. */
void pkt_arp(struct pkt *p, uint16_t op, const uint8_t sha[6], uint32_t spa,
	     const uint8_t tha[6], uint32_t tpa);
/* Geneve header (version 0, protocol @proto, 0 meaning 0x6558); options
 * are appended with pkt_geneve_opt() right after it (and become part of the
 * Geneve layer). opt_len is fixed by pkt_finish(). */
void pkt_geneve(struct pkt *p, uint32_t vni, uint16_t proto);
void pkt_geneve_opt(struct pkt *p, uint16_t cls, uint8_t type,
		    const void *data, size_t len /* multiple of 4, <= 124 */);
/* Convenience: a 4-byte option whose data is @value in network order
 * (e.g. MZR_OPT_RTS with an IPv4 address, MZR_OPT_FLAGS with MZR_F_*). */
void pkt_geneve_opt_u32(struct pkt *p, uint16_t cls, uint8_t type,
			uint32_t value);
void pkt_payload(struct pkt *p, const void *data, size_t len);
/* @len bytes of a repeating 0x00, 0x01, ... 0xff pattern. */
void pkt_payload_pattern(struct pkt *p, size_t len);
/* Fix lengths (IPv4 tot_len, UDP len, Geneve opt_len) and checksums
 * (IPv4, UDP unless built with pkt_udp_nocsum, TCP, ICMP), innermost layer
 * first so that outer checksums cover finished inner headers. To build a
 * malformed frame, edit bytes after pkt_finish() (see pkt_layer_off). */
void pkt_finish(struct pkt *p);

/* Copy of @src (for "expected output = input with changes" fixtures). */
void pkt_copy(struct pkt *dst, const struct pkt *src);

/* Internet checksum (RFC 1071) of @len bytes, folded, not complemented;
 * @sum is a previous partial sum (0 to start). */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);

/* Offset of the n-th layer of @type (n from 0), or -1. Outer layers come
 * first: pkt_layer_off(p, PKT_L_IPV4, 1) is the inner IPv4 header. */
long pkt_layer_off(const struct pkt *p, enum pkt_layer type, int n);

/* Truncate to @len bytes (for malformed-input fixtures); layers starting at
 * or after @len are forgotten. Aborts if @len > p->len. */
void pkt_truncate(struct pkt *p, size_t len);

/* Checksum verification over a finished frame: every IPv4 header checksum
 * and every TCP/UDP(non-zero)/ICMP checksum found by walking it, outer and
 * inner (through Geneve). Returns true when all are valid. */
bool pkt_checksums_ok(const uint8_t *frame, size_t len, char *why,
		      size_t why_len);
/* Same, on a struct pkt. */
bool pkt_ok(const struct pkt *p, char *why, size_t why_len);

/* Hex dump of a frame to stdout, 16 bytes a line, hex offsets. */
void pkt_dump(const uint8_t *frame, size_t len);

/* Turn the finished TCP or UDP checksum of the IPv4 packet at @l3 into
 * what an endpoint with checksum offload sends (CHECKSUM_PARTIAL): the
 * folded pseudo-header sum, not inverted (tcp_v4_send_check()). */
void pkt_l4_partial(struct pkt *p, size_t l3);

#endif
