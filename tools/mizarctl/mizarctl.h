/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizarctl internals shared by its command files: global options, the
 * lazily opened back-plane, keyword-argument parsing, error reporting and
 * a small JSON writer.
 */
#ifndef MZCTL_H
#define MZCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include <mizar/mizar.h>

/* Global options and state of one invocation. */
struct mzctl {
	const char *pin_root;	/* -r/--pin-root, else NULL (library default) */
	bool json;		/* -j/--json */
	bool verbose;		/* -v/--verbose: library log lines to stderr */
	struct mzr_host *host;	/* opened on first use by mzctl_host() */
};

/* Exit statuses. */
#define MZCTL_OK 0
#define MZCTL_FAIL 1
#define MZCTL_USAGE 2

/*
 * The back-plane under the pin root, reopened from its pins on first use.
 * NULL after printing one error line (nothing pinned there, ...).
 */
struct mzr_host *mzctl_host(struct mzctl *g, const char *cmd);

/* Whether mzctl_host() also takes the pin root's writer lock (held until
 * the process exits): the NF tools' commands check, then write maps. */
extern bool mzctl_lock_host;

/* Print "mizarctl: CMD: MESSAGE" on stderr (one line). */
__attribute__((format(printf, 2, 3))) void mzctl_err(const char *cmd,
						     const char *fmt, ...);

/*
 * Report a failed library call @err: the library's own line naming the
 * problem when it logged one, else strerror. Returns MZCTL_FAIL.
 */
int mzctl_fail(const char *cmd, int err);

/* The library's last warning line ("" when none): a successful call may
 * still have one worth telling (ep add: what the veth peer lacks). */
const char *mzctl_libmsg(void);

/* Forget the library's last log line (before a call whose error we report). */
void mzctl_clear_libmsg(void);

/* ---- Keyword arguments ("vni 5 ip 10.0.0.2 bypass-decap") ---------------- */

struct mzctl_kw {
	const char *name;
	bool has_val;		/* "name VALUE" vs. a bare flag */
	bool required;
	const char *val;	/* out: value, or "" for a present flag */
};

/* Fill @kws (terminated by a NULL name) from @argv. Prints one error line
 * and returns -1 on an unknown, repeated, missing or value-less keyword. */
int mzctl_parse_kw(const char *cmd, struct mzctl_kw *kws, int argc,
		   char **argv);

/* The kw entry called @name (must exist). */
struct mzctl_kw *mzctl_kw_get(struct mzctl_kw *kws, const char *name);

/* ---- Names: aliases, abbreviations, suggestions (suggest.c) ------------- */

#define MZCTL_LOOKUP_NONE (-1)
#define MZCTL_LOOKUP_AMBIGUOUS (-2)

/*
 * The index in @names (@n entries, NULL ones skipped) that word @w means:
 * the exact name, else the name an alias stands for (delete: del; list,
 * ls: show), else the one name (or alias) @w is a prefix of.
 * MZCTL_LOOKUP_NONE when none; MZCTL_LOOKUP_AMBIGUOUS when @w abbreviates
 * several (*@ambig: one of them).
 */
int mzctl_lookup(const char *w, const char *const *names, int n,
		 const char **ambig);

/* The name in @names close enough to @w to be a typo of it, or NULL. */
const char *mzctl_suggest(const char *w, const char *const *names, int n);

/* One error line for a word that is no @what ("command", "argument"):
 * ambiguous (@ambig from mzctl_lookup()), or unknown with a "did you
 * mean" when one name is close. */
void mzctl_err_unknown(const char *cmd, const char *what, const char *w,
		       const char *const *names, int n, const char *ambig);

/* -p/--pretty: JSON output indented (set by mzctl_main()). */
extern bool mzctl_json_pretty;

/* ---- Value parsers (pure; unit tested) ---------------------------------- */

int mzctl_parse_u32(const char *s, uint32_t *out);
/* 1..16777215; -ERANGE outside, -EINVAL not a number. */
int mzctl_parse_vni(const char *s, uint32_t *vni);
int mzctl_parse_ip(const char *s, struct in_addr *ip);
/* "A.B.C.D/LEN", LEN 0..32 (host bits are the library's business). */
int mzctl_parse_prefix(const char *s, struct in_addr *prefix,
		       unsigned int *len);
