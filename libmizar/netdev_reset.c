// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Find and remove libmizar's programs on a network device without pins:
 * after the bpffs holding a pin root was unmounted (or was private to an
 * `ip netns exec`), XDP and tc attachments outlive every pin, and only
 * what the programs are (name, maps) says they are ours.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <mizar/netdev.h>

#include "host_priv.h"

/* Older uapi headers lack tcx; the kernel's numbers are stable ABI. */
#define NDR_TCX_INGRESS 46
#define NDR_TCX_EGRESS 47
#define NDR_LINK_XDP 6
#define NDR_LINK_TCX 11

#define NDR_MAX_MAPS 64
#define NDR_MAX_PROGS 64

static bool named_ours(const char *name)
{
	return !strncmp(name, "mzr_", 4);
}

/* Ours: called mzr_* and using a map called mzr_* (the core's tables). A
 * foreign program with a look-alike name but none of our maps stays. */
static bool prog_is_ours(__u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[NDR_MAX_MAPS], i;
	bool ours = false;
	int fd, mfd;

	if (!id)
		return false;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	info.nr_map_ids = NDR_MAX_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !named_ours(info.name))
		goto out;
	for (i = 0; i < info.nr_map_ids && i < NDR_MAX_MAPS && !ours; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);

		mfd = bpf_map_get_fd_by_id(ids[i]);
		if (mfd < 0)
			continue;
		ours = !bpf_obj_get_info_by_fd(mfd, &mi, &mlen) &&
		       named_ours(mi.name);
		close(mfd);
	}
out:
	close(fd);
	return ours;
}

/* Detach through the bpf_link that holds program @id on @ifindex (XDP or
 * tcx), when a link is what holds it. */
static int link_detach(int ifindex, __u32 id)
{
	__u32 lid = 0;
	int fd, err = -ENOENT;

	while (!bpf_link_get_next_id(lid, &lid)) {
		struct bpf_link_info li = {};
		__u32 len = sizeof(li);

		fd = bpf_link_get_fd_by_id(lid);
		if (fd < 0)
			continue;
		/* xdp.ifindex and tcx.ifindex share the union's first word. */
		if (!bpf_obj_get_info_by_fd(fd, &li, &len) &&
		    li.prog_id == id &&
		    (li.type == NDR_LINK_XDP || li.type == NDR_LINK_TCX) &&
		    li.xdp.ifindex == (__u32)ifindex)
			err = bpf_link_detach(fd) ? -errno : 0;
		close(fd);
		if (err != -ENOENT)
			break;
	}
	return err;
}

struct ndr_walk {
	const char *ifname;
	int ifindex;
	bool remove;
	unsigned int found;	/* ours seen attached */
	unsigned int removed;
	int err;		/* first failure to remove */
};

static void walk_fail(struct ndr_walk *w, const char *what, __u32 id, int e)
{
	mzri_warn("%s: cannot detach %s program %u: %s\n", w->ifname, what, id,
		  strerror(-e));
	if (!w->err)
		w->err = e;
}

/* Components of libxdp's dispatcher; its own program is libxdp's. */
static void walk_dispatcher(struct ndr_walk *w)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int e;

	mp = xdp_multiprog__get_from_ifindex(w->ifindex);
	if (!mp || libxdp_get_error(mp))
		return;
	if (xdp_multiprog__is_legacy(mp))
		goto out;
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp)) {
		if (!prog_is_ours(xdp_program__id(p)))
			continue;
		w->found++;
		if (!w->remove)
			continue;
		e = xdp_program__detach(p, w->ifindex,
					xdp_multiprog__attach_mode(mp), 0);
		if (e)
			walk_fail(w, "the dispatcher's", xdp_program__id(p), e);
		else
			w->removed++;
	}
out:
	xdp_multiprog__close(mp);
}

