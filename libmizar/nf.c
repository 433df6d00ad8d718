// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Pipeline NFs: opening and checking NF objects, binding them to the core's
 * maps, and the atomic two-bank chain update (docs/nf-abi.md).
 *
 * State under the pin root, so that any process sees the same chains:
 *   nf/NAME              each chain member's program
 *   maps/mzr_nf_registry the chains by name (ARRAY, hook * MAX + pos)
 *   nf_maps/NAME/MAP     chain member NAME's own maps
 *   nf_shared/MAP        maps declared LIBBPF_PIN_BY_NAME, shared by name
 * The registry is the desired state; every update rebuilds all chains
 * from it into the inactive bank and flips the bank. Pins are created
 * before and removed after the registry names them, so the registry never
 * names a program that is not pinned.
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

#include "core.h"

#define NF_DIR "nf"
#define NF_MAPS_DIR "nf_maps"
#define NF_SHARED_DIR "nf_shared"
#define REGISTRY_PIN "maps/mzr_nf_registry"
#define REG_SIZE (__MZR_HOOK_MAX * MZR_CHAIN_MAX)
#define REG_VERSION 1

/* One chain member in the registry; empty when name[0] is 0. */
struct nf_rec {
	__u32 version; /* REG_VERSION */
	__u32 prog_id;
	char name[MZR_NF_NAME_MAX];
	char declared_name[MZR_NF_NAME_MAX];
	char prog_name[64];
	char object[128];
};

struct mzr_nf {
	struct bpf_object *obj;
	struct bpf_program *prog;
	void *image; /* the object bytes, alive as long as obj */
	size_t image_sz;
	struct mzr_nf_decl decl;
	char object[128];
	char pin_root[PATH_MAX]; /* host it is loaded for, "" before load */
	/* Pin path of each map (in object order) right after open: libbpf's
	 * default for LIBBPF_PIN_BY_NAME maps, NULL for the others. A path
	 * that differs at load was set by the caller, who keeps it. */
	const char **open_pins;
	size_t n_maps;
};

static const char *const hook_names[__MZR_HOOK_MAX] = {
	[MZR_HOOK_AGENT_EGRESS] = "agent-egress",
	[MZR_HOOK_BOUNCER] = "bouncer",
	[MZR_HOOK_DIVIDER] = "divider",
	[MZR_HOOK_DELIVER] = "deliver",
	[MZR_HOOK_EXTERNAL] = "external",
};

static const char *const shared_maps[] = {
	MZR_MAP_PROGS, MZR_MAP_CHAIN_CFG, MZR_MAP_CTX, MZR_MAP_STATS,
	MZR_MAP_MISSED, MZR_MAP_PEERS, MZR_MAP_PROTECT,
};

static const enum mzri_map shared_map_ids[] = {
	MZRI_MAP_PROGS, MZRI_MAP_CHAIN_CFG, MZRI_MAP_CTX, MZRI_MAP_STATS,
	MZRI_MAP_MISSED, MZRI_MAP_PEERS, MZRI_MAP_PROTECT,
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
		mzr_warn("nf %s: not an ELF object\n", what);
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
			mzr_warn("nf %s: truncated %s section\n", what,
				 MZR_NF_DECL_SEC);
			goto out;
		}
		memcpy(decl, data->d_buf,
		       have < sizeof(*decl) ? have : sizeof(*decl));
		decl->name[MZR_NF_NAME_MAX - 1] = '\0';
		err = 0;
		goto out;
	}
	mzr_warn("nf %s: no %s section: not built with MZR_NF_DECLARE() "
		 "(<mizar/bpf/nf.h>)\n", what, MZR_NF_DECL_SEC);
out:
	elf_end(elf);
	return err;
}

