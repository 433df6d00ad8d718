// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The host handle: loading the core object, pinning, reopening from pins,
 * attaching the transit program and tearing everything down.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core.h"
#include "mzr_core_bpf.skel.h"

const char *const mzri_map_names[MZRI_MAP__N] = {
	[MZRI_MAP_HOST] = "mzr_host",
	[MZRI_MAP_VPCS] = "mzr_vpcs",
	[MZRI_MAP_NETS] = "mzr_nets",
	[MZRI_MAP_EPS] = "mzr_eps",
	[MZRI_MAP_LOCAL] = "mzr_local",
	[MZRI_MAP_DIRECT] = "mzr_direct",
	[MZRI_MAP_STATS] = "mzr_stats",
	[MZRI_MAP_PROGS] = "mzr_progs",
	[MZRI_MAP_CHAIN_CFG] = "mzr_chain_cfg",
	[MZRI_MAP_CTX] = "mzr_ctx_map",
	[MZRI_MAP_MISSED] = "mzr_missed",
};

const char *const mzri_prog_names[MZRI_PROG__N] = {
	[MZRI_PROG_TRANSIT] = "mzr_transit",
	[MZRI_PROG_AGENT] = "mzr_agent",
	[MZRI_PROG_CONT_AGENT_EGRESS] = "mzr_cont_agent_egress",
	[MZRI_PROG_CONT_BOUNCER] = "mzr_cont_bouncer",
	[MZRI_PROG_CONT_DIVIDER] = "mzr_cont_divider",
	[MZRI_PROG_CONT_DELIVER] = "mzr_cont_deliver",
	[MZRI_PROG_CONT_EXTERNAL] = "mzr_cont_external",
	[MZRI_PROG_NEIGH] = "mzr_neigh",
};

/* Continuation program of each hook, installed at MZR_PROG_CONT(hook). */
static const enum mzri_prog hook_cont[__MZR_HOOK_MAX] = {
	[MZR_HOOK_AGENT_EGRESS] = MZRI_PROG_CONT_AGENT_EGRESS,
	[MZR_HOOK_BOUNCER] = MZRI_PROG_CONT_BOUNCER,
	[MZR_HOOK_DIVIDER] = MZRI_PROG_CONT_DIVIDER,
	[MZR_HOOK_DELIVER] = MZRI_PROG_CONT_DELIVER,
	[MZR_HOOK_EXTERNAL] = MZRI_PROG_CONT_EXTERNAL,
};

int mzri_check_loaded(const struct mzr_host *h, const char *what)
{
	if (!h) {
		mzr_warn("%s: no host handle\n", what);
		return -EINVAL;
	}
	if (!h->loaded) {
		mzr_warn("%s: back-plane at %s is not loaded\n", what,
			 h->pin_root);
		return -EINVAL;
	}
	return 0;
}

int mzri_map_err(int err)
{
	/* A full hash map says E2BIG; the API says ENOSPC. */
	if (err == -E2BIG)
		return -ENOSPC;
	return err;
}

int mzri_host_cfg(const struct mzr_host *h, struct mzr_host_cfg *cfg)
{
	__u32 key = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_HOST), &key, cfg))
		return -errno;
	return 0;
}

/* ---- Pin root ----------------------------------------------------------- */

static int pin_path(char *buf, const struct mzr_host *h, const char *kind,
		    const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%s%s", h->pin_root, kind,
			 name ? "/" : "", name ? name : "");

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/*
 * The pin root must live on a bpffs. The default one lives under
 * /sys/fs/bpf, which is not always mounted: mount it, as bpftool does.
 */
static int ensure_bpffs(const char *root)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", root);
	while (access(dir, F_OK)) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			snprintf(dir, sizeof(dir), "/");
			break;
		}
		*slash = '\0';
	}
	if (is_bpffs(dir))
		return 0;
	if (!strncmp(root, "/sys/fs/bpf/", 12) && !is_bpffs("/sys/fs/bpf") &&
	    !access("/sys/fs/bpf", F_OK)) {
		if (!mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			mzr_info("mounted a bpffs on /sys/fs/bpf\n");
			return 0;
		}
	}
	mzr_warn("pin root %s is not on a bpffs (mount -t bpf bpf DIR)\n",
		 root);
	return -ENOTSUP;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Remove everything under @path, descending only into bpffs directories so
 * that a mistyped pin root can never delete ordinary files.
 */
static int remove_tree(const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int err = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	if (!is_bpffs(path))
		return -ENOTSUP;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		if (remove_tree(child) && !err)
			err = -EIO;
	}
	closedir(d);
	/* The root itself may be a mount point: leave it then. */
	if (rmdir(path) && errno != EBUSY && !err)
		err = -errno;
	return err;
}

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
static int if_sysctl(const char *ifname, const char *knob, const char *val)
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

