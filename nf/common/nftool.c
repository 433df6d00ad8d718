// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nftool.h"

const struct nftool *nftool_current;

static void chain_name(const struct nftool *t, const struct nftool_prog *p,
		       char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", t->name, mzr_hook_name(p->hook));
}

static int cfg_dir(struct mzr_host *h, const struct nftool *t, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%s/nfcfg/%s", mzr_host__pin_root(h),
			 t->name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p2(const char *dir)
{
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		if (mkdir(parent, 0700) && errno != EEXIST)
			return -errno;
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Maps shared with the core are bound by the library; internal maps
 * (.rodata, .bss) belong to each program; the rest is configuration. */
static bool is_cfg_map(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);

	return strncmp(name, "mzr_", 4) && !strchr(name, '.');
}

static struct mzr_nf *open_prog(struct mzr_host *h, const struct nftool *t,
				const struct nftool_prog *p, const char *dir)
{
	MZR_OPTS(mzr_nf_open_opts, opts, .prog_name = p->prog);
	char path[PATH_MAX + 256];
	struct bpf_object *obj;
	struct bpf_map *map;
	const void *buf;
	struct mzr_nf *nf;
	size_t sz;
	int err;

	buf = t->elf_bytes(&sz);
	nf = mzr_nf__open_mem(buf, sz, &opts);
	if (!nf)
		return NULL;
	obj = mzr_nf__bpf_object(nf);
	bpf_object__for_each_map(map, obj) {
		if (!is_cfg_map(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err) {
			mzr_nf__close(nf);
			errno = -err;
			return NULL;
		}
	}
	err = mzr_nf__load(nf, h);
	if (err) {
		mzr_nf__close(nf);
		errno = -err;
		return NULL;
	}
	return nf;
}

static void remove_cfg(struct mzr_host *h, const struct nftool *t)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct bpf_object *obj;
	struct bpf_map *map;
	const void *buf;
	size_t sz;

	if (cfg_dir(h, t, dir, sizeof(dir)))
		return;
	/* The map names come from the object itself. */
	buf = t->elf_bytes(&sz);
	obj = bpf_object__open_mem(buf, sz, NULL);
	if (obj) {
		bpf_object__for_each_map(map, obj) {
			if (!is_cfg_map(map))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir,
				 bpf_map__name(map));
			unlink(path);
		}
		bpf_object__close(obj);
	}
	rmdir(dir);
}

bool nftool_attached(struct mzctl *g, const struct nftool *t)
{
	struct mzr_nf_info info;
	char name[MZR_NF_NAME_MAX];

	if (!g->host || !t->n_progs)
		return false;
	chain_name(t, &t->progs[0], name, sizeof(name));
	return mzr_host__nf_get(g->host, name, &info) == 0;
}

int nftool_attach(struct mzctl *g, const struct nftool *t)
{
	const char *cmd = "attach";
	char dir[PATH_MAX], name[MZR_NF_NAME_MAX];
	struct mzr_nf_info info;
	unsigned int done = 0, i;
	bool fresh = false;
	struct mzr_host *h;
	struct mzr_nf *nf;
	int err = 0;

	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	err = cfg_dir(h, t, dir, sizeof(dir));
	if (!err)
		err = mkdir_p2(dir);
	if (err)
		return mzctl_fail(cmd, err);
	for (i = 0; i < t->n_progs; i++) {
		const struct nftool_prog *p = &t->progs[i];

		chain_name(t, p, name, sizeof(name));
		mzctl_clear_libmsg();
		nf = open_prog(h, t, p, dir);
		if (!nf) {
			err = -errno;
			break;
		}
		if (mzr_host__nf_get(h, name, &info) == 0) {
			err = mzr_host__nf_replace(h, name, nf);
		} else {
			err = mzr_host__nf_insert(h, name, nf, p->hook,
						  MZR_NF_POS_END);
			fresh = true;
		}
		mzr_nf__close(nf);
		if (err)
			break;
		done = i + 1;
	}
	if (err) {
		/* Undo what this call inserted; a replace left things as
		 * they were before it failed. */
		if (fresh) {
			for (i = 0; i < done; i++) {
				chain_name(t, &t->progs[i], name, sizeof(name));
				mzr_host__nf_remove(h, name);
			}
			if (!done)
				remove_cfg(h, t);
		}
		return mzctl_fail(cmd, err);
	}
	if (!g->json)
		printf("%s attached (%u hook%s)\n", t->name, t->n_progs,
		       t->n_progs > 1 ? "s" : "");
	return MZCTL_OK;
}

int nftool_detach(struct mzctl *g, const struct nftool *t)
{
	const char *cmd = "detach";
	char name[MZR_NF_NAME_MAX];
	struct mzr_host *h;
	unsigned int i, removed = 0;
	int err;

	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	for (i = 0; i < t->n_progs; i++) {
		chain_name(t, &t->progs[i], name, sizeof(name));
		err = mzr_host__nf_remove(h, name);
		if (!err)
			removed++;
		else if (err != -ENOENT)
			return mzctl_fail(cmd, err);
	}
	remove_cfg(h, t);
	if (!removed) {
		mzctl_err(cmd, "%s is not attached", t->name);
		return MZCTL_FAIL;
	}
	if (!g->json)
		printf("%s detached\n", t->name);
	return MZCTL_OK;
}

int nftool_map(struct mzctl *g, const struct nftool *t, const char *map,
	       const char *cmd)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct mzr_host *h;
	int fd;

	h = mzctl_host(g, cmd);
	if (!h)
		return -1;
	if (cfg_dir(h, t, dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, map);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			mzctl_err(cmd, "%s is not attached (run '%s attach')",
				  t->name, program_invocation_short_name);
		else
			mzctl_err(cmd, "cannot open %s: %s", path,
				  strerror(errno));
		return -1;
	}
	return fd;
}

static int no_args(const char *cmd, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			printf("Usage: %s %s\n", program_invocation_short_name,
			       cmd);
			return 1;
		}
	}
	if (argc) {
		mzctl_err(cmd, "unexpected argument '%s'", argv[0]);
		return -1;
	}
	return 0;
}

int nftool_cmd_attach(struct mzctl *g, int argc, char **argv)
{
	int r = no_args("attach", argc, argv);

	return r > 0 ? MZCTL_OK : r < 0 ? MZCTL_USAGE :
					  nftool_attach(g, nftool_current);
}

int nftool_cmd_detach(struct mzctl *g, int argc, char **argv)
{
	int r = no_args("detach", argc, argv);

	return r > 0 ? MZCTL_OK : r < 0 ? MZCTL_USAGE :
					  nftool_detach(g, nftool_current);
}
