/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The vocabulary of declarative fixture tables (fixture.h): short macros
 * that expand to `struct frame` compound literals with defaults, e.g.
 * UDP(.dmac = A, .smac = B, .src = X, .dst = Y, .sport = 1, .dport = 2).
 * A separate header because the names are short: tests that have their
 * own TCP() or FRAME do not include it.
 */
#ifndef MZR_TEST_FIXTURE_FRAMES_H
#define MZR_TEST_FIXTURE_FRAMES_H

#include "fixture.h"

/* The frame macros set defaults that a call overrides on purpose. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define FRAME(...) (&(const struct frame){ __VA_ARGS__ })
/* IPv4 with every protocol's defaults: TCP SYN seq 1000, ICMP echo
 * request id 7 seq 1; .proto picks one. */
#define IPV4(...)                                                              \
	FRAME(.kind = FRAME_IPV4, .tcp_flags = PKT_TCP_SYN, .seq = 1000,       \
	      .type = 8, .id = 7, .echo_seq = 1, __VA_ARGS__)
#define UDP(...) IPV4(.proto = 17, __VA_ARGS__)
#define TCP(...) IPV4(.proto = 6, __VA_ARGS__)
#define ICMP(...) IPV4(.proto = 1, __VA_ARGS__)
/* An ICMP Fragmentation Needed quoting frame @q (RFC 1191). */
#define FRAG_NEEDED(q, ...)                                                    \
	ICMP(.type = 3, .code = 4, .id = 0, .echo_seq = 0, .quote = (q),            \
	     .quote_l4 = 8, .tos = 0xc0, .frag_off = 0x4000, __VA_ARGS__)
#define ARP(...)                                                               \
	FRAME(.kind = FRAME_ARP, .op = 1, .dmac = frame_mac_bcast,             \
	      __VA_ARGS__)
#define ETH(...) FRAME(.kind = FRAME_ETH, __VA_ARGS__)
#define RAW(...) FRAME(.kind = FRAME_RAW, __VA_ARGS__)
#define PKT(p) FRAME(.kind = FRAME_PKT, .pkt = (p))
/* The outer IPv4 header has DF, the outer UDP no checksum. */
#define GENEVE(...)                                                            \
	FRAME(.kind = FRAME_GENEVE, .frag_off = 0x4000, __VA_ARGS__)
/* Byte patches: .patch = { PATCH(PKT_L_GENEVE, 1, OR, 0x80) }. */
#define PATCH(l, o, op_, v)                                                    \
	{ .layer = (l), .off = (o), .op = PATCH_##op_, .val = (v) }

#endif
