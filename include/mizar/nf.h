/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pipeline network functions: loading an NF object against a host's
 * back-plane and managing the chain of NFs tail-called at each hook.
 *
 * Lifecycle, as libbpf's: mzr_nf__open_file() / mzr_nf__open_mem() (the
 * object is parsed and its ABI declaration checked; nothing in the kernel
 * yet) -> configure through mzr_nf__bpf_object() if needed ->
 * mzr_nf__load() (the object's shared maps are bound to the host's pinned
 * maps and the program is verified, once) -> mzr_host__nf_insert() ->
 * mzr_nf__close(). Closing the handle does not disturb the chain: a chain
 * member is pinned under PIN_ROOT/nf/NAME and any process lists and
 * removes it by name.
 *
 * Chain updates are atomic: a packet runs the old chain or the new one,
 * never a mix (docs/nf-abi.md). Updates from several processes are
 * serialised by a lock on the pin root.
 *
 * All functions return 0 or a negative errno; those returning a pointer
 * return NULL and set errno. Each failure logs one line (mzr_set_print()).
 */
#ifndef MIZAR_NF_H
#define MIZAR_NF_H

#include <stddef.h>
#include <stdint.h>

#include <mizar/common.h>
#include <mizar/abi.h>
#include <mizar/host.h>
#include <mizar/nf_abi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mzr_nf;
struct bpf_object;

struct mzr_nf_open_opts {
	size_t sz;
	/* Program of the object to run as the NF; NULL: the object's only
	 * program (-EINVAL if it has several). */
	const char *prog_name;
	size_t : 0;
};
#define mzr_nf_open_opts__last_field prog_name

/**
 * @brief Open the NF object file @p path and check its ABI declaration
 * (MZR_NF_DECLARE in <mizar/bpf/nf.h>). Nothing reaches the kernel.
 * @param opts may be NULL.
 * @return a handle, or NULL with errno set: ENOENT (no such file),
 * EPROTO (no declaration, or a context version this library does not
 * serve), EINVAL (not a BPF object, bad opts, no such program or several
 * programs and no prog_name), ENOMEM.
 */
MZR_API struct mzr_nf *mzr_nf__open_file(const char *path,
					 const struct mzr_nf_open_opts *opts);

/**
 * @brief As mzr_nf__open_file(), from an object image in memory (e.g.
 * embedded in a binary). @p buf is copied.
 */
MZR_API struct mzr_nf *mzr_nf__open_mem(const void *buf, size_t size,
					const struct mzr_nf_open_opts *opts);

/**
 * @brief Load the NF against @p host: bind the object's maps named
 * mzr_progs, mzr_chain_cfg, mzr_ctx_map, mzr_stats and mzr_missed to the
 * host's pinned maps, and load its program as XDP (expected attach type
 * BPF_XDP, as tail calls require). Maps declared with LIBBPF_PIN_BY_NAME
 * are shared by name at PIN_ROOT/nf_shared/MAP (an existing pin is
 * reused); a map whose pin path the caller set after open is left where
 * the caller said. The NF's other maps are pinned when it joins a chain
 * (mzr_host__nf_insert()). docs/nf-abi.md §5.
 * @return 0; -EALREADY: already loaded; -ENOENT: the host has no
 * back-plane loaded; -EPROTO: the host's context is older than the one the
 * NF was built against; or the error of the verifier / map creation.
 */
MZR_API int mzr_nf__load(struct mzr_nf *nf, struct mzr_host *host);

/**
 * @brief Release the handle (and the program, unless a chain holds it).
 * @param nf may be NULL.
 */
MZR_API void mzr_nf__close(struct mzr_nf *nf);

/** @brief The name the object declared in MZR_NF_DECLARE(). */
MZR_API const char *mzr_nf__declared_name(const struct mzr_nf *nf);

/** @brief The context version the object was built against. */
MZR_API unsigned int mzr_nf__ctx_version(const struct mzr_nf *nf);

/** @brief Name of the NF program within its object. */
MZR_API const char *mzr_nf__prog_name(const struct mzr_nf *nf);

/** @brief File descriptor of the loaded program, or -EINVAL before load. */
MZR_API int mzr_nf__prog_fd(const struct mzr_nf *nf);

/**
 * @brief The underlying libbpf object, to configure (e.g. read-only data,
 * map sizes) between open and load, or to reach its maps afterwards.
 */
MZR_API struct bpf_object *mzr_nf__bpf_object(const struct mzr_nf *nf);

/* ---- Chains ----------------------------------------------------------- */

/* Position argument of mzr_host__nf_insert(): after the last NF. */
#define MZR_NF_POS_END (-1)

/**
 * @brief Name of hook @p hook as the CLI spells it ("agent-egress",
 * "bouncer", "divider", "deliver", "external"), or NULL.
 */
