/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Values on the example NF tools' command lines (ports, protocols,
 * address:port, prefixes) and their reporting: pure functions on top of
 * mizarctl's parsers, no map access, so that unit tests link them alone.
 */
#ifndef MZR_NFPARSE_H
#define MZR_NFPARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* "P", 1 <= P <= 65535. -EINVAL: not a number; -ERANGE: out of range. */
int nf_parse_port(const char *s, uint16_t *port);

/* "A.B.C.D:PORT", PORT 1-65535; @port in host order. 0 or -EINVAL. */
int nf_parse_ipport(const char *s, struct in_addr *ip, uint16_t *port);

/* Protocols a command accepts (for nf_parse_proto). */
#define NF_PROTO_TCP 0x1
#define NF_PROTO_UDP 0x2
#define NF_PROTO_ICMP 0x4
#define NF_PROTO_L4 (NF_PROTO_TCP | NF_PROTO_UDP)

/* "tcp" | "udp" | "icmp", those of @allowed, into IPPROTO_*. 0 or
 * -EINVAL. */
int nf_parse_proto(const char *s, unsigned int allowed, uint8_t *proto);

/* "tcp", "udp", "icmp", or "?" for another protocol number. */
const char *nf_proto_name(uint8_t proto);

/* The network-order mask of a /@len prefix (0..32). */
uint32_t nf_prefix_mask(unsigned int len);

/* @ip with the host bits of a /@len cleared. */
struct in_addr nf_mask(struct in_addr ip, unsigned int len);

/* Whether @ip lies in @prefix/@len. */
bool nf_in_prefix(struct in_addr ip, struct in_addr prefix, unsigned int len);

/* "A.B.C.D:PORT" of a network-order address and port, into @buf. */
const char *nf_ipport_str(uint32_t ip, uint16_t port, char *buf,
			  size_t len);

/*
 * The same parsers for keyword value @v of command @cmd, printing one
 * error line that names the keyword and what it takes. 0 or -1.
 */
int nf_arg_vni(const char *cmd, const char *v, uint32_t *vni);
int nf_arg_port(const char *cmd, const char *name, const char *v,
		uint16_t *port);
int nf_arg_proto(const char *cmd, const char *v, unsigned int allowed,
		 uint8_t *proto);

#endif /* MZR_NFPARSE_H */