static int if_primary_ipv4(const char *ifname, struct in_addr *ip)
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
			mzr_warn("%s: another XDP program (id %u) is attached\n",
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
			mzr_debug("%s: native XDP failed (%d), trying generic\n",
				  ifname, err);
	}
	if (err == -EEXIST)
		err = -EBUSY;
	mzr_warn("%s: cannot attach XDP program: %s\n", ifname,
		 strerror(-err));
	return err;
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
			mzr_warn("%s: another tc ingress program (id %u) holds handle 0x%x priority %u\n",
				 ifname, q.prog_id, MZRI_TC_HANDLE,
				 MZRI_TC_PRIO);
			return -EBUSY;
		}
		/* Left by an earlier load of the back-plane. */
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
	mzr_warn("%s: cannot attach the tc ingress program: %s\n", ifname,
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

/* ---- Handle lifecycle --------------------------------------------------- */

static struct mzr_host *host_new(const struct mzr_host_opts *opts, int *err)
{
	const char *root;
	struct mzr_host *h;
	size_t len;
	int i;

	if (!MZR_OPTS_VALID(opts, mzr_host_opts)) {
		*err = -EINVAL;
		return NULL;
	}
	root = MZR_OPTS_GET(opts, pin_root, NULL);
	if (!root || !*root)
		root = getenv("MIZAR_PIN_ROOT");
	if (!root || !*root)
		root = MZR_DEFAULT_PIN_ROOT;
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (root[0] != '/' || len >= sizeof(h->pin_root)) {
		mzr_warn("pin root '%s' must be an absolute path of at most %zu bytes\n",
			 root, sizeof(h->pin_root) - 1);
		*err = -EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(h->pin_root, root, len);
	h->max_endpoints = MZR_OPTS_GET(opts, max_endpoints, 0);
	if (!h->max_endpoints)
		h->max_endpoints = MZR_DEFAULT_MAX_ENDPOINTS;
	h->max_direct = MZR_OPTS_GET(opts, max_direct, 0);
	if (!h->max_direct)
		h->max_direct = MZR_DEFAULT_MAX_DIRECT;
	for (i = 0; i < MZRI_MAP__N; i++)
		h->map_fds[i] = -1;
	for (i = 0; i < MZRI_PROG__N; i++)
		h->prog_fds[i] = -1;
	return h;
}

struct mzr_host *mzr_host__open(const struct mzr_host_opts *opts)
{
	struct mzr_host *h;
	int err;

	h = host_new(opts, &err);
	return h ? h : mzr_err_ptr(err);
}

static void host_close_fds(struct mzr_host *h)
{
	int i;

	for (i = 0; i < MZRI_MAP__N; i++) {
		if (h->map_fds[i] >= 0)
			close(h->map_fds[i]);
		h->map_fds[i] = -1;
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		if (h->prog_fds[i] >= 0)
			close(h->prog_fds[i]);
		h->prog_fds[i] = -1;
	}
	h->loaded = false;
}

static int pin_all(struct mzr_host *h, struct mzr_core_bpf *skel)
{
	char path[PATH_MAX];
	int i, err;

	err = pin_path(path, h, "maps", NULL);
	if (!err)
		err = mkdir_p(path);
	if (!err)
		err = pin_path(path, h, "progs", NULL);
	if (!err)
		err = mkdir_p(path);
	if (err)
		goto fail;
	for (i = 0; i < MZRI_MAP__N; i++) {
		pin_path(path, h, "maps", mzri_map_names[i]);
		if (bpf_obj_pin(h->map_fds[i], path)) {
			err = -errno;
			goto fail;
		}
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		pin_path(path, h, "progs", mzri_prog_names[i]);
		if (bpf_obj_pin(h->prog_fds[i], path)) {
			err = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	mzr_warn("cannot pin under %s: %s\n", h->pin_root, strerror(-err));
	return err;
}

int mzr_host__load(struct mzr_host *h)
{
	struct mzr_core_bpf *skel = NULL;
	char path[PATH_MAX];
	struct bpf_program *prog;
	struct bpf_map *map;
	int i, err;
	__u32 key;

	if (!h)
		return -EINVAL;
	if (h->loaded) {
		mzr_warn("back-plane at %s is already loaded\n", h->pin_root);
		return -EALREADY;
	}
	err = ensure_bpffs(h->pin_root);
	if (err)
		return err;
	pin_path(path, h, "maps", mzri_map_names[MZRI_MAP_HOST]);
	if (!access(path, F_OK)) {
		mzr_warn("pin root %s already holds a back-plane\n",
			 h->pin_root);
		return -EEXIST;
	}

	skel = mzr_core_bpf__open();
	if (!skel) {
		err = -errno;
		mzr_warn("cannot open the core BPF object: %s\n",
			 strerror(-err));
		return err;
	}
	err = bpf_map__set_max_entries(skel->maps.mzr_eps, h->max_endpoints);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.mzr_direct,
					       h->max_direct);
	if (err) {
		mzr_warn("cannot size the endpoint tables: %s\n",
			 strerror(-err));
		goto out;
	}
	err = mzr_core_bpf__load(skel);
	if (err) {
		mzr_warn("cannot load the core BPF programs: %s\n",
			 strerror(-err));
		goto out;
	}

	for (i = 0; i < MZRI_MAP__N; i++) {
		map = bpf_object__find_map_by_name(skel->obj,
						   mzri_map_names[i]);
		if (!map || (h->map_fds[i] = dup(bpf_map__fd(map))) < 0) {
			err = map ? -errno : -ENOENT;
			mzr_warn("core object lacks map %s\n",
				 mzri_map_names[i]);
			goto out;
		}
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		prog = bpf_object__find_program_by_name(skel->obj,
							mzri_prog_names[i]);
		if (!prog || (h->prog_fds[i] = dup(bpf_program__fd(prog))) < 0) {
			err = prog ? -errno : -ENOENT;
			mzr_warn("core object lacks program %s\n",
				 mzri_prog_names[i]);
			goto out;
		}
	}
	for (i = 0; i < __MZR_HOOK_MAX; i++) {
		key = MZR_PROG_CONT(i);
		if (bpf_map_update_elem(h->map_fds[MZRI_MAP_PROGS], &key,
					&h->prog_fds[hook_cont[i]], BPF_ANY)) {
			err = -errno;
			mzr_warn("cannot install continuation %s: %s\n",
				 mzri_prog_names[hook_cont[i]],
				 strerror(-err));
			goto out;
		}
	}
	err = pin_all(h, skel);
	if (err) {
		pin_path(path, h, "maps", NULL);
		remove_tree(path);
		pin_path(path, h, "progs", NULL);
		remove_tree(path);
		goto out;
	}
	h->loaded = true;
out:
	if (err)
		host_close_fds(h);
	mzr_core_bpf__destroy(skel);
	return err;
}

static int host_open_pins(struct mzr_host *h)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int i;

	for (i = 0; i < MZRI_MAP__N; i++) {
		pin_path(path, h, "maps", mzri_map_names[i]);
		h->map_fds[i] = bpf_obj_get(path);
		if (h->map_fds[i] < 0)
			goto fail;
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		pin_path(path, h, "progs", mzri_prog_names[i]);
		h->prog_fds[i] = bpf_obj_get(path);
		if (h->prog_fds[i] < 0)
			goto fail;
	}
	if (!bpf_obj_get_info_by_fd(h->map_fds[MZRI_MAP_EPS], &info, &len))
		h->max_endpoints = info.max_entries;
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(h->map_fds[MZRI_MAP_DIRECT], &info, &len))
		h->max_direct = info.max_entries;
	h->loaded = true;
	return 0;
fail:
	i = errno;
	host_close_fds(h);
	return -i;
}

struct mzr_host *mzr_host__open_pinned(const struct mzr_host_opts *opts)
{
	struct mzr_host *h;
	int err;

	h = host_new(opts, &err);
	if (!h)
		return mzr_err_ptr(err);
	err = host_open_pins(h);
	if (err) {
		if (err == -ENOENT)
			mzr_warn("no back-plane at %s (run host init)\n",
				 h->pin_root);
		else
			mzr_warn("cannot open the back-plane at %s: %s\n",
				 h->pin_root, strerror(-err));
		free(h);
		return mzr_err_ptr(err);
	}
	return h;
}

void mzr_host__close(struct mzr_host *h)
{
	if (!h)
		return;
	host_close_fds(h);
	free(h);
}

const char *mzr_host__pin_root(const struct mzr_host *h)
{
	return h ? h->pin_root : NULL;
}

int mzr_host__map_fd(const struct mzr_host *h, const char *name)
{
	int i;

	if (!h || !name)
		return -EINVAL;
	for (i = 0; i < MZRI_MAP__N; i++) {
		if (strcmp(name, mzri_map_names[i]))
			continue;
		if (!h->loaded)
			return -EINVAL;
		return h->map_fds[i];
	}
	return -ENOENT;
}

/* ---- Attach and reset --------------------------------------------------- */

/*
 * bpf_fib_lookup() answers FWD_DISABLED on an interface without IPv4
 * forwarding. The rest serves a NIC whose driver has no XDP metadata,
 * where the transit program lets the kernel forward its unresolved-
 * neighbour frames (outer source: this host) instead of the tc program.
 */
static void host_sysctls(const char *ifname)
{
	int err;

	err = mzri_sysctl_write("net/ipv4/ip_forward", "1");
	if (!err)
		err = if_sysctl(ifname, "forwarding", "1");
	if (!err)
		err = mzri_sysctl_write("net/ipv4/conf/all/send_redirects",
					"0");
	if (!err)
		err = if_sysctl(ifname, "send_redirects", "0");
	if (!err)
		err = if_sysctl(ifname, "accept_local", "1");
	if (!err)
		err = if_sysctl(ifname, "rp_filter", "0");
	if (err)
		mzr_info("%s: cannot set forwarding sysctls: %s\n", ifname,
			 strerror(-err));
}

int mzr_host__attach(struct mzr_host *h, const char *ifname,
		     const struct mzr_attach_opts *opts)
{
	enum mzr_xdp_mode want, mode;
	struct mzr_host_cfg cfg;
	unsigned int ifindex, mtu = 0;
	struct in_addr ip;
	char ipbuf[INET_ADDRSTRLEN];
	int tc_undo;
	__u32 key = 0;
	int err;

	err = mzri_check_loaded(h, "host attach");
	if (err)
		return err;
	if (!MZR_OPTS_VALID(opts, mzr_attach_opts))
		return -EINVAL;
	want = MZR_OPTS_GET(opts, mode, MZR_XDP_MODE_AUTO);
	ip = MZR_OPTS_GET(opts, ip, (struct in_addr){ 0 });
	if (want > MZR_XDP_MODE_GENERIC) {
		mzr_warn("host attach: bad XDP mode %d\n", want);
		return -EINVAL;
	}
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		mzr_warn("host attach: bad interface name\n");
		return -EINVAL;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		mzr_warn("host attach: no interface %s\n", ifname);
		return -ENODEV;
	}
	if (!ip.s_addr) {
		err = if_primary_ipv4(ifname, &ip);
		if (err) {
			mzr_warn("host attach: %s has no IPv4 address and none was given\n",
				 ifname);
			return -EADDRNOTAVAIL;
		}
	} else if (!mzri_ip_valid(ip)) {
		mzr_warn("host attach: bad underlay address %s\n",
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
		mzr_warn("host attach: cannot read %s: %s\n", ifname,
			 strerror(-err));
		return err;
	}

	/* tc first: it ignores every frame until the transit program
	 * hands one off. */
	err = mzri_tc_attach(ifindex, h->prog_fds[MZRI_PROG_NEIGH], ifname,
			     &tc_undo);
	if (err)
		return err;
	err = mzri_xdp_attach(ifindex, h->prog_fds[MZRI_PROG_TRANSIT], want,
			      &mode, ifname);
	if (err) {
		mzri_tc_undo(ifindex, h->prog_fds[MZRI_PROG_NEIGH], tc_undo);
		return err;
	}
	/* Moving to another underlay: leave the old one clean. */
	if (cfg.ifindex && cfg.ifindex != ifindex) {
		mzri_xdp_detach(cfg.ifindex, h->prog_fds[MZRI_PROG_TRANSIT]);
		mzri_tc_detach(cfg.ifindex, h->prog_fds[MZRI_PROG_NEIGH]);
	}
	host_sysctls(ifname);

	cfg.ip = ip.s_addr;
	cfg.ifindex = ifindex;
	cfg.mtu = mtu;
	cfg.flags &= ~MZRI_CFG_F_MODE_MASK;
	cfg.flags |= mode == MZR_XDP_MODE_NATIVE ? MZRI_CFG_F_NATIVE :
						   MZRI_CFG_F_GENERIC;
	if (want == MZR_XDP_MODE_GENERIC)
		cfg.flags |= MZRI_CFG_F_WANT_GENERIC;
	if (bpf_map_update_elem(h->map_fds[MZRI_MAP_HOST], &key, &cfg,
				BPF_ANY)) {
		err = -errno;
		mzri_xdp_detach(ifindex, h->prog_fds[MZRI_PROG_TRANSIT]);
		mzri_tc_undo(ifindex, h->prog_fds[MZRI_PROG_NEIGH], tc_undo);
		mzr_warn("host attach: cannot record the host: %s\n",
			 strerror(-err));
		return err;
	}
	mzr_info("transit attached to %s (%s XDP), underlay %s\n", ifname,
		 mode == MZR_XDP_MODE_NATIVE ? "native" : "generic",
		 mzri_ntoa(ip, ipbuf));
	return 0;
}

enum mzr_xdp_mode mzr_host__xdp_mode(const struct mzr_host *h)
{
	struct mzr_host_cfg cfg;

	if (!h || !h->loaded || mzri_host_cfg(h, &cfg) || !cfg.ifindex)
		return 0;
	if (cfg.flags & MZRI_CFG_F_NATIVE)
		return MZR_XDP_MODE_NATIVE;
	if (cfg.flags & MZRI_CFG_F_GENERIC)
		return MZR_XDP_MODE_GENERIC;
	return 0;
}

/* Detach the agent and the tc program from every local endpoint's veth. */
static void detach_agents(int local_fd, int agent_fd, int neigh_fd)
{
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(local_fd, prev, &next)) {
		if (agent_fd >= 0)
			mzri_xdp_detach(next, agent_fd);
		mzri_tc_detach(next, neigh_fd);
		key = next;
		prev = &key;
	}
}

