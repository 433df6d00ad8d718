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
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

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
	[MZRI_MAP_PEERS] = MZR_MAP_PEERS,
	[MZRI_MAP_PROTECT] = MZR_MAP_PROTECT,
	[MZRI_MAP_NH] = "mzr_nh",
	[MZRI_MAP_EP_HOSTS] = "mzr_ep_hosts",
	[MZRI_MAP_VPC_PEERS] = "mzr_vpc_peers",
	[MZRI_MAP_TRACE_CFG] = "mzr_trace_cfg",
	[MZRI_MAP_TRACE_PCPU] = "mzr_trace_pcpu",
	[MZRI_MAP_TRACE_EVENTS] = "mzr_trace_events",
	[MZRI_MAP_VPC_CTR] = "mzr_vpc_ctr",
	[MZRI_MAP_EP_CTR] = "mzr_ep_ctr",
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

/*
 * Open the core's skeleton. The next-hop cache reads CONFIG_HZ as a weak
 * __kconfig extern (bpf-core/fib.h); libbpf refuses the whole object when
 * the kernel's config file is missing (no /boot/config-$(uname -r), no
 * /proc/config.gz: minimal images, containers), so say CONFIG_HZ=0
 * (unknown) then, and fib.h falls back to a safe age.
 */
static struct mzr_core_bpf *core_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct utsname u;
	char path[320];

	if (access("/proc/config.gz", R_OK) && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		if (access(path, R_OK)) {
			mzr_debug("no kernel config (%s): CONFIG_HZ unknown\n",
				  path);
			opts.kconfig = "CONFIG_HZ=0\n";
		}
	}
	return mzr_core_bpf__open_opts(&opts);
}

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
		if (mzri_bpffs_mount_check(root))
			return -EPERM;
		if (!mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			mzr_info("mounted a bpffs on /sys/fs/bpf\n");
			return 0;
		}
	}
	mzr_warn("pin root %s is not on a bpffs (mount -t bpf bpf DIR)\n",
		 root);
	return -ENOTSUP;
}

int mzri_ensure_bpffs(const char *root)
{
	return ensure_bpffs(root);
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
	if (rmdir(path) && !err)
		err = -errno;
	return err;
}

/*
 * Every directory libmizar (nf.c included) and the NF tools (nftool.c)
 * create under a pin root. Reset removes these and nothing else: a pin
 * root may be the root of a bpffs mount, where the kernel's bpf_preload
 * keeps its read-only maps.debug and progs.debug, or hold others' pins.
 */
static const char *const pin_dirs[] = {
	"maps", "progs", "nf", "nf_maps", "nf_shared", "nfcfg",
};

/* Prefix of the directory host init pins into before renaming its maps/
 * and progs/ into place (INIT_TMP_PREFIX PID, in the pin root). */
#define INIT_TMP_PREFIX "mzr-init-tmp-"

/* Remove the temporary directories of inits that died half-way. Only
 * under the pin root lock: the holder is the only init at work. */
static int remove_init_tmp(const char *root)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0, e;

	d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, INIT_TMP_PREFIX,
			    strlen(INIT_TMP_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		e = remove_tree(path);
		if (e && !err)
			err = e;
	}
	closedir(d);
	return err;
}

