// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pin root: its bpffs, the paths of the pins, pinning a freshly
 * loaded core into place and removing every pin of a back-plane.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>

#include "host_priv.h"
#include "pins.h"

/* ---- Pin root ----------------------------------------------------------- */

int mzri_pin_path(char *buf, const struct mzr_host *h, const char *kind,
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
			mzri_info("mounted a bpffs on /sys/fs/bpf\n");
			return 0;
		}
	}
	mzri_warn("pin root %s is not on a bpffs (mount -t bpf bpf DIR)\n",
		  root);
	return -ENOTSUP;
}

int mzri_ensure_bpffs(const char *root)
{
	return ensure_bpffs(root);
}

int mzri_mkdir_p(const char *path, bool *created)
{
	char buf[PATH_MAX];
	char *p;

	if (created)
		*created = false;
	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (!mkdir(buf, 0700)) {
		if (created)
			*created = true;
	} else if (errno != EEXIST) {
		return -errno;
	}
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

int mzri_remove_pins(const char *root)
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
		mzri_debug("pin root %s stays: %s\n", root, strerror(errno));
	return err;
}


/* Pin @n objects @fds under @dir/@sub/, each by its name in @names. */
static int pin_dir(const char *dir, const char *sub, const int *fds,
		   const char *const *names, int n)
{
	char path[PATH_MAX];
	int i, err;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	err = mzri_mkdir_p(path, NULL);
	for (i = 0; !err && i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, names[i]);
		if (bpf_obj_pin(fds[i], path))
			err = -errno;
	}
	return err;
}

/* Pin every map and program under @dir (maps/, progs/). */
static int pin_all(struct mzr_host *h, const char *dir)
{
	int err;

	err = pin_dir(dir, "maps", h->map_fds, mzri_map_names, MZRI_MAP__N);
	err = err ?: pin_dir(dir, "progs", h->prog_fds, mzri_prog_names,
			     MZRI_PROG__N);
	if (!err)
		return 0;
	mzri_warn("cannot pin under %s: %s\n", dir, strerror(-err));
	return err;
}

/* Rename @tmp/@sub to its place under @h's pin root. */
static int move_into_place(const struct mzr_host *h, const char *tmp,
			   const char *sub, const char *what)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err;

	snprintf(from, sizeof(from), "%s/%s", tmp, sub);
	mzri_pin_path(to, h, sub, NULL);
	if (!rename(from, to))
		return 0;
	err = -errno;
	mzri_warn("cannot move the %s into %s (stale pins? host reset): %s\n",
		  what, to, strerror(-err));
	return err;
}

/*
 * Pin into a temporary directory of the pin root, then rename progs/ and
 * then maps/ into place: maps/mzr_host, what marks a back-plane, appears
 * last, with everything else there. An init that dies leaves only its
 * temporary directory (removed by the next init or reset); one that
 * fails removes only that, never another's pins.
 */
int mzri_pin_into_place(struct mzr_host *h)
{
	char tmp[PATH_MAX - 128], to[PATH_MAX];
	int err;

	snprintf(tmp, sizeof(tmp), "%s/" INIT_TMP_PREFIX "%d", h->pin_root,
		 (int)getpid());
	remove_init_tmp(h->pin_root);
	err = pin_all(h, tmp);
	err = err ?: move_into_place(h, tmp, "progs", "programs");
	if (!err) {
		err = move_into_place(h, tmp, "maps", "maps");
		if (err) {
			mzri_pin_path(to, h, "progs", NULL);
			remove_tree(to);
		}
	}
	remove_tree(tmp);
	return err;
}
