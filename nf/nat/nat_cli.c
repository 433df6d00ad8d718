// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "mizarctl.h"
#include "nat_cli.h"

int nat_parse_ipport(const char *s, struct in_addr *ip, uint16_t *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char buf[INET_ADDRSTRLEN];
	uint32_t p;
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (mzctl_parse_ip(buf, ip))
		return -EINVAL;
	if (mzctl_parse_u32(colon + 1, &p) || p < 1 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

int nat_parse_proto(const char *s, uint8_t *proto)
{
	if (s && !strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (s && !strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

const char *nat_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "?";
	}
}

struct in_addr nat_mask(struct in_addr ip, unsigned int len)
{
	uint32_t mask = len ? htonl(~0U << (32 - len)) : 0;

	return (struct in_addr){ .s_addr = ip.s_addr & mask };
}

int nat_in_prefix(struct in_addr ip, struct in_addr prefix, unsigned int len)
{
	return nat_mask(ip, len).s_addr == nat_mask(prefix, len).s_addr;
}