/* "aa:bb:cc:dd:ee:ff", two hex digits per byte. */
int mzctl_parse_mac(const char *s, unsigned char mac[6]);
/* "IP,IP,..." (no spaces, no empty items); -E2BIG over @max. */
int mzctl_parse_ip_list(const char *s, struct in_addr *out, unsigned int max,
			unsigned int *n);
/* "native" | "generic" | "auto". */
int mzctl_parse_mode(const char *s, enum mzr_xdp_mode *mode);

/* Formatting helpers: into a caller buffer of at least 18 / 16 bytes. */
const char *mzctl_mac_str(const unsigned char mac[6], char *buf);
const char *mzctl_ip_str(struct in_addr ip, char *buf);

/* ---- JSON output -------------------------------------------------------- */

struct mzctl_json {
	FILE *f;
	int depth;
	bool first[16];
};

void mzctl_json_begin(struct mzctl_json *js, FILE *f);	/* opens "{" */
void mzctl_json_end(struct mzctl_json *js);		/* "}\n" */
/* @key NULL inside arrays. */
void mzctl_json_obj(struct mzctl_json *js, const char *key);
void mzctl_json_obj_end(struct mzctl_json *js);
void mzctl_json_arr(struct mzctl_json *js, const char *key);
void mzctl_json_arr_end(struct mzctl_json *js);
void mzctl_json_str(struct mzctl_json *js, const char *key, const char *val);
void mzctl_json_u64(struct mzctl_json *js, const char *key, uint64_t val);
void mzctl_json_bool(struct mzctl_json *js, const char *key, bool val);

/* ---- Commands: argv starts after the command word ("vpc add ..." gets
 * argc/argv starting at "add"). Each returns an exit status. ------------- */

