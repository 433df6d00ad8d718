// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The declared-state model of `mizarctl apply`: normalising a state and
 * the diff that turns the current state into the declared one. Pure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "apply.h"
#include "mizarctl.h"

#define GROW(s, arr, n, cap)                                               \
	({                                                                 \
		typeof((s)->arr) _p = NULL;                                \
		if ((s)->n == (s)->cap) {                                  \
			size_t _c = (s)->cap ? (s)->cap * 2 : 16;          \
			typeof((s)->arr) _a =                              \
				realloc((s)->arr, _c * sizeof(*(s)->arr)); \
			if (_a) {                                          \
				(s)->arr = _a;                             \
				(s)->cap = _c;                             \
			}                                                  \
		}                                                          \
		if ((s)->n < (s)->cap) {                                   \
			_p = &(s)->arr[(s)->n++];                          \
			memset(_p, 0, sizeof(*_p));                        \
		}                                                          \
		_p;                                                        \
	})

struct mzap_vpc *mzap_add_vpc(struct mzap_state *s)
{
	return GROW(s, vpcs, n_vpcs, cap_vpcs);
}

struct mzap_net *mzap_add_net(struct mzap_state *s)
{
	return GROW(s, nets, n_nets, cap_nets);
}

struct mzap_ep *mzap_add_ep(struct mzap_state *s)
{
	return GROW(s, eps, n_eps, cap_eps);
}

struct mzap_nf *mzap_add_nf(struct mzap_state *s)
{
	struct mzap_nf *nf = GROW(s, nfs, n_nfs, cap_nfs);

	if (nf)
		nf->pos = -1;
	return nf;
}

struct in_addr *mzap_add_peer(struct mzap_state *s)
{
	return GROW(s, peers, n_peers, cap_peers);
}

struct mzap_cidr *mzap_add_protect(struct mzap_state *s)
{
	return GROW(s, protect, n_protect, cap_protect);
}

void mzap_state_free(struct mzap_state *s)
{
	free(s->peers);
	free(s->protect);
	free(s->vpcs);
	free(s->nets);
	free(s->eps);
	free(s->nfs);
	memset(s, 0, sizeof(*s));
}

/* ---- Normalising ------------------------------------------------------------ */

/* qsort() and bsearch() of possibly empty arrays: their base may then be
 * NULL, which the C library declares non-null (UBSan reports it). */
static void sort_n(void *base, size_t n, size_t size,
		   int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

static void *search_n(const void *key, const void *base, size_t n,
		      size_t size, int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, base, n, size, cmp) : NULL;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int vpc_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct mzap_vpc *)a)->vni,
		       ((const struct mzap_vpc *)b)->vni);
}

static int net_cmp(const void *a, const void *b)
{
	const struct mzap_net *x = a, *y = b;

	return cmp_u32(x->vni, y->vni) ?:
		       cmp_u32(ntohl(x->prefix.s_addr), ntohl(y->prefix.s_addr)) ?:
		       cmp_u32(x->prefixlen, y->prefixlen);
}

static int ep_cmp(const void *a, const void *b)
{
	const struct mzap_ep *x = a, *y = b;

	return cmp_u32(x->vni, y->vni) ?:
		       cmp_u32(ntohl(x->ip.s_addr), ntohl(y->ip.s_addr));
}

static int peer_cmp(const void *a, const void *b)
{
	return cmp_u32(ntohl(((const struct in_addr *)a)->s_addr),
		       ntohl(((const struct in_addr *)b)->s_addr));
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct mzap_cidr *x = a, *y = b;

	return cmp_u32(ntohl(x->addr.s_addr), ntohl(y->addr.s_addr)) ?:
		       cmp_u32(x->len, y->len);
}

static int dev_cmp(const void *a, const void *b)
{
	const struct mzap_ep *const *x = a, *const *y = b;

	return strcmp((*x)->dev, (*y)->dev);
}

