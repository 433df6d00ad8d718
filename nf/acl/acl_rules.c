// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mizar-acl's rule parsing and rule-set upkeep; see acl_rules.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "mizarctl.h"
#include "nfparse.h"
#include "acl_rules.h"

int acl_parse_cidr(const char *s, uint32_t *addr, uint32_t *mask)
{
	struct in_addr ip;
	unsigned int len = 32;
	uint32_t m;

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "any")) {
		*addr = 0;
		*mask = 0;
		return 0;
	}
	if (strchr(s, '/')) {
		if (mzctl_parse_prefix(s, &ip, &len))
			return -EINVAL;
	} else if (mzctl_parse_ip(s, &ip)) {
		return -EINVAL;
	}
	m = nf_prefix_mask(len);
	if (ip.s_addr & ~m)
		return -EDOM;
	*addr = ip.s_addr;
	*mask = m;
	return 0;
}

int acl_parse_proto(const char *s, uint8_t *proto)
{
	if (s && !strcmp(s, "any")) {
		*proto = MZR_ACL_PROTO_ANY;
		return 0;
	}
	return nf_parse_proto(s, NF_PROTO_L4 | NF_PROTO_ICMP, proto);
}

int acl_parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	const char *dash;
	uint16_t a, b;
	int err;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	dash = strchr(s, '-');
	if (!dash) {
		err = nf_parse_port(s, &a);
		if (err)
			return err;
		*lo = *hi = a;
		return 0;
	}
	memcpy(buf, s, dash - s);
	buf[dash - s] = '\0';
	err = nf_parse_port(buf, &a);
	if (!err)
		err = nf_parse_port(dash + 1, &b);
	if (err)
		return err;
	if (a > b)
		return -ERANGE;
	*lo = a;
	*hi = b;
	return 0;
}

int acl_parse_prio(const char *s, uint16_t *prio)
{
	uint32_t v;
	int err = mzctl_parse_u32(s, &v);

	if (err)
		return err;
	if (v < MZR_ACL_PRIO_MIN || v > MZR_ACL_PRIO_MAX)
		return -ERANGE;
	*prio = (uint16_t)v;
	return 0;
}

int acl_parse_action(const char *s, uint8_t *action)
{
	if (s && !strcmp(s, "allow"))
		*action = MZR_ACL_ALLOW;
	else if (s && !strcmp(s, "deny"))
		*action = MZR_ACL_DENY;
	else
		return -EINVAL;
	return 0;
}

int acl_arg_prio(const char *cmd, const char *v, uint16_t *prio)
{
	if (!acl_parse_prio(v, prio))
		return 0;
	mzctl_err(cmd, "bad prio '%s' (%u-%u)", v, MZR_ACL_PRIO_MIN,
		  MZR_ACL_PRIO_MAX);
	return -1;
}

int acl_rule_parse(const char *cmd, int argc, char **argv, uint32_t *vni,
		   struct mzr_acl_rule *r)
{
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "prio", true, true, NULL },
		{ "src", true, false, NULL },
		{ "dst", true, false, NULL },
		{ "proto", true, false, NULL },
		{ "dport", true, false, NULL },
		{ "action", true, true, NULL },
		{ NULL },
	};
	const char *v;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return -1;
	memset(r, 0, sizeof(*r));
	r->dport_hi = 65535;

	if (nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, vni) ||
	    acl_arg_prio(cmd, mzctl_kw_get(kw, "prio")->val, &r->prio))
		return -1;
	v = mzctl_kw_get(kw, "src")->val;
	if (v && (err = acl_parse_cidr(v, &r->src, &r->src_mask))) {
		mzctl_err(cmd, err == -EDOM ?
			  "src '%s' has host bits set beyond its prefix" :
			  "bad src '%s' (A.B.C.D[/LEN] or any)", v);
		return -1;
	}
	v = mzctl_kw_get(kw, "dst")->val;
	if (v && (err = acl_parse_cidr(v, &r->dst, &r->dst_mask))) {
		mzctl_err(cmd, err == -EDOM ?
			  "dst '%s' has host bits set beyond its prefix" :
			  "bad dst '%s' (A.B.C.D[/LEN] or any)", v);
		return -1;
	}
	v = mzctl_kw_get(kw, "proto")->val;
	if (v && acl_parse_proto(v, &r->proto)) {
		mzctl_err(cmd, "bad proto '%s' (tcp, udp, icmp or any)", v);
		return -1;
	}
	v = mzctl_kw_get(kw, "dport")->val;
	if (v) {
		if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP) {
			mzctl_err(cmd, "dport needs proto tcp or udp");
			return -1;
		}
		err = acl_parse_ports(v, &r->dport_lo, &r->dport_hi);
		if (err) {
			mzctl_err(cmd, err == -ERANGE ?
				  "bad dport '%s' (ports 1-65535, P-Q with P <= Q)" :
				  "bad dport '%s' (P or P-Q)", v);
			return -1;
		}
	}
	v = mzctl_kw_get(kw, "action")->val;
	if (acl_parse_action(v, &r->action)) {
		mzctl_err(cmd, "bad action '%s' (allow or deny)", v);
		return -1;
	}
	return 0;
}

