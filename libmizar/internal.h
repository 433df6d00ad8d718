/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers private to libmizar: logging and opts validation.
 */
#ifndef MZR_INTERNAL_H
#define MZR_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <mizar/common.h>

__attribute__((format(printf, 2, 3))) void mzri_log(enum mzr_print_level level,
						    const char *fmt, ...);

#define mzri_warn(fmt, ...) mzri_log(MZR_WARN, "libmizar: " fmt, ##__VA_ARGS__)
#define mzri_info(fmt, ...) mzri_log(MZR_INFO, "libmizar: " fmt, ##__VA_ARGS__)
#define mzri_debug(fmt, ...)                                                   \
	mzri_log(MZR_DEBUG, "libmizar: " fmt, ##__VA_ARGS__)

/* Set errno from a negative error and return NULL (pointer-returning API). */
static inline void *mzri_err_ptr(int err)
{
	errno = err < 0 ? -err : err;
	return NULL;
}

/*
 * libbpf's opts rule: a caller's struct may be larger than ours only if the
 * extra bytes are zero; it may be smaller (an older caller).
 */
bool mzri_opts_valid(const void *opts, size_t user_sz, size_t known_sz,
		     const char *type_name);

#define MZRI_OPTS_VALID(opts, type)                                            \
	(!(opts) ||                                                            \
	 mzri_opts_valid((opts), (opts)->sz,                                   \
			 offsetofend(struct type, type##__last_field), #type))

#ifndef offsetofend
#define offsetofend(TYPE, FIELD)                                               \
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))
#endif

/* Field of opts, or @fallback when the caller's struct predates it. */
#define MZRI_OPTS_GET(opts, field, fallback)                                   \
	(((opts) && (opts)->sz >= offsetofend(typeof(*(opts)), field)) ?       \
		 (opts)->field :                                               \
		 (fallback))

/*
 * One writer at a time per pin root (lock.c). Every public function that
 * writes under a pin root or into its maps holds this lock across its
 * whole check-then-write sequence; nested holds by one thread are fine.
 * @create: create the pin root (init) when missing; it is removed again
 * at the outermost unlock if left empty. Returns a token for
 * mzri_unlock(): 1 locked, 0 nothing to lock (@h NULL, or no pin root and
 * !@create), or -errno.
 */
struct mzr_host;
int mzri_lock(const struct mzr_host *h, bool create);
void mzri_unlock(const struct mzr_host *h, int token);

/* The pin root lives on a bpffs (mounting /sys/fs/bpf when needed). */
int mzri_ensure_bpffs(const char *root);
/* 0 when a bpffs may be mounted for @root; -EPERM (logged) when it would
 * die with this process's private mount namespace (pinroot_ns.c). */
int mzri_bpffs_mount_check(const char *root);
/* 0 when @ifname is a veth or a tap (an endpoint's dev); -EINVAL (logged,
 * prefixed by @what) otherwise (ep_dev.c). */
int mzri_ep_dev_check(const char *what, const char *ifname);

/* Run @call under the pin root lock of @h; its result, or the lock's
 * error. */
#define MZRI_LOCKED(h, create, call)                                           \
	({                                                                     \
		int __tok = mzri_lock((h), (create)), __ret = __tok;          \
		if (__tok >= 0) {                                              \
			__ret = (call);                                        \
			mzri_unlock((h), __tok);                               \
		}                                                              \
		__ret;                                                         \
	})

#endif /* MZR_INTERNAL_H */