static int remove_pins(const char *root)
{
	char path[PATH_MAX];
	unsigned int i;
	int err = remove_init_tmp(root), e;

	for (i = 0; i < sizeof(pin_dirs) / sizeof(pin_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, pin_dirs[i]);
		e = remove_tree(path);
		if (e && !err)
			err = e;
	}
	/* The root goes when nothing else is left in it; a mount point or
	 * foreign entries keep it, which is not an error. */
	if (!err && rmdir(root) && errno != ENOENT)
		mzr_debug("pin root %s stays: %s\n", root, strerror(errno));
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

int mzri_dup_cloexec(int fd)
{
	/* Not dup(): a library must not leak its fds into a caller's
	 * children (fork + exec of a helper, a CNI plugin...). */
	return fd < 0 ? -EBADF : fcntl(fd, F_DUPFD_CLOEXEC, 0);
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

/* Whether @prog_fd's program is attached to @ifindex by netlink. */
static bool xdp_plain_attached(int ifindex, int prog_fd)
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
			mzr_warn("%s: another tc ingress program (id %u) holds handle 0x%x priority %u\n",
				 ifname, q.prog_id, MZRI_TC_HANDLE,
				 MZRI_TC_PRIO);
			return -EBUSY;
		}
		/* Another pin root's back-plane: not ours to take over. */
		if (!prog_shares_map(q.prog_id, prog_fd)) {
			mzr_warn("%s: the tc ingress program (id %u) of another back-plane holds handle 0x%x (reset that pin root first)\n",
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

/* Pin every map and program under @dir (maps/, progs/). */
static int pin_all(struct mzr_host *h, const char *dir)
{
	char path[PATH_MAX];
	int i, err;

	snprintf(path, sizeof(path), "%s/maps", dir);
	err = mkdir_p(path);
	snprintf(path, sizeof(path), "%s/progs", dir);
	err = err ?: mkdir_p(path);
	if (err)
		goto fail;
	for (i = 0; i < MZRI_MAP__N; i++) {
		snprintf(path, sizeof(path), "%s/maps/%s", dir,
			 mzri_map_names[i]);
		if (bpf_obj_pin(h->map_fds[i], path)) {
			err = -errno;
			goto fail;
		}
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		snprintf(path, sizeof(path), "%s/progs/%s", dir,
			 mzri_prog_names[i]);
		if (bpf_obj_pin(h->prog_fds[i], path)) {
			err = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	mzr_warn("cannot pin under %s: %s\n", dir, strerror(-err));
	return err;
}

/*
 * Pin into a temporary directory of the pin root, then rename progs/ and
 * then maps/ into place: maps/mzr_host, what marks a back-plane, appears
 * last, with everything else there. An init that dies leaves only its
 * temporary directory (removed by the next init or reset); one that
 * fails removes only that, never another's pins.
 */
static int pin_into_place(struct mzr_host *h)
{
	char tmp[PATH_MAX - 128], from[PATH_MAX], to[PATH_MAX];
	int err;

	snprintf(tmp, sizeof(tmp), "%s/" INIT_TMP_PREFIX "%d", h->pin_root,
		 (int)getpid());
	remove_init_tmp(h->pin_root);
	err = pin_all(h, tmp);
	if (err)
		goto out;
	snprintf(from, sizeof(from), "%s/progs", tmp);
	pin_path(to, h, "progs", NULL);
	if (rename(from, to)) {
		err = -errno;
		mzr_warn("cannot move the programs into %s (stale pins? host reset): %s\n",
			 to, strerror(-err));
		goto out;
	}
	snprintf(from, sizeof(from), "%s/maps", tmp);
	pin_path(to, h, "maps", NULL);
	if (rename(from, to)) {
		err = -errno;
		mzr_warn("cannot move the maps into %s (stale pins? host reset): %s\n",
			 to, strerror(-err));
		pin_path(to, h, "progs", NULL);
		remove_tree(to);
	}
out:
	remove_tree(tmp);
	return err;
}

static int host_load(struct mzr_host *h)
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

	skel = core_open();
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
		if (!map || (h->map_fds[i] = mzri_dup_cloexec(bpf_map__fd(map))) < 0) {
			err = map ? -errno : -ENOENT;
			mzr_warn("core object lacks map %s\n",
				 mzri_map_names[i]);
			goto out;
		}
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		prog = bpf_object__find_program_by_name(skel->obj,
							mzri_prog_names[i]);
		if (!prog || (h->prog_fds[i] =
			      mzri_dup_cloexec(bpf_program__fd(prog))) < 0) {
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
	err = pin_into_place(h);
	if (err)
		goto out;
	h->loaded = true;
out:
	if (err)
		host_close_fds(h);
	mzr_core_bpf__destroy(skel);
	return err;
}

int mzr_host__load(struct mzr_host *h)
{
	if (!h)
		return -EINVAL;
	if (h->loaded) {
		mzr_warn("back-plane at %s is already loaded\n", h->pin_root);
		return -EALREADY;
	}
	/* The check for a back-plane there and the pinning are one step. */
	return MZRI_LOCKED(h, true, host_load(h));
}

/*
 * The pinned maps must have the layout this library's programs and
 * structs expect (bpf-core/shared.h, as compiled into the embedded
 * object): a back-plane pinned by another libmizar version would be read
 * and written with the wrong structs. The embedded object is the one
 * source of truth; opening it does not touch the kernel.
 */
static int check_layouts(const struct mzr_host *h)
{
	struct mzr_core_bpf *skel;
	struct bpf_map_info info;
	const struct bpf_map *m;
	__u32 len;
	int i, err = 0;

	skel = core_open();
	if (!skel)
		return -errno;
	for (i = 0; i < MZRI_MAP__N && !err; i++) {
		m = bpf_object__find_map_by_name(skel->obj, mzri_map_names[i]);
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!m || bpf_obj_get_info_by_fd(h->map_fds[i], &info, &len)) {
			err = m ? -errno : -ENOENT;
			break;
		}
		/* Sizes are the caller's for the endpoint and direct-path
		 * tables; the others are fixed by the ABI (chain slots). */
		if (info.type == bpf_map__type(m) &&
		    info.key_size == bpf_map__key_size(m) &&
		    info.value_size == bpf_map__value_size(m) &&
		    (info.max_entries == bpf_map__max_entries(m) ||
		     !strcmp(mzri_map_names[i], "mzr_eps") ||
		     !strcmp(mzri_map_names[i], "mzr_direct") ||
		     info.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)) /* CPUs */
			continue;
		mzr_warn("pinned map %s/maps/%s has type %u, key %u, value %u bytes, %u entries; this libmizar %s expects type %u, key %u, value %u, %u entries (pinned by another version? host reset, then host init)\n",
			 h->pin_root, mzri_map_names[i], info.type,
			 info.key_size, info.value_size, info.max_entries,
			 mzr_version_string(), bpf_map__type(m),
			 bpf_map__key_size(m), bpf_map__value_size(m),
			 bpf_map__max_entries(m));
		err = -EPROTO;
	}
	mzr_core_bpf__destroy(skel);
	return err;
}

static int host_open_pins(struct mzr_host *h)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int i, err;

	/* bpf_obj_get() fds are O_CLOEXEC (the kernel's anon-inode fds). */
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
	err = check_layouts(h);
	if (err) {
		host_close_fds(h);
		return err;
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
		else if (err != -EPROTO) /* logged with the map's name */
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
		mzr_warn("host attach: cannot enable IPv4 forwarding on %s (bpf_fib_lookup needs it): %s\n",
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
		mzr_info("%s: cannot set forwarding sysctls: %s\n", ifname,
			 strerror(-err));
	return 0;
}

/* ---- Attach through libxdp's dispatcher ---------------------------------- */

static __u32 fd_map_id(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(map_fd, &info, &len) ? 0 : info.id;
}

/* Whether program @prog_fd uses the map of id @map_id. */
static bool prog_uses_map(int prog_fd, __u32 map_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], i;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return false;
	for (i = 0; i < info.nr_map_ids && i < 64; i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

/*
 * Can a program loaded with expected_attach_type 0 tail-call through
 * mzr_progs? An freplace (BPF_PROG_TYPE_EXT) program, which is what
 * libxdp turns a component of its dispatcher into, must be loaded with 0,
 * while the programs owning mzr_progs (the core's, NFs) are BPF_XDP.
 * Since "bpf: Enforce expected_attach_type for tailcall compatibility"
 * (Linux 6.17, and stable backports), a prog array refuses a program whose
 * expected attach type differs from its owner's: the kernel refuses the
 * transit program at load (-EINVAL from bpf_check_tail_call(), no
 * verifier message). This probe asks the kernel exactly that.
 */
static int probe_ext_tail_call(int progs_fd)
{
	struct bpf_insn insns[] = {
		/* r2 = mzr_progs; r3 = 0; tail_call(ctx, r2, r3) */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = progs_fd },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "mzr_ext_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Our transit program among the components of the dispatcher on
 * @ifindex (by name, and using this back-plane's mzr_host). */
static struct xdp_program *dispatcher_find(struct xdp_multiprog *mp,
					   __u32 host_map_id)
{
	struct xdp_program *p;

	if (!mp || libxdp_get_error(mp) || xdp_multiprog__is_legacy(mp))
		return NULL;
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p),
			    mzri_prog_names[MZRI_PROG_TRANSIT]) &&
		    prog_uses_map(xdp_program__fd(p), host_map_id))
			return p;
	return NULL;
}

/* Remove our transit program from the dispatcher on @ifindex (the
 * dispatcher goes with its last program); 0 when it is not there. */
static int dispatcher_detach(int ifindex, int host_map_fd)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err = 0;

	if (host_map_fd < 0)
		return 0;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		return 0;
	p = dispatcher_find(mp, fd_map_id(host_map_fd));
	if (p)
		err = xdp_program__detach(p, ifindex,
					  xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}

/*
 * Load a second instance of the transit program as an freplace extension
 * of libxdp's dispatcher, bound to this back-plane's maps (those of the
 * pinned transit program, mzr_scratch_map included), and attach it. libxdp
 * pins the dispatcher's link under <bpffs>/xdp (LIBXDP_BPFFS), so the
 * attachment survives this process as a netlink one does.
 * -EOPNOTSUPP: no dispatcher here (the caller attaches plainly).
 */
static int dispatcher_attach(struct mzr_host *h, int ifindex,
			     enum mzr_xdp_mode want, const char *ifname)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo);
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi), ids[64], i, host_id;
	struct mzr_core_bpf *skel = NULL;
	struct xdp_program *xp = NULL;
	struct xdp_multiprog *mp;
	struct bpf_program *prog;
	struct bpf_map *map;
	int err, fd, fds[64], n_fds = 0;
	bool legacy;

	host_id = fd_map_id(h->map_fds[MZRI_MAP_HOST]);
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (mp && !libxdp_get_error(mp)) {
		bool ours = dispatcher_find(mp, host_id) != NULL;

		xdp_multiprog__close(mp);
		if (ours)
			return 0; /* attached already */
	}
	err = probe_ext_tail_call(h->map_fds[MZRI_MAP_PROGS]);
	if (err) {
		mzr_info("%s: no XDP dispatcher: an extension program cannot tail-call through mzr_progs (its expected attach type must be 0, mzr_progs' owner has BPF_XDP: %s); attaching plainly\n",
			 ifname, strerror(-err));
		return -EOPNOTSUPP;
	}

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(h->prog_fds[MZRI_PROG_TRANSIT], &pi, &len))
		return -errno;
	skel = core_open();
	if (!skel)
		return -errno;
	for (i = 0; i < pi.nr_map_ids && i < 64; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd >= 0)
			fds[n_fds++] = fd;
	}
	bpf_object__for_each_map(map, skel->obj) {
		struct bpf_map_info mi;
		int reuse = -1, k;

		for (k = 0; k < n_fds && reuse < 0; k++) {
			memset(&mi, 0, sizeof(mi));
			len = sizeof(mi);
			if (!bpf_obj_get_info_by_fd(fds[k], &mi, &len) &&
			    !strncmp(mi.name, bpf_map__name(map),
				     sizeof(mi.name) - 1))
				reuse = fds[k];
		}
		err = reuse >= 0 ? bpf_map__reuse_fd(map, reuse) :
				   bpf_map__set_autocreate(map, false);
		if (err)
			goto out;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.mzr_transit);
	xo.obj = skel->obj;
	xo.prog_name = mzri_prog_names[MZRI_PROG_TRANSIT];
	xp = xdp_program__create(&xo);
	err = libxdp_get_error(xp);
	if (err) {
		xp = NULL;
		goto out;
	}
	err = -EOPNOTSUPP;
	if (want != MZR_XDP_MODE_GENERIC)
		err = xdp_program__attach(xp, ifindex, XDP_MODE_NATIVE, 0);
	if (err && want != MZR_XDP_MODE_NATIVE && err != -EBUSY &&
	    err != -EEXIST)
		err = xdp_program__attach(xp, ifindex, XDP_MODE_SKB, 0);
	if (err)
		goto out;
	/* libxdp falls back to a plain attach by itself when the kernel
	 * cannot run its dispatcher: undo that, ours is the pinned one. */
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	legacy = !mp || libxdp_get_error(mp) || xdp_multiprog__is_legacy(mp);
	if (mp && !libxdp_get_error(mp))
		xdp_multiprog__close(mp);
	if (legacy) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, a,
			    .old_prog_fd = xdp_program__fd(xp));
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, &a);
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, &a);
		err = -EOPNOTSUPP;
	}
