// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl apply -f FILE [--dry-run]` and `mizarctl dump`: declarative
 * configuration of this host's back-plane (docs/config-schema.md).
 * apply checks the whole file first (syntax, references, interfaces, NF
 * objects), then runs the plan of apply_plan.c; when a step fails, the
 * steps already done are undone in reverse order, so a failed apply
 * leaves the host as it found it (unless undoing fails too, which it
 * says).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "mizarctl.h"

/* ---- The library's last message, for our own one-line errors ------------- */

static char lastmsg[512];
static mzr_print_fn_t prev_print;

static int keep_print(enum mzr_print_level level, const char *fmt, va_list args)
{
	va_list copy;
	size_t len;

	if (level == MZR_WARN) {
		va_copy(copy, args);
		vsnprintf(lastmsg, sizeof(lastmsg), fmt, copy);
		va_end(copy);
		len = strlen(lastmsg);
		while (len && lastmsg[len - 1] == '\n')
			lastmsg[--len] = '\0';
	}
	return prev_print ? prev_print(level, fmt, args) : 0;
}

static const char *why(int err)
{
	static char buf[128];
	const char *m = lastmsg;

	if (!strncmp(m, "libmizar: ", 10))
		m += 10;
	if (*m)
		return m;
	mzr_strerror(err, buf, sizeof(buf));
	return buf;
}

/* ---- Reading this host's state ------------------------------------------------ */

static int read_vpc(const struct mzr_vpc_info *i, void *arg)
{
	struct mzap_vpc *v = mzap_add_vpc(arg);

	if (!v)
		return -ENOMEM;
	v->vni = i->vni;
	v->n_dividers = i->n_dividers;
	memcpy(v->dividers, i->dividers, sizeof(v->dividers));
	return 0;
}

static int read_net(const struct mzr_net_info *i, void *arg)
{
	struct mzap_net *n = mzap_add_net(arg);

	if (!n)
		return -ENOMEM;
	n->vni = i->vni;
	n->prefix = i->prefix;
	n->prefixlen = i->prefixlen;
	n->gw = i->gw;
	n->n_bouncers = i->n_bouncers;
	memcpy(n->bouncers, i->bouncers, sizeof(n->bouncers));
	return 0;
}

static int read_ep(const struct mzr_ep_info *i, void *arg)
{
	struct mzap_ep *e = mzap_add_ep(arg);

	if (!e)
		return -ENOMEM;
	e->vni = i->vni;
	e->ip = i->ip;
	memcpy(e->mac, i->mac, 6);
	e->host = i->host;
	/* Scaled: its hosts are read after the walk (n_hosts 1 marks it). */
	e->flags = i->flags & ~MZR_EP_SCALED;
	e->n_hosts = (i->flags & MZR_EP_SCALED) ? 1 : 0;
	/* An interface that went away keeps a name no file can match. */
	if (i->ifindex && !if_indextoname(i->ifindex, e->dev))
		snprintf(e->dev, sizeof(e->dev), "if%u", i->ifindex);
	return 0;
}

static int read_nf(const struct mzr_nf_info *i, void *arg)
{
	struct mzap_nf *nf = mzap_add_nf(arg);

	if (!nf)
		return -ENOMEM;
	snprintf(nf->name, sizeof(nf->name), "%s", i->name);
	snprintf(nf->obj, sizeof(nf->obj), "%s", i->object);
	snprintf(nf->prog, sizeof(nf->prog), "%s", i->prog_name);
	nf->hook = i->hook;
	nf->pos = i->pos;
	return 0;
}

/*
 * The trust lists need the mzr_host__peer_* / mzr_host__protect_* calls;
 * <mizar/host.h> defines MZR_PEER_EXPLICIT when the library has them.
 */
#ifdef MZR_PEER_EXPLICIT
#define MZCTL_HAVE_TRUST 1

static int read_peer(const struct mzr_peer_info *i, void *arg)
{
	struct in_addr *ip;

	/* Only the explicit ones: objects' hosts are known through them. */
	if (!(i->flags & MZR_PEER_EXPLICIT))
		return 0;
	ip = mzap_add_peer(arg);
	if (!ip)
		return -ENOMEM;
	*ip = i->ip;
	return 0;
}

static int read_protect(const struct mzr_protect_info *i, void *arg)
{
	struct mzap_cidr *p = mzap_add_protect(arg);

	if (!p)
		return -ENOMEM;
	p->addr = i->prefix;
	p->len = i->prefixlen;
	return 0;
}