/* Whether this library serves the context an NF was built against. */
static int check_decl(const struct mzr_nf_decl *d, const char *what)
{
	if (d->magic != MZR_NF_MAGIC || !d->decl_version) {
		mzr_warn("nf %s: bad %s declaration (magic %#x)\n", what,
			 MZR_NF_DECL_SEC, d->magic);
		return -EPROTO;
	}
	if (d->ctx_version > MZR_CTX_VERSION ||
	    d->ctx_version < MZR_CTX_VERSION_MIN) {
		mzr_warn("nf %s: built against NF context v%u; this library "
			 "serves v%u to v%u (rebuild the NF against this SDK)\n",
			 what, d->ctx_version, MZR_CTX_VERSION_MIN,
			 MZR_CTX_VERSION);
		return -EPROTO;
	}
	if (d->ctx_len > sizeof(struct mzr_ctx) ||
	    (d->ctx_version == MZR_CTX_VERSION &&
	     d->ctx_len != sizeof(struct mzr_ctx))) {
		mzr_warn("nf %s: NF context v%u of %u bytes; this library's "
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
			mzr_warn("nf %s: no program '%s'\n", nf->object,
				 prog_name);
		else
			mzr_warn("nf %s: %d programs; say which one (prog)\n",
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
		return mzr_err_ptr(-ENOMEM);
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
		mzr_warn("nf %s: cannot open the object: %s\n", what,
			 strerror(-err));
		goto fail;
	}
	err = select_prog(nf, MZR_OPTS_GET(opts, prog_name, NULL));
	if (err)
		goto fail;
	err = record_pins(nf);
	if (err)
		goto fail;
	return nf;
fail:
	mzr_nf__close(nf);
	return mzr_err_ptr(err);
}

struct mzr_nf *mzr_nf__open_mem(const void *buf, size_t size,
				const struct mzr_nf_open_opts *opts)
{
	void *copy;

	if (!buf || !size || !MZR_OPTS_VALID(opts, mzr_nf_open_opts)) {
		mzr_warn("nf open: bad arguments\n");
		return mzr_err_ptr(-EINVAL);
	}
	copy = malloc(size);
	if (!copy)
		return mzr_err_ptr(-ENOMEM);
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

	if (!path || !*path || !MZR_OPTS_VALID(opts, mzr_nf_open_opts)) {
		mzr_warn("nf open: bad arguments\n");
		return mzr_err_ptr(-EINVAL);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		mzr_warn("nf %s: %s\n", path, strerror(-err));
		return mzr_err_ptr(err);
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		mzr_warn("nf %s: not a BPF object file\n", path);
		return mzr_err_ptr(-EINVAL);
	}
	image = malloc(st.st_size);
	if (!image) {
		close(fd);
		return mzr_err_ptr(-ENOMEM);
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, (char *)image + got, st.st_size - got);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			close(fd);
			free(image);
			mzr_warn("nf %s: read: %s\n", path, strerror(-err));
			return mzr_err_ptr(err);
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

static int mkdir_in(const char *root, const char *dir)
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
		mzr_warn("nf %s: map %s does not match the core's (type %u, "
			 "key %u bytes)\n", nf->object, name, info.type,
			 info.key_size);
		return -EPROTO;
	}
	if (info.value_size < bpf_map__value_size(map) ||
	    info.max_entries < bpf_map__max_entries(map)) {
		mzr_warn("nf %s: map %s of the core is smaller than the NF "
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
		mzr_warn("nf %s: cannot bind map %s: %s\n", nf->object, name,
			 strerror(-err));
	return err;
}

static int nf_load(struct mzr_nf *nf, const struct mzr_host *h)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	size_t i;
	int err;

	if (nf->pin_root[0]) {
		mzr_warn("nf %s: already loaded\n", nf->object);
		return -EALREADY;
	}
	for (i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++) {
		map = bpf_object__find_map_by_name(nf->obj, shared_maps[i]);
		if (!map)
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
		err = mkdir_in(h->pin_root, NF_SHARED_DIR);
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
		mzr_warn("nf %s: load failed: %s\n", nf->object,
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
	return err ?: MZRI_LOCKED(h, false, nf_load(nf, h));
}

/* ---- The registry and the lock ----------------------------------------- */

struct chains {
	int lock_fd;
	int reg_fd;
	bool made_dir; /* this update created nf/ */
	bool made_reg; /* this update created the registry */
	struct nf_rec recs[REG_SIZE];
};

static struct nf_rec *rec_at(struct chains *c, unsigned int hook,
			     unsigned int pos)
{
	return &c->recs[hook * MZR_CHAIN_MAX + pos];
}

static unsigned int chain_len(struct chains *c, unsigned int hook)
{
	unsigned int n = 0;

	while (n < MZR_CHAIN_MAX && rec_at(c, hook, n)->name[0])
		n++;
	return n;
}

static struct nf_rec *rec_find(struct chains *c, const char *name,
			       unsigned int *hook, unsigned int *pos)
{
	unsigned int i;

	for (i = 0; i < REG_SIZE; i++) {
		if (strcmp(c->recs[i].name, name))
			continue;
		*hook = i / MZR_CHAIN_MAX;
		*pos = i % MZR_CHAIN_MAX;
		return &c->recs[i];
	}
	return NULL;
}

static int registry_open(const struct mzr_host *h, bool create)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", h->pin_root, REGISTRY_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0 && errno == ENOENT && create) {
		err = mkdir_in(h->pin_root, "maps");
		if (err)
			return err;
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mzr_nf_registry",
				    sizeof(__u32), sizeof(struct nf_rec),
				    REG_SIZE, &mo);
		if (fd < 0)
			return -errno;
		if (bpf_obj_pin(fd, path)) {
			err = -errno;
			close(fd);
			return err;
		}
		return fd;
	}
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.value_size != sizeof(struct nf_rec) ||
	    info.max_entries != REG_SIZE) {
		mzr_warn("nf: %s has an unknown layout\n", path);
		close(fd);
		return -EPROTO;
	}
	return fd;
}

