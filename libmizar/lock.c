// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One writer at a time per pin root: an flock() on the pin root's
 * directory, held for a writer's whole check-then-write sequence.
 *
 * bpffs holds no regular files, but its directories take flock() (as
 * tmpfs ones do). The pin root may vanish (reset) or be created (init)
 * while a writer waits, so a lock taken on an unlinked or replaced
 * directory is dropped and taken again on the current one.
 *
 * flock() belongs to an open file description: two handles of one
 * process would block each other (and a thread its own nested call). So
 * each pin root path has one entry per process: a recursive mutex that
 * orders this process's threads, and the flock() held while the owning
 * thread's nesting depth is above zero. The directory stays open between
 * holds (a writer's lock costs two flock() and one fstat()); a child of
 * fork() opens its own, since a shared description would not exclude.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "host_priv.h"
#include "pins.h"

struct pin_lock {
	struct pin_lock *next;
	pthread_mutex_t mu;	/* recursive: this process's threads */
	unsigned int depth;	/* nesting of the owning thread */
	int fd;			/* pin root, flock()ed while depth > 0 */
	pid_t pid;		/* the process that opened fd */
	bool created;		/* the outermost hold made the pin root */
	char root[];
};

/* Entries live as long as the process: a waiter may sleep on one. */
static pthread_mutex_t locks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pin_lock *locks;

static struct pin_lock *lock_entry(const char *root)
{
	pthread_mutexattr_t attr;
	struct pin_lock *l;

	pthread_mutex_lock(&locks_mu);
	for (l = locks; l; l = l->next)
		if (!strcmp(l->root, root))
			goto out;
	l = calloc(1, sizeof(*l) + strlen(root) + 1);
	if (!l)
		goto out;
	strcpy(l->root, root);
	l->fd = -1;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&l->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	l->next = locks;
	locks = l;
out:
	pthread_mutex_unlock(&locks_mu);
	return l;
}

static void close_dir(struct pin_lock *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* flock() the current directory at l->root; 0, -ENOENT (no such
 * directory and !@create) or -errno. */
static int lock_dir(struct pin_lock *l, bool create)
{
	struct stat st;
	bool made = false;
	int err;

	if (l->pid != getpid())
		close_dir(l); /* inherited: the parent's description */
	for (;;) {
		if (l->fd < 0) {
			made = false;
			if (create) {
				err = mzri_mkdir_p(l->root, &made);
				if (err)
					return err;
			}
			l->fd = open(l->root,
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (l->fd < 0) {
				err = -errno;
				if (err == -ENOENT && create)
					continue;
				return err;
			}
			l->pid = getpid();
		}
		while (flock(l->fd, LOCK_EX)) {
			if (errno != EINTR) {
				err = -errno;
				close_dir(l);
				return err;
			}
		}
		/* Still the pin root? Reset may have removed it (a new one
		 * may be there), or a failed init its own, meanwhile. */
		if (!fstat(l->fd, &st) && st.st_nlink) {
			/* made but locked by another first: theirs now */
			l->created = made;
			return 0;
		}
		close_dir(l);
	}
}

int mzri_lock(const struct mzr_host *h, bool create)
{
	struct pin_lock *l;
	int err;

	if (!h)
		return 0;
	l = lock_entry(h->pin_root);
	if (!l)
		return -ENOMEM;
	pthread_mutex_lock(&l->mu);
	if (l->depth++)
		return 1;
	if (create) {
		err = mzri_ensure_bpffs(h->pin_root);
		if (err)
			goto fail;
	}
	err = lock_dir(l, create);
	if (!err)
		return 1;
	if (err == -ENOENT) {
		/* No pin root: nothing pinned to protect, and nothing a
		 * writer could create there without @create. */
		l->depth--;
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	mzri_warn("cannot lock the pin root %s: %s\n", h->pin_root,
		  strerror(-err));
fail:
	l->depth--;
	pthread_mutex_unlock(&l->mu);
	return err;
}

void mzri_unlock(const struct mzr_host *h, int token)
{
	struct pin_lock *l;

	if (token <= 0 || !h)
		return;
	l = lock_entry(h->pin_root);
	/* Only the owning thread, and only a held lock (trylock on a
	 * recursive mutex succeeds for its owner alone). */
	if (!l || pthread_mutex_trylock(&l->mu))
		return;
	if (!l->depth) {
		pthread_mutex_unlock(&l->mu);
		return;
	}
	pthread_mutex_unlock(&l->mu);
	if (!--l->depth) {
		/* A pin root this hold created and nothing filled (a failed
		 * init) goes, before waiters may see it. */
		if (l->created && !rmdir(l->root))
			close_dir(l); /* releases the flock */
		else
			flock(l->fd, LOCK_UN);
		l->created = false;
	}
	pthread_mutex_unlock(&l->mu);
}

int mzr_host__lock(struct mzr_host *h)
{
	int token;

	if (!h)
		return -EINVAL;
	token = mzri_lock(h, !h->loaded);
	if (token < 0)
		return token;
	if (!token) {
		mzri_warn("host lock: no pin root at %s\n", h->pin_root);
		return -ENOENT;
	}
	return 0;
}

void mzr_host__unlock(struct mzr_host *h)
{
	mzri_unlock(h, 1);
}
