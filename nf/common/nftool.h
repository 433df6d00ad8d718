/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the example NF tools (mizar-lb, mizar-acl, mizar-nat,
 * mizar-ratelimit) share: attaching their embedded BPF object to the hooks
 * they need, and keeping their configuration maps pinned under the
 * back-plane's pin root so that every invocation sees the same state.
 */
#ifndef MZR_NFTOOL_H
#define MZR_NFTOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mizar/mizar.h>

#include "mizarctl.h"
#include "nfparse.h"

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

/* A configuration map a command needs, and where its fd goes. */
struct nftool_mapref {
	const char *name;
	int *fd;
};

/*
 * Open every map of @refs (terminated by a NULL name) with nftool_map():
 * all of them, or none (every fd -1) after one error line. 0 or -1.
 */
int nftool_maps(struct mzctl *g, const struct nftool *t, const char *cmd,
		const struct nftool_mapref *refs);

/*
 * Take the exclusive lock of @t's configuration directory, which
 * serialises the invocations that read, modify and write its maps (so
 * that none loses another's edit). The lock goes with the returned fd;
 * -1 after one error line.
 */
int nftool_lock(struct mzctl *g, const struct nftool *t, const char *cmd);

/* ---- Pieces of the tools' commands --------------------------------------- */

/* --help or -h anywhere among @argv: print @help on stdout, true. */
bool nftool_help(int argc, char **argv, const char *help);

/*
 * For a command taking no argument: --help prints @help (or a generic
 * usage line when NULL) and returns MZCTL_OK; an argument is a usage
 * error (one line, MZCTL_USAGE). -1 when the command should run.
 */
int nftool_no_args(const char *cmd, const char *help, int argc, char **argv);

/* Sum over the CPUs of the u64 value at @key of per-CPU map @fd; 0 when
 * absent. */
uint64_t nftool_percpu_sum(int fd, const void *key);

/* ---- show: one style for every NF tool (docs/host-api.md) --------------- */

/*
 * Start the output of "show": with -j open the document with "attached"
 * and "hooks" (the hooks of @t's programs, [] when not attached), else
 * print the line "NAME: attached (hooks H,H)" or "NAME: not attached".
 * Returns whether @t is attached.
 */
bool nftool_show_begin(struct mzctl *g, struct mzctl_json *js,
		       const struct nftool *t);

/*
 * For "show" of an NF that is not attached: the whole output is the first
 * line ("NAME: not attached", or -j {"attached":false,"hooks":[],...}),
 * and that is not an error. Returns -1 when @t is attached (the command
 * goes on), else the exit status (MZCTL_FAIL without a back-plane).
 */
int nftool_show_unattached(struct mzctl *g, const struct nftool *t,
			   const char *cmd);

/* Close the document opened by nftool_show_begin() (nothing for text). */
void nftool_show_end(struct mzctl *g, struct mzctl_json *js);

/*
 * A text table: a header line "Title:", then the lower-case column names
 * and the rows, aligned, indented by two; "  none" without rows. The
 * cells are copied, so callers may reuse their buffers.
 */
struct nftool_table {
	const char *title;
	const char *const *cols;	/* NULL-terminated */
	unsigned int ncol;
	char **cells;			/* nrow * ncol */
	size_t nrow, cap;
	bool oom;
};

void nftool_table_init(struct nftool_table *tb, const char *title,
		       const char *const *cols);
/* Append a row: exactly ncol "const char *" cells, already formatted. */
void nftool_table_row(struct nftool_table *tb, ...);
/* Print (text mode) and free the table. */
void nftool_table_print(struct nftool_table *tb);

/*
 * The NF's own counters, last in "show": per-CPU u64 array @fd of @n
 * entries named @names. With -j the object "counters" of @js with every
 * counter; else "Counters:" and one "  name value" line per non-zero
 * counter ("  none" when all are zero). @fd < 0: no counters.
 */
void nftool_show_counters(struct mzctl *g, struct mzctl_json *js, int fd,
			  const char *const *names, unsigned int n);

/* CLOCK_MONOTONIC in ns: bpf_ktime_get_ns()'s clock, for ages of map
 * entries. */
uint64_t nftool_mono_ns(void);

/*
 * main() of an NF tool: mizarctl's global options, then the commands
 * "attach" and "detach" of @t followed by @groups (NULL name ends the
 * table). @usage is printed for --help. Returns the exit status.
 */
int nftool_main(int argc, char **argv, const struct nftool *t,
		const struct mzctl_group *groups, const char *usage);

#endif /* MZR_NFTOOL_H */
