/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the example NF tools (mizar-lb, mizar-acl, mizar-nat,
 * mizar-ratelimit) share: attaching their embedded BPF object to the hooks
 * they need, and keeping their configuration maps pinned under the
 * back-plane's pin root so that every invocation sees the same state.
 */
#ifndef MZR_NFTOOL_H
#define MZR_NFTOOL_H

#include <stddef.h>

#include <mizar/mizar.h>

#include "mizarctl.h"

/* One program of the NF object and the hook whose chain it joins. */
struct nftool_prog {
	const char *prog;	/* program name in the object */
	enum mzr_hook hook;
};

struct nftool {
	/* Short name: chain entries are "<name>-<hook>", configuration maps
	 * are pinned at PINROOT/nfcfg/<name>/<map>. */
	const char *name;
	/* The embedded object (a bpftool skeleton's NAME__elf_bytes). */
	const void *(*elf_bytes)(size_t *sz);
	const struct nftool_prog *progs;
	unsigned int n_progs;
};

/*
 * Load every program of @t against the back-plane under g's pin root and
 * append it to its hook's chain. The object's own maps (those not shared
 * with the core) are pinned, so the programs share them and later
 * invocations find them. Attaching again replaces the programs in place,
 * keeping the configuration. All or nothing. Returns an exit status.
 */
int nftool_attach(struct mzctl *g, const struct nftool *t);

/* Remove @t's programs from their chains and its configuration maps. */
int nftool_detach(struct mzctl *g, const struct nftool *t);

/*
 * File descriptor of configuration map @map of the attached NF, or -1 after
 * printing one error line for @cmd (not attached, no such map).
 */
int nftool_map(struct mzctl *g, const struct nftool *t, const char *map,
	       const char *cmd);

/* Whether @t is attached (its first program is in a chain). */
bool nftool_attached(struct mzctl *g, const struct nftool *t);

/*
 * The groups "attach" and "detach" for @t, to put in a tool's command
 * table (they read the tool from nftool_current).
 */
extern const struct nftool *nftool_current;
int nftool_cmd_attach(struct mzctl *g, int argc, char **argv);
int nftool_cmd_detach(struct mzctl *g, int argc, char **argv);

#endif /* MZR_NFTOOL_H */
