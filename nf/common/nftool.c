// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nftool.h"

/* The tool of this process, for its attach and detach commands. */
static const struct nftool *nftool_current;

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

int nftool_maps(struct mzctl *g, const struct nftool *t, const char *cmd,
		const struct nftool_mapref *refs)
{
	const struct nftool_mapref *r;

	for (r = refs; r->name; r++)
		*r->fd = -1;
	for (r = refs; r->name; r++) {
		*r->fd = nftool_map(g, t, r->name, cmd);
		if (*r->fd < 0)
			break;
	}
	if (!r->name)
		return 0;
	for (r = refs; r->name; r++) {
		if (*r->fd >= 0)
			close(*r->fd);
		*r->fd = -1;
	}
	return -1;
}

int nftool_lock(struct mzctl *g, const struct nftool *t, const char *cmd)
{
	char dir[PATH_MAX];
	struct mzr_host *h;
	int fd;

	h = mzctl_host(g, cmd);
	if (!h)
		return -1;
	if (cfg_dir(h, t, dir, sizeof(dir))) {
		mzctl_err(cmd, "cannot lock %s's configuration: %s", t->name,
			  strerror(ENAMETOOLONG));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		mzctl_err(cmd, "cannot lock %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

bool nftool_help(int argc, char **argv, const char *help)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			fputs(help, stdout);
			return true;
		}
	}
	return false;
}

