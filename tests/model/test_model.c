// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The control plane against a model. A seeded random sequence of VPC,
 * network, endpoint and NF-chain operations, valid and invalid, goes
 * through the API and (a share of them) through the mizarctl binary;
 * after every step the state read back (the API's iterators, and
 * `mizarctl dump` after each CLI step and every 100 steps) must equal
 * what a small in-test model of the same objects says, and each call must
 * fail exactly when the model says, with the model's errno (the CLI: a
 * non-zero exit and one line on stderr). Peer references (dividers,
 * bouncers, endpoint hosts) are checked against the model too.
 *
 *   test_model [--ops N] [--seed S] [--procs 2] [--cli-pct P] [--selftest]
 *
 * --procs 2: two processes interleave, each with its own handle, its own
 * VNIs and NF hooks (a partition checked against its own model after each
 * step), plus contended writes on one shared VPC (endpoints and a network
 * added and deleted by both); at the end, per shared object, successful
 * creates minus successful deletes must equal what is there, every
 * endpoint must lie in a network of its VPC, and the peer references and
 * `mizarctl dump` must match the tables. --selftest breaks the model once
 * (a network with endpoints may be deleted) and passes only if the check
 * notices. The seed is printed; --ops N --seed S reproduces a run (a
 * single-process one exactly).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <mizar/host.h>
#include <mizar/nf.h>
#include <bpf/libbpf.h>

#include "testenv.h"

#define MAXV 16
#define MAXN 64
#define MAXE 512
#define NHOOK 5
#define MAXF 16
#define NVNI 6
#define SHARED_VNI 9000
#define N_SHARED_EP 16

/* ---- State: what the model holds and what is read back ------------------ */

struct vpc {
	uint32_t vni;
	unsigned int nd;
	uint32_t d[MZR_MAX_DIVIDERS_PER_VPC];
};

struct net {
	uint32_t vni, pfx, gw;
	unsigned int len, nb;
	uint32_t b[MZR_MAX_BOUNCERS_PER_NET];
};

struct ep {
	uint32_t vni, ip, host, flags;
	uint8_t mac[6];
};

struct state {
	int nv, nn, ne;
	struct vpc v[MAXV];
	struct net n[MAXN];
	struct ep e[MAXE];
	/* NF chains: names per hook, in chain order. */
	int flen[NHOOK];
	char f[NHOOK][MAXF][32];
};

/* Contended objects of --procs 2, tallied by both writers. */
struct tally {
	long ep_add[N_SHARED_EP], ep_del[N_SHARED_EP];
	long net_add, net_del;
	long unexpected;
};

static struct mzr_host *h;
static char root[192];
static const char *mizarctl = MZR_MIZARCTL;
static const char *nf_obj = MZR_NF_OBJ;
static uint64_t rng;
static long step;
static bool selftest;
static int cli_pct = 10;
static int part = -1;		/* child index with --procs 2, else -1 */
static uint32_t vni_base = 100;
static struct tally *tally;
static long n_api, n_cli, n_fail_ok, n_dumps, n_ok[2];

static uint64_t rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)(rnd64() >> 33) % n;
}

static bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}