static void walk_xdp(struct ndr_walk *w)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	const struct {
		__u32 *id;
		__u32 flag;
	} modes[] = {
		{ &q.drv_prog_id, XDP_FLAGS_DRV_MODE },
		{ &q.skb_prog_id, XDP_FLAGS_SKB_MODE },
		{ &q.hw_prog_id, XDP_FLAGS_HW_MODE },
	};
	bool dispatcher = false;
	unsigned int i;
	int e, fd;

	if (bpf_xdp_query(w->ifindex, 0, &q))
		return;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		__u32 id = *modes[i].id;

		if (!id)
			continue;
		if (!prog_is_ours(id)) {
			dispatcher = true;
			continue;
		}
		w->found++;
		if (!w->remove)
			continue;
		fd = bpf_prog_get_fd_by_id(id);
		a.old_prog_fd = fd;
		e = fd < 0 ? -errno :
			     bpf_xdp_detach(w->ifindex, modes[i].flag, &a);
		if (fd >= 0)
			close(fd);
		/* Held by a bpf_link: netlink cannot take it off. */
		if (e)
			e = link_detach(w->ifindex, id) ? e : 0;
		if (e)
			walk_fail(w, "XDP", id, e);
		else
			w->removed++;
	}
	/* A foreign program may be libxdp's dispatcher holding ours. */
	if (dispatcher)
		walk_dispatcher(w);
}

/* cls_bpf filters at libmizar's handle and priority (netdev.h). */
static void walk_tc(struct ndr_walk *w)
{
	const enum bpf_tc_attach_point points[] = { BPF_TC_INGRESS,
						    BPF_TC_EGRESS };
	unsigned int i;
	int e;

	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = w->ifindex,
			    .attach_point = points[i]);
		LIBBPF_OPTS(bpf_tc_opts, q, .handle = MZRI_TC_HANDLE,
			    .priority = MZRI_TC_PRIO);
		LIBBPF_OPTS(bpf_tc_opts, d, .handle = MZRI_TC_HANDLE,
			    .priority = MZRI_TC_PRIO);

		if (bpf_tc_query(&hook, &q) || !prog_is_ours(q.prog_id))
			continue;
		w->found++;
		if (!w->remove)
			continue;
		e = bpf_tc_detach(&hook, &d);
		if (e)
			walk_fail(w, "tc", q.prog_id, e);
		else
			w->removed++;
	}
}

static void walk_tcx(struct ndr_walk *w)
{
	const int types[] = { NDR_TCX_INGRESS, NDR_TCX_EGRESS };
	__u32 ids[NDR_MAX_PROGS], cnt, flags, i;
	unsigned int t;
	int e, fd;

	for (t = 0; t < 2; t++) {
		cnt = NDR_MAX_PROGS;
		if (bpf_prog_query(w->ifindex, types[t], 0, &flags, ids, &cnt))
			continue;
		for (i = 0; i < cnt && i < NDR_MAX_PROGS; i++) {
			if (!prog_is_ours(ids[i]))
				continue;
			w->found++;
			if (!w->remove)
				continue;
			fd = bpf_prog_get_fd_by_id(ids[i]);
			e = fd < 0 ? -errno :
				     bpf_prog_detach2(fd, w->ifindex, types[t]);
			if (fd >= 0)
				close(fd);
			if (e)
				e = link_detach(w->ifindex, ids[i]) ? e : 0;
			if (e)
				walk_fail(w, "tcx", ids[i], e);
			else
				w->removed++;
		}
	}
}

static int walk(struct ndr_walk *w)
{
	if (!w->ifname)
		return -EINVAL;
	w->ifindex = if_nametoindex(w->ifname);
	if (!w->ifindex)
		return -ENODEV;
	walk_xdp(w);
	walk_tc(w);
	walk_tcx(w);
	return 0;
}

int mzr_netdev_attached(const char *ifname)
{
	struct ndr_walk w = { .ifname = ifname };
	int err = walk(&w);

	return err ? err : (int)w.found;
}

int mzr_netdev_reset(const char *ifname, unsigned int *removed)
{
	struct ndr_walk w = { .ifname = ifname, .remove = true };
	int err = walk(&w), left;

	if (removed)
		*removed = w.removed;
	if (err)
		return err;
	if (w.err)
		return -EBUSY;
	left = mzr_netdev_attached(ifname);
	if (left > 0) {
		mzri_warn("%s: %d back-plane program(s) still attached\n",
			  ifname, left);
		return -EBUSY;
	}
	return left < 0 ? left : 0;
}