static uint32_t net_first(const struct mzap_net *n)
{
	return ntohl(n->prefix.s_addr);
}

static uint32_t net_last(const struct mzap_net *n)
{
	return net_first(n) |
	       (n->prefixlen ? (uint32_t)(0xffffffffULL >> n->prefixlen) :
			       0xffffffffU);
}

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t len,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The network of sorted, non-overlapping @nets holding @ip in VPC @vni. */
static const struct mzap_net *net_of(const struct mzap_net *nets, size_t n,
				     uint32_t vni, struct in_addr ip)
{
	uint32_t a = ntohl(ip.s_addr);
	size_t lo = 0, hi = n;

	/* Last network with (vni, first) <= (vni, a). */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (nets[mid].vni < vni ||
		    (nets[mid].vni == vni && net_first(&nets[mid]) <= a))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	n = lo - 1;
	if (nets[n].vni != vni || a > net_last(&nets[n]))
		return NULL;
	return &nets[n];
}

static bool have_vpc(const struct mzap_state *s, uint32_t vni)
{
	struct mzap_vpc key = { .vni = vni };

	return search_n(&key, s->vpcs, s->n_vpcs, sizeof(key), vpc_cmp);
}

int mzap_normalize(struct mzap_state *s, struct in_addr self, char *err,
		   size_t errlen)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
	unsigned int per_hook[__MZR_HOOK_MAX] = {};
	const struct mzap_ep **local;
	size_t i, j, n_local = 0;
	int ret = 0;

	sort_n(s->peers, s->n_peers, sizeof(*s->peers), peer_cmp);
	for (i = 1; i < s->n_peers; i++)
		if (s->peers[i].s_addr == s->peers[i - 1].s_addr)
			return fail(err, errlen, "peer %s listed twice",
				    mzctl_ip_str(s->peers[i], a));
	sort_n(s->protect, s->n_protect, sizeof(*s->protect), cidr_cmp);
	for (i = 0; i < s->n_protect; i++) {
		const struct mzap_cidr *c = &s->protect[i];

		if (c->len > 32 || (c->len < 32 && (ntohl(c->addr.s_addr) &
						    (0xffffffffU >> c->len))))
			return fail(err, errlen, "protect %s/%u: host bits set",
				    mzctl_ip_str(c->addr, a), c->len);
		if (i && !cidr_cmp(c, c - 1))
			return fail(err, errlen, "protect %s/%u listed twice",
				    mzctl_ip_str(c->addr, a), c->len);
	}

	sort_n(s->vpcs, s->n_vpcs, sizeof(*s->vpcs), vpc_cmp);
	for (i = 1; i < s->n_vpcs; i++)
		if (s->vpcs[i].vni == s->vpcs[i - 1].vni)
			return fail(err, errlen, "VPC %u declared twice",
				    s->vpcs[i].vni);

	sort_n(s->nets, s->n_nets, sizeof(*s->nets), net_cmp);
	for (i = 0; i < s->n_nets; i++) {
		struct mzap_net *n = &s->nets[i];
		uint32_t first = net_first(n), last = net_last(n);

		mzctl_ip_str(n->prefix, a);
		if (n->prefixlen > 30)
			return fail(err, errlen,
				    "network %s/%u: prefix longer than /30", a,
				    n->prefixlen);
		if (first & (uint32_t)(0xffffffffULL >> n->prefixlen))
			return fail(err, errlen, "network %s/%u: host bits set",
				    a, n->prefixlen);
		if (!have_vpc(s, n->vni))
			return fail(err, errlen,
				    "network %s/%u: no VPC %u declared", a,
				    n->prefixlen, n->vni);
		if (!n->gw.s_addr)
			n->gw.s_addr = htonl(first + 1);
		if (ntohl(n->gw.s_addr) <= first || ntohl(n->gw.s_addr) >= last)
			return fail(err, errlen,
				    "network %s/%u: gw %s outside it", a,
				    n->prefixlen, mzctl_ip_str(n->gw, b));
		if (!n->n_bouncers)
			return fail(err, errlen, "network %s/%u: no bouncer", a,
				    n->prefixlen);
		/* Sorted by first address: overlap means starting inside
		 * the widest earlier network of the VPC. */
		for (j = i; j-- > 0 && s->nets[j].vni == n->vni;)
			if (first <= net_last(&s->nets[j]))
				return fail(err, errlen,
					    "network %s/%u of VPC %u overlaps "
					    "%s/%u",
					    a, n->prefixlen, n->vni,
					    mzctl_ip_str(s->nets[j].prefix, b),
					    s->nets[j].prefixlen);
	}

	sort_n(s->eps, s->n_eps, sizeof(*s->eps), ep_cmp);
	local = calloc(s->n_eps + 1, sizeof(*local));
	if (!local)
		return -ENOMEM;
	for (i = 0; i < s->n_eps; i++) {
		struct mzap_ep *e = &s->eps[i];
		const struct mzap_net *n;
		uint32_t ip = ntohl(e->ip.s_addr);

		mzctl_ip_str(e->ip, a);
		if (i && !ep_cmp(e, e - 1)) {
			ret = fail(err, errlen,
				   "endpoint %s of VPC %u declared twice", a,
				   e->vni);
			goto out;
		}
		n = net_of(s->nets, s->n_nets, e->vni, e->ip);
		if (!n || ip == net_first(n) || ip == net_last(n) ||
		    e->ip.s_addr == n->gw.s_addr) {
			ret = fail(
				err, errlen, "endpoint %s of VPC %u: %s", a,
				e->vni,
				!n ? "outside every network of its VPC" :
				e->ip.s_addr == n->gw.s_addr ?
				     "the network's gateway address" :
				     "the network's own or broadcast address");
			goto out;
		}
		if (e->n_hosts) {
			/* Sorted: the set is what counts. The endpoint's own
			 * host: this one with dev, else the first. */
			sort_n(e->hosts, e->n_hosts, sizeof(e->hosts[0]),
			       peer_cmp);
			if (!e->dev[0])
				e->host = e->hosts[0];
		}
		if (e->dev[0]) {
			if (!e->host.s_addr)
				e->host = self;
			if (self.s_addr && e->host.s_addr != self.s_addr) {
				ret = fail(err, errlen,
					   "endpoint %s of VPC %u: with dev it "
					   "lives on this host (%s), not %s",
					   a, e->vni, mzctl_ip_str(self, b),
					   mzctl_ip_str(e->host, c));
				goto out;
			}
			local[n_local++] = e;
		} else if (!e->host.s_addr) {
			ret = fail(err, errlen,
				   "endpoint %s of VPC %u: a remote endpoint "
				   "(no dev) needs host",
				   a, e->vni);
			goto out;
		}
	}
	sort_n(local, n_local, sizeof(*local), dev_cmp);
	for (i = 1; i < n_local; i++) {
		if (!strcmp(local[i]->dev, local[i - 1]->dev)) {
			ret = fail(err, errlen, "dev %s serves two endpoints",
				   local[i]->dev);
			goto out;
		}
	}

	for (i = 0; i < s->n_nfs; i++) {
		struct mzap_nf *nf = &s->nfs[i];

		for (j = 0; j < i; j++)
			if (!strcmp(s->nfs[j].name, nf->name)) {
				ret = fail(err, errlen, "nf %s declared twice",
					   nf->name);
				goto out;
			}
		if (nf->hook >= __MZR_HOOK_MAX) {
			ret = fail(err, errlen, "nf %s: bad hook", nf->name);
			goto out;
		}
		if (nf->pos >= 0 &&
		    (unsigned int)nf->pos != per_hook[nf->hook]) {
			ret = fail(
				err, errlen,
				"nf %s: pos %d, but it is number %u of hook %s "
				"in the file (a chain follows the file order)",
				nf->name, nf->pos, per_hook[nf->hook],
				mzr_hook_name(nf->hook));
			goto out;
		}
		nf->pos = per_hook[nf->hook]++;
		if (per_hook[nf->hook] > MZR_CHAIN_MAX) {
			ret = fail(err, errlen, "hook %s: more than %d NFs",
				   mzr_hook_name(nf->hook), MZR_CHAIN_MAX);
			goto out;
		}
	}
