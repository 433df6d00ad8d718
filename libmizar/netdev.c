// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Interfaces: sysctls, ioctls (MAC, MTU), the primary address, and
 * attaching a program by netlink (XDP, and tc's clsact ingress). Knows no
 * host handle: every call takes an ifindex and a program fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_priv.h"
#include "netdev.h"

/* ---- Interfaces and sysctls --------------------------------------------- */

int mzri_sysctl_write(const char *path, const char *val)
{
	char full[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* net/ipv4/conf/<ifname>/<knob>; dots in names become slashes there. */
int mzri_if_sysctl(const char *ifname, const char *knob, const char *val)
{
	char path[128], name[IF_NAMESIZE];
	char *p;

	snprintf(name, sizeof(name), "%s", ifname);
	for (p = name; *p; p++)
		if (*p == '.')
			*p = '/';
	snprintf(path, sizeof(path), "net/ipv4/conf/%s/%s", name, knob);
	return mzri_sysctl_write(path, val);
}

static int if_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd, err = 0;

	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, ifr))
		err = -errno;
	close(fd);
	return err;
}

int mzri_if_hwaddr(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int err = if_ioctl(ifname, SIOCGIFHWADDR, &ifr);

	if (!err)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return err;
}

int mzri_if_mtu(const char *ifname, unsigned int *mtu)
{
	struct ifreq ifr;
	int err = if_ioctl(ifname, SIOCGIFMTU, &ifr);

	if (!err)
		*mtu = ifr.ifr_mtu;
	return err;
}

int mzri_if_primary_ipv4(const char *ifname, struct in_addr *ip)
{
	struct ifaddrs *ifa, *it;
	int err = -EADDRNOTAVAIL;

	if (getifaddrs(&ifa))
		return -errno;
	for (it = ifa; it; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET ||
		    strcmp(it->ifa_name, ifname))
			continue;
		*ip = ((struct sockaddr_in *)it->ifa_addr)->sin_addr;
		err = 0;
		break;
	}
	freeifaddrs(ifa);
	return err;
}

/* ---- XDP attach --------------------------------------------------------- */

static int prog_id(int prog_fd, __u32 *id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

static __u32 mode_flag(enum mzr_xdp_mode mode)
{
	return mode == MZR_XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE :
					      XDP_FLAGS_DRV_MODE;
}

int mzri_xdp_attach(int ifindex, int prog_fd, enum mzr_xdp_mode want,
		    enum mzr_xdp_mode *mode_out, const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	enum mzr_xdp_mode modes[2];
	int n = 0, i, err;
	__u32 id;

	err = prog_id(prog_fd, &id);
	if (err)
		return err;
	if (!bpf_xdp_query(ifindex, 0, &q)) {
		if (q.drv_prog_id == id || q.skb_prog_id == id) {
			*mode_out = q.drv_prog_id == id ? MZR_XDP_MODE_NATIVE :
							  MZR_XDP_MODE_GENERIC;
			return 0;
		}
		if (q.prog_id || q.drv_prog_id || q.skb_prog_id ||
		    q.hw_prog_id) {
			mzri_warn("%s: another XDP program (id %u) is attached\n",
				  ifname, q.prog_id ? q.prog_id :
				  q.drv_prog_id ? q.drv_prog_id :
				  q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id);
			return -EBUSY;
		}
	}
	if (want != MZR_XDP_MODE_GENERIC)
		modes[n++] = MZR_XDP_MODE_NATIVE;
	if (want != MZR_XDP_MODE_NATIVE)
		modes[n++] = MZR_XDP_MODE_GENERIC;
	for (i = 0; i < n; i++) {
		err = bpf_xdp_attach(ifindex, prog_fd,
				     XDP_FLAGS_UPDATE_IF_NOEXIST |
					     mode_flag(modes[i]),
				     NULL);
		if (!err) {
			*mode_out = modes[i];
			return 0;
		}
		if (err == -EBUSY || err == -EEXIST)
			break;
		if (i + 1 < n)
			mzri_debug("%s: native XDP failed (%d), trying generic\n",
				   ifname, err);
	}
	if (err == -EEXIST)
		err = -EBUSY;
	mzri_warn("%s: cannot attach XDP program: %s\n", ifname,
		  strerror(-err));
	return err;
}

/* Whether @prog_fd's program is attached to @ifindex by netlink. */
bool mzri_xdp_plain_attached(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 id = 0;

	return !prog_id(prog_fd, &id) && !bpf_xdp_query(ifindex, 0, &q) &&
	       (q.drv_prog_id == id || q.skb_prog_id == id);
}

int mzri_xdp_detach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a, .old_prog_fd = prog_fd);
	int err = 0;
	__u32 id = 0;

	if (prog_fd < 0 || prog_id(prog_fd, &id) ||
	    bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (q.drv_prog_id == id)
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, &a);
	else if (q.skb_prog_id == id)
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, &a);
	return err;
}

