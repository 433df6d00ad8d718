/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pure address logic (addr.c): no kernel, no host handle; the unit tests
 * call it alone. The bottom layer with log.c: it calls nothing else.
 */
#ifndef MZR_ADDR_H
#define MZR_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include <mizar/host.h>

#include "shared.h"

static inline uint32_t mzri_mask(unsigned int len)
{
	return len ? ~0U << (32 - len) : 0;
}

/* Prefix acceptable as a network: length <= 30, no host bits set. */
bool mzri_prefix_valid(struct in_addr prefix, unsigned int len);

/* Whether two prefixes share any address. */
bool mzri_prefix_overlap(struct in_addr a, unsigned int alen,
			 struct in_addr b, unsigned int blen);

/* Whether @ip lies in prefix/len. */
bool mzri_prefix_contains(struct in_addr prefix, unsigned int len,
			  struct in_addr ip);

/* First host address of a prefix (network address + 1). */
struct in_addr mzri_first_host(struct in_addr prefix, unsigned int len);

/* Gateway MAC: 02:00 then the four bytes of @gw. */
void mzri_gw_mac(struct in_addr gw, uint8_t mac[6]);

/* A unicast, non-zero MAC. */
bool mzri_mac_valid(const uint8_t mac[6]);

/* A usable unicast host address (not 0, broadcast, multicast, loopback). */
bool mzri_ip_valid(struct in_addr ip);

static inline bool mzri_vni_valid(uint32_t vni)
{
	return vni >= 1 && vni <= MZR_VNI_MAX;
}

/* Validate one endpoint spec without the kernel (VNI, addresses, MAC,
 * flags); logs and returns -errno. */
int mzri_ep_spec_check(const struct mzr_ep_spec *spec);

/* Dotted quad into @buf (INET_ADDRSTRLEN), for log lines. */
const char *mzri_ntoa(struct in_addr ip, char *buf);

/* Whether @ip is the network address or the broadcast of prefix/len. */
bool mzri_is_net_or_bcast(struct in_addr prefix, unsigned int len,
			  struct in_addr ip);

/* 0, or -ERANGE (logged, prefixed by @what) for a VNI out of range. */
int mzri_check_vni(const char *what, uint32_t vni);

#endif /* MZR_ADDR_H */