int mzr_host__reset(struct mzr_host *h)
{
	char path[PATH_MAX];
	struct mzr_host_cfg cfg;
	int transit = -1, agent = -1, neigh = -1, hostmap = -1, local = -1;
	__u32 key = 0;
	int err;

	if (!h)
		return -EINVAL;
	/* Work from the pins, so that half-built state is torn down too. */
	pin_path(path, h, "progs", mzri_prog_names[MZRI_PROG_TRANSIT]);
	transit = bpf_obj_get(path);
	pin_path(path, h, "progs", mzri_prog_names[MZRI_PROG_AGENT]);
	agent = bpf_obj_get(path);
	/* Without its pin, our tc filter is recognised by its name. */
	pin_path(path, h, "progs", mzri_prog_names[MZRI_PROG_NEIGH]);
	neigh = bpf_obj_get(path);
	pin_path(path, h, "maps", mzri_map_names[MZRI_MAP_HOST]);
	hostmap = bpf_obj_get(path);
	pin_path(path, h, "maps", mzri_map_names[MZRI_MAP_LOCAL]);
	local = bpf_obj_get(path);

	if (hostmap >= 0 && !bpf_map_lookup_elem(hostmap, &key, &cfg) &&
	    cfg.ifindex) {
		err = transit >= 0 ? mzri_xdp_detach(cfg.ifindex, transit) : 0;
		if (!err)
			err = mzri_tc_detach(cfg.ifindex, neigh);
		if (err)
			mzr_warn("host reset: cannot detach from ifindex %u: %s\n",
				 cfg.ifindex, strerror(-err));
	}
	if (local >= 0)
		detach_agents(local, agent, neigh);
	if (transit >= 0)
		close(transit);
	if (agent >= 0)
		close(agent);
	if (neigh >= 0)
		close(neigh);
	if (hostmap >= 0)
		close(hostmap);
	if (local >= 0)
		close(local);

	host_close_fds(h);
	err = remove_tree(h->pin_root);
	if (err) {
		mzr_warn("host reset: cannot remove the pins under %s: %s\n",
			 h->pin_root, strerror(-err));
		return err;
	}
	return 0;
}

