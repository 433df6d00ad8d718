/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-acl's pure pieces: parsing and checking a rule from the command
 * line, keeping a VPC's rule set sorted, and formatting rules. No map
 * access, so the unit tests link this file alone.
 */
#ifndef MZR_ACL_RULES_H
#define MZR_ACL_RULES_H

#include <stdint.h>

#include "acl.h"

/*
 * "A.B.C.D/LEN", a bare address (/32) or "any" (/0) into a network-order
 * address and mask. -EINVAL: not an address or prefix; -EDOM: host bits
 * set (10.0.0.5/24 is refused rather than silently widened).
 */
int acl_parse_cidr(const char *s, uint32_t *addr, uint32_t *mask);

/* "tcp" | "udp" | "icmp" | "any" -> IPPROTO_* or MZR_ACL_PROTO_ANY. */
int acl_parse_proto(const char *s, uint8_t *proto);

/* "P" or "P-Q", 1 <= P <= Q <= 65535. -EINVAL: syntax; -ERANGE: bounds. */
int acl_parse_ports(const char *s, uint16_t *lo, uint16_t *hi);

/* MZR_ACL_PRIO_MIN..MZR_ACL_PRIO_MAX. -EINVAL: syntax; -ERANGE. */
int acl_parse_prio(const char *s, uint16_t *prio);

/* acl_parse_prio() of keyword value @v, or one error line for @cmd and
 * -1. */
int acl_arg_prio(const char *cmd, const char *v, uint16_t *prio);

/* "allow" | "deny". */
int acl_parse_action(const char *s, uint8_t *action);

/*
 * `rule add` arguments: "vni N prio P [src CIDR] [dst CIDR]
 * [proto tcp|udp|icmp|any] [dport P[-Q]] action allow|deny". Fills @vni and
 * @r, or prints one error line for @cmd naming the problem and returns -1.
 */
int acl_rule_parse(const char *cmd, int argc, char **argv, uint32_t *vni,
		   struct mzr_acl_rule *r);

/* An empty set: no rule, default allow. */
void acl_set_init(struct mzr_acl_set *set);

/*
 * Insert @r keeping rules[] sorted by ascending prio. -EEXIST: a rule with
 * that prio exists; -ENOSPC: MZR_ACL_MAX_RULES already. @set is unchanged
 * on error.
 */
int acl_set_insert(struct mzr_acl_set *set, const struct mzr_acl_rule *r);

/* Remove the rule with @prio. -ENOENT: none. */
int acl_set_remove(struct mzr_acl_set *set, uint16_t prio);

/* Index of the rule with @prio, or -1. */
int acl_set_find(const struct mzr_acl_set *set, uint16_t prio);

/* Whether @set says nothing beyond "allow everything": no rule, default
 * allow (the VPC needs no entry at all). */
int acl_set_is_empty(const struct mzr_acl_set *set);

/* Prefix length of a contiguous network-order mask. */
unsigned int acl_mask_len(uint32_t mask);

/* "10.0.0.0/8", or "any" for /0; @buf at least 19 bytes. */
const char *acl_cidr_str(uint32_t addr, uint32_t mask, char *buf);

/* "tcp", "udp", "icmp", "any" (or the number). @buf at least 4 bytes. */
const char *acl_proto_str(uint8_t proto, char *buf);

/* "5201", "8000-8080", or "any"; @buf at least 12 bytes. */
const char *acl_ports_str(const struct mzr_acl_rule *r, char *buf);

const char *acl_action_str(uint8_t action);

#endif /* MZR_ACL_RULES_H */
