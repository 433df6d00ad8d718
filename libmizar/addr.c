// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Pure address logic: prefixes, MACs, VNIs and the endpoint spec's
 * checks. No kernel and no host handle (the unit tests call it alone).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"
#include "internal.h"

const char *mzri_ntoa(struct in_addr ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

bool mzri_prefix_valid(struct in_addr prefix, unsigned int len)
{
	if (len > 30)
		return false;
	return !(ntohl(prefix.s_addr) & ~mzri_mask(len));
}

bool mzri_prefix_contains(struct in_addr prefix, unsigned int len,
			  struct in_addr ip)
{
	uint32_t m = mzri_mask(len > 32 ? 32 : len);

	return (ntohl(ip.s_addr) & m) == (ntohl(prefix.s_addr) & m);
}

bool mzri_prefix_overlap(struct in_addr a, unsigned int alen,
			 struct in_addr b, unsigned int blen)
{
	/* Two prefixes overlap iff the shorter one contains the other. */
	return alen <= blen ? mzri_prefix_contains(a, alen, b) :
			      mzri_prefix_contains(b, blen, a);
}

struct in_addr mzri_first_host(struct in_addr prefix, unsigned int len)
{
	struct in_addr gw;

	gw.s_addr = htonl((ntohl(prefix.s_addr) & mzri_mask(len)) + 1);
	return gw;
}

void mzri_gw_mac(struct in_addr gw, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	memcpy(&mac[2], &gw.s_addr, 4);
}

bool mzri_mac_valid(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6);
}

bool mzri_ip_valid(struct in_addr ip)
{
	uint32_t a = ntohl(ip.s_addr);

	return a && a != 0xffffffffU && (a >> 28) != 0xe && (a >> 24) != 127;
}

/* Network address or broadcast of prefix/len (not usable by hosts). */
bool mzri_is_net_or_bcast(struct in_addr prefix, unsigned int len,
			  struct in_addr ip)
{
	uint32_t m = mzri_mask(len), a = ntohl(ip.s_addr);

	return (a & ~m) == 0 || (a & ~m) == ~m;
}

int mzri_check_vni(const char *what, uint32_t vni)
{
	if (mzri_vni_valid(vni))
		return 0;
	mzri_warn("%s: VNI %u out of range (1-%u)\n", what, vni, MZR_VNI_MAX);
	return -ERANGE;
}

int mzri_ep_spec_check(const struct mzr_ep_spec *spec)
{
	char buf[INET_ADDRSTRLEN];
	int err;

	if (!spec) {
		mzri_warn("endpoint: NULL spec\n");
		return -EINVAL;
	}
	err = mzri_check_vni("endpoint", spec->vni);
	if (err)
		return err;
	if (!mzri_ip_valid(spec->ip)) {
		mzri_warn("endpoint: bad address %s\n",
			  mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	if (!mzri_mac_valid(spec->mac)) {
		mzri_warn("endpoint %s: bad MAC (zero or multicast)\n",
			  mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	if (!mzri_ip_valid(spec->host)) {
		mzri_warn("endpoint %s: bad host address\n",
			  mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	if (spec->flags & ~MZR_EP_BYPASS_DECAP) {
		mzri_warn("endpoint %s: unknown flags 0x%x\n",
			  mzri_ntoa(spec->ip, buf), spec->flags);
		return -EINVAL;
	}
	if (spec->ifname &&
	    (!*spec->ifname || strlen(spec->ifname) >= IF_NAMESIZE)) {
		mzri_warn("endpoint %s: bad interface name\n",
			  mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	return 0;
}
