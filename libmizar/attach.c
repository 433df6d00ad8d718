// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * host attach: the transit program (XDP, the dispatcher or tc) and the tc
 * neighbour hand-off on the underlay, its sysctls, and the host's record
 * in mzr_host.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "host_priv.h"
#include "dispatcher.h"


/*
 * bpf_fib_lookup() answers FWD_DISABLED when the device it is given
 * (params->ifindex: the underlay, for the agent too; see fib.h) has no
 * IPv4 forwarding: conf/<underlay>/forwarding is what it reads, so the
 * global ip_forward, which would make every interface a router, stays as
 * the operator set it. The rest serves a NIC whose driver has no XDP
 * metadata, where the transit program lets the kernel forward its
 * unresolved-neighbour frames (outer source: this host) instead of the
 * tc program; ingress and egress are the underlay there too.
 */
static int host_sysctls(const char *ifname)
{
	int err;

	err = mzri_if_sysctl(ifname, "forwarding", "1");
	if (err) {
		mzri_warn("host attach: cannot enable IPv4 forwarding on %s (bpf_fib_lookup needs it): %s\n",
			  ifname, strerror(-err));
		return err;
	}
	err = mzri_sysctl_write("net/ipv4/conf/all/send_redirects", "0");
	if (!err)
		err = mzri_if_sysctl(ifname, "send_redirects", "0");
	if (!err)
		err = mzri_if_sysctl(ifname, "accept_local", "1");
	if (!err)
		err = mzri_if_sysctl(ifname, "rp_filter", "0");
	if (err)
		mzri_info("%s: cannot set forwarding sysctls: %s\n", ifname,
			  strerror(-err));
	return 0;
}


/*
 * Empty the data path's next-hop cache (bpf-core/fib.h): its entries were
 * resolved from the recorded underlay address and interface, which a host
 * attach may just have changed. Best effort: entries age out anyway.
 */
static void nh_cache_flush(const struct mzr_host *h)
{
	int fd = h->map_fds[MZRI_MAP_NH];
	__u32 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
}

