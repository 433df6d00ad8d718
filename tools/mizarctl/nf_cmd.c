// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl nf ...`: the NF chains of each hook, by name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mizar/nf.h>

#include "mizarctl.h"

static int get_hook(const char *cmd, const char *v, enum mzr_hook *hook)
{
	int h = mzr_hook_parse(v);

	if (h < 0) {
		mzctl_err(cmd, "bad hook '%s' (agent-egress, bouncer, divider, "
			  "deliver or external)", v);
		return MZCTL_USAGE;
	}
	*hook = h;
	return 0;
}

static int get_name(const char *cmd, int argc, char **argv)
{
	if (argc < 1 || !argv[0][0]) {
		mzctl_err(cmd, "missing NF name");
		return MZCTL_USAGE;
	}
	return 0;
}

static struct mzr_nf *open_nf(const char *cmd, struct mzctl_kw *kw, int *ret)
{
	MZR_OPTS(mzr_nf_open_opts, o,
		 .prog_name = mzctl_kw_get(kw, "prog")->val);
	const char *path = mzctl_kw_get(kw, "obj")->val;
	struct mzr_nf *nf;

	mzctl_clear_libmsg();
	nf = mzr_nf__open_file(path, &o);
	if (!nf)
		*ret = mzctl_fail(cmd, -errno);
	return nf;
}

/* nf add and nf replace: load the object, then insert it or swap it in. */
static int nf_add_replace(struct mzctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "nf add" : "nf replace";
	struct mzctl_kw kw[] = {
		{ "obj", true, true, NULL },
		{ "prog", true, false, NULL },
		{ "hook", true, true, NULL },
		{ "pos", true, false, NULL },
		{ NULL },
	};
	enum mzr_hook hook = 0;
	struct mzr_host *h;
	struct mzr_nf *nf;
	const char *posv = NULL;
	uint32_t pos = 0;
	int err, ret;

	if (!add)
		kw[2].name = NULL; /* no hook or pos on replace */
	if ((err = get_name(cmd, argc, argv)))
		return err;
	if (mzctl_parse_kw(cmd, kw, argc - 1, argv + 1))
		return MZCTL_USAGE;
	if (add) {
		if ((err = get_hook(cmd, mzctl_kw_get(kw, "hook")->val,
				    &hook)))
			return err;
		posv = mzctl_kw_get(kw, "pos")->val;
		if (posv &&
		    (mzctl_parse_u32(posv, &pos) || pos >= MZR_CHAIN_MAX)) {
			mzctl_err(cmd, "bad pos '%s' (0-%d)", posv,
				  MZR_CHAIN_MAX - 1);
			return MZCTL_USAGE;
		}
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	nf = open_nf(cmd, kw, &ret);
	if (!nf)
		return ret;
	mzctl_clear_libmsg();
	err = add ? mzr_host__nf_insert(h, argv[0], nf, hook,
					posv ? (int)pos : MZR_NF_POS_END) :
		    mzr_host__nf_replace(h, argv[0], nf);
	ret = err ? mzctl_fail(cmd, err) : MZCTL_OK;
	/* The chain holds the program now; the handle may go. */
	mzr_nf__close(nf);
	return ret;
}

static int nf_add(struct mzctl *g, int argc, char **argv)
{
	return nf_add_replace(g, argc, argv, true);
}

static int nf_replace(struct mzctl *g, int argc, char **argv)
{
	return nf_add_replace(g, argc, argv, false);
}

static int nf_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "nf del";
	struct mzr_host *h;
	int err;

	if ((err = get_name(cmd, argc, argv)))
		return err;
	if (argc > 1) {
		mzctl_err(cmd, "unexpected argument '%s'", argv[1]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_host__nf_remove(h, argv[0]);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

struct show_ctx {
	struct mzctl *g;
	struct mzctl_json js;
	const char *only;
	unsigned int n;
};

static int nf_print(const struct mzr_nf_info *i, void *arg)
{
	struct show_ctx *c = arg;

	if (c->only && strcmp(c->only, i->name))
		return 0;
	c->n++;
	if (c->g->json) {
		mzctl_json_obj(&c->js, NULL);
		mzctl_json_str(&c->js, "name", i->name);
		mzctl_json_str(&c->js, "hook", mzr_hook_name(i->hook));
		mzctl_json_u64(&c->js, "pos", i->pos);
		mzctl_json_str(&c->js, "prog", i->prog_name);
		mzctl_json_u64(&c->js, "prog_id", i->prog_id);
		mzctl_json_str(&c->js, "object", i->object);
		mzctl_json_str(&c->js, "declared_name", i->declared_name);
		mzctl_json_u64(&c->js, "missed_tail_calls", i->missed);
		mzctl_json_obj_end(&c->js);
		return 0;
	}
	if (c->n == 1)
		printf("%-13s %3s  %-20s %-20s %7s %7s  %s\n", "hook", "pos",
		       "name", "prog", "id", "missed", "object");
	printf("%-13s %3u  %-20s %-20s %7u %7llu  %s\n",
	       mzr_hook_name(i->hook), i->pos, i->name, i->prog_name,
	       i->prog_id, (unsigned long long)i->missed, i->object);
	return 0;
}

static int nf_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "nf show";
	struct show_ctx c = { .g = g };
	struct mzr_host *h;
	int err;

	if (argc > 1) {
		mzctl_err(cmd, "unexpected argument '%s'", argv[1]);
		return MZCTL_USAGE;
	}
	c.only = argc ? argv[0] : NULL;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	if (g->json) {
		mzctl_json_begin(&c.js, stdout);
		mzctl_json_arr(&c.js, "nfs");
	}
	mzctl_clear_libmsg();
	err = mzr_host__nf_for_each(h, nf_print, &c);
	if (g->json) {
		mzctl_json_arr_end(&c.js);
		mzctl_json_end(&c.js);
	}
	if (err)
		return mzctl_fail(cmd, err);
	if (c.only && !c.n) {
		mzctl_err(cmd, "no NF named %s", c.only);
		return MZCTL_FAIL;
	}
	if (!g->json && !c.n)
		printf("no NFs\n");
	return MZCTL_OK;
}

static const struct mzctl_sub nf_subs[] = {
	{ "add", "NAME obj FILE hook HOOK [prog PROG] [pos N]",
	  "Load the NF program PROG (default: the object's only program)\n"
	  "from the BPF object FILE and insert it into the chain of HOOK\n"
	  "(agent-egress, bouncer, divider, deliver, external) at position\n"
	  "N (default: last). The new chain takes effect atomically.",
	  nf_add },
	{ "del", "NAME", "Remove NF NAME from its chain, atomically.",
	  nf_del },
	{ "replace", "NAME obj FILE [prog PROG]",
	  "Swap NF NAME's program for a new one at the same place,\n"
	  "atomically.",
	  nf_replace },
	{ "show", "[NAME]",
	  "List the NFs of every hook in chain order (or NF NAME), with\n"
	  "the tail calls missed at their position.",
	  nf_show },
	{ NULL },
};

int mzctl_cmd_nf(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "nf", nf_subs, argc, argv);
}
