// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An endpoint's dev is the host-side end of its veth pair, or the tap of
 * its VM: the agent attached anywhere else (lo, a bridge, the NIC) would
 * take over traffic that is not an endpoint's.
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "internal.h"

int mzri_ep_dev_check(const char *what, const char *ifname)
{
	struct ethtool_drvinfo drv = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	const char *kind;
	char desc[64];
	bool ether;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&drv;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		drv.driver[0] = '\0';
	memset(&ifr.ifr_ifru, 0, sizeof(ifr.ifr_ifru));
	ether = !ioctl(fd, SIOCGIFHWADDR, &ifr) &&
		ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
	memset(&ifr.ifr_ifru, 0, sizeof(ifr.ifr_ifru));
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ifr.ifr_flags = 0;
	close(fd);
	/* A tap is the tun driver with an Ethernet header (tun is IP only). */
	if (!strcmp(drv.driver, "veth") || (!strcmp(drv.driver, "tun") && ether))
		return 0;
	if (ifr.ifr_flags & IFF_LOOPBACK)
		kind = "the loopback device";
	else if (!strcmp(drv.driver, "bridge"))
		kind = "a bridge";
	else if (!strcmp(drv.driver, "tun"))
		kind = "a tun device (no Ethernet header)";
	else if (drv.driver[0]) {
		snprintf(desc, sizeof(desc), "a %.32s device", drv.driver);
		kind = desc;
	} else {
		kind = "not a veth";
	}
	mzri_warn("%s: dev %s is %s: an endpoint's dev must be the host-side end of its veth pair or its VM's tap\n",
		  what, ifname, kind);
	return -EINVAL;
}
