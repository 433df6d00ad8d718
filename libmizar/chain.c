// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NF chain operations (insert, remove, replace, clear, get, walk): each
 * changes the registry (registry.c) and publishes it (publish.c);
 * nf_object.c opens and loads the NFs (docs/nf-abi.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "nf_priv.h"

static bool name_valid(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!n || n >= MZR_NF_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int check_name(const char *name, const char *what)
{
	if (name_valid(name))
		return 0;
	mzri_warn("%s: bad NF name '%s' (1-%d characters of A-Z a-z 0-9 _ -)\n",
		  what, name ? name : "", MZR_NF_NAME_MAX - 1);
	return -EINVAL;
}

static void rec_fill(struct nf_rec *r, const char *name,
		     const struct mzr_nf *nf)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	memset(r, 0, sizeof(*r));
	r->version = REG_VERSION;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->declared_name, sizeof(r->declared_name), "%s",
		 nf->decl.name);
	snprintf(r->prog_name, sizeof(r->prog_name), "%s",
		 bpf_program__name(nf->prog));
	snprintf(r->object, sizeof(r->object), "%s", nf->object);
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(nf->prog), &info, &len))
		r->prog_id = info.id;
}

static int nf_ready(struct mzr_host *h, struct mzr_nf *nf, const char *what)
{
	if (!nf) {
		mzri_warn("%s: no NF handle\n", what);
		return -EINVAL;
	}
	if (!nf->pin_root[0])
		return mzri_nf_load(nf, h);
	if (strcmp(nf->pin_root, h->pin_root)) {
		mzri_warn("%s: NF loaded for the back-plane at %s\n", what,
			  nf->pin_root);
		return -EINVAL;
	}
	return 0;
}

static int nf_insert(struct mzr_host *h, const char *name, struct mzr_nf *nf,
		     enum mzr_hook hook, int pos)
{
	char path[PATH_MAX];
	struct nf_rec *saved = NULL;
	struct chains *c;
	unsigned int len, i, oh, op;
	int err;

	err = mzri_check_loaded(h, "nf insert");
	err = err ?: check_name(name, "nf insert");
	if (err)
		return err;
	if ((unsigned int)hook >= __MZR_HOOK_MAX) {
		mzri_warn("nf insert %s: bad hook %d\n", name, hook);
		return -EINVAL;
	}
	if (!nf) {
		mzri_warn("nf insert: no NF handle\n");
		return -EINVAL;
	}
	c = mzri_chains_open(h, true, &err);
	if (!c)
		return err;
	if (mzri_rec_find(c, name, &oh, &op)) {
		mzri_warn("nf insert: an NF named %s exists (hook %s)\n", name,
			  mzr_hook_name(oh));
		err = -EEXIST;
		goto out;
	}
	len = mzri_chain_len(c, hook);
	if (pos == MZR_NF_POS_END)
		pos = len;
	if (pos < 0 || (unsigned int)pos > len) {
		mzri_warn("nf insert %s: position %d outside 0..%u\n", name,
			  pos, len);
		err = -ERANGE;
		goto out;
	}
	if (len >= MZR_CHAIN_MAX) {
		mzri_warn("nf insert %s: chain of %s is full (%d NFs)\n", name,
			  mzr_hook_name(hook), MZR_CHAIN_MAX);
		err = -ENOSPC;
		goto out;
	}
	saved = malloc(sizeof(c->recs));
	if (!saved) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(saved, c->recs, sizeof(c->recs));
	/* Checked before anything is loaded or created, so that a refused
	 * insert leaves no file behind. */
	mzri_rec_at(c, hook, len)->name[0] = '?';
	err = mzri_chains_check_paths(c, "nf insert", name);
	mzri_rec_at(c, hook, len)->name[0] = '\0';
	err = err ?: nf_ready(h, nf, "nf insert");
	err = err ?: mzri_chains_create(h, c);
	if (err)
		goto out;
	/* The registry does not name it: a pin there is a leftover of an
	 * update interrupted between the registry write and the unpin. */
	mzri_nf_prog_pin_path(path, h->pin_root, name);
	unlink(path);
	if (bpf_obj_pin(bpf_program__fd(nf->prog), path)) {
		err = -errno;
		mzri_warn("nf insert %s: cannot pin %s: %s\n", name, path,
			  strerror(-err));
		goto out;
	}
	err = mzri_nf_maps_pin(h, name, nf);
	if (err) {
		unlink(path);
		goto out;
	}
	for (i = len; i > (unsigned int)pos; i--)
		*mzri_rec_at(c, hook, i) = *mzri_rec_at(c, hook, i - 1);
	rec_fill(mzri_rec_at(c, hook, pos), name, nf);