/* ---- tc attach (unresolved-neighbour hand-off) -------------------------- */

/* Whether program @id is called @name (the kernel keeps 15 characters). */
/* Whether program @id shares a map with program @prog_fd: two core
 * programs of one back-plane do (mzr_stats), those of two pin roots
 * never. */
static bool prog_shares_map(__u32 id, int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], i, j;
	struct bpf_prog_info mine = {};
	__u32 mine_ids[64];
	bool shared = false;
	int fd;

	mine.nr_map_ids = 64;
	mine.map_ids = (__u64)(unsigned long)mine_ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &mine, &len))
		return false;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	len = sizeof(info);
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		for (i = 0; i < info.nr_map_ids && i < 64 && !shared; i++)
			for (j = 0; j < mine.nr_map_ids && j < 64; j++)
				if (ids[i] == mine_ids[j])
					shared = true;
	}
	close(fd);
	return shared;
}

static bool prog_named(__u32 id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool same;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	same = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       !strncmp(info.name, name, sizeof(info.name) - 1);
	close(fd);
	return same;
}

int mzri_tc_attach(int ifindex, int prog_fd, const char *ifname,
		   int *undo_out)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = MZRI_TC_HANDLE,
		    .priority = MZRI_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = MZRI_TC_HANDLE,
		    .priority = MZRI_TC_PRIO, .prog_fd = prog_fd);
	bool created = false;
	__u32 id = 0;
	int err;

	*undo_out = 0;
	err = prog_id(prog_fd, &id);
	if (err)
		return err;
	err = bpf_tc_hook_create(&hook);
	if (!err)
		created = true;
	else if (err != -EEXIST)
		goto fail;
	if (!created && !bpf_tc_query(&hook, &q)) {
		if (q.prog_id == id)
			return 0;
		if (!prog_named(q.prog_id, mzri_prog_names[MZRI_PROG_NEIGH])) {
			mzri_warn("%s: another tc ingress program (id %u) holds handle 0x%x priority %u\n",
				  ifname, q.prog_id, MZRI_TC_HANDLE,
				  MZRI_TC_PRIO);
			return -EBUSY;
		}
		/* Another pin root's back-plane: not ours to take over. */
		if (!prog_shares_map(q.prog_id, prog_fd)) {
			mzri_warn("%s: the tc ingress program (id %u) of another back-plane holds handle 0x%x (reset that pin root first)\n",
				  ifname, q.prog_id, MZRI_TC_HANDLE);
			return -EBUSY;
		}
		/* An earlier program of this back-plane (e.g. reloaded). */
		o.flags = BPF_TC_F_REPLACE;
	}
	err = bpf_tc_attach(&hook, &o);
	if (!err) {
		*undo_out = MZRI_TC_ATTACHED | (created ? MZRI_TC_QDISC : 0);
		return 0;
	}
	if (created)
		mzri_tc_undo(ifindex, prog_fd, MZRI_TC_QDISC);
fail:
	mzri_warn("%s: cannot attach the tc ingress program: %s\n", ifname,
		  strerror(-err));
	return err;
}

void mzri_tc_undo(int ifindex, int prog_fd, int undo)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	if (undo & MZRI_TC_ATTACHED)
		mzri_tc_detach(ifindex, prog_fd);
	/* Created by that very call, so holding nothing but our filter. */
	if (undo & MZRI_TC_QDISC)
		bpf_tc_hook_destroy(&hook);
}

int mzri_tc_detach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = MZRI_TC_HANDLE,
		    .priority = MZRI_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, d, .handle = MZRI_TC_HANDLE,
		    .priority = MZRI_TC_PRIO);
	__u32 id = 0;

	if (prog_fd >= 0 && prog_id(prog_fd, &id))
		return 0;
	/* No clsact, no such filter, no such device: nothing of ours. */
	if (bpf_tc_query(&hook, &q))
		return 0;
	if (prog_fd >= 0 ? q.prog_id != id :
			   !prog_named(q.prog_id,
				       mzri_prog_names[MZRI_PROG_NEIGH]))
		return 0;
	return bpf_tc_detach(&hook, &d);
}
