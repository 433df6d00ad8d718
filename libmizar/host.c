// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The host handle's lifecycle: open, load (pin) the core object, reopen it
 * from its pins, reset (detach everything, remove the pins) and describe
 * it. Pins live in pins.c, interfaces in netdev.c, attaching in attach.c.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_priv.h"
#include "dispatcher.h"
#include "pins.h"
#include "mzr_core_bpf.skel.h"

/* Continuation program of each hook, installed at MZR_PROG_CONT(hook). */
static const enum mzri_prog hook_cont[__MZR_HOOK_MAX] = {
	[MZR_HOOK_AGENT_EGRESS] = MZRI_PROG_CONT_AGENT_EGRESS,
	[MZR_HOOK_BOUNCER] = MZRI_PROG_CONT_BOUNCER,
	[MZR_HOOK_DIVIDER] = MZRI_PROG_CONT_DIVIDER,
	[MZR_HOOK_DELIVER] = MZRI_PROG_CONT_DELIVER,
	[MZR_HOOK_EXTERNAL] = MZRI_PROG_CONT_EXTERNAL,
};

/* ---- Handle lifecycle --------------------------------------------------- */

static struct mzr_host *host_new(const struct mzr_host_opts *opts, int *err)
{
	const char *root;
	struct mzr_host *h;
	size_t len;
	int i;

	if (!MZRI_OPTS_VALID(opts, mzr_host_opts)) {
		*err = -EINVAL;
		return NULL;
	}
	root = MZRI_OPTS_GET(opts, pin_root, NULL);
	if (!root || !*root)
		root = getenv("MIZAR_PIN_ROOT");
	if (!root || !*root)
		root = MZR_DEFAULT_PIN_ROOT;
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (root[0] != '/' || len >= sizeof(h->pin_root)) {
		mzri_warn("pin root '%s' must be an absolute path of at most %zu bytes\n",
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
	h->max_endpoints = MZRI_OPTS_GET(opts, max_endpoints, 0);
	if (!h->max_endpoints)
		h->max_endpoints = MZR_DEFAULT_MAX_ENDPOINTS;
	h->max_direct = MZRI_OPTS_GET(opts, max_direct, 0);
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
	return h ? h : mzri_err_ptr(err);
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
		mzri_warn("back-plane at %s is already loaded\n", h->pin_root);
		return -EALREADY;
	}
	err = mzri_ensure_bpffs(h->pin_root);
	if (err)
		return err;
	mzri_pin_path(path, h, "maps", mzri_map_names[MZRI_MAP_HOST]);
	if (!access(path, F_OK)) {
		mzri_warn("pin root %s already holds a back-plane\n",
			  h->pin_root);
		return -EEXIST;
	}

	skel = mzri_core_open();
	if (!skel) {
		err = -errno;
		mzri_warn("cannot open the core BPF object: %s\n",
			  strerror(-err));
		return err;
	}
	err = bpf_map__set_max_entries(skel->maps.mzr_eps, h->max_endpoints);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.mzr_direct,
					       h->max_direct);
	if (err) {
		mzri_warn("cannot size the endpoint tables: %s\n",
			  strerror(-err));
		goto out;
	}
	err = mzr_core_bpf__load(skel);
	if (err) {
		mzri_warn("cannot load the core BPF programs: %s\n",
			  strerror(-err));
		goto out;
	}

	for (i = 0; i < MZRI_MAP__N; i++) {
		map = bpf_object__find_map_by_name(skel->obj,
						   mzri_map_names[i]);
		if (!map || (h->map_fds[i] = mzri_dup_cloexec(bpf_map__fd(map))) < 0) {
			err = map ? -errno : -ENOENT;
			mzri_warn("core object lacks map %s\n",
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
			mzri_warn("core object lacks program %s\n",
				  mzri_prog_names[i]);
			goto out;
		}
	}
	for (i = 0; i < __MZR_HOOK_MAX; i++) {
		key = MZR_PROG_CONT(i);
		if (bpf_map_update_elem(h->map_fds[MZRI_MAP_PROGS], &key,
					&h->prog_fds[hook_cont[i]], BPF_ANY)) {
			err = -errno;
			mzri_warn("cannot install continuation %s: %s\n",
				  mzri_prog_names[hook_cont[i]],
				  strerror(-err));
			goto out;
		}
	}
	err = mzri_pin_into_place(h);
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
		mzri_warn("back-plane at %s is already loaded\n", h->pin_root);
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

	skel = mzri_core_open();
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
		mzri_warn("pinned map %s/maps/%s has type %u, key %u, value %u bytes, %u entries; this libmizar %s expects type %u, key %u, value %u, %u entries (pinned by another version? host reset, then host init)\n",
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
		mzri_pin_path(path, h, "maps", mzri_map_names[i]);
		h->map_fds[i] = bpf_obj_get(path);
		if (h->map_fds[i] < 0)
			goto fail;
	}
	for (i = 0; i < MZRI_PROG__N; i++) {
		mzri_pin_path(path, h, "progs", mzri_prog_names[i]);
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
		return mzri_err_ptr(err);
	err = host_open_pins(h);
	if (err) {
		if (err == -ENOENT)
			mzri_warn("no back-plane at %s (run host init)\n",
				  h->pin_root);
		else if (err != -EPROTO) /* logged with the map's name */
			mzri_warn("cannot open the back-plane at %s: %s\n",
				  h->pin_root, strerror(-err));
		free(h);
		return mzri_err_ptr(err);
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

/* Keep the first error of a teardown that goes on regardless. */
static void first_err(int *err, int e, const char *what, unsigned int ifindex)
{
	if (!e)
		return;
	mzri_warn("host reset: cannot detach %s from ifindex %u: %s\n", what,
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
	mzri_pin_path(path, h, "progs", mzri_prog_names[MZRI_PROG_TRANSIT]);
	transit = bpf_obj_get(path);
	mzri_pin_path(path, h, "progs", mzri_prog_names[MZRI_PROG_AGENT]);
	agent = bpf_obj_get(path);
	/* Without its pin, our tc filter is recognised by its name. */
	mzri_pin_path(path, h, "progs", mzri_prog_names[MZRI_PROG_NEIGH]);
	neigh = bpf_obj_get(path);
	mzri_pin_path(path, h, "maps", mzri_map_names[MZRI_MAP_HOST]);
	hostmap = bpf_obj_get(path);
	mzri_pin_path(path, h, "maps", mzri_map_names[MZRI_MAP_LOCAL]);
	local = bpf_obj_get(path);

	/* Everything is tried; the first failure is returned (an attachment
	 * left behind must not look like a clean reset). */
	if (hostmap >= 0 && !bpf_map_lookup_elem(hostmap, &key, &cfg) &&
	    cfg.ifindex) {
		if (transit >= 0)
			first_err(&err, mzri_xdp_detach(cfg.ifindex, transit),
				  "the transit program", cfg.ifindex);
		first_err(&err, mzri_dispatcher_detach(cfg.ifindex, hostmap),
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
	e = mzri_remove_pins(h->pin_root);
	if (e)
		mzri_warn("host reset: cannot remove the pins under %s: %s\n",
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

	err = mzri_check_loaded_arg(h, "host info", info);
	if (err)
		return err;
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