	err = mzri_chains_commit(h, c, saved, NULL, -1);
	if (err) {
		unlink(path);
		mzri_nf_maps_unpin(h, name);
		mzri_warn("nf insert %s: %s\n", name, strerror(-err));
	} else {
		mzri_info("nf %s inserted at %s position %d\n", name,
			  mzr_hook_name(hook), pos);
	}
out:
	if (err)
		mzri_chains_uncreate(h, c);
	mzri_chains_close(c);
	free(saved);
	return err;
}

static int nf_remove(struct mzr_host *h, const char *name)
{
	char path[PATH_MAX];
	struct chains *c, saved;
	unsigned int hook, pos, len;
	int err;

	err = mzri_check_loaded(h, "nf remove");
	err = err ?: check_name(name, "nf remove");
	if (err)
		return err;
	c = mzri_chains_open(h, true, &err);
	if (!c)
		return err;
	if (!mzri_rec_find(c, name, &hook, &pos)) {
		mzri_warn("nf remove: no NF named %s\n", name);
		err = -ENOENT;
		goto out;
	}
	memcpy(saved.recs, c->recs, sizeof(saved.recs));
	len = mzri_chain_len(c, hook);
	for (; pos + 1 < len; pos++)
		*mzri_rec_at(c, hook, pos) = *mzri_rec_at(c, hook, pos + 1);
	memset(mzri_rec_at(c, hook, len - 1), 0, sizeof(struct nf_rec));

	err = mzri_chains_commit(h, c, saved.recs, NULL, -1);
	if (err) {
		memcpy(c->recs, saved.recs, sizeof(saved.recs));
		mzri_warn("nf remove %s: %s\n", name, strerror(-err));
		goto out;
	}
	mzri_nf_prog_pin_path(path, h->pin_root, name);
	if (unlink(path) && errno != ENOENT)
		mzri_warn("nf remove %s: cannot unpin %s: %s\n", name, path,
			  strerror(errno));
	mzri_nf_maps_unpin(h, name);
out:
	mzri_chains_close(c);
	return err;
}

static int nf_replace(struct mzr_host *h, const char *name, struct mzr_nf *nf)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct nf_rec *r, old, *saved = NULL;
	struct chains *c;
	unsigned int hook, pos;
	int err, fd;

	err = mzri_check_loaded(h, "nf replace");
	err = err ?: check_name(name, "nf replace");
	if (err)
		return err;
	err = nf_ready(h, nf, "nf replace");
	if (err)
		return err;
	c = mzri_chains_open(h, true, &err);
	if (!c)
		return err;
	r = mzri_rec_find(c, name, &hook, &pos);
	if (!r) {
		mzri_warn("nf replace: no NF named %s\n", name);
		err = -ENOENT;
		goto out;
	}
	old = *r;
	saved = malloc(sizeof(c->recs));
	if (!saved) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(saved, c->recs, sizeof(c->recs));
	rec_fill(r, name, nf);
	fd = bpf_program__fd(nf->prog);
	err = mzri_chains_commit(h, c, saved, name, fd);
	if (err) {
		*r = old;
		mzri_warn("nf replace %s: %s\n", name, strerror(-err));
		goto out;
	}
	/* Re-point the name: pin aside, then rename over the old pin. */
	mzri_nf_prog_pin_path(path, h->pin_root, name);
	snprintf(tmp, sizeof(tmp), "%s/%s/#%s", h->pin_root, NF_DIR, name);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) || rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		mzri_warn("nf replace %s: the new program runs but cannot be "
			  "pinned at %s: %s\n", name, path, strerror(-err));
		goto out;
	}
	/* The new program's own maps replace the old one's. */
	err = mzri_nf_maps_pin(h, name, nf);
out:
	mzri_chains_close(c);
	free(saved);
	return err;
}

