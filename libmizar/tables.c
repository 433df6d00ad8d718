// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Table fill levels: entries against capacity for the core tables and the
 * hash-like maps NFs pin under the pin root.
 *
 * Hash maps are counted from the kernel's own per-CPU element counts,
 * read for every map at once by a bpf_map iterator (map_count.bpf.c):
 * O(maps x CPUs) whatever the entries. Where that program cannot load
 * (Linux < 6.6) and for other map types, batched lookups walk the map.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/tables.h>

#include "host_priv.h"
#include "mzr_map_count_bpf.skel.h"

/* Entries fetched per batched lookup: 1M entries in ~60 syscalls. */
#define COUNT_BATCH 16384

static int count_by_key(int fd, uint32_t key_sz, uint32_t *count)
{
	char *key, *next;
	void *prev = NULL;
	int err = 0;

	key = malloc(key_sz);
	next = malloc(key_sz);
	if (!key || !next) {
		err = -ENOMEM;
		goto out;
	}
	*count = 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_sz);
		prev = key;
		(*count)++;
	}
	if (errno != ENOENT)
		err = -errno;
out:
	free(key);
	free(next);
	return err;
}

/*
 * Batched walk. -EOPNOTSUPP when the kernel has no batch op for this map
 * type (LPM tries): the caller then walks key by key.
 */