static const char *ipstr(uint32_t a, char *buf)
{
	struct in_addr in = { htonl(a) };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static uint32_t ip4(int a, int b, int c, int d)
{
	return (uint32_t)a << 24 | b << 16 | c << 8 | d;
}

static uint32_t mask(unsigned int len)
{
	return len ? ~0U << (32 - len) : 0;
}

/* ---- Rendering, in `mizarctl dump`'s format ---------------------------- */

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_vpc(const void *a, const void *b)
{
	return cmp_u32(((const struct vpc *)a)->vni,
		       ((const struct vpc *)b)->vni);
}

static int cmp_net(const void *a, const void *b)
{
	const struct net *x = a, *y = b;

	return x->vni != y->vni ? cmp_u32(x->vni, y->vni) :
				  cmp_u32(x->pfx, y->pfx);
}

static int cmp_ep(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;

	return x->vni != y->vni ? cmp_u32(x->vni, y->vni) :
				  cmp_u32(x->ip, y->ip);
}

static void put_addrs(FILE *f, const uint32_t *a, unsigned int n)
{
	char b[INET_ADDRSTRLEN];
	unsigned int i;

	fputc('[', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : " ", ipstr(a[i], b));
	fprintf(f, "%s]", n ? " " : "");
}

/* @s as `mizarctl dump` prints it (no explicit peers or protected
 * prefixes: this test adds none). Sorts @s. */
static char *render(struct state *s)
{
	char b1[INET_ADDRSTRLEN], b2[INET_ADDRSTRLEN];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int i, j, k, nf = 0;
	bool first;

	if (!f)
		test_die_err("open_memstream", -errno);
	qsort(s->v, s->nv, sizeof(s->v[0]), cmp_vpc);
	qsort(s->n, s->nn, sizeof(s->n[0]), cmp_net);
	qsort(s->e, s->ne, sizeof(s->e[0]), cmp_ep);
	fprintf(f, "{\n  \"version\": 1,\n  \"vpcs\": [");
	for (i = 0; i < s->nv; i++) {
		const struct vpc *v = &s->v[i];

		fprintf(f, "%s\n    {\n      \"vni\": %u,\n      \"dividers\": ",
			i ? "," : "", v->vni);
		put_addrs(f, v->d, v->nd);
		fprintf(f, ",\n      \"networks\": [");
		for (first = true, j = 0; j < s->nn; j++) {
			const struct net *n = &s->n[j];

			if (n->vni != v->vni)
				continue;
			fprintf(f, "%s\n        { \"prefix\": \"%s/%u\", \"gw\": \"%s\", \"bouncers\": ",
				first ? "" : ",", ipstr(n->pfx, b1), n->len,
				ipstr(n->gw, b2));
			put_addrs(f, n->b, n->nb);
			fprintf(f, " }");
			first = false;
		}
		fprintf(f, "%s],\n      \"endpoints\": [",
			first ? "" : "\n      ");
		for (first = true, j = 0; j < s->ne; j++) {
			const struct ep *e = &s->e[j];
			const uint8_t *m = e->mac;

			if (e->vni != v->vni)
				continue;
			fprintf(f, "%s\n        { \"ip\": \"%s\", \"mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\", \"host\": \"%s\"",
				first ? "" : ",", ipstr(e->ip, b1), m[0], m[1],
				m[2], m[3], m[4], m[5], ipstr(e->host, b2));
			if (e->flags & MZR_EP_BYPASS_DECAP)
				fprintf(f, ", \"bypass_decap\": true");
			fprintf(f, " }");
			first = false;
		}
		fprintf(f, "%s]\n    }", first ? "" : "\n      ");
	}
	fprintf(f, "%s],\n  \"nf\": [", s->nv ? "\n  " : "");
	for (k = 0; k < NHOOK; k++)
		for (j = 0; j < s->flen[k]; j++)
			fprintf(f, "%s\n    { \"name\": \"%s\", \"hook\": \"%s\", \"pos\": %d, \"obj\": \"%s\", \"prog\": \"nf_append\" }",
				nf++ ? "," : "", s->f[k][j], mzr_hook_name(k),
				j, nf_obj);
	fprintf(f, "%s]", nf ? "\n  " : "");
	fprintf(f, ",\n  \"peers\": [],\n  \"protect\": []\n}\n");
	fclose(f);
	return out;
}

/* ---- Reading the state back through the API ----------------------------- */

/* Whether VNI @vni / hook @hook belongs to this process's partition. */
static bool mine_vni(uint32_t vni)
{
	return vni >= vni_base && vni < vni_base + NVNI;
}

static bool mine_hook(int hook)
{
	return part < 0 || hook / 2 == part;
}

static int rd_vpc(const struct mzr_vpc_info *i, void *ctx)
{
	struct state *s = ctx;
	struct vpc *v;
	unsigned int k;

	if (part >= 0 && !mine_vni(i->vni))
		return 0;
	if (s->nv == MAXV)
		return -E2BIG;
	v = &s->v[s->nv++];
	v->vni = i->vni;
	v->nd = i->n_dividers;
	for (k = 0; k < i->n_dividers; k++)
		v->d[k] = ntohl(i->dividers[k].s_addr);
	return 0;
}

static int rd_net(const struct mzr_net_info *i, void *ctx)
{
	struct state *s = ctx;
	struct net *n;
	unsigned int k;

	if (part >= 0 && !mine_vni(i->vni))
		return 0;
	if (s->nn == MAXN)
		return -E2BIG;
	n = &s->n[s->nn++];
	n->vni = i->vni;
	n->pfx = ntohl(i->prefix.s_addr);
	n->len = i->prefixlen;
	n->gw = ntohl(i->gw.s_addr);
	n->nb = i->n_bouncers;
	for (k = 0; k < i->n_bouncers; k++)
		n->b[k] = ntohl(i->bouncers[k].s_addr);
	return 0;
}

static int rd_ep(const struct mzr_ep_info *i, void *ctx)
{
	struct state *s = ctx;
	struct ep *e;

	if (part >= 0 && !mine_vni(i->vni))
		return 0;
	if (s->ne == MAXE)
		return -E2BIG;
	e = &s->e[s->ne++];
	e->vni = i->vni;
	e->ip = ntohl(i->ip.s_addr);
	e->host = ntohl(i->host.s_addr);
	e->flags = i->flags;
	memcpy(e->mac, i->mac, 6);
	return 0;
}

static int rd_nf(const struct mzr_nf_info *i, void *ctx)
{
	struct state *s = ctx;
	int hk = i->hook;

	if (!mine_hook(hk))
		return 0;
	if (hk >= NHOOK || s->flen[hk] == MAXF || (int)i->pos != s->flen[hk])
		return -EPROTO; /* positions must run 0, 1, ... per hook */
	snprintf(s->f[hk][s->flen[hk]++], 32, "%s", i->name);
	return 0;
}

static void read_state(struct state *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = mzr_vpc__for_each(h, rd_vpc, s);
	err = err ?: mzr_net__for_each(h, 0, rd_net, s);
	err = err ?: mzr_ep__for_each(h, 0, rd_ep, s);
	err = err ?: mzr_host__nf_for_each(h, rd_nf, s);
	if (err)
		test_die_err("reading the state back", err);
}

/* ---- The model ---------------------------------------------------------- */

static struct state model;

static struct vpc *m_vpc(uint32_t vni)
{
	int i;

	for (i = 0; i < model.nv; i++)
		if (model.v[i].vni == vni)
			return &model.v[i];
	return NULL;
}

static struct net *m_net(uint32_t vni, uint32_t pfx, unsigned int len)
{
	int i;

	for (i = 0; i < model.nn; i++)
		if (model.n[i].vni == vni && model.n[i].pfx == pfx &&
		    model.n[i].len == len)
			return &model.n[i];
	return NULL;
}

/* The network of VPC @vni holding @ip (networks of a VPC never overlap). */
static struct net *m_net_of(uint32_t vni, uint32_t ip)
{
	int i;

	for (i = 0; i < model.nn; i++)
		if (model.n[i].vni == vni &&
		    !((ip ^ model.n[i].pfx) & mask(model.n[i].len)))
			return &model.n[i];
	return NULL;
}

static struct ep *m_ep(uint32_t vni, uint32_t ip)
{
	int i;

	for (i = 0; i < model.ne; i++)
		if (model.e[i].vni == vni && model.e[i].ip == ip)
			return &model.e[i];
	return NULL;
}

static bool ip_ok(uint32_t a)
{
	return a && a != 0xffffffffU && a >> 28 != 0xe && a >> 24 != 127;
}

static int addrs_ok(const uint32_t *a, unsigned int n, unsigned int max)
{
	unsigned int i, j;

	if (n > max)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (!ip_ok(a[i]))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (a[j] == a[i])
				return -EINVAL;
	}
	return 0;
}