static int host_attach(struct mzr_host *h, const char *ifname,
		       const struct mzr_attach_opts *opts)
{
	enum mzr_xdp_mode want, mode;
	struct mzr_host_cfg cfg;
	unsigned int ifindex, old_ifindex, mtu = 0;
	__be32 old_ip;
	struct in_addr ip;
	char ipbuf[INET_ADDRSTRLEN];
	int tc_undo;
	__u32 key = 0;
	int err;

	err = mzri_check_loaded(h, "host attach");
	if (err)
		return err;
	if (!MZRI_OPTS_VALID(opts, mzr_attach_opts))
		return -EINVAL;
	want = MZRI_OPTS_GET(opts, mode, MZR_XDP_MODE_AUTO);
	ip = MZRI_OPTS_GET(opts, ip, (struct in_addr){ 0 });
	if (want > MZR_XDP_MODE_TC) {
		mzri_warn("host attach: bad XDP mode %d\n", want);
		return -EINVAL;
	}
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		mzri_warn("host attach: bad interface name\n");
		return -EINVAL;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		mzri_warn("host attach: no interface %s\n", ifname);
		return -ENODEV;
	}
	if (!ip.s_addr) {
		err = mzri_if_primary_ipv4(ifname, &ip);
		if (err) {
			mzri_warn("host attach: %s has no IPv4 address and none was given\n",
				  ifname);
			return -EADDRNOTAVAIL;
		}
	} else if (!mzri_ip_valid(ip)) {
		mzri_warn("host attach: bad underlay address %s\n",
			  mzri_ntoa(ip, ipbuf));
		return -EINVAL;
	}
	err = mzri_host_cfg(h, &cfg);
	if (err)
		return err;
	memset(&cfg.mac, 0, sizeof(cfg.mac));
	err = mzri_if_hwaddr(ifname, cfg.mac);
	if (!err)
		err = mzri_if_mtu(ifname, &mtu);
	if (err) {
		mzri_warn("host attach: cannot read %s: %s\n", ifname,
			  strerror(-err));
		return err;
	}

	/* Without forwarding on the underlay every route lookup fails:
	 * refuse before anything is attached. */
	err = host_sysctls(ifname);
	if (err)
		return err;
	/* tc first: it ignores every frame until the transit program
	 * hands one off. */
	err = mzri_tc_attach(ifindex, h->prog_fds[MZRI_PROG_NEIGH], ifname,
			     &tc_undo);
	if (err)
		return err;
	/* The dispatcher only on request, and only where an extension can
	 * run the core's tail calls (mzri_dispatcher_attach()); our program
	 * already attached plainly stays so (no interruption). */
	err = -EOPNOTSUPP;
	if (want == MZR_XDP_MODE_TC) {
		/* The XDP transit only while a transit hook has a chain
		 * (transit_mode.c); otherwise the tc program is the transit. */
		mode = MZR_XDP_MODE_TC;
		err = 0;
		if (!mzri_if_is_veth(ifname))
			mzri_info("%s is not a veth: on a NIC the XDP transit (the default mode) takes wire frames without an skb\n",
				  ifname);
		if (mzri_transit_wants_xdp(h))
			err = mzri_xdp_attach(ifindex,
					      h->prog_fds[MZRI_PROG_TRANSIT],
					      MZR_XDP_MODE_AUTO, &mode, ifname);
	} else if (want == MZR_XDP_MODE_DISPATCHER &&
	    !mzri_xdp_plain_attached(ifindex, h->prog_fds[MZRI_PROG_TRANSIT]))
		err = mzri_dispatcher_attach(h, ifindex, MZR_XDP_MODE_AUTO, ifname);
	if (want == MZR_XDP_MODE_TC)
		;
	else if (!err)
		mode = MZR_XDP_MODE_DISPATCHER;
	else
		err = mzri_xdp_attach(ifindex, h->prog_fds[MZRI_PROG_TRANSIT],
				      want == MZR_XDP_MODE_DISPATCHER ?
					      MZR_XDP_MODE_AUTO : want,
				      &mode, ifname);
	if (err) {
		mzri_tc_undo(ifindex, h->prog_fds[MZRI_PROG_NEIGH], tc_undo);
		return err;
	}
	old_ifindex = cfg.ifindex;
	old_ip = cfg.ip;
	cfg.ip = ip.s_addr;
	cfg.ifindex = ifindex;
	cfg.mtu = mtu;
	cfg.flags &= ~MZRI_CFG_F_MODE_MASK;
	cfg.flags |= mode == MZR_XDP_MODE_NATIVE ? MZRI_CFG_F_NATIVE :
		     mode == MZR_XDP_MODE_GENERIC ? MZRI_CFG_F_GENERIC :
						    MZRI_CFG_F_DISPATCHER;
	if (want == MZR_XDP_MODE_GENERIC)
		cfg.flags |= MZRI_CFG_F_WANT_GENERIC;
	if (want == MZR_XDP_MODE_TC)
		cfg.flags |= MZRI_CFG_F_TC;
	if (mode == MZR_XDP_MODE_TC) {
		cfg.flags &= ~MZRI_CFG_F_DISPATCHER;
		cfg.flags |= MZR_HOST_F_TC_TRANSIT;
	}
	if (bpf_map_update_elem(h->map_fds[MZRI_MAP_HOST], &key, &cfg,
				BPF_ANY)) {
		err = -errno;
		/* A re-attach to the recorded underlay keeps it working. */
		if (old_ifindex != ifindex) {
			mzri_xdp_detach(ifindex,
					h->prog_fds[MZRI_PROG_TRANSIT]);
			mzri_dispatcher_detach(ifindex, h->map_fds[MZRI_MAP_HOST]);
		}
		mzri_tc_undo(ifindex, h->prog_fds[MZRI_PROG_NEIGH], tc_undo);
		mzri_warn("host attach: cannot record the host: %s\n",
			  strerror(-err));
		return err;
	}
	/* This host is always its own known peer (NFs read mzr_peers; the
	 * transit program knows its own address anyway). */
	if (mzri_peer_self(h, old_ip, cfg.ip))
		mzri_warn("host attach: cannot record %s as a known peer\n",
			  mzri_ntoa(ip, ipbuf));
	nh_cache_flush(h);
	/* tc transit recorded: an XDP transit left from an earlier attach
	 * in an XDP mode goes. */
	if (mode == MZR_XDP_MODE_TC) {
		mzri_xdp_detach(ifindex, h->prog_fds[MZRI_PROG_TRANSIT]);
		mzri_dispatcher_detach(ifindex, h->map_fds[MZRI_MAP_HOST]);
	}
	/* Moving to another underlay: leave the old one clean, once the
	 * new one is recorded (a failure above keeps the old one working). */
	if (old_ifindex && old_ifindex != ifindex) {
		mzri_xdp_detach(old_ifindex, h->prog_fds[MZRI_PROG_TRANSIT]);
		mzri_dispatcher_detach(old_ifindex, h->map_fds[MZRI_MAP_HOST]);
		mzri_tc_detach(old_ifindex, h->prog_fds[MZRI_PROG_NEIGH]);
	}
	mzri_info("transit attached to %s (%s), underlay %s\n", ifname,
		  mode == MZR_XDP_MODE_NATIVE ? "native XDP" :
		  mode == MZR_XDP_MODE_GENERIC ? "generic XDP" :
		  mode == MZR_XDP_MODE_TC ? "tc" : "dispatcher XDP",
		  mzri_ntoa(ip, ipbuf));
	return 0;
}

int mzr_host__attach(struct mzr_host *h, const char *ifname,
		     const struct mzr_attach_opts *opts)
{
	return MZRI_LOCKED(h, false, host_attach(h, ifname, opts));
}

enum mzr_xdp_mode mzr_host__xdp_mode(const struct mzr_host *h)
{
	struct mzr_host_cfg cfg;

	if (!h || !h->loaded || mzri_host_cfg(h, &cfg) || !cfg.ifindex)
		return 0;
	if (cfg.flags & MZR_HOST_F_TC_TRANSIT)
		return MZR_XDP_MODE_TC;
	if (cfg.flags & MZRI_CFG_F_DISPATCHER)
		return MZR_XDP_MODE_DISPATCHER;
	if (cfg.flags & MZRI_CFG_F_NATIVE)
		return MZR_XDP_MODE_NATIVE;
	if (cfg.flags & MZRI_CFG_F_GENERIC)
		return MZR_XDP_MODE_GENERIC;
	return 0;
}