out:
	if (err)
		mzr_info("%s: no XDP dispatcher (%s); attaching plainly\n",
			 ifname, strerror(err < 0 ? -err : err));
	xdp_program__close(xp);
	mzr_core_bpf__destroy(skel);
	while (n_fds)
		close(fds[--n_fds]);
	return err ? -EOPNOTSUPP : 0;
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
	if (!MZR_OPTS_VALID(opts, mzr_attach_opts))
		return -EINVAL;
	want = MZR_OPTS_GET(opts, mode, MZR_XDP_MODE_AUTO);
	ip = MZR_OPTS_GET(opts, ip, (struct in_addr){ 0 });
	if (want > MZR_XDP_MODE_TC) {
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
	 * run the core's tail calls (dispatcher_attach()); our program
	 * already attached plainly stays so (no interruption). */
	err = -EOPNOTSUPP;
	if (want == MZR_XDP_MODE_TC) {
		/* The XDP transit only while a transit hook has a chain
		 * (transit_mode.c); otherwise the tc program is the transit. */
		mode = MZR_XDP_MODE_TC;
		err = 0;
		if (!mzri_if_is_veth(ifname))
			mzr_info("%s is not a veth: on a NIC the XDP transit (the default mode) takes wire frames without an skb\n",
				 ifname);
		if (mzri_transit_wants_xdp(h))
			err = mzri_xdp_attach(ifindex,
					      h->prog_fds[MZRI_PROG_TRANSIT],
					      MZR_XDP_MODE_AUTO, &mode, ifname);
	} else if (want == MZR_XDP_MODE_DISPATCHER &&
	    !xdp_plain_attached(ifindex, h->prog_fds[MZRI_PROG_TRANSIT]))
		err = dispatcher_attach(h, ifindex, MZR_XDP_MODE_AUTO, ifname);
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
			dispatcher_detach(ifindex, h->map_fds[MZRI_MAP_HOST]);
		}
		mzri_tc_undo(ifindex, h->prog_fds[MZRI_PROG_NEIGH], tc_undo);
		mzr_warn("host attach: cannot record the host: %s\n",
			 strerror(-err));
		return err;
	}
	/* This host is always its own known peer (NFs read mzr_peers; the
	 * transit program knows its own address anyway). */
	if (mzri_peer_self(h, old_ip, cfg.ip))
		mzr_warn("host attach: cannot record %s as a known peer\n",
			 mzri_ntoa(ip, ipbuf));
	nh_cache_flush(h);
	/* tc transit recorded: an XDP transit left from an earlier attach
	 * in an XDP mode goes. */
	if (mode == MZR_XDP_MODE_TC) {
		mzri_xdp_detach(ifindex, h->prog_fds[MZRI_PROG_TRANSIT]);
		dispatcher_detach(ifindex, h->map_fds[MZRI_MAP_HOST]);
	}
	/* Moving to another underlay: leave the old one clean, once the
	 * new one is recorded (a failure above keeps the old one working). */
	if (old_ifindex && old_ifindex != ifindex) {
		mzri_xdp_detach(old_ifindex, h->prog_fds[MZRI_PROG_TRANSIT]);
		dispatcher_detach(old_ifindex, h->map_fds[MZRI_MAP_HOST]);
		mzri_tc_detach(old_ifindex, h->prog_fds[MZRI_PROG_NEIGH]);
	}
	mzr_info("transit attached to %s (%s), underlay %s\n", ifname,
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

/* Keep the first error of a teardown that goes on regardless. */
static void first_err(int *err, int e, const char *what, unsigned int ifindex)
{
	if (!e)
		return;
	mzr_warn("host reset: cannot detach %s from ifindex %u: %s\n", what,
		 ifindex, strerror(-e));
	if (!*err)
		*err = e;
}

/* Detach the agent and the tc program from every local endpoint's veth;
 * the first error, after trying them all. */
static int detach_agents(int local_fd, int agent_fd, int neigh_fd)
{
	__u32 key, next, *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(local_fd, prev, &next)) {
		if (agent_fd >= 0)
			first_err(&err, mzri_xdp_detach(next, agent_fd),
				  "the agent", next);
		first_err(&err, mzri_tc_detach(next, neigh_fd),
			  "the tc program", next);
		key = next;
		prev = &key;
	}
	return err;
}

