// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The command-line frame shared by mizarctl and the example NF tools:
 * global options, one-line errors carrying the library's own message, the
 * lazily reopened back-plane and sub-command dispatch with --help.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "mizarctl.h"

static char libmsg[512];
static bool verbose;

/* Keep the library's last warning so that a failure prints one line. */
static int capture_print(enum mzr_print_level level, const char *fmt,
			 va_list args)
{
	va_list copy;
	size_t len;

	if (verbose && level != MZR_DEBUG) {
		va_copy(copy, args);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level != MZR_WARN)
		return 0;
	vsnprintf(libmsg, sizeof(libmsg), fmt, args);
	len = strlen(libmsg);
	while (len && libmsg[len - 1] == '\n')
		libmsg[--len] = '\0';
	return 0;
}

/* libbpf's informational lines (e.g. about the NF declaration section it
 * does not know) are noise for an operator; warnings stay. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	/* libbpf's warnings include benign ones the library handles (an
	 * existing clsact qdisc: "Exclusivity flag on"); a failure is told
	 * in one line by the library's own message, so they show with -v. */
	if (level == LIBBPF_DEBUG || !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

const char *mzctl_libmsg(void)
{
	return !strncmp(libmsg, "libmizar: ", 10) ? libmsg + 10 : libmsg;
}

void mzctl_clear_libmsg(void)
{
	libmsg[0] = '\0';
}

int mzctl_fail(const char *cmd, int err)
{
	const char *msg = libmsg;
	char buf[128];

	if (!strncmp(msg, "libmizar: ", 10))
		msg += 10;
	if (!*msg) {
		mzr_strerror(err, buf, sizeof(buf));
		msg = buf;
	}
	if (!verbose)
		mzctl_err(cmd, "%s", msg);
	libmsg[0] = '\0';
	return MZCTL_FAIL;
}

bool mzctl_lock_host;

struct mzr_host *mzctl_host(struct mzctl *g, const char *cmd)
{
	MZR_OPTS(mzr_host_opts, opts, .pin_root = g->pin_root);
	int err;

	if (g->host)
		return g->host;
	mzctl_clear_libmsg();
	g->host = mzr_host__open_pinned(&opts);
	if (g->host && mzctl_lock_host) {
		/* Held until exit, which releases it. */
		err = mzr_host__lock(g->host);
		if (err) {
			mzr_host__close(g->host);
			g->host = NULL;
			mzctl_fail(cmd, err);
			return NULL;
		}
	}
	if (!g->host) {
		if (errno == ENOENT) {
			mzctl_clear_libmsg();
			mzctl_err(cmd, "no back-plane at %s (run 'mizarctl host init' first)",
				  g->pin_root ? g->pin_root :
				  getenv("MIZAR_PIN_ROOT") &&
						  *getenv("MIZAR_PIN_ROOT") ?
					  getenv("MIZAR_PIN_ROOT") :
					  MZR_DEFAULT_PIN_ROOT);
		} else {
			mzctl_fail(cmd, -errno);
		}
	}
	return g->host;
}

bool mzctl_is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static void sub_usage(FILE *f, const char *group, const struct mzctl_sub *s)
{
	fprintf(f, "Usage: %s %s %s%s%s\n", program_invocation_short_name, group, s->name,
		*s->usage ? " " : "", s->usage);
	if (s->help)
		fprintf(f, "\n%s", s->help);
}

static void group_usage(FILE *f, const char *group,
			const struct mzctl_sub *subs)
{
	fprintf(f, "Usage:\n");
	for (; subs->name; subs++)
		fprintf(f, "  %s %s %s%s%s\n", program_invocation_short_name, group, subs->name,
			*subs->usage ? " " : "", subs->usage);
	fprintf(f, "Run '%s %s SUBCOMMAND --help' for details.\n",
		program_invocation_short_name, group);
}

int mzctl_dispatch(struct mzctl *g, const char *group,
		   const struct mzctl_sub *subs, int argc, char **argv)
{
	const struct mzctl_sub *s = NULL;
	const char *names[32], *ambig = NULL;
	int i, n = 0, k = MZCTL_LOOKUP_NONE;

	for (i = 0; subs[i].name && n < 32; i++)
		names[n++] = subs[i].name;
	if (argc >= 1) {
		/* Exact, alias (delete, list, ls) or unique abbreviation. */
		k = mzctl_lookup(argv[0], names, n, &ambig);
		if (k >= 0)
			s = &subs[k];
	}
	for (i = 0; i < argc; i++) {
		if (!mzctl_is_help(argv[i]))
			continue;
		if (s && i > 0)
			sub_usage(stdout, group, s);
		else
			group_usage(stdout, group, subs);
		return MZCTL_OK;
	}
	if (!argc) {
		mzctl_err(group, "missing sub-command (see %s %s --help)",
			  program_invocation_short_name, group);
		return MZCTL_USAGE;
	}
	if (!s) {
		mzctl_err_unknown(group, "sub-command", argv[0], names, n,
				  ambig);
		return MZCTL_USAGE;
	}
	return s->fn(g, argc - 1, argv + 1);
}

int mzctl_main(int argc, char **argv, const struct mzctl_group *groups,
	       const char *usage)
{
	struct mzctl g = {};
	char **args = calloc(argc + 1, sizeof(*args));
	int n = 0, i, ret, gi, nnames = 0;
	const char *names[32], *ambig;
	size_t k;
	const char *prog = program_invocation_short_name;

	if (!args)
		return MZCTL_FAIL;
	mzr_set_print(capture_print);
	libbpf_set_print(libbpf_print);
	/* Global options anywhere; everything else keeps its order. Values
	 * never start with '-', so this cannot eat a command's argument. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-r") || !strcmp(a, "--pin-root")) {
			if (i + 1 >= argc || !*argv[i + 1]) {
				mzctl_err(NULL, "%s needs a directory", a);
				ret = MZCTL_USAGE;
				goto out;
			}
			g.pin_root = argv[++i];
		} else if (!strncmp(a, "--pin-root=", 11) && a[11]) {
			g.pin_root = a + 11;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			g.json = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
			/* As bpftool: pretty JSON, -j implied. */
			g.json = mzctl_json_pretty = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			g.verbose = verbose = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("%s (libmizar %s)\n", prog, mzr_version_string());
			ret = MZCTL_OK;
			goto out;
		} else if (a[0] == '-' && !mzctl_is_help(a) && n == 0) {
			mzctl_err(NULL, "unknown option '%s'", a);
			ret = MZCTL_USAGE;
			goto out;
		} else {
			args[n++] = argv[i];
		}
	}
	if (!n || mzctl_is_help(args[0]) || !strcmp(args[0], "help")) {
		fputs(usage, n ? stdout : stderr);
		ret = n ? MZCTL_OK : MZCTL_USAGE;
		goto out;
	}
	for (k = 0; groups[k].name && nnames < 32; k++)
		names[nnames++] = groups[k].name;
	gi = mzctl_lookup(args[0], names, nnames, &ambig);
	if (gi < 0) {
		mzctl_err_unknown(NULL, "command", args[0], names, nnames,
				  ambig);
		ret = MZCTL_USAGE;
		goto out;
	}
	k = gi;
	ret = groups[k].fn(&g, n - 1, args + 1);
	mzr_host__close(g.host);
out:
	free(args);
	return ret;
}