out:
	free(local);
	return ret;
}

size_t mzap_skip_eps(struct mzap_state *want, struct mzap_state *cur,
		     const bool *skip)
{
	size_t i, j, k, n = 0;

	for (i = 0, k = 0; i < want->n_eps; i++) {
		if (skip[i]) {
			struct mzap_ep *c = search_n(&want->eps[i], cur->eps,
						    cur->n_eps,
						    sizeof(*cur->eps), ep_cmp);

			/* Marked, not moved: later searches need the order. */
			if (c)
				c->flags |= MZAP_EP_SKIPPED;
			n++;
			continue;
		}
		want->eps[k++] = want->eps[i];
	}
	want->n_eps = k;
	for (j = 0, k = 0; j < cur->n_eps; j++)
		if (!(cur->eps[j].flags & MZAP_EP_SKIPPED))
			cur->eps[k++] = cur->eps[j];
	cur->n_eps = k;
	return n;
}

/* ---- Diff -------------------------------------------------------------------- */

void mzap_plan_free(struct mzap_plan *p)
{
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

static int push(struct mzap_plan *p, enum mzap_op_kind kind, const void *obj,
		const void *old, int pos)
{
	struct mzap_op *op = GROW(p, ops, n, cap);

	if (!op)
		return -ENOMEM;
	op->kind = kind;
	op->obj = obj;
	op->old = old;
	op->pos = pos;
	return 0;
}

static bool same_addrs(const struct in_addr *a, unsigned int na,
		       const struct in_addr *b, unsigned int nb)
{
	return na == nb && !memcmp(a, b, na * sizeof(*a));
}

static bool same_ep(const struct mzap_ep *a, const struct mzap_ep *b)
{
	return !memcmp(a->mac, b->mac, 6) && a->host.s_addr == b->host.s_addr &&
	       !strcmp(a->dev, b->dev) && a->flags == b->flags &&
	       a->n_hosts == b->n_hosts &&
	       !memcmp(a->hosts, b->hosts, a->n_hosts * sizeof(a->hosts[0]));
}

static const struct mzap_nf *find_nf(const struct mzap_state *s,
				     const char *name)
{
	size_t i;

	for (i = 0; i < s->n_nfs; i++)
		if (!strcmp(s->nfs[i].name, name))
			return &s->nfs[i];
	return NULL;
}

static int diff_nfs(const struct mzap_state *cur, const struct mzap_state *want,
		    struct mzap_plan *p)
{
	unsigned int hook;
	size_t i;
	int err;

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		const struct mzap_nf *chain[MZR_CHAIN_MAX], *dw[MZR_CHAIN_MAX];
		const struct mzap_nf *kept[MZR_CHAIN_MAX];
		const struct mzap_nf *cp[MZR_CHAIN_MAX], *dp[MZR_CHAIN_MAX];
		unsigned int nc = 0, nd = 0, nk, ncp = 0, ndp = 0, k, d;

		for (i = 0; i < cur->n_nfs && nc < MZR_CHAIN_MAX; i++)
			if (cur->nfs[i].hook == hook)
				chain[nc++] = &cur->nfs[i];
		for (i = 0; i < want->n_nfs && nd < MZR_CHAIN_MAX; i++)
			if (want->nfs[i].hook == hook)
				dw[nd++] = &want->nfs[i];
		/* What stays in the chain: the NFs wanted on this hook that
		 * are there, as long as they come in the wanted order (the
		 * common prefix of both orders); the others leave, last
		 * position first so that undoing the plan in reverse puts
		 * each back where it was. */
		for (k = 0; k < nc; k++) {
			const struct mzap_nf *w = find_nf(want, chain[k]->name);

			if (w && w->hook == hook)
				cp[ncp++] = chain[k];
		}
		for (d = 0; d < nd; d++) {
			const struct mzap_nf *c = find_nf(cur, dw[d]->name);

			if (c && c->hook == hook)
				dp[ndp++] = dw[d];
		}
		for (nk = 0; nk < ncp && nk < ndp &&
			     !strcmp(cp[nk]->name, dp[nk]->name);
		     nk++)
			kept[nk] = cp[nk];
		for (k = nc; k-- > 0;) {
			bool keep = false;

			for (d = 0; d < nk; d++)
				keep |= kept[d] == chain[k];
			if (!keep && (err = push(p, MZAP_NF_DEL, chain[k], NULL,
						 chain[k]->pos)))
				return err;
		}
		/* Walking the wanted order, an NF not kept goes in at its
		 * index: everything before it is in place by then. */
		for (d = 0; d < nd; d++) {
			const struct mzap_nf *c = NULL;

			for (k = 0; k < nk; k++)
				if (!strcmp(kept[k]->name, dw[d]->name))
					c = kept[k];
			if (!c)
				err = push(p, MZAP_NF_ADD, dw[d], NULL, d);
			else if (strcmp(c->obj, dw[d]->obj) ||
				 (dw[d]->prog[0] &&
				  strcmp(c->prog, dw[d]->prog)))
				err = push(p, MZAP_NF_REPLACE, dw[d], c, d);
			else
				err = 0;
			if (err)
				return err;
		}
	}
	return 0;
}