static int read_trust(struct mzr_host *h, struct mzap_state *s)
{
	s->has_peers = s->has_protect = true;
	return mzr_host__peer_for_each(h, read_peer, s) ?:
		       mzr_host__protect_for_each(h, read_protect, s);
}
#else
#define MZCTL_HAVE_TRUST 0

static int read_trust(struct mzr_host *h, struct mzap_state *s)
{
	return 0;
}
#endif

static int read_state(struct mzr_host *h, struct mzap_state *s,
		      struct mzr_host_info *info)
{
	char err[256];
	int ret;

	ret = mzr_host__info(h, info);
	if (!ret)
		ret = mzr_vpc__for_each(h, read_vpc, s);
	if (!ret)
		ret = mzr_net__for_each(h, 0, read_net, s);
	if (!ret)
		ret = mzr_ep__for_each(h, 0, read_ep, s);
	for (size_t k = 0; !ret && k < s->n_eps; k++) {
		struct mzap_ep *e = &s->eps[k];

		if (!e->n_hosts)
			continue;
		e->n_hosts = MZR_MAX_EP_HOSTS;
		ret = mzr_ep__get_hosts(h, e->vni, e->ip, e->hosts,
					&e->n_hosts);
		if (e->n_hosts == 1)
			e->n_hosts = 0;
	}
	if (!ret)
		ret = mzr_host__nf_for_each(h, read_nf, s);
	if (!ret)
		ret = read_trust(h, s);
	if (ret)
		return ret;
	/* What the library holds is consistent; this only sorts. */
	ret = mzap_normalize(s, info->ip, err, sizeof(err));
	if (ret)
		snprintf(lastmsg, sizeof(lastmsg),
			 "unexpected state on this host: %s", err);
	return ret;
}

/* ---- dump ---------------------------------------------------------------------- */