void acl_set_init(struct mzr_acl_set *set)
{
	memset(set, 0, sizeof(*set));
	set->dflt = MZR_ACL_ALLOW;
}

int acl_set_find(const struct mzr_acl_set *set, uint16_t prio)
{
	uint32_t i;

	for (i = 0; i < set->n && i < MZR_ACL_MAX_RULES; i++)
		if (set->rules[i].prio == prio)
			return (int)i;
	return -1;
}

int acl_set_insert(struct mzr_acl_set *set, const struct mzr_acl_rule *r)
{
	uint32_t i;

	if (acl_set_find(set, r->prio) >= 0)
		return -EEXIST;
	if (set->n >= MZR_ACL_MAX_RULES)
		return -ENOSPC;
	for (i = 0; i < set->n && set->rules[i].prio < r->prio; i++)
		;
	memmove(&set->rules[i + 1], &set->rules[i],
		(set->n - i) * sizeof(set->rules[0]));
	set->rules[i] = *r;
	set->n++;
	return 0;
}

int acl_set_remove(struct mzr_acl_set *set, uint16_t prio)
{
	int i = acl_set_find(set, prio);

	if (i < 0)
		return -ENOENT;
	memmove(&set->rules[i], &set->rules[i + 1],
		(set->n - i - 1) * sizeof(set->rules[0]));
	set->n--;
	memset(&set->rules[set->n], 0, sizeof(set->rules[0]));
	return 0;
}

int acl_set_is_empty(const struct mzr_acl_set *set)
{
	return !set->n && set->dflt == MZR_ACL_ALLOW;
}

unsigned int acl_mask_len(uint32_t mask)
{
	return (unsigned int)__builtin_popcount(mask);
}

const char *acl_cidr_str(uint32_t addr, uint32_t mask, char *buf)
{
	struct in_addr ip = { .s_addr = addr };
	char a[INET_ADDRSTRLEN];

	if (!mask) {
		strcpy(buf, "any");
		return buf;
	}
	inet_ntop(AF_INET, &ip, a, sizeof(a));
	sprintf(buf, "%s/%u", a, acl_mask_len(mask));
	return buf;
}

const char *acl_proto_str(uint8_t proto, char *buf)
{
	const char *name = nf_proto_name(proto);

	if (proto == MZR_ACL_PROTO_ANY)
		return "any";
	if (*name != '?')
		return name;
	sprintf(buf, "%u", proto);
	return buf;
}

const char *acl_ports_str(const struct mzr_acl_rule *r, char *buf)
{
	if (r->dport_lo == 0 && r->dport_hi == 65535)
		strcpy(buf, "any");
	else if (r->dport_lo == r->dport_hi)
		sprintf(buf, "%u", r->dport_lo);
	else
		sprintf(buf, "%u-%u", r->dport_lo, r->dport_hi);
	return buf;
}

const char *acl_action_str(uint8_t action)
{
	return action == MZR_ACL_ALLOW ? "allow" : "deny";
}