static void chains_close(struct chains *c)
{
	if (c->reg_fd >= 0)
		close(c->reg_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* releases the flock */
	free(c);
}

/*
 * Lock the chains of this pin root (flock on the nf/ directory: bpffs
 * directories support it, regular files cannot live there; it orders
 * readers against writers, which also hold the pin root lock) and read
 * the registry. @write: exclusive lock. Creates nothing (see
 * chains_create()).
 */
static struct chains *chains_open(const struct mzr_host *h, bool write,
				  int *errp)
{
	char path[PATH_MAX];
	struct chains *c;
	__u32 i;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c) {
		*errp = -ENOMEM;
		return NULL;
	}
	c->lock_fd = c->reg_fd = -1;
	/* Nothing is created here (a failed update leaves no file):
	 * without nf/ no chain was ever inserted; chains_create() makes
	 * what an insert needs. Writers hold the pin root lock too. */
	snprintf(path, sizeof(path), "%s/%s", h->pin_root, NF_DIR);
	c->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->lock_fd < 0 && errno != ENOENT) {
		err = -errno;
		goto fail;
	}
	if (c->lock_fd >= 0 && flock(c->lock_fd, write ? LOCK_EX : LOCK_SH)) {
		err = -errno;
		goto fail;
	}
	c->reg_fd = registry_open(h, false);
	if (c->reg_fd == -ENOENT) {
		/* Nothing inserted yet: empty chains. */
		*errp = 0;
		return c;
	}
	if (c->reg_fd < 0) {
		err = c->reg_fd;
		goto fail;
	}
	for (i = 0; i < REG_SIZE; i++) {
		if (bpf_map_lookup_elem(c->reg_fd, &i, &c->recs[i])) {
			err = -errno;
			goto fail;
		}
		c->recs[i].name[MZR_NF_NAME_MAX - 1] = '\0';
	}
	return c;
fail:
	mzr_warn("nf: cannot open the chains under %s: %s\n", h->pin_root,
		 strerror(-err));
	chains_close(c);
	*errp = err;
	return NULL;
}

/* What an insert needs that chains_open() found missing: nf/ (locked)
 * and the registry; chains_uncreate() removes them if the insert fails. */