static bool vni_ok(uint32_t vni)
{
	return vni >= 1 && vni <= 16777215;
}

static bool pfx_ok(uint32_t pfx, unsigned int len)
{
	return len <= 30 && !(pfx & ~mask(len));
}

static bool net_or_bcast(uint32_t pfx, unsigned int len, uint32_t ip)
{
	uint32_t host = ip & ~mask(len);

	return !host || host == ~mask(len);
}

static int model_vpc_put(uint32_t vni, const uint32_t *d, unsigned int n,
			 bool create)
{
	struct vpc *v;
	int err;

	if (!vni_ok(vni))
		return -ERANGE;
	err = addrs_ok(d, n, MZR_MAX_DIVIDERS_PER_VPC);
	if (err)
		return err;
	v = m_vpc(vni);
	if (create && v)
		return -EEXIST;
	if (!create && !v)
		return -ENOENT;
	if (create)
		v = &model.v[model.nv++];
	v->vni = vni;
	v->nd = n;
	memcpy(v->d, d, n * sizeof(*d));
	return 0;
}

static int model_vpc_del(uint32_t vni)
{
	struct vpc *v;
	int i;

	if (!vni_ok(vni))
		return -ERANGE;
	v = m_vpc(vni);
	if (!v)
		return -ENOENT;
	for (i = 0; i < model.nn; i++)
		if (model.n[i].vni == vni)
			return -ENOTEMPTY;
	*v = model.v[--model.nv];
	return 0;
}

static int model_net_put(uint32_t vni, uint32_t pfx, unsigned int len,
			 const uint32_t *b, unsigned int n, uint32_t gw,
			 bool create)
{
	struct net *x;
	int i, err;

	if (!vni_ok(vni))
		return -ERANGE;
	if (!pfx_ok(pfx, len))
		return -EINVAL;
	if (!n)
		return -EDESTADDRREQ;
	err = addrs_ok(b, n, MZR_MAX_BOUNCERS_PER_NET);
	if (err)
		return err;
	if (create) {
		if (gw && (((gw ^ pfx) & mask(len)) ||
			   net_or_bcast(pfx, len, gw)))
			return -EINVAL;
		if (!m_vpc(vni))
			return -ENOENT;
		if (m_net(vni, pfx, len))
			return -EEXIST;
		for (i = 0; i < model.nn; i++) {
			unsigned int l = model.n[i].len < len ?
						 model.n[i].len : len;

			if (model.n[i].vni == vni &&
			    !((model.n[i].pfx ^ pfx) & mask(l)))
				return -EADDRINUSE;
		}
		x = &model.n[model.nn++];
		x->vni = vni;
		x->pfx = pfx;
		x->len = len;
		x->gw = gw ? gw : pfx + 1;
	} else {
		x = m_net(vni, pfx, len);
		if (!x)
			return -ENOENT;
	}
	x->nb = n;
	memcpy(x->b, b, n * sizeof(*b));
	return 0;
}

static int model_net_del(uint32_t vni, uint32_t pfx, unsigned int len)
{
	struct net *x;
	int i;

	if (!vni_ok(vni))
		return -ERANGE;
	if (!pfx_ok(pfx, len))
		return -EINVAL;
	x = m_net(vni, pfx, len);
	if (!x)
		return -ENOENT;
	/* --selftest: a model that forgets this rule must be caught. */
	for (i = 0; i < model.ne && !selftest; i++)
		if (model.e[i].vni == vni &&
		    !((model.e[i].ip ^ pfx) & mask(len)))
			return -ENOTEMPTY;
	*x = model.n[--model.nn];
	return 0;
}

static int model_ep_add(const struct ep *e)
{
	static const uint8_t zero[6];
	struct net *n;

	if (!vni_ok(e->vni))
		return -ERANGE;
	if (!ip_ok(e->ip) || (e->mac[0] & 1) || !memcmp(e->mac, zero, 6) ||
	    !ip_ok(e->host) || (e->flags & ~MZR_EP_BYPASS_DECAP))
		return -EINVAL;
	if (!m_vpc(e->vni))
		return -ENOENT;
	n = m_net_of(e->vni, e->ip);
	if (!n)
		return -EADDRNOTAVAIL;
	if (e->ip == n->gw)
		return -EADDRINUSE;
	if (net_or_bcast(n->pfx, n->len, e->ip))
		return -EADDRNOTAVAIL;
	if (m_ep(e->vni, e->ip))
		return -EEXIST;
	model.e[model.ne++] = *e;
	return 0;
}

static int model_ep_del(uint32_t vni, uint32_t ip)
{
	struct ep *e;

	if (!vni_ok(vni))
		return -ERANGE;
	e = m_ep(vni, ip);
	if (!e)
		return -ENOENT;
	*e = model.e[--model.ne];
	return 0;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 31)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static bool m_nf_find(const char *name, int *hk, int *pos)
{
	int k, j;

	for (k = 0; k < NHOOK; k++)
		for (j = 0; j < model.flen[k]; j++)
			if (!strcmp(model.f[k][j], name)) {
				*hk = k;
				*pos = j;
				return true;
			}
	return false;
}