int mzap_diff(const struct mzap_state *cur, const struct mzap_state *want,
	      struct mzap_plan *plan)
{
	size_t i, j, n, *count = NULL;
	struct mzap_plan raw = {};
	bool *dropped;
	int err = -ENOMEM;

	dropped = calloc(cur->n_nets + 1, sizeof(*dropped));
	if (!dropped)
		return -ENOMEM;

	for (i = 0, j = 0; i < cur->n_vpcs || j < want->n_vpcs;) {
		int c = i == cur->n_vpcs ?
				1 :
			j == want->n_vpcs ?
				-1 :
				vpc_cmp(&cur->vpcs[i], &want->vpcs[j]);
		const struct mzap_vpc *o = &cur->vpcs[i], *w = &want->vpcs[j];

		if (c < 0)
			err = push(&raw, MZAP_VPC_DEL, o, NULL, 0), i++;
		else if (c > 0)
			err = push(&raw, MZAP_VPC_ADD, w, NULL, 0), j++;
		else {
			err = same_addrs(o->dividers, o->n_dividers,
					 w->dividers, w->n_dividers) ?
				      0 :
				      push(&raw, MZAP_VPC_SET, w, o, 0);
			i++, j++;
		}
		if (err)
			goto out;
	}

	for (i = 0, j = 0; i < cur->n_nets || j < want->n_nets;) {
		int c = i == cur->n_nets ?
				1 :
			j == want->n_nets ?
				-1 :
				net_cmp(&cur->nets[i], &want->nets[j]);
		const struct mzap_net *o = &cur->nets[i], *w = &want->nets[j];

		err = 0;
		if (c < 0) {
			dropped[i] = true;
			err = push(&raw, MZAP_NET_DEL, o, NULL, 0), i++;
		} else if (c > 0) {
			err = push(&raw, MZAP_NET_ADD, w, NULL, 0), j++;
		} else {
			/* No call changes a gateway: the network is made
			 * again, its endpoints with it. */
			if (o->gw.s_addr != w->gw.s_addr) {
				dropped[i] = true;
				err = push(&raw, MZAP_NET_DEL, o, NULL, 0) ?:
					      push(&raw, MZAP_NET_ADD, w, NULL,
						   0);
			} else if (!same_addrs(o->bouncers, o->n_bouncers,
					       w->bouncers, w->n_bouncers)) {
				err = push(&raw, MZAP_NET_SET, w, o, 0);
			}
			i++, j++;
		}
		if (err)
			goto out;
	}