static int count_by_batch(int fd, const struct bpf_map_info *info,
			  uint32_t *count)
{
	/* The batch token is a bucket index (u32) for hash maps. */
	__u64 in_batch[8], out_batch[8];
	size_t vsz = info->value_size;
	uint32_t batch = COUNT_BATCH, n;
	void *keys = NULL, *vals = NULL;
	bool first = true;
	int err = 0, ret;

	switch (info->type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH: {
		int ncpu = libbpf_num_possible_cpus();

		if (ncpu <= 0)
			return ncpu ? ncpu : -EINVAL;
		vsz = ((vsz + 7) & ~(size_t)7) * ncpu;
		break;
	}
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
		break;
	default:
		return -EOPNOTSUPP;
	}
	*count = 0;
	for (;;) {
		if (!keys) {
			keys = malloc((size_t)batch * info->key_size);
			vals = malloc((size_t)batch * vsz);
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		n = batch;
		ret = bpf_map_lookup_batch(fd, first ? NULL : in_batch,
					   out_batch, keys, vals, &n, NULL);
		if (ret && errno == ENOSPC && n == 0) {
			/* One bucket holds more than a batch: grow it. */
			if (batch >= (1U << 24)) {
				err = -ENOSPC;
				break;
			}
			batch *= 4;
			free(keys);
			free(vals);
			keys = vals = NULL;
			continue;
		}
		if (ret && errno != ENOENT) {
			err = -errno;
			if (first && (err == -EINVAL || err == -ENOTSUP ||
				      err == -EOPNOTSUPP))
				err = -EOPNOTSUPP;
			break;
		}
		*count += n;
		if (ret) /* ENOENT: that was the last batch */
			break;
		memcpy(in_batch, out_batch, sizeof(in_batch));
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

/* A record of map_count.bpf.c. */
struct count_rec {
	__u32 id;
	__u32 pad;
	__s64 count;
};

/* Every map's element count, read once (recs NULL: not available). */
struct counts {
	struct count_rec *recs;
	size_t n;
};

/* Set by tests to exercise the walks on maps the iterator would count. */
bool mzri_count_no_iter;

static void counts_snapshot(struct counts *c)
{
	struct mzr_map_count_bpf *skel;
	struct bpf_link *link = NULL;
	size_t cap = 0, got = 0;
	char *buf = NULL, *nb;
	int fd = -1;
	ssize_t r;

	c->recs = NULL;
	c->n = 0;
	if (mzri_count_no_iter)
		return;
	skel = mzr_map_count_bpf__open_and_load();
	if (!skel) {
		mzri_debug("tables: no map iterator (%s): walking the maps\n",
			   strerror(errno));
		return;
	}
	link = bpf_program__attach_iter(skel->progs.mzr_map_counts, NULL);
	if (link)
		fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		goto out;
	for (;;) {
		if (cap - got < 4096) {
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (!r)
			break;
		got += r;
	}
	c->recs = (struct count_rec *)buf;
	c->n = got / sizeof(struct count_rec);
	buf = NULL;
	goto out;
fail:
	mzri_debug("tables: map iterator: %s\n", strerror(errno));
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	mzr_map_count_bpf__destroy(skel);
}

/* The kernel keeps element counts for these (and not for LPM tries). */
static bool kernel_counted(__u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int count_map(int fd, const struct bpf_map_info *info,
		     const struct counts *snap, uint32_t *count)
{
	size_t i;
	int err;

	if (kernel_counted(info->type)) {
		for (i = 0; i < snap->n; i++) {
			if (snap->recs[i].id != info->id)
				continue;
			if (snap->recs[i].count < 0)
				break; /* not counted after all: walk */
			*count = snap->recs[i].count > UINT32_MAX ?
					 UINT32_MAX :
					 (uint32_t)snap->recs[i].count;
			return 0;
		}
	}
	err = count_by_batch(fd, info, count);
	if (err == -EOPNOTSUPP)
		err = count_by_key(fd, info->key_size ? info->key_size : 1,
				   count);
	return err;
}

int mzr_map__count(int fd, uint32_t *count)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct counts snap = {};
	int err;

	if (!count)
		return -EINVAL;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (kernel_counted(info.type))
		counts_snapshot(&snap);
	err = count_map(fd, &info, &snap, count);
	free(snap.recs);
	return err;
}

/* Append one table to @out (when room is left); @*n counts all of them. */
static void add_table(struct mzr_table_usage *out, size_t cap, size_t *n,
		      const char *name, enum mzr_table_kind kind,
		      uint32_t entries, uint32_t capacity)
{
	if (*n < cap) {
		struct mzr_table_usage *t = &out[*n];

		memset(t, 0, sizeof(*t));
		memcpy(t->name, name, strnlen(name, sizeof(t->name) - 1));
		t->kind = kind;
		t->entries = entries;
		t->capacity = capacity;
	}
	(*n)++;
}

static bool countable(__u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LPM_TRIE;
}

/* Whether @fd is a map: pins may also hold programs and links. */
static bool is_map_fd(int fd)
{
	char link[64], target[32];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	memset(target, 0, sizeof(target));
	if (readlink(link, target, sizeof(target) - 1) < 0)
		return false;
	return !strcmp(target, "anon_inode:bpf-map");
}

/* One pinned object at PIN_ROOT/@rel: listed when a countable map. */
static void add_pinned(const struct mzr_host *h, const char *rel,
		       const struct counts *snap, struct mzr_table_usage *out,
		       size_t cap, size_t *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	uint32_t count;
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", h->pin_root, rel) >=
	    (int)sizeof(path))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return; /* a directory, or gone meanwhile */
	if (!is_map_fd(fd) || bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    !countable(info.type))
		goto out;
	err = count_map(fd, &info, snap, &count);
	if (err) {
		mzri_debug("tables: %s: %s\n", rel, strerror(-err));
		goto out;
	}
	add_table(out, cap, n, rel, MZR_TABLE_NF, count, info.max_entries);
out:
	close(fd);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Pinned maps under PIN_ROOT/@rel, down to @depth directory levels. */
static void walk_pins(const struct mzr_host *h, const char *rel, int depth,
		      const struct counts *snap, struct mzr_table_usage *out,
		      size_t cap, size_t *n)
{
	struct dirent **ents;
	char path[PATH_MAX], sub[PATH_MAX];
	int i, k;

	if (snprintf(path, sizeof(path), "%s/%s", h->pin_root, rel) >=
	    (int)sizeof(path))
		return;
	k = scandir(path, &ents, NULL, by_name);
	if (k < 0)
		return; /* no NF has pinned anything there */
	for (i = 0; i < k; i++) {
		const char *d = ents[i]->d_name;

		if (d[0] == '.' || snprintf(sub, sizeof(sub), "%s/%s", rel,
					    d) >= MZR_TABLE_NAME_MAX)
			goto next;
		if (ents[i]->d_type == DT_DIR) {
			if (depth > 1)
				walk_pins(h, sub, depth - 1, snap, out, cap, n);
		} else {
			add_pinned(h, sub, snap, out, cap, n);
		}
next:
		free(ents[i]);
	}
	free(ents);
}

static const struct {
	const char *name;
	enum mzri_map map;
	enum mzr_table_kind kind;
} core_tables[] = {
	{ "endpoints", MZRI_MAP_EPS, MZR_TABLE_CORE },
	{ "local_endpoints", MZRI_MAP_LOCAL, MZR_TABLE_CORE },
	{ "networks", MZRI_MAP_NETS, MZR_TABLE_CORE },
	{ "vpcs", MZRI_MAP_VPCS, MZR_TABLE_CORE },
	{ "direct_path", MZRI_MAP_DIRECT, MZR_TABLE_CACHE },
};

int mzr_host__tables(const struct mzr_host *h, struct mzr_table_usage *out,
		     size_t cap)
{
	struct counts snap;
	size_t n = 0, i;
	int err;

	err = mzri_check_loaded_arg(h, "tables", out || !cap);
	if (err)
		return err;
	counts_snapshot(&snap);
	for (i = 0; i < sizeof(core_tables) / sizeof(core_tables[0]); i++) {
		int fd = mzri_fd(h, core_tables[i].map);
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		uint32_t count;

		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			err = -errno;
		else
			err = count_map(fd, &info, &snap, &count);
		if (err) {
			mzri_warn("tables: %s: %s\n", core_tables[i].name,
				  strerror(-err));
			free(snap.recs);
			return err;
		}
		add_table(out, cap, &n, core_tables[i].name,
			  core_tables[i].kind, count, info.max_entries);
	}
	walk_pins(h, "nf_shared", 1, &snap, out, cap, &n);
	walk_pins(h, "nf_maps", 2, &snap, out, cap, &n);
	walk_pins(h, "nfcfg", 2, &snap, out, cap, &n);
	free(snap.recs);
	return n > INT_MAX ? INT_MAX : (int)n;
}
