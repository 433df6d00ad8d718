// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The NF registry: the desired chains by name, one pinned ARRAY any process
 * reads, and the lock a writer holds while it changes them.
 *
 * State under the pin root, so that any process sees the same chains:
 *   nf/NAME              each chain member's program
 *   maps/mzr_nf_registry the chains by name (ARRAY, hook * MAX + pos)
 *   nf_maps/NAME/MAP     chain member NAME's own maps
 *   nf_shared/MAP        maps declared LIBBPF_PIN_BY_NAME, shared by name
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

/* ---- The registry and the lock ----------------------------------------- */


struct nf_rec *mzri_rec_at(struct chains *c, unsigned int hook,
			   unsigned int pos)
{
	return &c->recs[hook * MZR_CHAIN_MAX + pos];
}

unsigned int mzri_chain_len(struct chains *c, unsigned int hook)
{
	unsigned int n = 0;

	while (n < MZR_CHAIN_MAX && mzri_rec_at(c, hook, n)->name[0])
		n++;
	return n;
}

struct nf_rec *mzri_rec_find(struct chains *c, const char *name,
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
		err = mzri_mkdir_in(h->pin_root, "maps");
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
		mzri_warn("nf: %s has an unknown layout\n", path);
		close(fd);
		return -EPROTO;
	}
	return fd;
}

void mzri_chains_close(struct chains *c)
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
 * mzri_chains_create()).
 */
struct chains *mzri_chains_open(const struct mzr_host *h, bool write,
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
	 * without nf/ no chain was ever inserted; mzri_chains_create() makes
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
	mzri_warn("nf: cannot open the chains under %s: %s\n", h->pin_root,
		  strerror(-err));
	mzri_chains_close(c);
	*errp = err;
	return NULL;
}

/* What an insert needs that mzri_chains_open() found missing: nf/ (locked)
 * and the registry; mzri_chains_uncreate() removes them if the insert fails. */
int mzri_chains_create(const struct mzr_host *h, struct chains *c)
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

void mzri_chains_uncreate(const struct mzr_host *h, struct chains *c)
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

int mzri_registry_write(struct chains *c)
{
	__u32 i;

	for (i = 0; i < REG_SIZE; i++)
		if (bpf_map_update_elem(c->reg_fd, &i, &c->recs[i], BPF_ANY))
			return -errno;
	return 0;
}