static int host_reset(struct mzr_host *h)
{
	char path[PATH_MAX];
	struct mzr_host_cfg cfg;
	int transit = -1, agent = -1, neigh = -1, hostmap = -1, local = -1;
	__u32 key = 0;
	int err = 0, e;

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

	/* Everything is tried; the first failure is returned (an attachment
	 * left behind must not look like a clean reset). */
	if (hostmap >= 0 && !bpf_map_lookup_elem(hostmap, &key, &cfg) &&
	    cfg.ifindex) {
		if (transit >= 0)
			first_err(&err, mzri_xdp_detach(cfg.ifindex, transit),
				  "the transit program", cfg.ifindex);
		first_err(&err, dispatcher_detach(cfg.ifindex, hostmap),
			  "the transit program (dispatcher)", cfg.ifindex);
		first_err(&err, mzri_tc_detach(cfg.ifindex, neigh),
			  "the tc program", cfg.ifindex);
	}
	if (local >= 0) {
		e = detach_agents(local, agent, neigh);
		if (!err)
			err = e;
	}
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
	e = remove_pins(h->pin_root);
	if (e)
		mzr_warn("host reset: cannot remove the pins under %s: %s\n",
			 h->pin_root, strerror(-e));
	return err ? err : e;
}

int mzr_host__reset(struct mzr_host *h)
{
	return MZRI_LOCKED(h, false, host_reset(h));
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
