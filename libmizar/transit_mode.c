// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where the transit runs on a host attached with MZR_XDP_MODE_TC: in tc
 * on the underlay (bpf-core/transit_tc.h: GSO super-packets stay whole on
 * a veth underlay), or in XDP while a transit hook (bouncer, divider,
 * deliver, external) has an NF chain, which only XDP can tail-call
 * (docs/architecture.md). MZR_HOST_F_TC_TRANSIT in mzr_host tells the tc
 * program which; it is set only while no XDP transit is attached.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>

#include "host_priv.h"
#include "internal.h"

/* The hooks only the XDP transit can run (NF chains are tail-called). */
#define TRANSIT_HOOKS                                                        \
	((1U << MZR_HOOK_BOUNCER) | (1U << MZR_HOOK_DIVIDER) |               \
	 (1U << MZR_HOOK_DELIVER) | (1U << MZR_HOOK_EXTERNAL))

bool mzri_transit_hook(unsigned int hook)
{
	return hook < 32 && (TRANSIT_HOOKS & (1U << hook));
}

bool mzri_transit_wants_xdp(const struct mzr_host *h)
{
	return mzri_live_chains_in(h, TRANSIT_HOOKS);
}

int mzri_transit_sync(const struct mzr_host *h, bool xdp)
{
	int hostmap = mzri_fd(h, MZRI_MAP_HOST);
	int prog = h->prog_fds[MZRI_PROG_TRANSIT];
	struct mzr_host_cfg cfg;
	char name[IF_NAMESIZE];
	enum mzr_xdp_mode mode;
	__u32 key = 0;
	int err;

	if (mzri_host_cfg(h, &cfg) || !cfg.ifindex ||
	    !(cfg.flags & MZRI_CFG_F_TC))
		return 0;
	if (!if_indextoname(cfg.ifindex, name))
		snprintf(name, sizeof(name), "ifindex %u", cfg.ifindex);
	if (xdp == !(cfg.flags & MZR_HOST_F_TC_TRANSIT))
		return 0;
	if (xdp) {
		/* XDP first: it takes every frame before tc sees it. */
		err = mzri_xdp_attach(cfg.ifindex, prog, MZR_XDP_MODE_AUTO,
				      &mode, name);
		if (err) {
			mzri_warn("%s: cannot attach the XDP transit an NF chain needs: %s\n",
				  name, strerror(-err));
			return err;
		}
		cfg.flags &= ~MZR_HOST_F_TC_TRANSIT;
		cfg.flags |= mode == MZR_XDP_MODE_NATIVE ? MZRI_CFG_F_NATIVE :
							   MZRI_CFG_F_GENERIC;
		if (bpf_map_update_elem(hostmap, &key, &cfg, BPF_ANY)) {
			err = -errno;
			mzri_xdp_detach(cfg.ifindex, prog);
			return err;
		}
		mzri_debug("%s: XDP transit (an NF chain at a transit hook)\n",
			   name);
		return 0;
	}
	cfg.flags &= ~(MZRI_CFG_F_NATIVE | MZRI_CFG_F_GENERIC);
	cfg.flags |= MZR_HOST_F_TC_TRANSIT;
	if (bpf_map_update_elem(hostmap, &key, &cfg, BPF_ANY))
		return -errno;
	err = mzri_xdp_detach(cfg.ifindex, prog);
	if (err)
		mzri_warn("%s: cannot detach the XDP transit: %s\n", name,
			  strerror(-err));
	else
		mzri_debug("%s: tc transit\n", name);
	return err;
}

bool mzri_if_is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	bool veth;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	veth = !ioctl(fd, SIOCETHTOOL, &ifr) && !strcmp(info.driver, "veth");
	close(fd);
	return veth;
}
