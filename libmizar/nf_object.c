// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Pipeline NFs: opening and checking NF objects (the ABI declaration, the
 * program to run) and binding them to the core's maps (docs/nf-abi.md).
 * The chains they are inserted into are chain.c's.
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
#include <mizar/trace_abi.h>

#include "nf_priv.h"

static const char *const hook_names[__MZR_HOOK_MAX] = {
	[MZR_HOOK_AGENT_EGRESS] = "agent-egress",
	[MZR_HOOK_BOUNCER] = "bouncer",
	[MZR_HOOK_DIVIDER] = "divider",
	[MZR_HOOK_DELIVER] = "deliver",
	[MZR_HOOK_EXTERNAL] = "external",
};

/* The core's maps an NF may declare (the SDK's BPF headers); an NF built
 * before one of them existed simply does not have it. From
 * SHARED_MAPS_OPTIONAL on (the trace's), a back-plane without the map
 * leaves the NF its own copy: its drops then emit no event. */
#define SHARED_MAPS_OPTIONAL 7
static const char *const shared_maps[] = {
	MZR_MAP_PROGS, MZR_MAP_CHAIN_CFG, MZR_MAP_CTX, MZR_MAP_STATS,
	MZR_MAP_MISSED, MZR_MAP_PEERS, MZR_MAP_PROTECT,
	MZR_TRACE_CFG_MAP, MZR_TRACE_PCPU_MAP, MZR_TRACE_EVENTS_MAP,
};

static const enum mzri_map shared_map_ids[] = {
	MZRI_MAP_PROGS, MZRI_MAP_CHAIN_CFG, MZRI_MAP_CTX, MZRI_MAP_STATS,
	MZRI_MAP_MISSED, MZRI_MAP_PEERS, MZRI_MAP_PROTECT,
	MZRI_MAP_TRACE_CFG, MZRI_MAP_TRACE_PCPU, MZRI_MAP_TRACE_EVENTS,
};

const char *mzr_hook_name(unsigned int hook)
{
	return hook < __MZR_HOOK_MAX ? hook_names[hook] : NULL;
}

int mzr_hook_parse(const char *name)
{
	int i;

	for (i = 0; name && i < __MZR_HOOK_MAX; i++)
		if (!strcmp(name, hook_names[i]))
			return i;
	return -EINVAL;
}

/* ---- Opening and the ABI declaration ------------------------------------ */

static int read_decl(const void *buf, size_t size, struct mzr_nf_decl *decl,
		     const char *what)
{
	size_t shstrndx, have;
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr sh;
	const char *sname;
	Elf *elf;
	int err = -EPROTO;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_memory((char *)buf, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		mzri_warn("nf %s: not an ELF object\n", what);
		if (elf)
			elf_end(elf);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, MZR_NF_DECL_SEC))
			continue;
		data = elf_getdata(scn, NULL);
		have = data ? data->d_size : 0;
		memset(decl, 0, sizeof(*decl));
		if (have < offsetofend(struct mzr_nf_decl, ctx_len)) {
			mzri_warn("nf %s: truncated %s section\n", what,
				  MZR_NF_DECL_SEC);
			goto out;
		}
		memcpy(decl, data->d_buf,
		       have < sizeof(*decl) ? have : sizeof(*decl));
		decl->name[MZR_NF_NAME_MAX - 1] = '\0';
		err = 0;
		goto out;
	}
	mzri_warn("nf %s: no %s section: not built with MZR_NF_DECLARE() "
		  "(<mizar/bpf/nf.h>)\n", what, MZR_NF_DECL_SEC);
out:
	elf_end(elf);
	return err;
}

/* Whether this library serves the context an NF was built against. */
static int check_decl(const struct mzr_nf_decl *d, const char *what)
{
	if (d->magic != MZR_NF_MAGIC || !d->decl_version) {
		mzri_warn("nf %s: bad %s declaration (magic %#x)\n", what,
			  MZR_NF_DECL_SEC, d->magic);
		return -EPROTO;
	}
	if (d->ctx_version > MZR_CTX_VERSION ||
	    d->ctx_version < MZR_CTX_VERSION_MIN) {
		mzri_warn("nf %s: built against NF context v%u; this library "
			  "serves v%u to v%u (rebuild the NF against this SDK)\n",
			  what, d->ctx_version, MZR_CTX_VERSION_MIN,
			  MZR_CTX_VERSION);
		return -EPROTO;
	}
	if (d->ctx_len > sizeof(struct mzr_ctx) ||
	    (d->ctx_version == MZR_CTX_VERSION &&
	     d->ctx_len != sizeof(struct mzr_ctx))) {
		mzri_warn("nf %s: NF context v%u of %u bytes; this library's "
			  "is %zu bytes\n", what, d->ctx_version, d->ctx_len,
			  sizeof(struct mzr_ctx));
		return -EPROTO;
	}
	return 0;
}