static int model_nf_add(const char *name, int hook, int pos)
{
	int hk, p, len;

	if (!name_ok(name) || hook < 0 || hook >= NHOOK)
		return -EINVAL;
	if (m_nf_find(name, &hk, &p))
		return -EEXIST;
	len = model.flen[hook];
	if (pos == MZR_NF_POS_END)
		pos = len;
	if (pos < 0 || pos > len)
		return -ERANGE;
	if (len >= MAXF)
		return -ENOSPC;
	memmove(model.f[hook][pos + 1], model.f[hook][pos],
		(len - pos) * sizeof(model.f[hook][0]));
	snprintf(model.f[hook][pos], 32, "%s", name);
	model.flen[hook]++;
	return 0;
}

static int model_nf_del(const char *name)
{
	int hk, p;

	if (!m_nf_find(name, &hk, &p))
		return -ENOENT;
	memmove(model.f[hk][p], model.f[hk][p + 1],
		(model.flen[hk] - p - 1) * sizeof(model.f[hk][0]));
	model.flen[hk]--;
	return 0;
}

/* ---- Running mizarctl --------------------------------------------------- */

static char cli_err[4096], cli_out[1 << 17];

static void slurp(int fd, char *buf, size_t sz)
{
	ssize_t n, len = 0;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + len, sz - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
}