static int chains_create(const struct mzr_host *h, struct chains *c)
{
	char path[PATH_MAX];
	int err;

	if (c->lock_fd < 0) {
		snprintf(path, sizeof(path), "%s/%s", h->pin_root, NF_DIR);
		if (!mkdir(path, 0700))
			c->made_dir = true;
		else if (errno != EEXIST)
			return -errno;
		c->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX))
			return -errno;
	}
	if (c->reg_fd < 0) {
		c->reg_fd = registry_open(h, true);
		if (c->reg_fd < 0) {
			err = c->reg_fd;
			c->reg_fd = -1;
			return err;
		}
		c->made_reg = true;
	}
	return 0;
}

static void chains_uncreate(const struct mzr_host *h, struct chains *c)
{
	char path[PATH_MAX];

	if (c->made_reg) {
		snprintf(path, sizeof(path), "%s/%s", h->pin_root,
			 REGISTRY_PIN);
		unlink(path);
	}
	if (c->made_dir) {
		snprintf(path, sizeof(path), "%s/%s", h->pin_root, NF_DIR);
		rmdir(path);
	}
}

static int registry_write(struct chains *c)
{
	__u32 i;

	for (i = 0; i < REG_SIZE; i++)
		if (bpf_map_update_elem(c->reg_fd, &i, &c->recs[i], BPF_ANY))
			return -errno;
	return 0;
}

/* ---- Publishing chains: two banks and a grace period ------------------- */

/*
 * Wait until no packet can still run on the bank we just left. XDP runs
 * inside an RCU read-side section (NAPI, generic XDP and BPF_PROG_TEST_RUN
 * alike), so one RCU grace period suffices. membarrier(GLOBAL) is
 * synchronize_rcu() in kernel/sched/membarrier.c, except with nohz_full
 * (-EINVAL) or a single online CPU (no wait; a preempted reader may exist
 * under PREEMPT_RCU). Then fall back on updating a map-in-map, after which
 * the kernel waits for running BPF programs (maybe_wait_bpf_programs()).
 */
int mzr_sync_grace_period(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	int inner, outer, err = 0;
	__u32 key = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
	    !syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return 0;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mzr_gp_inner", 4, 4, 1,
			       NULL);
	if (inner < 0)
		return -errno;
	mo.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "mzr_gp", 4, 4, 1,
			       &mo);
	if (outer < 0 || bpf_map_update_elem(outer, &key, &inner, BPF_ANY))
		err = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return err;
}

static int cfg_get(const struct mzr_host *h, __u32 key, __u32 *val)
{
	return bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_CHAIN_CFG), &key, val) ?
		       -errno :
		       0;
}

static int cfg_set(const struct mzr_host *h, __u32 key, __u32 val)
{
	return bpf_map_update_elem(mzri_fd(h, MZRI_MAP_CHAIN_CFG), &key, &val,
				   BPF_ANY) ?
		       -errno :
		       0;
}

/* Empty every slot and length of @bank. */
static void bank_clear(const struct mzr_host *h, __u32 bank)
{
	unsigned int hook, pos;
	__u32 slot;

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		cfg_set(h, MZR_CHAIN_CFG_LEN(bank, hook), 0);
		for (pos = 0; pos < MZR_CHAIN_MAX; pos++) {
			slot = MZR_PROG_NF(bank, hook, pos);
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_PROGS), &slot);
		}
	}
}

static int prog_pin_path(char *buf, const char *root, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s/%s", root, NF_DIR, name);

	return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The NF's own maps: not bound to the core, not .rodata/.bss/.data, not
 * pinned elsewhere (shared by name, or where the caller said). */
static bool map_is_private(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);
	size_t i;

	if (bpf_map__is_internal(map) || bpf_map__pin_path(map) ||
	    bpf_map__fd(map) < 0)
		return false;
	for (i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++)
		if (!strcmp(name, shared_maps[i]))
			return false;
	return true;
}

/* Remove PIN_ROOT/nf_maps/NAME and the map pins in it. */
static void maps_unpin(const struct mzr_host *h, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/%s", h->pin_root, NF_MAPS_DIR, name);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		mzr_warn("nf %s: cannot remove %s: %s\n", name, dir,
			 strerror(errno));
}

