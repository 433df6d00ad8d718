// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `host show`'s transit line and its hint: where the transit runs (XDP or
 * tc) and, for a veth underlay with the XDP transit, a pointer to `mode
 * tc`. XDP on a veth cuts its peer's TSO super-packets into MTU frames, so
 * overlay TCP ran at 0.1-0.3x kernel routing there against 0.45-1.3x with
 * the tc transit (docs/performance.md); `mode` still defaults to native
 * (CONTRACT.md), so the operator has to be told.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "mizarctl.h"

const char *mzctl_transit_name(enum mzr_xdp_mode mode)
{
	switch (mode) {
	case MZR_XDP_MODE_TC:
		return "tc";
	case MZR_XDP_MODE_NATIVE:
	case MZR_XDP_MODE_GENERIC:
	case MZR_XDP_MODE_DISPATCHER:
		return "xdp";
	default:
		return "none";
	}
}

int mzctl_dev_driver(const char *ifname, char *drv, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd, err = 0;

	if (!len || strlen(ifname) >= sizeof(ifr.ifr_name))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, ifname);
	ifr.ifr_data = (void *)&di;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	if (!err)
		snprintf(drv, len, "%.*s", (int)sizeof(di.driver), di.driver);
	return err;
}

const char *mzctl_transit_hint(const struct mzr_host_info *info, char *buf,
			       size_t len)
{
	char drv[32];

	if (!info->ifindex || info->mode != MZR_XDP_MODE_NATIVE ||
	    mzctl_dev_driver(info->ifname, drv, sizeof(drv)) ||
	    strcmp(drv, "veth"))
		return NULL;
	snprintf(buf, len, "underlay %s is a veth: the XDP transit cuts TCP "
		 "super-packets there; `mizarctl host init dev %s mode tc` "
		 "keeps them whole (docs/performance.md)", info->ifname,
		 info->ifname);
	return buf;
}
