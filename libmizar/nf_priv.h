/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What nf_object.c (opening, checking and loading an NF object) and
 * chain.c (the registry and the two-bank chain update) share.
 */
#ifndef MZR_NF_PRIV_H
#define MZR_NF_PRIV_H

#include <stdbool.h>
#include <limits.h>

#include <mizar/nf.h>

#include "host_priv.h"

#define NF_DIR "nf"
#define NF_MAPS_DIR "nf_maps"
#define NF_SHARED_DIR "nf_shared"
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

/* Load @nf against host @h: bind the shared maps to the core's, pin the
 * maps it shares by name (nf_object.c). */
int mzri_nf_load(struct mzr_nf *nf, const struct mzr_host *h);

/* mkdir ROOT/DIR, fine when it exists. */
int mzri_mkdir_in(const char *root, const char *dir);

/* Whether the core's map of that name is one an NF binds to. */
bool mzri_nf_map_shared(const char *name);

/* ---- The registry (registry.c) ----------------------------------------- */

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

/* The registry as one update sees it, with the writer's lock held. */
struct chains {
	int lock_fd;
	int reg_fd;
	bool made_dir; /* this update created nf/ */
	bool made_reg; /* this update created the registry */
	struct nf_rec recs[REG_SIZE];
};

struct nf_rec *mzri_rec_at(struct chains *c, unsigned int hook,
			   unsigned int pos);
unsigned int mzri_chain_len(struct chains *c, unsigned int hook);
struct nf_rec *mzri_rec_find(struct chains *c, const char *name,
			     unsigned int *hook, unsigned int *pos);
/* Read the registry (and lock it for a writer); NULL with *errp set. */
struct chains *mzri_chains_open(const struct mzr_host *h, bool write,
				int *errp);
void mzri_chains_close(struct chains *c);
/* Create nf/ and the registry for a first insert; undo that. */
int mzri_chains_create(const struct mzr_host *h, struct chains *c);
void mzri_chains_uncreate(const struct mzr_host *h, struct chains *c);
int mzri_registry_write(struct chains *c);

/* ---- Publishing (publish.c) -------------------------------------------- */

int mzri_nf_prog_pin_path(char *buf, const char *root, const char *name);
/* Pin NF @name's own maps under nf_maps/@name; remove them. */
int mzri_nf_maps_pin(const struct mzr_host *h, const char *name,
		     const struct mzr_nf *nf);
void mzri_nf_maps_unpin(const struct mzr_host *h, const char *name);
/* Rebuild every chain from @c into the inactive bank (with @override_name
 * running @override_fd) and flip to it after a grace period. */
int mzri_chains_publish(const struct mzr_host *h, struct chains *c,
			const char *override_name, int override_fd);
/* Write the registry and publish it; on failure restore @saved. */
int mzri_chains_commit(const struct mzr_host *h, struct chains *c,
		       const struct nf_rec *saved, const char *override_name,
		       int override_fd);
/* Refuse chains whose combined length some packet path exceeds. */
int mzri_chains_check_paths(struct chains *c, const char *what,
			    const char *name);

#endif /* MZR_NF_PRIV_H */