/*
 * Pin chain member @name's own maps at PIN_ROOT/nf_maps/NAME/MAP, where
 * tools find an NF's state by its name. Leftovers of an interrupted
 * update under that name (the registry does not name it) go first.
 */
static int maps_pin(const struct mzr_host *h, const char *name,
		    const struct mzr_nf *nf)
{
	char dir[64], path[PATH_MAX + 256];
	struct bpf_map *map;
	bool made = false;
	int err;

	maps_unpin(h, name);
	snprintf(dir, sizeof(dir), "%s/%s", NF_MAPS_DIR, name);
	bpf_object__for_each_map(map, nf->obj) {
		if (!map_is_private(map))
			continue;
		if (!made) {
			err = mkdir_in(h->pin_root, NF_MAPS_DIR);
			err = err ?: mkdir_in(h->pin_root, dir);
			if (err)
				goto fail;
			made = true;
		}
		snprintf(path, sizeof(path), "%s/%s/%s", h->pin_root, dir,
			 bpf_map__name(map));
		if (bpf_obj_pin(bpf_map__fd(map), path)) {
			err = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	mzr_warn("nf %s: cannot pin its maps under %s/%s: %s\n", name,
		 h->pin_root, dir, strerror(-err));
	maps_unpin(h, name);
	return err;
}

/* Whether @bank holds a chain: packets that entered it may still run on
 * it until a grace period has passed since it stopped being active. */
static int bank_in_use(const struct mzr_host *h, __u32 bank, bool *in_use)
{
	unsigned int hook;
	__u32 len;
	int err;

	*in_use = false;
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		err = cfg_get(h, MZR_CHAIN_CFG_LEN(bank, hook), &len);
		if (err)
			return err;
		if (len)
			*in_use = true;
	}
	return 0;
}

/*
 * Make the registry's chains live: write all of them into the inactive
 * bank, flip the bank with one u32 store, wait for a grace period, then
 * empty the old bank (releasing removed programs). @override_name's
 * program is @override_fd instead of its pin (replace in progress).
 */
static int publish(const struct mzr_host *h, struct chains *c,
		   const char *override_name, int override_fd)
{
	int progs = mzri_fd(h, MZRI_MAP_PROGS);
	char path[PATH_MAX];
	unsigned int hook, pos, len;
	__u32 bank, next, slot;
	struct nf_rec *r;
	bool in_use, want_xdp, want_xdp_transit;
	int fd, err;

	err = cfg_get(h, MZR_CHAIN_CFG_BANK, &bank);
	if (err)
		return err;
	bank &= 1;
	next = !bank;
	/* The inactive bank is empty unless the grace period after the last
	 * flip could not be had (or an update was interrupted): then wait
	 * for one before emptying it, or leave it alone. */
	err = bank_in_use(h, next, &in_use);
	if (err)
		return err;
	if (in_use) {
		err = mzr_sync_grace_period();
		if (err) {
			mzr_warn("nf: packets may still run on bank %u and no "
				 "RCU grace period can be had (%s): chains "
				 "not updated\n", next, strerror(-err));
			return -EBUSY;
		}
	}
	bank_clear(h, next);

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		len = chain_len(c, hook);
		for (pos = 0; pos < len; pos++) {
			r = rec_at(c, hook, pos);
			if (override_name && !strcmp(r->name, override_name)) {
				fd = override_fd;
			} else {
				prog_pin_path(path, h->pin_root, r->name);
				fd = bpf_obj_get(path);
				if (fd < 0) {
					err = -errno;
					mzr_warn("nf %s: pin %s: %s\n",
						 r->name, path,
						 strerror(-err));
					return err;
				}
			}
			slot = MZR_PROG_NF(next, hook, pos);
			err = bpf_map_update_elem(progs, &slot, &fd, BPF_ANY) ?
				      -errno :
				      0;
			if (fd != override_fd)
				close(fd);
			if (err) {
				mzr_warn("nf %s: cannot install in the "
					 "program array: %s\n",
					 r->name, strerror(-err));
				return err;
			}
		}
		err = cfg_set(h, MZR_CHAIN_CFG_LEN(next, hook), len);
		if (err)
			return err;
	}
	/* The XDP agent before a chain it must run goes live; the tc
	 * agent back after the last one went (agent_mode.c). */
	for (hook = 0, want_xdp = false; hook < __MZR_HOOK_MAX; hook++)
		if (mzri_agent_hook(hook) && chain_len(c, hook))
			want_xdp = true;
	if (want_xdp) {
		err = mzri_agents_sync(h, true);
		if (err)
			return err;
	}
	/* Likewise the XDP transit of a host attached in tc mode
	 * (transit_mode.c). */
	for (hook = 0, want_xdp_transit = false; hook < __MZR_HOOK_MAX; hook++)
		if (mzri_transit_hook(hook) && chain_len(c, hook))
			want_xdp_transit = true;
	if (want_xdp_transit) {
		err = mzri_transit_sync(h, true);
		if (err)
			return err;
	}
	err = cfg_set(h, MZR_CHAIN_CFG_BANK, next);
	if (err)
		return err;
	if (!want_xdp)
		mzri_agents_sync(h, false);
	if (!want_xdp_transit)
		mzri_transit_sync(h, false);
	err = mzr_sync_grace_period();
	if (err) {
		/* The new chain is live; the old bank stays occupied until
		 * the next update has its grace period. */
		mzr_warn("nf: no RCU grace period (%s): bank %u kept\n",
			 strerror(-err), bank);
		return 0;
	}
	bank_clear(h, bank);
	return 0;
}

