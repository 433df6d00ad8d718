// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Command-line values of the example NF tools; see nfparse.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "mizarctl.h"
#include "nfparse.h"

int nf_parse_port(const char *s, uint16_t *port)
{
	uint32_t v;
	int err = mzctl_parse_u32(s, &v);

	if (err)
		return err;
	if (v < 1 || v > 65535)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

int nf_parse_ipport(const char *s, struct in_addr *ip, uint16_t *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char buf[INET_ADDRSTRLEN];
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (mzctl_parse_ip(buf, ip) || nf_parse_port(colon + 1, port))
		return -EINVAL;
	return 0;
}

static const struct {
	const char *name;
	uint8_t proto;
	unsigned int flag;
} protos[] = {
	{ "tcp", IPPROTO_TCP, NF_PROTO_TCP },
	{ "udp", IPPROTO_UDP, NF_PROTO_UDP },
	{ "icmp", IPPROTO_ICMP, NF_PROTO_ICMP },
};

int nf_parse_proto(const char *s, unsigned int allowed, uint8_t *proto)
{
	size_t i;

	for (i = 0; s && i < sizeof(protos) / sizeof(protos[0]); i++) {
		if ((allowed & protos[i].flag) && !strcmp(s, protos[i].name)) {
			*proto = protos[i].proto;
			return 0;
		}
	}
	return -EINVAL;
}

const char *nf_proto_name(uint8_t proto)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return "?";
}

uint32_t nf_prefix_mask(unsigned int len)
{
	return htonl(len ? 0xffffffffU << (32 - len) : 0);
}

struct in_addr nf_mask(struct in_addr ip, unsigned int len)
{
	return (struct in_addr){ .s_addr = ip.s_addr & nf_prefix_mask(len) };
}

bool nf_in_prefix(struct in_addr ip, struct in_addr prefix, unsigned int len)
{
	return nf_mask(ip, len).s_addr == nf_mask(prefix, len).s_addr;
}

const char *nf_ipport_str(uint32_t ip, uint16_t port, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u",
		 mzctl_ip_str((struct in_addr){ .s_addr = ip }, a),
		 ntohs(port));
	return buf;
}

int nf_arg_vni(const char *cmd, const char *v, uint32_t *vni)
{
	int err = mzctl_parse_vni(v, vni);

	if (err == -ERANGE)
		mzctl_err(cmd, "vni '%s' out of range (1-%u)", v, MZR_VNI_MAX);
	else if (err)
		mzctl_err(cmd, "bad vni '%s' (1-%u)", v, MZR_VNI_MAX);
	return err ? -1 : 0;
}

int nf_arg_port(const char *cmd, const char *name, const char *v,
		uint16_t *port)
{
	if (!nf_parse_port(v, port))
		return 0;
	mzctl_err(cmd, "bad %s '%s' (1-65535)", name, v);
	return -1;
}

int nf_arg_proto(const char *cmd, const char *v, unsigned int allowed,
		 uint8_t *proto)
{
	const char *names[sizeof(protos) / sizeof(protos[0])];
	char list[32] = "";
	size_t i, n = 0, len = 0;

	if (!nf_parse_proto(v, allowed, proto))
		return 0;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (allowed & protos[i].flag)
			names[n++] = protos[i].name;
	for (i = 0; i < n; i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%s",
				!i ? "" : i + 1 < n ? ", " : " or ", names[i]);
	mzctl_err(cmd, "bad proto '%s' (%s)", v, list);
	return -1;
}
