/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Version, logging and error helpers shared by every libmizar API.
 */
#ifndef MIZAR_COMMON_H
#define MIZAR_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MZR_API
#define MZR_API __attribute__((visibility("default")))
#endif

#define MZR_VERSION_MAJOR 0
#define MZR_VERSION_MINOR 2
#define MZR_VERSION_PATCH 0

/**
 * @brief Version of the library actually linked, e.g. "0.1.0".
 * @return a static string; never NULL.
 */
MZR_API const char *mzr_version_string(void);

/** @brief Major version of the linked library (changes break the ABI). */
MZR_API unsigned int mzr_version_major(void);

/** @brief Minor version of the linked library (additions only). */
MZR_API unsigned int mzr_version_minor(void);

enum mzr_print_level {
	MZR_WARN,
	MZR_INFO,
	MZR_DEBUG,
};

typedef int (*mzr_print_fn_t)(enum mzr_print_level level, const char *fmt,
			      va_list args);

/**
 * @brief Route libmizar's log lines through @p fn.
 *
 * The default prints MZR_WARN and MZR_INFO to stderr. Every failing call
 * logs one MZR_WARN line naming what was wrong.
 *
 * @param fn the new callback, or NULL to silence all output.
 * @return the previous callback.
 */
MZR_API mzr_print_fn_t mzr_set_print(mzr_print_fn_t fn);

/**
 * @brief Describe a libmizar error code.
 *
 * @param err an error as returned by libmizar (negative or positive errno).
 * @param buf where the text goes; always NUL-terminated when @p size > 0.
 * @param size size of @p buf.
 * @return 0, or -EINVAL if @p buf is NULL or @p size is 0.
 */
MZR_API int mzr_strerror(int err, char *buf, size_t size);

/**
 * @brief Wait until no BPF program that started before this call is still
 * running (an RCU grace period).
 *
 * XDP programs run inside an RCU read-side section, so after this returns
 * no packet still sees what was unpublished before the call: a chain bank
 * left behind, a map entry deleted, a config slot switched. libmizar uses
 * it between the steps of an NF chain update; NF tools use it the same
 * way (e.g. before reusing a rule slot). Uses membarrier(GLOBAL), else a
 * map-in-map update (after which the kernel waits for running programs).
 * Blocks for a few milliseconds; not for a packet path.
 *
 * @return 0; -errno when neither mechanism is available (e.g. -EPERM
 * without CAP_BPF for the fallback).
 */
MZR_API int mzr_sync_grace_period(void);

/*
 * Extensible options, as in libbpf: every opts struct starts with
 * `size_t sz`, and MZR_OPTS() declares one with sz set and fields zeroed.
 * The library refuses (-EINVAL) a struct whose bytes past the fields it
 * knows are not zero, so new callers fail loudly on old libraries.
 */
#define MZR_OPTS(TYPE, NAME, ...)                                              \
	struct TYPE NAME = ({                                                  \
		memset(&NAME, 0, sizeof(struct TYPE));                         \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };       \
	})

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_COMMON_H */