/*
 * Commit @c->recs: the registry first, then the chains. When publishing
 * fails the registry gets @saved back, so that it names what runs (the
 * old chains stay live until the bank flips, the last step of publish()).
 */
static int commit(const struct mzr_host *h, struct chains *c,
		  const struct nf_rec *saved, const char *override_name,
		  int override_fd)
{
	struct nf_rec *now;
	int err;

	err = registry_write(c);
	if (!err) {
		err = publish(h, c, override_name, override_fd);
		if (!err)
			return 0;
	}
	now = malloc(sizeof(c->recs));
	if (now)
		memcpy(now, c->recs, sizeof(c->recs));
	memcpy(c->recs, saved, sizeof(c->recs));
	if (registry_write(c))
		mzr_warn("nf: cannot restore the registry under %s\n",
			 h->pin_root);
	if (now) {
		memcpy(c->recs, now, sizeof(c->recs));
		free(now);
	}
	return err;
}

/*
 * The kernel lets one packet make at most 33 tail calls (MAX_TAIL_CALL_CNT).
 * A chain of N NFs costs N + 1 (into each NF, then the continuation), and
 * one packet may run two chains in one XDP run: the agent's, then the
 * transit hook its hairpin or injection meets; the external chain, then
 * the transit hook an NF's injection meets; a transit hook, then deliver
 * (a reroute to a local endpoint). One more tail call between the two
 * (the injection) is counted for each. Beyond the limit a tail call fails:
 * every such packet would be dropped as a missed tail call. Three chains:
 * the agent's cross-network hairpin (agent-egress, divider, deliver), and
 * an injected packet whose transit hook reroutes it to a local endpoint.
 */
#define TAIL_CALL_LIMIT 33
#define HB(hook) (1U << MZR_HOOK_##hook)
static const __u32 chain_paths[] = {
	HB(AGENT_EGRESS) | HB(BOUNCER),	  HB(AGENT_EGRESS) | HB(DIVIDER),
	HB(AGENT_EGRESS) | HB(DELIVER),	  HB(EXTERNAL) | HB(BOUNCER),
	HB(EXTERNAL) | HB(DIVIDER),	  HB(EXTERNAL) | HB(DELIVER),
	HB(BOUNCER) | HB(DELIVER),	  HB(DIVIDER) | HB(DELIVER),
	HB(AGENT_EGRESS) | HB(BOUNCER) | HB(DELIVER),
	HB(AGENT_EGRESS) | HB(DIVIDER) | HB(DELIVER),
	HB(EXTERNAL) | HB(BOUNCER) | HB(DELIVER),
	HB(EXTERNAL) | HB(DIVIDER) | HB(DELIVER),
};