int nftool_no_args(const char *cmd, const char *help, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!mzctl_is_help(argv[i]))
			continue;
		if (help)
			fputs(help, stdout);
		else
			printf("Usage: %s %s\n", program_invocation_short_name,
			       cmd);
		return MZCTL_OK;
	}
	if (argc) {
		mzctl_err(cmd, "unexpected argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	return -1;
}

uint64_t nftool_percpu_sum(int fd, const void *key)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v, sum = 0;
	int i;

	if (ncpu <= 0)
		return 0;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(fd, key, v))
		for (i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

bool nftool_show_begin(struct mzctl *g, struct mzctl_json *js,
		       const struct nftool *t)
{
	bool on = nftool_attached(g, t);
	unsigned int i;

	if (g->json) {
		mzctl_json_begin(js, stdout);
		mzctl_json_bool(js, "attached", on);
		mzctl_json_arr(js, "hooks");
		for (i = 0; on && i < t->n_progs; i++)
			mzctl_json_str(js, NULL,
				       mzr_hook_name(t->progs[i].hook));
		mzctl_json_arr_end(js);
		return on;
	}
	if (!on) {
		printf("%s: not attached\n", t->name);
		return false;
	}
	printf("%s: attached (hooks ", t->name);
	for (i = 0; i < t->n_progs; i++)
		printf("%s%s", i ? "," : "", mzr_hook_name(t->progs[i].hook));
	printf(")\n");
	return true;
}

int nftool_show_unattached(struct mzctl *g, const struct nftool *t,
			   const char *cmd)
{
	struct mzctl_json js;

	if (!mzctl_host(g, cmd))
		return MZCTL_FAIL;
	if (nftool_attached(g, t))
		return -1;
	nftool_show_begin(g, &js, t);
	/* The same keys as when attached: sections are absent, the
	 * counters gone with the NF's maps. */
	if (g->json) {
		mzctl_json_obj(&js, "counters");
		mzctl_json_obj_end(&js);
	}
	nftool_show_end(g, &js);
	return MZCTL_OK;
}

void nftool_show_end(struct mzctl *g, struct mzctl_json *js)
{
	if (g->json)
		mzctl_json_end(js);
}

void nftool_table_init(struct nftool_table *tb, const char *title,
		       const char *const *cols)
{
	memset(tb, 0, sizeof(*tb));
	tb->title = title;
	tb->cols = cols;
	while (cols[tb->ncol])
		tb->ncol++;
}

void nftool_table_row(struct nftool_table *tb, ...)
{
	unsigned int i;
	va_list ap;

	if (tb->oom)
		return;
	if (tb->nrow == tb->cap) {
		size_t cap = tb->cap ? 2 * tb->cap : 16;
		char **c = realloc(tb->cells, cap * tb->ncol * sizeof(*c));

		if (!c) {
			tb->oom = true;
			return;
		}
		tb->cells = c;
		tb->cap = cap;
	}
	va_start(ap, tb);
	for (i = 0; i < tb->ncol; i++) {
		const char *v = va_arg(ap, const char *);
		char *d = strdup(v ? v : "");

		if (!d)
			tb->oom = true;
		tb->cells[tb->nrow * tb->ncol + i] = d;
	}
	va_end(ap);
	tb->nrow++;
}

/* One line of the table: cells padded to the column widths, the last one
 * not padded (no trailing blanks). */
static void table_line(const struct nftool_table *tb, const size_t *w,
		       const char *const *cells)
{
	unsigned int i;

	printf(" ");
	for (i = 0; i < tb->ncol; i++) {
		if (i + 1 < tb->ncol)
			printf(" %-*s", (int)w[i], cells[i] ? cells[i] : "");
		else
			printf(" %s", cells[i] ? cells[i] : "");
	}
	printf("\n");
}

void nftool_table_print(struct nftool_table *tb)
{
	size_t *w = calloc(tb->ncol ? tb->ncol : 1, sizeof(*w));
	size_t r, i;

	printf("%s:\n", tb->title);
	if (!tb->nrow) {
		printf("  none\n");
	} else if (w) {
		for (i = 0; i < tb->ncol; i++)
			w[i] = strlen(tb->cols[i]);
		for (r = 0; r < tb->nrow; r++)
			for (i = 0; i < tb->ncol; i++) {
				const char *c = tb->cells[r * tb->ncol + i];

				if (c && strlen(c) > w[i])
					w[i] = strlen(c);
			}
		table_line(tb, w, tb->cols);
		for (r = 0; r < tb->nrow; r++)
			table_line(tb, w,
				   (const char *const *)tb->cells +
					   r * tb->ncol);
	}
	if (tb->oom)
		printf("  (out of memory: rows missing)\n");
	for (r = 0; r < tb->nrow * tb->ncol; r++)
		free(tb->cells[r]);
	free(tb->cells);
	free(w);
	memset(tb, 0, sizeof(*tb));
}

void nftool_show_counters(struct mzctl *g, struct mzctl_json *js, int fd,
			  const char *const *names, unsigned int n)
{
	unsigned int i, shown = 0;
	size_t w = 0;

	if (g->json)
		mzctl_json_obj(js, "counters");
	else
		printf("Counters:\n");
	for (i = 0; fd >= 0 && i < n; i++)
		if (strlen(names[i]) > w)
			w = strlen(names[i]);
	for (i = 0; fd >= 0 && i < n; i++) {
		uint64_t v = nftool_percpu_sum(fd, &i);

		if (g->json) {
			mzctl_json_u64(js, names[i], v);
		} else if (v) {
			printf("  %-*s %llu\n", (int)w, names[i],
			       (unsigned long long)v);
			shown++;
		}
	}
	if (g->json)
		mzctl_json_obj_end(js);
	else if (!shown)
		printf("  none\n");
}

uint64_t nftool_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmd_attach(struct mzctl *g, int argc, char **argv)
{
	int r = nftool_no_args("attach", NULL, argc, argv);

	return r >= 0 ? r : nftool_attach(g, nftool_current);
}

static int cmd_detach(struct mzctl *g, int argc, char **argv)
{
	int r = nftool_no_args("detach", NULL, argc, argv);

	return r >= 0 ? r : nftool_detach(g, nftool_current);
}

int nftool_main(int argc, char **argv, const struct nftool *t,
		const struct mzctl_group *groups, const char *usage)
{
	struct mzctl_group *all;
	size_t n = 0;
	int ret;

	while (groups[n].name)
		n++;
	all = calloc(n + 3, sizeof(*all));
	if (!all)
		return MZCTL_FAIL;
	all[0] = (struct mzctl_group){ "attach", cmd_attach };
	all[1] = (struct mzctl_group){ "detach", cmd_detach };
	memcpy(all + 2, groups, n * sizeof(*groups));
	nftool_current = t;
	/* One writer at a time on a pin root, as the library's writers. */
	mzctl_lock_host = true;
	ret = mzctl_main(argc, argv, all, usage);
	free(all);
	return ret;
}