int mzctl_cmd_dump(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "dump";
	struct mzap_state cur = {};
	struct mzr_host_info info;
	struct mzr_host *h;
	int err;

	if (argc && mzctl_is_help(argv[0])) {
		printf("Usage: mizarctl dump\n\n"
		       "Print this host's VPCs, networks, endpoints and NF "
		       "chains as one\n"
		       "JSON document of the schema 'mizarctl apply' reads\n"
		       "(docs/config-schema.md).\n");
		return MZCTL_OK;
	}
	if (argc) {
		mzctl_err(cmd, "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	lastmsg[0] = '\0';
	prev_print = mzr_set_print(keep_print);
	err = read_state(h, &cur, &info);
	if (!err)
		err = mzap_to_json(&cur, info.ip, stdout);
	mzr_set_print(prev_print);
	if (err)
		mzctl_err(cmd, "%s", why(err));
	mzap_state_free(&cur);
	return err ? MZCTL_FAIL : MZCTL_OK;
}

/* ---- apply --------------------------------------------------------------------- */

static char *read_all(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *p;

	if (!f)
		return NULL;
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
		errno = EIO;
	}
	if (buf)
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

struct run {
	struct mzr_host *h;
	const struct mzap_state *want;
	struct mzr_nf **nf_handles; /* by index in want->nfs */
};

static struct mzr_nf *open_nf(const struct mzap_nf *nf)
{
	MZR_OPTS(mzr_nf_open_opts, o,
		 .prog_name = nf->prog[0] ? nf->prog : NULL);

	return mzr_nf__open_file(nf->obj, &o);
}

/* Take the NF handle opened while checking the file, or open @nf anew. */
static struct mzr_nf *nf_handle(struct run *r, const struct mzap_nf *nf)
{
	struct mzr_nf *h;
	size_t i;

	if (nf >= r->want->nfs && nf < r->want->nfs + r->want->n_nfs) {
		i = nf - r->want->nfs;
		if (r->nf_handles[i]) {
			h = r->nf_handles[i];
			r->nf_handles[i] = NULL;
			return h;
		}
	}
	return open_nf(nf);
}

static int exec_op(struct run *r, enum mzap_op_kind kind, const void *obj,
		   int pos)
{
	const struct mzap_vpc *v = obj;
	const struct mzap_net *n = obj;
	const struct mzap_ep *e = obj;
	const struct mzap_nf *f = obj;
	struct mzr_ep_spec spec;
	struct mzr_nf *nf;
	int err;

	switch (kind) {
	case MZAP_VPC_ADD:
		return mzr_vpc__create(r->h, v->vni, v->dividers,
				       v->n_dividers);
	case MZAP_VPC_SET:
		return mzr_vpc__update(r->h, v->vni, v->dividers,
				       v->n_dividers);
	case MZAP_VPC_DEL:
		return mzr_vpc__delete(r->h, v->vni);
	case MZAP_NET_ADD: {
		MZR_OPTS(mzr_net_opts, o, .gw = n->gw);

		return mzr_net__create(r->h, n->vni, n->prefix, n->prefixlen,
				       n->bouncers, n->n_bouncers, &o);
	}
	case MZAP_NET_SET:
		return mzr_net__update(r->h, n->vni, n->prefix, n->prefixlen,
				       n->bouncers, n->n_bouncers);
	case MZAP_NET_DEL:
		return mzr_net__delete(r->h, n->vni, n->prefix, n->prefixlen);
	case MZAP_EP_ADD:
		spec = (struct mzr_ep_spec){ .vni = e->vni,
					     .ip = e->ip,
					     .host = e->host,
					     .ifname =
						     e->dev[0] ? e->dev : NULL,
					     .flags = e->flags };
		memcpy(spec.mac, e->mac, 6);
		if (e->n_hosts) {
			MZR_OPTS(mzr_ep_opts, o, .hosts = e->hosts,
				 .n_hosts = e->n_hosts);

			return mzr_ep__create_opts(r->h, &spec, &o);
		}
		return mzr_ep__create(r->h, &spec);
	case MZAP_EP_DEL:
		return mzr_ep__delete(r->h, e->vni, e->ip);
	case MZAP_NF_ADD:
	case MZAP_NF_REPLACE:
		nf = nf_handle(r, f);
		if (!nf)
			return -errno;
		err = kind == MZAP_NF_ADD ?
			      mzr_host__nf_insert(r->h, f->name, nf, f->hook,
						  pos) :
			      mzr_host__nf_replace(r->h, f->name, nf);
		mzr_nf__close(nf);
		return err;
	case MZAP_NF_DEL:
		return mzr_host__nf_remove(r->h, f->name);
#if MZCTL_HAVE_TRUST
	case MZAP_PEER_ADD:
		return mzr_host__peer_add(r->h, *(const struct in_addr *)obj);
	case MZAP_PEER_DEL:
		return mzr_host__peer_delete(r->h,
					     *(const struct in_addr *)obj);
	case MZAP_PROTECT_ADD:
		return mzr_host__protect_add(
			r->h, ((const struct mzap_cidr *)obj)->addr,
			((const struct mzap_cidr *)obj)->len);
	case MZAP_PROTECT_DEL:
		return mzr_host__protect_delete(
			r->h, ((const struct mzap_cidr *)obj)->addr,
			((const struct mzap_cidr *)obj)->len);
#else
	case MZAP_PEER_ADD:
	case MZAP_PEER_DEL:
	case MZAP_PROTECT_ADD:
	case MZAP_PROTECT_DEL:
		return -EOPNOTSUPP; /* refused by check_file() already */
#endif
	}
	return -EINVAL;
}

/* Undo @op: the opposite operation, with what was there before. */
static int undo_op(struct run *r, const struct mzap_op *op)
{
	switch (op->kind) {
	case MZAP_VPC_ADD:
		return exec_op(r, MZAP_VPC_DEL, op->obj, 0);
	case MZAP_VPC_DEL:
		return exec_op(r, MZAP_VPC_ADD, op->obj, 0);
	case MZAP_VPC_SET:
		return exec_op(r, MZAP_VPC_SET, op->old, 0);
	case MZAP_NET_ADD:
		return exec_op(r, MZAP_NET_DEL, op->obj, 0);
	case MZAP_NET_DEL:
		return exec_op(r, MZAP_NET_ADD, op->obj, 0);
	case MZAP_NET_SET:
		return exec_op(r, MZAP_NET_SET, op->old, 0);
	case MZAP_EP_ADD:
		return exec_op(r, MZAP_EP_DEL, op->obj, 0);
	case MZAP_EP_DEL:
		return exec_op(r, MZAP_EP_ADD, op->obj, 0);
	case MZAP_NF_ADD:
		return exec_op(r, MZAP_NF_DEL, op->obj, 0);
	case MZAP_NF_DEL:
		return exec_op(r, MZAP_NF_ADD, op->obj,
			       ((const struct mzap_nf *)op->obj)->pos);
	case MZAP_NF_REPLACE:
		return exec_op(r, MZAP_NF_REPLACE, op->old, 0);
	case MZAP_PEER_ADD:
		return exec_op(r, MZAP_PEER_DEL, op->obj, 0);
	case MZAP_PEER_DEL:
		return exec_op(r, MZAP_PEER_ADD, op->obj, 0);
	case MZAP_PROTECT_ADD:
		return exec_op(r, MZAP_PROTECT_DEL, op->obj, 0);
	case MZAP_PROTECT_DEL:
		return exec_op(r, MZAP_PROTECT_ADD, op->obj, 0);
	}
	return -EINVAL;
}

/*
 * Remote endpoints to create, from op @i on: one batch (all or none in
 * the library) instead of one call each, which matters at 1M endpoints.
 * Returns how many ops it covered (0: op @i is not a remote ep add).
 */
static size_t exec_ep_batch(struct run *r, const struct mzap_plan *p, size_t i,
			    int *err, size_t *failed_op)
{
	struct mzr_ep_spec *specs;
	size_t n = 0, k, failed = 0;

	*failed_op = i;
	while (i + n < p->n && p->ops[i + n].kind == MZAP_EP_ADD &&
	       !((const struct mzap_ep *)p->ops[i + n].obj)->dev[0] &&
	       !((const struct mzap_ep *)p->ops[i + n].obj)->n_hosts)
		n++;
	if (n < 2)
		return 0;
	specs = calloc(n, sizeof(*specs));
	if (!specs) {
		*err = -ENOMEM;
		return 0;
	}
	for (k = 0; k < n; k++) {
		const struct mzap_ep *e = p->ops[i + k].obj;

		specs[k] = (struct mzr_ep_spec){ .vni = e->vni,
						 .ip = e->ip,
						 .host = e->host,
						 .flags = e->flags };
		memcpy(specs[k].mac, e->mac, 6);
	}
	*err = mzr_ep__create_batch(r->h, specs, n, &failed);
	free(specs);
	*failed_op = i + (failed < n ? failed : 0);
	return *err ? 0 : n;
}

static int apply_plan(struct run *r, const struct mzap_plan *p)
{
	char line[512], uline[512];
	size_t i, done, k, bad = 0;
	int err = 0, uerr;

	for (done = 0; done < p->n;) {
		lastmsg[0] = '\0';
		k = exec_ep_batch(r, p, done, &err, &bad);
		if (err) {
			/* The batch made nothing: name the endpoint refused. */
			mzap_op_str(&p->ops[bad], line, sizeof(line));
			break;
		}
		if (k) {
			for (i = done; i < done + k; i++) {
				mzap_op_str(&p->ops[i], line, sizeof(line));
				printf("%s\n", line);
			}
			done += k;
			continue;
		}
		mzap_op_str(&p->ops[done], line, sizeof(line));
		lastmsg[0] = '\0';
		err = exec_op(r, p->ops[done].kind, p->ops[done].obj,
			      p->ops[done].pos);
		if (err)
			break;
		printf("%s\n", line);
		done++;
	}
	if (!err)
		return 0;

	/* One line: what failed, why, and what state that leaves. */
	snprintf(uline, sizeof(uline), "%s", why(err));
	for (i = done; i-- > 0;) {
		lastmsg[0] = '\0';
		uerr = undo_op(r, &p->ops[i]);
		if (uerr) {
			char what[512];

			mzap_op_str(&p->ops[i], what, sizeof(what));
			mzctl_err("apply",
				  "'%s' failed: %s; undoing '%s' failed too "
				  "(%s): %zu of %zu changes remain, see "
				  "'mizarctl dump'",
				  line, uline, what, why(uerr), i + 1, p->n);
			return MZCTL_FAIL;
		}
	}
	fflush(stdout);
	mzctl_err("apply",
		  "'%s' failed: %s; the %zu change(s) made before were undone, "
		  "nothing changed",
		  line, uline, done);
	return MZCTL_FAIL;
}

/* Everything that can be checked before touching the back-plane. */
static int check_file(const char *cmd, struct mzap_state *want,
		      struct mzap_state *cur, const struct mzr_host_info *info,
		      struct mzr_nf **handles, bool skip_missing)
{
	bool *skip = NULL;
	char err[512], path[PATH_MAX];
	struct mzr_nf_info ni;
	size_t i;

	if (!MZCTL_HAVE_TRUST && (want->has_peers || want->has_protect)) {
		mzctl_err(cmd,
			  "'%s' is not supported by this build (its libmizar "
			  "has no %s calls)",
			  want->has_peers ? "peers" : "protect",
			  want->has_peers ? "mzr_host__peer_*" :
					    "mzr_host__protect_*");
		return MZCTL_FAIL;
	}
	if (mzap_normalize(want, info->ip, err, sizeof(err))) {
		mzctl_err(cmd, "%s", err);
		return MZCTL_FAIL;
	}
	if (want->n_eps > info->max_endpoints) {
		mzctl_err(cmd,
			  "%zu endpoints, the table holds %u (host init "
			  "max-endpoints)",
			  want->n_eps, info->max_endpoints);
		return MZCTL_FAIL;
	}
	for (i = 0; i < want->n_eps; i++) {
		const struct mzap_ep *e = &want->eps[i];

		if (!e->dev[0] || if_nametoindex(e->dev))
			continue;
		if (!skip_missing) {
			mzctl_err(cmd,
				  "endpoint %s of VPC %u: no interface '%s' (--skip-missing-dev leaves such endpoints alone)",
				  mzctl_ip_str(e->ip, err), e->vni, e->dev);
			return MZCTL_FAIL;
		}
		if (!skip) {
			skip = calloc(want->n_eps, sizeof(*skip));
			if (!skip)
				return MZCTL_FAIL;
		}
		skip[i] = true;
		printf("skipped: ep vni %u ip %s dev %s (no such interface yet)\n",
		       e->vni, mzctl_ip_str(e->ip, err), e->dev);
	}
	if (skip) {
		mzap_skip_eps(want, cur, skip);
		free(skip);
	}
	for (i = 0; i < want->n_nfs; i++) {
		struct mzap_nf *nf = &want->nfs[i];

		/* The chain records the absolute path: compare like that. */
		if (!realpath(nf->obj, path)) {
			mzctl_err(cmd, "nf %s: cannot read object '%s': %s",
				  nf->name, nf->obj, strerror(errno));
			return MZCTL_FAIL;
		}
		if (strlen(path) >= sizeof(ni.object)) {
			mzctl_err(cmd,
				  "nf %s: object path '%s' longer than %zu "
				  "characters",
				  nf->name, path, sizeof(ni.object) - 1);
			return MZCTL_FAIL;
		}
		snprintf(nf->obj, sizeof(nf->obj), "%s", path);
		lastmsg[0] = '\0';
		handles[i] = open_nf(nf);
		if (!handles[i]) {
			mzctl_err(cmd, "nf %s: %s", nf->name, why(-errno));
			return MZCTL_FAIL;
		}
		if (!nf->prog[0])
			snprintf(nf->prog, sizeof(nf->prog), "%s",
				 mzr_nf__prog_name(handles[i]));
	}
	return 0;
}

static int do_apply(struct mzctl *g, const char *file, bool dry_run,
		    bool skip_missing)
{
	const char *cmd = "apply";
	struct mzap_state cur = {}, want = {};
	struct mzap_plan plan = {};
	struct mzr_host_info info;
	struct mzr_nf **handles = NULL;
	char err[512], line[512];
	sigset_t block, old;
	struct run r = {};
	struct mzr_host *h, *locked __attribute__((unused)) = NULL;
	char *text;
	size_t i, nadd = 0, ndel = 0, nset = 0;
	int ret = MZCTL_FAIL, e;

	text = read_all(file);
	if (!text) {
		mzctl_err(cmd, "cannot read '%s': %s", file, strerror(errno));
		return MZCTL_FAIL;
	}
	e = mzap_from_json(text, &want, err, sizeof(err));
	free(text);
	if (e) {
		mzctl_err(cmd, "%s: %s", file,
			  e == -ENOMEM ? strerror(ENOMEM) : err);
		goto out;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		goto out;
	lastmsg[0] = '\0';
	prev_print = mzr_set_print(keep_print);
#ifdef MZCTL_HAVE_HOST_LOCK
	/* One writer at a time from the state read to the last change (or
	 * undo): the plan is made from what it changes. */
	e = mzr_host__lock(h);
	if (e) {
		mzctl_err(cmd, "cannot lock %s: %s", mzr_host__pin_root(h),
			  why(e));
		goto out;
	}
	locked = h;
#endif
	e = read_state(h, &cur, &info);
	if (e) {
		mzctl_err(cmd, "cannot read this host's state: %s", why(e));
		goto out;
	}
	handles = calloc(want.n_nfs + 1, sizeof(*handles));
	if (!handles)
		goto out;
	if (check_file(cmd, &want, &cur, &info, handles, skip_missing))
		goto out;
	if (mzap_diff(&cur, &want, &plan)) {
		mzctl_err(cmd, "%s", strerror(ENOMEM));
		goto out;
	}
	for (i = 0; i < plan.n; i++) {
		switch (plan.ops[i].kind) {
		case MZAP_VPC_ADD:
		case MZAP_NET_ADD:
		case MZAP_EP_ADD:
		case MZAP_NF_ADD:
		case MZAP_PEER_ADD:
		case MZAP_PROTECT_ADD:
			nadd++;
			break;
		case MZAP_VPC_DEL:
		case MZAP_NET_DEL:
		case MZAP_EP_DEL:
		case MZAP_NF_DEL:
		case MZAP_PEER_DEL:
		case MZAP_PROTECT_DEL:
			ndel++;
			break;
		default:
			nset++;
		}
	}
	if (!plan.n) {
		printf("no change: this host already matches %s (%zu VPCs, %zu "
		       "networks, %zu endpoints, %zu NFs)\n",
		       file, want.n_vpcs, want.n_nets, want.n_eps, want.n_nfs);
		ret = MZCTL_OK;
		goto out;
	}
	if (dry_run) {
		for (i = 0; i < plan.n; i++) {
			mzap_op_str(&plan.ops[i], line, sizeof(line));
			printf("%s\n", line);
		}
		printf("dry run: %zu change(s) (%zu to add, %zu to update, %zu "
		       "to delete), nothing applied\n",
		       plan.n, nadd, nset, ndel);
		ret = MZCTL_OK;
		goto out;
	}
	/* An interrupted apply would leave a half-made state that nothing
	 * undoes: SIGINT/SIGTERM wait until the plan ran (or was undone). */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	r = (struct run){ .h = h, .want = &want, .nf_handles = handles };
	ret = apply_plan(&r, &plan);
	if (ret == MZCTL_OK)
		printf("applied %zu change(s) (%zu added, %zu updated, %zu "
		       "deleted)\n",
		       plan.n, nadd, nset, ndel);
	fflush(stdout);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
#ifdef MZCTL_HAVE_HOST_LOCK
	if (locked)
		mzr_host__unlock(locked);
#endif
	if (prev_print) {
		mzr_set_print(prev_print);
		prev_print = NULL;
	}
	for (i = 0; handles && i < want.n_nfs; i++)
		mzr_nf__close(handles[i]);
	free(handles);
	mzap_plan_free(&plan);
	mzap_state_free(&cur);
	mzap_state_free(&want);
	return ret;
}

static const char *const apply_usage =
	"Usage: mizarctl apply -f FILE [--dry-run] [--skip-missing-dev]\n"
	"\n"
	"Make this host's VPCs, networks, endpoints and NF chains equal to "
	"the\n"
	"JSON document FILE ('-': standard input; schema: "
	"docs/config-schema.md,\n"
	"'mizarctl dump' writes it). Creates, updates and deletes in an order\n"
	"under which the datapath never sees a dangling reference; prints one\n"
	"line per change, or that nothing changed. The whole file is checked\n"
	"first; if a step still fails, the steps done are undone.\n"
	"  --dry-run           print the changes, make none\n"
	"  --skip-missing-dev  leave alone (neither create nor delete) the\n"
	"                      local endpoints whose dev does not exist (yet),\n"
	"                      instead of refusing the file (at boot)\n";

int mzctl_cmd_apply(struct mzctl *g, int argc, char **argv)
{
	const char *file = NULL;
	bool dry_run = false, skip_missing = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			printf("%s", apply_usage);
			return MZCTL_OK;
		}
	}
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run")) {
			dry_run = true;
		} else if (!strcmp(argv[i], "--skip-missing-dev")) {
			skip_missing = true;
		} else if (!strcmp(argv[i], "-f")) {
			if (file || i + 1 >= argc || !argv[i + 1][0]) {
				mzctl_err("apply", file ? "-f given twice" :
					  "-f needs a file ('-': stdin)");
				return MZCTL_USAGE;
			}
			file = argv[++i];
		} else {
			mzctl_err("apply",
				  "unexpected argument '%s' (see mizarctl apply --help)",
				  argv[i]);
			return MZCTL_USAGE;
		}
	}
	if (!file) {
		mzctl_err("apply", "missing -f FILE");
		return MZCTL_USAGE;
	}
	return do_apply(g, file, dry_run, skip_missing);
}