	for (i = 0, j = 0; i < cur->n_eps || j < want->n_eps;) {
		int c = i == cur->n_eps	 ? 1 :
			j == want->n_eps ? -1 :
					   ep_cmp(&cur->eps[i], &want->eps[j]);
		const struct mzap_ep *o = &cur->eps[i], *w = &want->eps[j];
		const struct mzap_net *on;

		err = 0;
		if (c < 0) {
			err = push(&raw, MZAP_EP_DEL, o, NULL, 0), i++;
		} else if (c > 0) {
			err = push(&raw, MZAP_EP_ADD, w, NULL, 0), j++;
		} else {
			on = net_of(cur->nets, cur->n_nets, o->vni, o->ip);
			if (!same_ep(o, w) || (on && dropped[on - cur->nets]))
				err = push(&raw, MZAP_EP_DEL, o, NULL, 0) ?:
					      push(&raw, MZAP_EP_ADD, w, NULL,
						   0);
			i++, j++;
		}
		if (err)
			goto out;
	}

	/* Lists the file leaves out are left alone. */
	for (i = 0, j = 0;
	     want->has_peers && (i < cur->n_peers || j < want->n_peers);) {
		int c = i == cur->n_peers ?
				1 :
			j == want->n_peers ?
				-1 :
				peer_cmp(&cur->peers[i], &want->peers[j]);

		if (c < 0)
			err = push(&raw, MZAP_PEER_DEL, &cur->peers[i++], NULL,
				   0);
		else if (c > 0)
			err = push(&raw, MZAP_PEER_ADD, &want->peers[j++], NULL,
				   0);
		else
			err = 0, i++, j++;
		if (err)
			goto out;
	}
	for (i = 0, j = 0; want->has_protect &&
			   (i < cur->n_protect || j < want->n_protect);) {
		int c = i == cur->n_protect ?
				1 :
			j == want->n_protect ?
				-1 :
				cidr_cmp(&cur->protect[i], &want->protect[j]);

		if (c < 0)
			err = push(&raw, MZAP_PROTECT_DEL, &cur->protect[i++],
				   NULL, 0);
		else if (c > 0)
			err = push(&raw, MZAP_PROTECT_ADD, &want->protect[j++],
				   NULL, 0);
		else
			err = 0, i++, j++;
		if (err)
			goto out;
	}