/* -E2BIG (logged) when some path through the chains of @c makes more
 * tail calls than the kernel allows. */
static int check_paths(struct chains *c, const char *what, const char *name)
{
	unsigned int i, hook, calls, len, nfs;
	char chains[128];
	size_t off;

	for (i = 0; i < sizeof(chain_paths) / sizeof(chain_paths[0]); i++) {
		calls = 1;
		nfs = 0;
		off = 0;
		chains[0] = '\0';
		for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
			if (!(chain_paths[i] & (1U << hook)))
				continue;
			len = chain_len(c, hook);
			calls += len ? len + 1 : 0;
			nfs += len;
			off += snprintf(chains + off, sizeof(chains) - off,
					"%s%s (%u NFs)", off ? " and " : "",
					mzr_hook_name(hook), len);
			if (off >= sizeof(chains))
				off = sizeof(chains) - 1;
		}
		if (calls <= TAIL_CALL_LIMIT)
			continue;
		mzr_warn("%s %s: one packet can run the chains of %s: %u tail calls, more than the kernel's %d (%u NFs)\n",
			 what, name, chains, calls, TAIL_CALL_LIMIT, nfs);
		return -E2BIG;
	}
	return 0;
}

/* ---- Chain operations --------------------------------------------------- */

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
	mzr_warn("%s: bad NF name '%s' (1-%d characters of A-Z a-z 0-9 _ -)\n",
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
		mzr_warn("%s: no NF handle\n", what);
		return -EINVAL;
	}
	if (!nf->pin_root[0])
		return nf_load(nf, h);
	if (strcmp(nf->pin_root, h->pin_root)) {
		mzr_warn("%s: NF loaded for the back-plane at %s\n", what,
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
		mzr_warn("nf insert %s: bad hook %d\n", name, hook);
		return -EINVAL;
	}
	if (!nf) {
		mzr_warn("nf insert: no NF handle\n");
		return -EINVAL;
	}
	c = chains_open(h, true, &err);
	if (!c)
		return err;
	if (rec_find(c, name, &oh, &op)) {
		mzr_warn("nf insert: an NF named %s exists (hook %s)\n", name,
			 mzr_hook_name(oh));
		err = -EEXIST;
		goto out;
	}
	len = chain_len(c, hook);
	if (pos == MZR_NF_POS_END)
		pos = len;
	if (pos < 0 || (unsigned int)pos > len) {
		mzr_warn("nf insert %s: position %d outside 0..%u\n", name,
			 pos, len);
		err = -ERANGE;
		goto out;
	}
	if (len >= MZR_CHAIN_MAX) {
		mzr_warn("nf insert %s: chain of %s is full (%d NFs)\n", name,
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
	rec_at(c, hook, len)->name[0] = '?';
	err = check_paths(c, "nf insert", name);
	rec_at(c, hook, len)->name[0] = '\0';
	err = err ?: nf_ready(h, nf, "nf insert");
	err = err ?: chains_create(h, c);
	if (err)
		goto out;
	/* The registry does not name it: a pin there is a leftover of an
	 * update interrupted between the registry write and the unpin. */
	prog_pin_path(path, h->pin_root, name);
	unlink(path);
	if (bpf_obj_pin(bpf_program__fd(nf->prog), path)) {
		err = -errno;
		mzr_warn("nf insert %s: cannot pin %s: %s\n", name, path,
			 strerror(-err));
		goto out;
	}
	err = maps_pin(h, name, nf);
	if (err) {
		unlink(path);
		goto out;
	}
	for (i = len; i > (unsigned int)pos; i--)
		*rec_at(c, hook, i) = *rec_at(c, hook, i - 1);
	rec_fill(rec_at(c, hook, pos), name, nf);

	err = commit(h, c, saved, NULL, -1);
	if (err) {
		unlink(path);
		maps_unpin(h, name);
		mzr_warn("nf insert %s: %s\n", name, strerror(-err));
	} else {
		mzr_info("nf %s inserted at %s position %d\n", name,
			 mzr_hook_name(hook), pos);
	}
out:
	if (err)
		chains_uncreate(h, c);
	chains_close(c);
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
	c = chains_open(h, true, &err);
	if (!c)
		return err;
	if (!rec_find(c, name, &hook, &pos)) {
		mzr_warn("nf remove: no NF named %s\n", name);
		err = -ENOENT;
		goto out;
	}
	memcpy(saved.recs, c->recs, sizeof(saved.recs));
	len = chain_len(c, hook);
	for (; pos + 1 < len; pos++)
		*rec_at(c, hook, pos) = *rec_at(c, hook, pos + 1);
	memset(rec_at(c, hook, len - 1), 0, sizeof(struct nf_rec));

	err = commit(h, c, saved.recs, NULL, -1);
	if (err) {
		memcpy(c->recs, saved.recs, sizeof(saved.recs));
		mzr_warn("nf remove %s: %s\n", name, strerror(-err));
		goto out;
	}
	prog_pin_path(path, h->pin_root, name);
	if (unlink(path) && errno != ENOENT)
		mzr_warn("nf remove %s: cannot unpin %s: %s\n", name, path,
			 strerror(errno));
	maps_unpin(h, name);
out:
	chains_close(c);
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
	c = chains_open(h, true, &err);
	if (!c)
		return err;
	r = rec_find(c, name, &hook, &pos);
	if (!r) {
		mzr_warn("nf replace: no NF named %s\n", name);
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
	err = commit(h, c, saved, name, fd);
	if (err) {
		*r = old;
		mzr_warn("nf replace %s: %s\n", name, strerror(-err));
		goto out;
	}
	/* Re-point the name: pin aside, then rename over the old pin. */
	prog_pin_path(path, h->pin_root, name);
	snprintf(tmp, sizeof(tmp), "%s/%s/#%s", h->pin_root, NF_DIR, name);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) || rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		mzr_warn("nf replace %s: the new program runs but cannot be "
			 "pinned at %s: %s\n", name, path, strerror(-err));
		goto out;
	}
	/* The new program's own maps replace the old one's. */
	err = maps_pin(h, name, nf);
out:
	chains_close(c);
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
	c = chains_open(h, true, &err);
	if (!c) {
		free(saved);
		return err;
	}
	memcpy(saved, c->recs, sizeof(c->recs));
	memset(c->recs, 0, sizeof(c->recs));
	if (c->reg_fd >= 0)
		err = commit(h, c, saved, NULL, -1);
	else
		err = publish(h, c, NULL, -1);
	if (err) {
		/* The pins stay: the registry may still name them. */
		mzr_warn("nf clear: %s\n", strerror(-err));
		goto out;
	}
	for (i = 0; i < REG_SIZE; i++) {
		if (!saved[i].name[0])
			continue;
		prog_pin_path(path, h->pin_root, saved[i].name);
		unlink(path);
		maps_unpin(h, saved[i].name);
	}
out:
	chains_close(c);
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
	c = chains_open(h, false, &err);
	if (!c)
		return err;
	r = rec_find(c, name, &hook, &pos);
	if (r)
		info_fill(h, r, hook, pos, info);
	else
		err = -ENOENT;
	chains_close(c);
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

	err = mzri_check_loaded(h, "nf list");
	if (err)
		return err;
	if (!cb)
		return -EINVAL;
	c = chains_open(h, false, &err);
	if (!c)
		return err;
	for (hook = 0; !err && hook < __MZR_HOOK_MAX; hook++) {
		len = chain_len(c, hook);
		for (pos = 0; !err && pos < len; pos++) {
			info_fill(h, rec_at(c, hook, pos), hook, pos, &info);
			err = cb(&info, ctx);
		}
	}
	chains_close(c);
	return err;
}

/* ---- Locked entry points ----------------------------------------------- */

/* Chain writers hold the pin root lock (lock.c) as every writer does. */
int mzr_host__nf_insert(struct mzr_host *h, const char *name,
			struct mzr_nf *nf, enum mzr_hook hook, int pos)
{
	return MZRI_LOCKED(h, false, nf_insert(h, name, nf, hook, pos));
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