static int count_keys(int fd, size_t key_sz, uint32_t *n)
{
	char key[64], next[64];
	void *prev = NULL;

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_sz);
		prev = key;
		(*n)++;
	}
	return 0;
}

int mzr_host__info(const struct mzr_host *h, struct mzr_host_info *info)
{
	struct mzr_host_cfg cfg;
	int err;

	err = mzri_check_loaded(h, "host info");
	if (err)
		return err;
	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	err = mzri_host_cfg(h, &cfg);
	if (err)
		return err;
	info->ip.s_addr = cfg.ip;
	info->ifindex = cfg.ifindex;
	if (cfg.ifindex && !if_indextoname(cfg.ifindex, info->ifname))
		info->ifname[0] = '\0';
	info->mtu = cfg.mtu;
	info->mode = mzr_host__xdp_mode(h);
	info->max_endpoints = h->max_endpoints;
	count_keys(h->map_fds[MZRI_MAP_EPS], sizeof(struct mzr_ep_key),
		   &info->n_endpoints);
	count_keys(h->map_fds[MZRI_MAP_LOCAL], sizeof(__u32),
		   &info->n_local_endpoints);
	count_keys(h->map_fds[MZRI_MAP_NETS], sizeof(struct mzr_net_key),
		   &info->n_networks);
	count_keys(h->map_fds[MZRI_MAP_VPCS], sizeof(__u32), &info->n_vpcs);
	return 0;
}