/* Run `mizarctl -r ROOT ARGS...`; its exit status (-1: did not exit). */
static int cli(char **args)
{
	char *argv[32] = { (char *)mizarctl, "-r", root };
	int i, st, ofd, efd;
	pid_t pid;

	for (i = 0; args[i]; i++)
		argv[3 + i] = args[i];
	argv[3 + i] = NULL;
	ofd = memfd_create("out", 0);
	efd = memfd_create("err", 0);
	if (ofd < 0 || efd < 0)
		test_die_err("memfd_create", -errno);
	pid = fork();
	if (pid < 0)
		test_die_err("fork", -errno);
	if (!pid) {
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(mizarctl, argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		test_die_err("waitpid", -errno);
	slurp(ofd, cli_out, sizeof(cli_out));
	slurp(efd, cli_err, sizeof(cli_err));
	n_cli++;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- Checking ----------------------------------------------------------- */

static char desc[512];
static const char *reproduce;

static void mismatch(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "MISMATCH at step %ld (%s): ", step, desc);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nreproduce: %s\n", reproduce);
	fflush(NULL);
	if (part >= 0)
		_exit(1); /* a writer: the bpffs is the parent's to clean */
	exit(selftest ? 0 : 1);
}

static void print_diff(const char *want, const char *got)
{
	fprintf(stderr, "---- model ----\n%s---- read back ----\n%s", want,
		got);
}

/* The model's peer references: every divider, bouncer and endpoint host
 * naming an address. */
struct peer_ref {
	uint32_t ip, refs;
};

static int rd_peer(const struct mzr_peer_info *i, void *ctx)
{
	struct peer_ref *p = ctx;
	int k;

	if (i->flags & (MZR_PEER_EXPLICIT | MZR_PEER_SELF))
		return -EPROTO; /* this test makes neither */
	for (k = 0; p[k].ip; k++)
		;
	if (k == 63)
		return -E2BIG;
	p[k].ip = ntohl(i->ip.s_addr);
	p[k].refs = i->refs;
	return 0;
}

static void ref(struct peer_ref *p, uint32_t ip)
{
	int k;

	for (k = 0; p[k].ip && p[k].ip != ip; k++)
		;
	p[k].ip = ip;
	p[k].refs++;
}

static int cmp_peer(const void *a, const void *b)
{
	const struct peer_ref *x = a, *y = b;

	return cmp_u32(x->ip ? x->ip : ~0U, y->ip ? y->ip : ~0U);
}

/* Peer references of state @s vs the host's peer table. */
static bool peers_match(const struct state *s, char *why, size_t sz)
{
	struct peer_ref want[64] = {}, got[64] = {};
	unsigned int i, k;
	int err;

	for (i = 0; i < (unsigned int)s->nv; i++)
		for (k = 0; k < s->v[i].nd; k++)
			ref(want, s->v[i].d[k]);
	for (i = 0; i < (unsigned int)s->nn; i++)
		for (k = 0; k < s->n[i].nb; k++)
			ref(want, s->n[i].b[k]);
	for (i = 0; i < (unsigned int)s->ne; i++)
		ref(want, s->e[i].host);
	err = mzr_host__peer_for_each(h, rd_peer, got);
	if (err) {
		snprintf(why, sz, "peer walk: %s", strerror(-err));
		return false;
	}
	qsort(want, 64, sizeof(want[0]), cmp_peer);
	for (i = 0; i < 64; i++) {
		char b[INET_ADDRSTRLEN];

		if (want[i].ip != got[i].ip || want[i].refs != got[i].refs) {
			char b2[INET_ADDRSTRLEN];

			snprintf(why, sz, "peer #%u: model %s refs %u, table %s refs %u",
				 i, ipstr(want[i].ip, b), want[i].refs,
				 ipstr(got[i].ip, b2), got[i].refs);
			return false;
		}
	}
	return true;
}

static void check_dump(const char *want)
{
	char *args[] = { "dump", NULL };
	int rc = cli(args);

	n_dumps++;
	if (rc) {
		mismatch("mizarctl dump exited %d: %s", rc, cli_err);
	} else if (strcmp(cli_out, want)) {
		print_diff(want, cli_out);
		mismatch("mizarctl dump differs from the model");
	}
}

static void check_state(bool dump)
{
	static struct state got, want;
	char *w, *g, why[256];

	read_state(&got);
	want = model;
	w = render(&want);
	g = render(&got);
	if (strcmp(w, g)) {
		print_diff(w, g);
		mismatch("state read through the API differs from the model");
	}
	if (part < 0 && !peers_match(&want, why, sizeof(why)))
		mismatch("%s", why);
	if (dump && part < 0)
		check_dump(w);
	free(w);
	free(g);
}

/* One operation's result against the model's: the API's errno, or for the
 * CLI success/failure with one line on stderr. */
static void check_result(bool via_cli, int want, int got)
{
	char w[64], g[64];

	if (!via_cli) {
		if (want != got) {
			mzr_strerror(want, w, sizeof(w));
			mzr_strerror(got, g, sizeof(g));
			mismatch("model says %d (%s), API returned %d (%s)",
				 want, w, got, g);
		}
	} else {
		char *nl = strchr(cli_err, '\n');
		bool one_line = nl && !nl[1];

		if (!want && got)
			mismatch("model says success, mizarctl exited %d: %s",
				 got, cli_err);
		if (want && (got != 1 && got != 2))
			mismatch("model says %s, mizarctl exited %d",
				 strerror(-want), got);
		if (want && !one_line)
			mismatch("mizarctl failed without exactly one line on stderr: '%s'",
				 cli_err);
		if (!want && cli_err[0])
			mismatch("mizarctl succeeded but wrote '%s'", cli_err);
	}
	if (want)
		n_fail_ok++;
	else
		n_ok[desc[0] == 'c' ? 1 : 0]++;
}

/* ---- Random operations -------------------------------------------------- */

static const uint32_t bad_ips[] = { 0, 0xffffffffU, 0xe0000005U, 0x7f000001U };

static uint32_t pick_peer(void)
{
	if (chance(4))
		return bad_ips[rnd(4)];
	return ip4(192, 168, 60, 1 + rnd(6));
}

/* A list of 0-3 peer addresses (sometimes 9: too many, or a duplicate). */
static unsigned int pick_list(uint32_t *a, bool cli_form)
{
	unsigned int n, i, j;

	n = chance(3) ? 9 : (cli_form ? 1 : 0) + rnd(cli_form ? 3 : 4);
	for (i = 0; i < n; i++) {
again:
		a[i] = pick_peer();
		if (!chance(5))
			for (j = 0; j < i; j++)
				if (a[j] == a[i] && n <= 6)
					goto again;
	}
	return n;
}

static uint32_t pick_vni(void)
{
	static const uint32_t bad[] = { 0, 16777216, 0xffffffffU };

	if (chance(4))
		return bad[rnd(3)];
	return vni_base + rnd(NVNI);
}

struct pfx {
	uint32_t a;
	unsigned int len;
};

static struct pfx pick_pfx(void)
{
	static const struct pfx good[] = {
		{ 0x0a000000, 16 }, { 0x0a000100, 24 }, { 0x0a000200, 24 },
		{ 0x0a000100, 28 }, { 0x0a010000, 24 }, { 0x0a010010, 28 },
		{ 0x0a000110, 28 }, { 0x0a010000, 30 },
	};
	static const struct pfx bad[] = {
		{ 0x0a000101, 24 }, { 0x0a000000, 31 }, { 0x0a010000, 32 },
	};

	if (chance(5))
		return bad[rnd(3)];
	return good[rnd(sizeof(good) / sizeof(good[0]))];
}

static uint32_t pick_ep_ip(void)
{
	static const int last[] = { 0, 1, 2, 3, 7, 15, 16, 17, 18, 255 };

	if (chance(3))
		return bad_ips[rnd(2) * 2];
	return ip4(10, rnd(2), rnd(3), last[rnd(10)]);
}

static void fmt_list(char *buf, size_t sz, const uint32_t *a, unsigned int n)
{
	char b[INET_ADDRSTRLEN];
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n && len < sz; i++)
		len += snprintf(buf + len, sz - len, "%s%s", i ? "," : "",
				ipstr(a[i], b));
}

static void nf_name(char *buf, bool allow_bad)
{
	static const char *const bad[] = {
		"", "bad name", "x/y", "a123456789012345678901234567890123",
	};

	if (allow_bad && chance(5))
		strcpy(buf, bad[rnd(4)]);
	else
		sprintf(buf, "m%dn%u", part < 0 ? 0 : part, rnd(4));
}

static int pick_hook(void)
{
	if (chance(3))
		return 7; /* not a hook */
	return part < 0 ? (int)rnd(NHOOK) : part * 2 + (int)rnd(2);
}

/* Insert through the API: a fresh handle each time (the chain keeps the
 * program). */
static int api_nf_add(const char *name, int hook, int pos)
{
	struct mzr_nf *nf = mzr_nf__open_file(nf_obj, NULL);
	int err;

	if (!nf)
		test_die_err("mzr_nf__open_file", -errno);
	err = mzr_host__nf_insert(h, name, nf, hook, pos);
	mzr_nf__close(nf);
	return err;
}

static void one_op(void)
{
	bool c = chance(cli_pct);
	char b1[INET_ADDRSTRLEN], b2[INET_ADDRSTRLEN], b3[INET_ADDRSTRLEN];
	char vs[16], ps[40], ls[256], ms[24], name[64], pos_s[16];
	uint32_t list[9], vni = pick_vni();
	unsigned int n, op = rnd(100);
	int want, got = 0;
	struct pfx p;

	snprintf(vs, sizeof(vs), "%u", vni);
	/* Networks mostly go to existing VPCs. */
	if (op >= 18 && op < 47 && model.nv && chance(60)) {
		vni = model.v[rnd(model.nv)].vni;
		snprintf(vs, sizeof(vs), "%u", vni);
	}
	if (op < 8) { /* vpc create */
		n = pick_list(list, false);
		if (c && !n) {
			char *a[] = { "vpc", "add", "vni", vs, NULL };

			got = cli(a);
		} else if (c) {
			fmt_list(ls, sizeof(ls), list, n);
			char *a[] = { "vpc", "add", "vni", vs, "dividers", ls,
				      NULL };

			got = cli(a);
		} else {
			struct in_addr d[9];

			for (unsigned int i = 0; i < n; i++)
				d[i].s_addr = htonl(list[i]);
			got = mzr_vpc__create(h, vni, d, n);
		}
		snprintf(desc, sizeof(desc), "%s vpc create %u (%u dividers)",
			 c ? "cli" : "api", vni, n);
		want = model_vpc_put(vni, list, n, true);
	} else if (op < 12) { /* vpc update */
		n = pick_list(list, c);
		if (c) {
			fmt_list(ls, sizeof(ls), list, n);
			char *a[] = { "vpc", "set", "vni", vs, "dividers", ls,
				      NULL };

			got = cli(a);
		} else {
			struct in_addr d[9];

			for (unsigned int i = 0; i < n; i++)
				d[i].s_addr = htonl(list[i]);
			got = mzr_vpc__update(h, vni, d, n);
		}
		snprintf(desc, sizeof(desc), "%s vpc update %u (%u dividers)",
			 c ? "cli" : "api", vni, n);
		want = model_vpc_put(vni, list, n, false);
	} else if (op < 18) { /* vpc delete */
		if (c) {
			char *a[] = { "vpc", "del", "vni", vs, NULL };

			got = cli(a);
		} else {
			got = mzr_vpc__delete(h, vni);
		}
		snprintf(desc, sizeof(desc), "%s vpc delete %u",
			 c ? "cli" : "api", vni);
		want = model_vpc_del(vni);
	} else if (op < 37) { /* net create / update */
		bool create = op < 31;
		uint32_t gw = 0;

		p = pick_pfx();
		n = pick_list(list, c);
		if (create && chance(25))
			gw = chance(80) ? p.a + rnd(1U << (32 - p.len)) :
					  ip4(10, 9, 9, 9);
		snprintf(ps, sizeof(ps), "%s/%u", ipstr(p.a, b1), p.len);
		if (c) {
			char *a[12] = { "net", create ? "add" : "set", "vni",
					vs, "prefix", ps, "bouncers", ls };

			fmt_list(ls, sizeof(ls), list, n);
			if (gw) {
				a[8] = "gw";
				a[9] = (char *)ipstr(gw, b2);
			}
			got = cli(a);
		} else {
			struct in_addr b[9];
			MZR_OPTS(mzr_net_opts, o,
				 .gw = { .s_addr = htonl(gw) });

			for (unsigned int i = 0; i < n; i++)
				b[i].s_addr = htonl(list[i]);
			got = create ? mzr_net__create(h, vni,
						       test_in4(p.a), p.len,
						       b, n, &o) :
				       mzr_net__update(h, vni, test_in4(p.a),
						       p.len, b, n);
		}
		snprintf(desc, sizeof(desc), "%s net %s %u %s (%u bouncers, gw %s)",
			 c ? "cli" : "api", create ? "create" : "update",
			 vni, ps, n, ipstr(gw, b3));
		want = model_net_put(vni, p.a, p.len, list, n, gw, create);
	} else if (op < 47) { /* net delete */
		p = pick_pfx();
		snprintf(ps, sizeof(ps), "%s/%u", ipstr(p.a, b1), p.len);
		if (c) {
			char *a[] = { "net", "del", "vni", vs, "prefix", ps,
				      NULL };

			got = cli(a);
		} else {
			got = mzr_net__delete(h, vni, test_in4(p.a), p.len);
		}
		snprintf(desc, sizeof(desc), "%s net delete %u %s",
			 c ? "cli" : "api", vni, ps);
		want = model_net_del(vni, p.a, p.len);
	} else if (op < 74) { /* endpoint create */
		struct ep e = { .vni = vni, .ip = pick_ep_ip(),
				.host = pick_peer() };

		/* Mostly a host of an existing network, or few would join. */
		if (model.nn && chance(70)) {
			struct net *x = &model.n[rnd(model.nn)];

			e.vni = vni = x->vni;
			e.ip = x->pfx + rnd(1U << (32 - x->len));
			snprintf(vs, sizeof(vs), "%u", vni);
		}

		e.mac[0] = 0x02;
		e.mac[4] = rnd(256);
		e.mac[5] = rnd(256);
		if (chance(3))
			e.mac[0] = rnd(2); /* 00:..: zero or multicast */
		if (e.mac[0] == 0)
			memset(e.mac, 0, 6);
		if (chance(8))
			e.flags = MZR_EP_BYPASS_DECAP;
		if (!c && chance(2))
			e.flags = 0x100;
		snprintf(ms, sizeof(ms), "%02x:%02x:%02x:%02x:%02x:%02x",
			 e.mac[0], e.mac[1], e.mac[2], e.mac[3], e.mac[4],
			 e.mac[5]);
		if (c) {
			char *a[] = { "ep", "add", "vni", vs, "ip",
				      (char *)ipstr(e.ip, b1), "mac", ms,
				      "host", (char *)ipstr(e.host, b2),
				      e.flags ? "bypass-decap" : NULL, NULL };

			got = cli(a);
		} else {
			struct mzr_ep_spec s = {
				.vni = vni, .ip = test_in4(e.ip),
				.host = test_in4(e.host), .flags = e.flags,
			};

			memcpy(s.mac, e.mac, 6);
			got = mzr_ep__create(h, &s);
		}
		snprintf(desc, sizeof(desc), "%s ep create %u %s mac %s host %s flags %#x",
			 c ? "cli" : "api", vni, ipstr(e.ip, b1), ms,
			 ipstr(e.host, b2), e.flags);
		want = model_ep_add(&e);
	} else if (op < 92) { /* endpoint delete */
		uint32_t ip = pick_ep_ip();

		/* Mostly an existing one, or nothing would be deleted. */
		if (model.ne && chance(60)) {
			struct ep *e = &model.e[rnd(model.ne)];

			vni = e->vni;
			ip = e->ip;
			snprintf(vs, sizeof(vs), "%u", vni);
		}
		if (c) {
			char *a[] = { "ep", "del", "vni", vs, "ip",
				      (char *)ipstr(ip, b1), NULL };

			got = cli(a);
		} else {
			got = mzr_ep__delete(h, vni, test_in4(ip));
		}
		snprintf(desc, sizeof(desc), "%s ep delete %u %s",
			 c ? "cli" : "api", vni, ipstr(ip, b1));
		want = model_ep_del(vni, ip);
	} else if (op < 96) { /* NF insert */
		int hook = pick_hook(), pos = chance(50) ? MZR_NF_POS_END :
							   (int)rnd(4);

		nf_name(name, true);
		/* The CLI refuses an empty name or an unknown hook before the
		 * library: both are errors for the model too. */
		if (c) {
			char *a[12] = { "nf", "add", name, "obj",
					(char *)nf_obj, "hook",
					hook < NHOOK ? (char *)mzr_hook_name(hook) :
						       "nohook" };

			if (pos != MZR_NF_POS_END) {
				snprintf(pos_s, sizeof(pos_s), "%d", pos);
				a[7] = "pos";
				a[8] = pos_s;
			}
			got = cli(a);
		} else {
			got = api_nf_add(name, hook, pos);
		}
		snprintf(desc, sizeof(desc), "%s nf insert '%s' hook %d pos %d",
			 c ? "cli" : "api", name, hook, pos);
		want = model_nf_add(name, hook, pos);
	} else { /* NF remove */
		nf_name(name, false);
		if (c) {
			char *a[] = { "nf", "del", name, NULL };

			got = cli(a);
		} else {
			got = mzr_host__nf_remove(h, name);
		}
		snprintf(desc, sizeof(desc), "%s nf remove '%s'",
			 c ? "cli" : "api", name);
		want = model_nf_del(name);
	}
	if (!c)
		n_api++;
	check_result(c, want, got);
	check_state(c || step % 100 == 0);
}

/* ---- Contended writes on the shared VPC (--procs 2) --------------------- */

static uint32_t shared_ip(unsigned int k)
{
	return ip4(10, 200, k / 8, 2 + k % 8);
}

static void contended_op(void)
{
	unsigned int k = rnd(N_SHARED_EP), what = rnd(10);
	struct in_addr b = test_in4(ip4(192, 168, 60, 1 + rnd(6)));
	int err;

	if (what < 4) {
		struct mzr_ep_spec s = {
			.vni = SHARED_VNI, .ip = test_in4(shared_ip(k)),
			.host = b, .mac = { 2, 0, 0, 0, 0, k + 1 },
		};

		err = mzr_ep__create(h, &s);
		if (!err)
			__atomic_fetch_add(&tally->ep_add[k], 1,
					   __ATOMIC_SEQ_CST);
		else if (err != -EEXIST && err != -EADDRNOTAVAIL)
			goto unexpected;
	} else if (what < 8) {
		err = mzr_ep__delete(h, SHARED_VNI, test_in4(shared_ip(k)));
		if (!err)
			__atomic_fetch_add(&tally->ep_del[k], 1,
					   __ATOMIC_SEQ_CST);
		else if (err != -ENOENT)
			goto unexpected;
	} else if (what == 8) {
		err = mzr_net__create(h, SHARED_VNI,
				      test_in4(ip4(10, 200, 1, 0)), 24, &b, 1,
				      NULL);
		if (!err)
			__atomic_fetch_add(&tally->net_add, 1,
					   __ATOMIC_SEQ_CST);
		else if (err != -EEXIST)
			goto unexpected;
	} else {
		err = mzr_net__delete(h, SHARED_VNI,
				      test_in4(ip4(10, 200, 1, 0)), 24);
		if (!err)
			__atomic_fetch_add(&tally->net_del, 1,
					   __ATOMIC_SEQ_CST);
		else if (err != -ENOENT && err != -ENOTEMPTY)
			goto unexpected;
	}
	return;
unexpected:
	fprintf(stderr, "writer %d: contended op %u on key %u: unexpected %s\n",
		part, what, k, strerror(-err));
	__atomic_fetch_add(&tally->unexpected, 1, __ATOMIC_SEQ_CST);
}

/* The shared VPC after both writers: each object's successful creates
 * minus deletes is what is there, and every endpoint has its network. */
static void check_shared(void)
{
	struct mzr_ep_info ei;
	struct mzr_net_info ni;
	unsigned int k;
	long d;
	bool net;

	net = !mzr_net__get(h, SHARED_VNI, test_in4(ip4(10, 200, 1, 0)), 24,
			    &ni);
	d = tally->net_add - tally->net_del;
	CHECK(d == net, "shared network: %ld creates - %ld deletes = %ld, present %d",
	      tally->net_add, tally->net_del, d, net);
	for (k = 0; k < N_SHARED_EP; k++) {
		bool there = !mzr_ep__get(h, SHARED_VNI,
					  test_in4(shared_ip(k)), &ei);

		d = tally->ep_add[k] - tally->ep_del[k];
		if (d != there || (k >= 8 && there && !net))
			CHECK(false, "shared endpoint %u: %ld creates - %ld deletes, present %d, its network %d",
			      k, tally->ep_add[k], tally->ep_del[k], there,
			      k < 8 || net);
	}
	for (d = 0, k = 0; k < N_SHARED_EP; k++)
		d += tally->ep_add[k] + tally->ep_del[k];
	printf("contended: %ld endpoint creates/deletes, %ld network creates/deletes on VPC %u\n",
	       d, tally->net_add + tally->net_del, SHARED_VNI);
	CHECK(!tally->unexpected, "contended writes: %ld unexpected errors",
	      tally->unexpected);
}

/* ---- Main ---------------------------------------------------------------- */

static int quiet_print(enum mzr_print_level level, const char *fmt,
		       va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

static void run(long ops, uint64_t seed)
{
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (step = 1; step <= ops; step++) {
		if (part >= 0 && chance(10))
			contended_op();
		one_op();
	}
	check_state(part < 0);
}

static struct mzr_host *open_host(void)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root);
	struct mzr_host *x = mzr_host__open_pinned(&o);

	if (!x)
		test_die_err("mzr_host__open_pinned", -errno);
	return x;
}

