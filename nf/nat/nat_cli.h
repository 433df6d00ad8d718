/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* mizar-nat's pure command-line parsers (unit tested alone). */
#ifndef MZR_NAT_CLI_H
#define MZR_NAT_CLI_H

#include <stdint.h>
#include <netinet/in.h>

/* "A.B.C.D:PORT", PORT 1-65535. @port in host order. 0 or -EINVAL. */
int nat_parse_ipport(const char *s, struct in_addr *ip, uint16_t *port);

/* "tcp" | "udp" -> IPPROTO_TCP | IPPROTO_UDP. 0 or -EINVAL. */
int nat_parse_proto(const char *s, uint8_t *proto);

/* "tcp", "udp", "icmp" or "?" for a protocol number. */
const char *nat_proto_name(uint8_t proto);

/* Whether @ip lies in @prefix/@len. */
int nat_in_prefix(struct in_addr ip, struct in_addr prefix, unsigned int len);

/* @ip with the host bits of a /@len cleared. */
struct in_addr nat_mask(struct in_addr ip, unsigned int len);

#endif /* MZR_NAT_CLI_H */