static int select_prog(struct mzr_nf *nf, const char *prog_name)
{
	struct bpf_program *p, *found = NULL;
	int n = 0;

	bpf_object__for_each_program(p, nf->obj) {
		n++;
		if (prog_name ? !strcmp(bpf_program__name(p), prog_name) :
				!found)
			found = p;
	}
	if (!found || (!prog_name && n > 1)) {
		if (prog_name)
			mzri_warn("nf %s: no program '%s'\n", nf->object,
				  prog_name);
		else
			mzri_warn("nf %s: %d programs; say which one (prog)\n",
				  nf->object, n);
		return -EINVAL;
	}
	/* Only the NF program is verified; the object may hold others. */
	bpf_object__for_each_program(p, nf->obj)
		bpf_program__set_autoload(p, p == found);
	/* A tail-call target must match the program array's owner: the core
	 * is loaded as XDP with expected attach type BPF_XDP. */
	bpf_program__set_type(found, BPF_PROG_TYPE_XDP);
	bpf_program__set_expected_attach_type(found, BPF_XDP);
	nf->prog = found;
	return 0;
}

static int record_pins(struct mzr_nf *nf)
{
	struct bpf_map *map;
	size_t n = 0;

	bpf_object__for_each_map(map, nf->obj)
		n++;
	nf->open_pins = calloc(n ? n : 1, sizeof(*nf->open_pins));
	if (!nf->open_pins)
		return -ENOMEM;
	bpf_object__for_each_map(map, nf->obj)
		nf->open_pins[nf->n_maps++] = bpf_map__pin_path(map);
	return 0;
}

static struct mzr_nf *nf_open(void *image, size_t size, const char *what,
			      const struct mzr_nf_open_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct mzr_nf *nf;
	char objname[64];
	const char *base;
	int err;

	nf = calloc(1, sizeof(*nf));
	if (!nf) {
		free(image);
		return mzri_err_ptr(-ENOMEM);
	}
	nf->image = image;
	nf->image_sz = size;
	snprintf(nf->object, sizeof(nf->object), "%s", what);

	err = read_decl(image, size, &nf->decl, what);
	if (!err)
		err = check_decl(&nf->decl, what);
	if (err)
		goto fail;

	base = strrchr(what, '/');
	snprintf(objname, sizeof(objname), "%s", base ? base + 1 : what);
	oo.object_name = objname;
	nf->obj = bpf_object__open_mem(image, size, &oo);
	if (!nf->obj) {
		err = -errno;
		mzri_warn("nf %s: cannot open the object: %s\n", what,
			  strerror(-err));
		goto fail;
	}
	err = select_prog(nf, MZRI_OPTS_GET(opts, prog_name, NULL));
	if (err)
		goto fail;
	err = record_pins(nf);
	if (err)
		goto fail;
	return nf;
fail:
	mzr_nf__close(nf);
	return mzri_err_ptr(err);
}

struct mzr_nf *mzr_nf__open_mem(const void *buf, size_t size,
				const struct mzr_nf_open_opts *opts)
{
	void *copy;

	if (!buf || !size || !MZRI_OPTS_VALID(opts, mzr_nf_open_opts)) {
		mzri_warn("nf open: bad arguments\n");
		return mzri_err_ptr(-EINVAL);
	}
	copy = malloc(size);
	if (!copy)
		return mzri_err_ptr(-ENOMEM);
	memcpy(copy, buf, size);
	return nf_open(copy, size, "<memory>", opts);
}

struct mzr_nf *mzr_nf__open_file(const char *path,
				 const struct mzr_nf_open_opts *opts)
{
	struct stat st;
	void *image;
	ssize_t n;
	size_t got = 0;
	int fd, err;

	if (!path || !*path || !MZRI_OPTS_VALID(opts, mzr_nf_open_opts)) {
		mzri_warn("nf open: bad arguments\n");
		return mzri_err_ptr(-EINVAL);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		mzri_warn("nf %s: %s\n", path, strerror(-err));
		return mzri_err_ptr(err);
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		mzri_warn("nf %s: not a BPF object file\n", path);
		return mzri_err_ptr(-EINVAL);
	}
	image = malloc(st.st_size);
	if (!image) {
		close(fd);
		return mzri_err_ptr(-ENOMEM);
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, (char *)image + got, st.st_size - got);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			close(fd);
			free(image);
			mzri_warn("nf %s: read: %s\n", path, strerror(-err));
			return mzri_err_ptr(err);
		}
		got += n;
	}
	close(fd);
	return nf_open(image, got, path, opts);
}