int main(int argc, char **argv)
{
	long ops = 10000;
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	int i, procs = 1;
	char repro[256], bpffs[128];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			ops = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--procs") && i + 1 < argc)
			procs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cli-pct") && i + 1 < argc)
			cli_pct = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--selftest"))
			selftest = true;
		else {
			fprintf(stderr, "usage: %s [--ops N] [--seed S] [--procs 1|2] [--cli-pct P] [--selftest]\n",
				argv[0]);
			return 2;
		}
	}
	if ((procs != 1 && procs != 2) || (selftest && procs != 1)) {
		fprintf(stderr, "--procs: 1 or 2 (--selftest: 1)\n");
		return 2;
	}
	snprintf(repro, sizeof(repro), "%s --ops %ld --seed %llu --procs %d --cli-pct %d%s",
		 argv[0], ops, (unsigned long long)seed, procs, cli_pct,
		 selftest ? " --selftest" : "");
	reproduce = repro;
	printf("seed %llu (reproduce: %s)\n", (unsigned long long)seed, repro);
	fflush(stdout);
	test_require_root();
	if (access(mizarctl, X_OK) || access(nf_obj, R_OK))
		test_die_err("mizarctl or the NF object is not built", -ENOENT);
	test_bpffs_mount(bpffs);
	snprintf(root, sizeof(root), "%s/model", bpffs);
	if (!getenv("MZR_TEST_VERBOSE")) {
		mzr_set_print(quiet_print);
		libbpf_set_print(NULL);
	}
	{
		MZR_OPTS(mzr_host_opts, o, .pin_root = root);

		h = mzr_host__open(&o);
		if (!h)
			test_die_err("mzr_host__open", -errno);
		test_api(mzr_host__load(h), "mzr_host__load");
	}

	if (procs == 1) {
		run(ops, seed);
		if (selftest) {
			fprintf(stderr, "selftest: the broken model went unnoticed\n");
			return 1;
		}
		printf("%ld steps: %ld API calls, %ld mizarctl runs (%ld dumps); %ld succeeded (%ld through the API, %ld through mizarctl), %ld failed as the model said; state = model after each\n",
		       ops, n_api, n_cli, n_dumps, n_ok[0] + n_ok[1],
		       n_ok[0], n_ok[1], n_fail_ok);
		CHECK(n_fail_ok > ops / 10 && n_fail_ok < ops * 9 / 10,
		      "valid and invalid operations both ran");
		return test_report();
	}

	/* Two writers: the shared VPC and its first network exist first. */
	{
		struct in_addr b = test_in4(ip4(192, 168, 60, 1));
		pid_t pids[2];
		int st, bad = 0;

		test_api(mzr_vpc__create(h, SHARED_VNI, NULL, 0), "shared vpc");
		test_api(mzr_net__create(h, SHARED_VNI,
					 test_in4(ip4(10, 200, 0, 0)), 24, &b,
					 1, NULL),
			 "shared network");
		tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (tally == MAP_FAILED)
			test_die_err("mmap", -errno);
		fflush(NULL);
		for (i = 0; i < 2; i++) {
			pids[i] = fork();
			if (pids[i] < 0)
				test_die_err("fork", -errno);
			if (!pids[i]) {
				/* _exit: the bpffs belongs to the parent. */
				part = i;
				vni_base = 100 * (i + 1);
				h = open_host();
				run(ops / 2, seed + i);
				printf("writer %d: %ld steps, %ld API calls, %ld mizarctl runs, %ld expected failures; partition = model after each\n",
				       i, ops / 2, n_api, n_cli, n_fail_ok);
				/* _exit: exit() would run the parent's atexit
				 * cleanup, unmounting the shared bpffs. */
				fflush(NULL);
				_exit(0);
			}
		}
		for (i = 0; i < 2; i++) {
			if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
			    WEXITSTATUS(st))
				bad++;
		}
		CHECK(!bad, "both writers matched their models");
		check_shared();
		/* Whole-host consistency: peer references and dump. */
		{
			static struct state all;
			char why[256], *w;

			read_state(&all);
			CHECK(peers_match(&all, why, sizeof(why)),
			      "peer references equal the tables' (%s)",
			      peers_match(&all, why, sizeof(why)) ? "ok" : why);
			w = render(&all);
			snprintf(desc, sizeof(desc), "final dump");
			check_dump(w);
			free(w);
		}
		return test_report();
	}
}