	if ((err = diff_nfs(cur, want, &raw)))
		goto out;

	/* Phases in enum order; within a phase, the order of generation. */
	err = -ENOMEM;
	n = MZAP_OP_KINDS;
	count = calloc(n + 1, sizeof(*count));
	if (!count)
		goto out;
	for (i = 0; i < raw.n; i++)
		count[raw.ops[i].kind + 1]++;
	for (i = 1; i <= n; i++)
		count[i] += count[i - 1];
	mzap_plan_free(plan);
	plan->ops = calloc(raw.n + 1, sizeof(*plan->ops));
	if (!plan->ops)
		goto out;
	plan->n = plan->cap = raw.n;
	for (i = 0; i < raw.n; i++)
		plan->ops[count[raw.ops[i].kind]++] = raw.ops[i];
	err = 0;
out:
	free(count);
	free(dropped);
	mzap_plan_free(&raw);
	return err;
}

/* ---- Formatting ----------------------------------------------------------------- */

static void addrs_str(const struct in_addr *a, unsigned int n, char *buf,
		      size_t len)
{
	char ip[INET_ADDRSTRLEN];
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? "," : "",
				mzctl_ip_str(a[i], ip));
	if (!n)
		snprintf(buf, len, "none");
}

void mzap_op_str(const struct mzap_op *op, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], mac[18];
	char l1[8 * 16 + 8], l2[8 * 16 + 8];
	const struct mzap_vpc *v = op->obj, *vo = op->old;
	const struct mzap_net *n = op->obj, *no = op->old;
	const struct mzap_ep *e = op->obj;
	const struct mzap_nf *f = op->obj, *fo = op->old;

	const struct in_addr *peer = op->obj;
	const struct mzap_cidr *pr = op->obj;

	switch (op->kind) {
	case MZAP_PEER_ADD:
	case MZAP_PEER_DEL:
		snprintf(buf, len, "%c peer %s",
			 op->kind == MZAP_PEER_ADD ? '+' : '-',
			 mzctl_ip_str(*peer, a));
		break;
	case MZAP_PROTECT_ADD:
	case MZAP_PROTECT_DEL:
		snprintf(buf, len, "%c protect %s/%u",
			 op->kind == MZAP_PROTECT_ADD ? '+' : '-',
			 mzctl_ip_str(pr->addr, a), pr->len);
		break;
	case MZAP_VPC_ADD:
		addrs_str(v->dividers, v->n_dividers, l1, sizeof(l1));
		snprintf(buf, len, "+ vpc vni %u dividers %s", v->vni, l1);
		break;
	case MZAP_VPC_DEL:
		snprintf(buf, len, "- vpc vni %u", v->vni);
		break;
	case MZAP_VPC_SET:
		addrs_str(v->dividers, v->n_dividers, l1, sizeof(l1));
		addrs_str(vo->dividers, vo->n_dividers, l2, sizeof(l2));
		snprintf(buf, len, "~ vpc vni %u dividers %s (was %s)", v->vni,
			 l1, l2);
		break;
	case MZAP_NET_ADD:
		addrs_str(n->bouncers, n->n_bouncers, l1, sizeof(l1));
		snprintf(buf, len,
			 "+ net vni %u prefix %s/%u gw %s bouncers %s", n->vni,
			 mzctl_ip_str(n->prefix, a), n->prefixlen,
			 mzctl_ip_str(n->gw, b), l1);
		break;
	case MZAP_NET_DEL:
		snprintf(buf, len, "- net vni %u prefix %s/%u", n->vni,
			 mzctl_ip_str(n->prefix, a), n->prefixlen);
		break;
	case MZAP_NET_SET:
		addrs_str(n->bouncers, n->n_bouncers, l1, sizeof(l1));
		addrs_str(no->bouncers, no->n_bouncers, l2, sizeof(l2));
		snprintf(buf, len,
			 "~ net vni %u prefix %s/%u bouncers %s (was %s)",
			 n->vni, mzctl_ip_str(n->prefix, a), n->prefixlen, l1,
			 l2);
		break;
	case MZAP_EP_ADD:
	case MZAP_EP_DEL:
		snprintf(buf, len, "%c ep vni %u ip %s mac %s host %s%s%s%s%s",
			 op->kind == MZAP_EP_ADD ? '+' : '-', e->vni,
			 mzctl_ip_str(e->ip, a), mzctl_mac_str(e->mac, mac),
			 mzctl_ip_str(e->host, b),
			 e->n_hosts ? " (scaled)" : "",
			 e->dev[0] ? " dev " : "",
			 e->dev,
			 e->flags & MZR_EP_BYPASS_DECAP ? " bypass-decap" : "");
		break;
	case MZAP_NF_ADD:
		snprintf(buf, len, "+ nf %s hook %s pos %d obj %s%s%s", f->name,
			 mzr_hook_name(f->hook), op->pos, f->obj,
			 f->prog[0] ? " prog " : "", f->prog);
		break;
	case MZAP_NF_DEL:
		snprintf(buf, len, "- nf %s hook %s pos %d", f->name,
			 mzr_hook_name(f->hook), f->pos);
		break;
	case MZAP_NF_REPLACE:
		snprintf(buf, len, "~ nf %s obj %s%s%s (was %s prog %s)",
			 f->name, f->obj, f->prog[0] ? " prog " : "", f->prog,
			 fo->obj, fo->prog);
		break;
	}
}