void mzr_nf__close(struct mzr_nf *nf)
{
	if (!nf)
		return;
	bpf_object__close(nf->obj);
	free(nf->open_pins);
	free(nf->image);
	free(nf);
}

const char *mzr_nf__declared_name(const struct mzr_nf *nf)
{
	return nf ? nf->decl.name : NULL;
}

unsigned int mzr_nf__ctx_version(const struct mzr_nf *nf)
{
	return nf ? nf->decl.ctx_version : 0;
}

const char *mzr_nf__prog_name(const struct mzr_nf *nf)
{
	return nf && nf->prog ? bpf_program__name(nf->prog) : NULL;
}

int mzr_nf__prog_fd(const struct mzr_nf *nf)
{
	int fd;

	if (!nf || !nf->pin_root[0])
		return -EINVAL;
	fd = bpf_program__fd(nf->prog);
	return fd < 0 ? -EINVAL : fd;
}

struct bpf_object *mzr_nf__bpf_object(const struct mzr_nf *nf)
{
	return nf ? nf->obj : NULL;
}

/* ---- Loading against a host -------------------------------------------- */

int mzri_mkdir_in(const char *root, const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Make the NF's copy of a shared map match the core's and reuse the core's
 * fd. The context may be longer in the core than in the NF (append-only
 * growth); never shorter. Other shared maps take the core's sizes so that
 * a core with more hooks still serves older NFs.
 */
static int bind_map(struct mzr_nf *nf, struct bpf_map *map, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const char *name = bpf_map__name(map);
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != bpf_map__type(map) ||
	    info.key_size != bpf_map__key_size(map)) {
		mzri_warn("nf %s: map %s does not match the core's (type %u, "
			  "key %u bytes)\n", nf->object, name, info.type,
			  info.key_size);
		return -EPROTO;
	}
	if (info.value_size < bpf_map__value_size(map) ||
	    info.max_entries < bpf_map__max_entries(map)) {
		mzri_warn("nf %s: map %s of the core is smaller than the NF "
			  "expects (the NF is newer than the back-plane)\n",
			  nf->object, name);
		return -EPROTO;
	}
	err = bpf_map__set_value_size(map, info.value_size);
	err = err ?: bpf_map__set_max_entries(map, info.max_entries);
	err = err ?: bpf_map__set_map_flags(map, info.map_flags);
	err = err ?: bpf_map__set_pin_path(map, NULL);
	err = err ?: bpf_map__reuse_fd(map, fd);
	if (err)
		mzri_warn("nf %s: cannot bind map %s: %s\n", nf->object, name,
			  strerror(-err));
	return err;
}

int mzri_nf_load(struct mzr_nf *nf, const struct mzr_host *h)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	size_t i;
	int err;

	if (nf->pin_root[0]) {
		mzri_warn("nf %s: already loaded\n", nf->object);
		return -EALREADY;
	}
	for (i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++) {
		map = bpf_object__find_map_by_name(nf->obj, shared_maps[i]);
		if (!map || (i >= SHARED_MAPS_OPTIONAL &&
			     mzri_fd(h, shared_map_ids[i]) < 0))
			continue;
		err = bind_map(nf, map, mzri_fd(h, shared_map_ids[i]));
		if (err)
			return err;
	}
	/* Maps declared LIBBPF_PIN_BY_NAME are shared by every NF declaring
	 * them, under the pin root (libbpf reuses the pin at load). A pin
	 * path the caller set since open is theirs. */
	i = 0;
	bpf_object__for_each_map(map, nf->obj) {
		const char *pin = bpf_map__pin_path(map);
		const char *at_open = i < nf->n_maps ? nf->open_pins[i] : NULL;

		i++;
		if (!pin || pin != at_open)
			continue;
		err = mzri_mkdir_in(h->pin_root, NF_SHARED_DIR);
		if (err)
			return err;
		snprintf(path, sizeof(path), "%s/%s/%s", h->pin_root,
			 NF_SHARED_DIR, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	err = bpf_object__load(nf->obj);
	if (err) {
		mzri_warn("nf %s: load failed: %s\n", nf->object,
			  strerror(-err));
		return err;
	}
	snprintf(nf->pin_root, sizeof(nf->pin_root), "%s", h->pin_root);
	return 0;
}

int mzr_nf__load(struct mzr_nf *nf, struct mzr_host *h)
{
	int err;

	if (!nf)
		return -EINVAL;
	err = mzri_check_loaded(h, "nf load");
	/* It may pin shared maps under the pin root. */
	return err ?: MZRI_LOCKED(h, false, mzri_nf_load(nf, h));
}

bool mzri_nf_map_shared(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++)
		if (!strcmp(name, shared_maps[i]))
			return true;
	return false;
}