static int nf_clear(struct mzr_host *h)
{
	char path[PATH_MAX];
	struct nf_rec *saved;
	struct chains *c;
	unsigned int i;
	int err;

	err = mzri_check_loaded(h, "nf clear");
	if (err)
		return err;
	saved = malloc(sizeof(c->recs));
	if (!saved)
		return -ENOMEM;
	c = mzri_chains_open(h, true, &err);
	if (!c) {
		free(saved);
		return err;
	}
	memcpy(saved, c->recs, sizeof(c->recs));
	memset(c->recs, 0, sizeof(c->recs));
	if (c->reg_fd >= 0)
		err = mzri_chains_commit(h, c, saved, NULL, -1);
	else
		err = mzri_chains_publish(h, c, NULL, -1);
	if (err) {
		/* The pins stay: the registry may still name them. */
		mzri_warn("nf clear: %s\n", strerror(-err));
		goto out;
	}
	for (i = 0; i < REG_SIZE; i++) {
		if (!saved[i].name[0])
			continue;
		mzri_nf_prog_pin_path(path, h->pin_root, saved[i].name);
		unlink(path);
		mzri_nf_maps_unpin(h, saved[i].name);
	}
out:
	mzri_chains_close(c);
	free(saved);
	return err;
}

static void info_fill(const struct mzr_host *h, const struct nf_rec *r,
		      unsigned int hook, unsigned int pos,
		      struct mzr_nf_info *info)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = MZR_MISSED_IDX(hook, pos);
	__u64 *vals;
	int i;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", r->name);
	info->hook = hook;
	info->pos = pos;
	info->prog_id = r->prog_id;
	snprintf(info->prog_name, sizeof(info->prog_name), "%s",
		 r->prog_name);
	snprintf(info->object, sizeof(info->object), "%s", r->object);
	snprintf(info->declared_name, sizeof(info->declared_name), "%s",
		 r->declared_name);
	vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;
	if (vals && !bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_MISSED), &key,
					 vals))
		for (i = 0; i < ncpu; i++)
			info->missed += vals[i];
	free(vals);
}

int mzr_host__nf_get(const struct mzr_host *h, const char *name,
		     struct mzr_nf_info *info)
{
	struct chains *c;
	struct nf_rec *r;
	unsigned int hook, pos;
	int err;

	err = mzri_check_loaded(h, "nf get");
	err = err ?: check_name(name, "nf get");
	if (err)
		return err;
	if (!info)
		return -EINVAL;
	c = mzri_chains_open(h, false, &err);
	if (!c)
		return err;
	r = mzri_rec_find(c, name, &hook, &pos);
	if (r)
		info_fill(h, r, hook, pos, info);
	else
		err = -ENOENT;
	mzri_chains_close(c);
	return err;
}

int mzr_host__nf_for_each(const struct mzr_host *h,
			  int (*cb)(const struct mzr_nf_info *info, void *ctx),
			  void *ctx)
{
	struct mzr_nf_info info;
	struct chains *c;
	unsigned int hook, pos, len;
	int err;

	err = mzri_check_loaded_arg(h, "nf list", cb);
	if (err)
		return err;
	c = mzri_chains_open(h, false, &err);
	if (!c)
		return err;
	for (hook = 0; !err && hook < __MZR_HOOK_MAX; hook++) {
		len = mzri_chain_len(c, hook);
		for (pos = 0; !err && pos < len; pos++) {
			info_fill(h, mzri_rec_at(c, hook, pos), hook, pos,
				  &info);
			err = cb(&info, ctx);
		}
	}
	mzri_chains_close(c);
	return err;
}

/* ---- Locked entry points ----------------------------------------------- */

/* Chain writers hold the pin root lock (lock.c) as every writer does. */
int mzr_host__nf_insert(struct mzr_host *h, const char *name,
			struct mzr_nf *nf, enum mzr_hook hook, int pos)
{
	return MZRI_LOCKED(h, false, nf_insert(h, name, nf, hook, pos));
}

int mzr_host__nf_insert_opts(struct mzr_host *h, const char *name,
			     struct mzr_nf *nf, enum mzr_hook hook,
			     const struct mzr_nf_insert_opts *opts)
{
	if (!MZRI_OPTS_VALID(opts, mzr_nf_insert_opts))
		return -EINVAL;
	return mzr_host__nf_insert(h, name, nf, hook,
				   MZRI_OPTS_GET(opts, pos, MZR_NF_POS_END));
}

int mzr_host__nf_remove(struct mzr_host *h, const char *name)
{
	return MZRI_LOCKED(h, false, nf_remove(h, name));
}

int mzr_host__nf_replace(struct mzr_host *h, const char *name,
			 struct mzr_nf *nf)
{
	return MZRI_LOCKED(h, false, nf_replace(h, name, nf));
}

int mzr_host__nf_clear(struct mzr_host *h)
{
	return MZRI_LOCKED(h, false, nf_clear(h));
}