int mzctl_cmd_host(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_vpc(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_vpc_peer(struct mzctl *g, int argc, char **argv); /* vpc_peer_cmd.c */
int mzctl_cmd_net(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_ep(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_stats(struct mzctl *g, int argc, char **argv);
/* `mizarctl host peer|protect ...` (tools/mizarctl/peer_cmd.c). */
int mzctl_cmd_host_peer(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_host_protect(struct mzctl *g, int argc, char **argv);
/* host init on an existing back-plane: MZCTL_OK when @dev and the options
 * given (non-zero ones) match it, else one error line naming each
 * difference and MZCTL_FAIL (init_check.c). */
int mzctl_init_check(struct mzr_host *h, const char *cmd, const char *dev,
		     const struct mzr_host_opts *hopts,
		     const struct mzr_attach_opts *aopts);
/* `mizarctl host reset [dev IFNAME --force]` (reset_cmd.c). */
int mzctl_cmd_host_reset(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_stats(struct mzctl *g, int argc, char **argv);	/* stats_cmd.c */
int mzctl_cmd_metrics(struct mzctl *g, int argc, char **argv); /* metrics_cmd.c */
int mzctl_cmd_trace(struct mzctl *g, int argc, char **argv);	/* trace_cmd.c */
int mzctl_cmd_monitor(struct mzctl *g, int argc, char **argv); /* monitor_cmd.c */

/* ---- Trace and monitor (trace_cmd.c) ------------------------------------ */

/* Filters vni/ip/port/proto/drops/snaplen/rate of @kws into @o; -1 after
 * one error line. */
int mzctl_trace_opts(const char *cmd, struct mzctl_kw *kws,
		     struct mzr_trace_opts *o);
/* The run's limits: count N (> 0) into *@count, duration S (seconds > 0)
 * into *@duration, each left alone when absent; -1 after one error line. */
int mzctl_trace_limits(const char *cmd, struct mzctl_kw *kws,
		       uint64_t *count, double *duration);
/* Poll @t until SIGINT/SIGTERM, @duration seconds (0: none) or *@done
 * reaching @count (0: none). */
int mzctl_trace_loop(const char *cmd, struct mzr_trace *t, double duration,
		     const uint64_t *done, uint64_t count);
/* ---- Per-VPC / per-endpoint traffic (traffic_cmd.c) -------------------- */

struct mzctl_traffic_sel {
	bool has_vpc, has_ep, watch;
	uint32_t vpc, ep_vni;
	struct in_addr ep_ip;
	double interval;
	uint32_t count;
};

/* `stats vpc N` / `stats ep vni N ip IP` [watch]. */
int mzctl_stats_traffic(struct mzctl *g, struct mzr_host *h,
			const struct mzctl_traffic_sel *s);
/* `stats counters [on|off]`: this host's opt-in switch. */
int mzctl_stats_counters(struct mzctl *g, int argc, char **argv);
/* The mizar_vpc_* and mizar_endpoint_* families; 0 or -errno. */
int mzctl_traffic_metrics(struct mzr_host *h, FILE *f);

/* One event as a text line or a JSON object on one line. */
void mzctl_trace_line(FILE *f, const struct mzr_trace_event *ev, bool json);

/* ---- Counters and table fill levels (stats_cmd.c, tables_cmd.c) -------- */

/* One reading of the back-plane's counters, summed over CPUs. */
struct mzctl_counters {
	uint64_t cnt[__MZR_CNT_MAX];	  /* enum mzr_counter */
	uint64_t missed[MZR_MISSED_SIZE]; /* MZR_MISSED_IDX(hook, pos) */
	uint64_t drops_total;
};

/* Read every counter of @h into @c; 0 or -errno. */
int mzctl_counters_read(struct mzr_host *h, struct mzctl_counters *c);

/*
 * The fill levels of @h's tables (mzr_host__tables()) in a malloc()ed
 * array at *@out (free() it); returns their number or -errno.
 */
int mzctl_tables_get(struct mzr_host *h, struct mzr_table_usage **out);

/* Whether @t is MZR_TABLE_WARN_PCT full or more. */
bool mzctl_table_warn(const struct mzr_table_usage *t);

/*
 * The tables of @h with their fill levels, for `host show`: text lines
 * (and a warning line per table at MZR_TABLE_WARN_PCT or more), or, with
 * @js, a "tables" array and a "warnings" array. 0 or -errno.
 */
int mzctl_tables_show(struct mzr_host *h, struct mzctl_json *js);
/*
 * `mizarctl nf ...` (tools/mizarctl/nf_cmd.c). Receives its arguments
 * untouched, --help included, and prints its own help.
 */
int mzctl_cmd_nf(struct mzctl *g, int argc, char **argv);

/* Usage of a sub-command, for commands that share the help machinery. */
struct mzctl_sub {
	const char *name;
	const char *usage;	/* "vni N [dividers IP,...]" */
	const char *help;	/* one or more lines of explanation */
	int (*fn)(struct mzctl *g, int argc, char **argv);
};

/*
 * Run the sub-command of @group named by argv[0] from @subs (NULL name
 * ends the table). Handles --help/-h anywhere and a missing or unknown
 * sub-command.
 */
int mzctl_dispatch(struct mzctl *g, const char *group,
		   const struct mzctl_sub *subs, int argc, char **argv);

/* --help or -h. */
bool mzctl_is_help(const char *a);

/* A top-level command word and its handler (NULL name ends a table). */
struct mzctl_group {
	const char *name;
	int (*fn)(struct mzctl *g, int argc, char **argv);
};

/*
 * main() of a tool: parse the global options (anywhere on the line), then
 * run the group named by the first word. @usage is printed for --help.
 */
int mzctl_main(int argc, char **argv, const struct mzctl_group *groups,
	       const char *usage);

/* host_mode.c: "tc", "xdp" or "none" for the transit of @mode. */
const char *mzctl_transit_name(enum mzr_xdp_mode mode);

/* The kernel driver of @ifname ("veth", ...) into @drv (ETHTOOL_GDRVINFO).
 * Returns 0 or -errno. */
int mzctl_dev_driver(const char *ifname, char *drv, size_t len);

/* One hint line (no newline) when the underlay is a veth with the native
 * XDP transit: `mode tc` keeps super-packets whole there. NULL: none. */
const char *mzctl_transit_hint(const struct mzr_host_info *info, char *buf,
			       size_t len);

#endif /* MZCTL_H */