MZR_API const char *mzr_hook_name(unsigned int hook);

/**
 * @brief Parse a hook name as mzr_hook_name() spells it.
 * @return the enum mzr_hook value, or -EINVAL.
 */
MZR_API int mzr_hook_parse(const char *name);

/**
 * @brief Insert @p nf into the chain of @p hook at position @p pos, under
 * @p name. Loads @p nf first if needed. The new chain takes effect
 * atomically; on error nothing changes. The NF's own maps (neither shared
 * by name nor pinned by the caller) are pinned at
 * PIN_ROOT/nf_maps/NAME/MAP.
 * @param name 1-31 characters of [A-Za-z0-9_-], unique on the host.
 * @param pos 0 (first) to the chain's length, or MZR_NF_POS_END.
 * @return 0; -EINVAL: bad name or hook; -EEXIST: name in use; -ERANGE:
 * bad position; -ENOSPC: chain full (MZR_CHAIN_MAX); -E2BIG: with this
 * NF, one packet could run two chains (the agent's or the external one,
 * then the transit hook its hairpin or injection meets; a transit hook,
 * then deliver) longer than the kernel's 33 tail calls allow: their NFs
 * together stay at most 30; -EBUSY: packets may
 * still run on the previous chain (its RCU grace period could not be had)
 * and none can be had now; errors of mzr_nf__load(). The registry of
 * chains is written first, and restored if the chains cannot be
 * published. A refused insert leaves no file under the pin root.
 */
MZR_API int mzr_host__nf_insert(struct mzr_host *host, const char *name,
				struct mzr_nf *nf, enum mzr_hook hook, int pos);

struct mzr_nf_insert_opts {
	size_t sz;
	/* Position in the hook's chain, as mzr_host__nf_insert()'s @pos;
	 * opts NULL: MZR_NF_POS_END. */
	int pos;
	size_t : 0;
};
#define mzr_nf_insert_opts__last_field pos

/**
 * @brief Insert @p nf as mzr_host__nf_insert(), with options (NULL: at
 * the end of the chain); later releases add fields here, not parameters.
 * @return as mzr_host__nf_insert(), and -EINVAL: bad opts (@p opts->sz
 * smaller than a size_t, or non-zero bytes past the fields this
 * libmizar knows).
 */
MZR_API int mzr_host__nf_insert_opts(struct mzr_host *host, const char *name,
				     struct mzr_nf *nf, enum mzr_hook hook,
				     const struct mzr_nf_insert_opts *opts);

/**
 * @brief Remove NF @p name from its chain, atomically, and unpin it and
 * its own maps (PIN_ROOT/nf_maps/NAME; maps shared by name stay).
 * @return 0; -ENOENT: no such NF; -EBUSY as mzr_host__nf_insert().
 */
MZR_API int mzr_host__nf_remove(struct mzr_host *host, const char *name);

/**
 * @brief Replace the program of NF @p name by @p nf, at the same hook and
 * position, atomically: every packet runs either the old program or the
 * new one. Loads @p nf first if needed. PIN_ROOT/nf_maps/NAME then holds
 * the new program's own maps.
 * @return 0; -ENOENT: no such NF; -EBUSY as mzr_host__nf_insert(); errors
 * of mzr_nf__load().
 */
MZR_API int mzr_host__nf_replace(struct mzr_host *host, const char *name,
				 struct mzr_nf *nf);

/**
 * @brief Remove every NF of every chain and their pins (used by
 * mzr_host__reset()). The pins go only once the chains are empty: on
 * error, every chain and pin is as before.
 * @return 0; -EBUSY as mzr_host__nf_insert(); -errno.
 */
MZR_API int mzr_host__nf_clear(struct mzr_host *host);

struct mzr_nf_info {
	char name[MZR_NF_NAME_MAX];
	enum mzr_hook hook;
	unsigned int pos;		/* position in the hook's chain */
	uint32_t prog_id;		/* kernel program id */
	char prog_name[64];		/* program within its object */
	char object[128];		/* object file (or "<memory>") */
	char declared_name[MZR_NF_NAME_MAX];
	uint64_t missed;		/* tail calls to this position missed */
};

/**
 * @brief Read NF @p name.
 * @return 0; -ENOENT: no such NF.
 */
MZR_API int mzr_host__nf_get(const struct mzr_host *host, const char *name,
			     struct mzr_nf_info *info);

/**
 * @brief Call @p cb for each NF, by hook then chain position. A non-zero
 * return from @p cb stops the walk and is returned.
 */
MZR_API int mzr_host__nf_for_each(const struct mzr_host *host,
				  int (*cb)(const struct mzr_nf_info *info,
					    void *ctx),
				  void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_NF_H */
