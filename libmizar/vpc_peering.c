// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VPC peerings: the divider's table mzr_vpc_peers, (VNI X, prefix P) ->
 * VPC Y holding P. A peering of A and B is (A, B's prefixes) -> B plus
 * (B, A's prefixes) -> A; the table is its only record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include <mizar/vpc_peering.h>
#include "host_priv.h"
#include "internal.h"

struct route {
	struct mzr_net_key k;
	struct mzr_vpc_peer_val v;
};

struct routes {
	struct route *r;
	size_t n, cap;
};

static uint32_t mask_of(unsigned int len)
{
	return len ? ~0U << (32 - len) : 0;
}

/* Whether two prefixes share an address. */
static bool overlap(__be32 a, unsigned int alen, __be32 b, unsigned int blen)
{
	uint32_t m = mask_of(alen < blen ? alen : blen);

	return ((ntohl(a) ^ ntohl(b)) & m) == 0;
}

/* Whether prefix a/alen lies inside b/blen. */
static bool inside(__be32 a, unsigned int alen, __be32 b, unsigned int blen)
{
	return alen >= blen && overlap(a, alen, b, blen);
}

static int push(struct routes *rs, const struct mzr_net_key *k,
		const struct mzr_vpc_peer_val *v)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 64;
		struct route *r = realloc(rs->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->n].k = *k;
	if (v)
		rs->r[rs->n].v = *v;
	rs->n++;
	return 0;
}

/* Every entry of an LPM trie @fd (keys struct mzr_net_key); values of
 * size @vsz into @vals when not NULL. */
static int dump_keys(int fd, struct routes *rs, bool with_vals)
{
	struct mzr_net_key k, next;
	struct mzr_vpc_peer_val v;
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (with_vals && bpf_map_lookup_elem(fd, &k, &v))
			continue;
		err = push(rs, &k, with_vals ? &v : NULL);
		if (err)
			return err;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* The networks of VPC @vni this host knows, as (addr, len). */
static int vpc_nets(const struct mzr_host *h, uint32_t vni,
		    struct mzr_prefix *out, unsigned int max, unsigned int *n)
{
	struct routes rs = {};
	int err = dump_keys(mzri_fd(h, MZRI_MAP_NETS), &rs, false);

	*n = 0;
	for (size_t i = 0; !err && i < rs.n; i++) {
		if (ntohl(rs.r[i].k.vni) != vni)
			continue;
		if (*n == max) {
			err = -E2BIG;
			break;
		}
		out[*n].addr.s_addr = rs.r[i].k.addr;
		out[*n].len = rs.r[i].k.prefixlen - 32;
		(*n)++;
	}
	free(rs.r);
	return err;
}

#define MAX_NETS MZR_DEFAULT_MAX_NETWORKS

static const char *pfx_str(const struct mzr_prefix *p, char *buf)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, INET_ADDRSTRLEN + 4, "%s/%u", mzri_ntoa(p->addr, a),
		 p->len);
	return buf;
}

static int check_vnis(const char *what, uint32_t a, uint32_t b)
{
	if (!a || a > MZR_VNI_MAX || !b || b > MZR_VNI_MAX) {
		mzri_warn("%s: bad VNI (1-%u)\n", what, MZR_VNI_MAX);
		return -ERANGE;
	}
	return 0;
}

/* Whether peered prefix @p of VPC @vp overlaps one of the @nn networks
 * @nets of VPC @vn (said in a log line). */
static bool net_overlap(const char *what, const struct mzr_prefix *p,
			uint32_t vp, const struct mzr_prefix *nets,
			unsigned int nn, uint32_t vn)
{
	char b1[INET_ADDRSTRLEN + 4], b2[INET_ADDRSTRLEN + 4];
	unsigned int j;

	for (j = 0; j < nn; j++)
		if (overlap(p->addr.s_addr, p->len, nets[j].addr.s_addr,
			    nets[j].len)) {
			mzri_warn("%s: %s of VPC %u overlaps network %s of VPC %u\n",
				  what, pfx_str(p, b1), vp,
				  pfx_str(&nets[j], b2), vn);
			return true;
		}
	return false;
}

/* Which side each prefix is on, then the overlap rules. Fills @pa/@pb. */
static int peering_sides(const char *what, uint32_t va, uint32_t vb,
			 const struct mzr_prefix *pfx, unsigned int n,
			 const struct mzr_prefix *na, unsigned int nna,
			 const struct mzr_prefix *nb, unsigned int nnb,
			 struct mzr_prefix *pa, unsigned int *npa,
			 struct mzr_prefix *pb, unsigned int *npb)
{
	char b1[INET_ADDRSTRLEN + 4], b2[INET_ADDRSTRLEN + 4];
	unsigned int i, j;

	*npa = *npb = 0;
	if (!n) {
		if (nna > MZR_MAX_PEERING_PREFIXES ||
		    nnb > MZR_MAX_PEERING_PREFIXES) {
			mzri_warn("%s: more than %u networks in a VPC: name the prefixes\n",
				  what, MZR_MAX_PEERING_PREFIXES);
			return -EINVAL;
		}
		memcpy(pa, na, nna * sizeof(*pa));
		memcpy(pb, nb, nnb * sizeof(*pb));
		*npa = nna;
		*npb = nnb;
	}
	for (i = 0; i < n; i++) {
		bool in_a = false, in_b = false;

		if (pfx[i].len > 32 ||
		    (ntohl(pfx[i].addr.s_addr) & ~mask_of(pfx[i].len))) {
			mzri_warn("%s: bad prefix %s\n", what,
				  pfx_str(&pfx[i], b1));
			return -EINVAL;
		}
		for (j = 0; j < nna; j++)
			in_a |= inside(pfx[i].addr.s_addr, pfx[i].len,
				       na[j].addr.s_addr, na[j].len);
		for (j = 0; j < nnb; j++)
			in_b |= inside(pfx[i].addr.s_addr, pfx[i].len,
				       nb[j].addr.s_addr, nb[j].len);
		if (in_a && in_b) {
			mzri_warn("%s: %s is in networks of both VPC %u and VPC %u (overlapping)\n",
				  what, pfx_str(&pfx[i], b1), va, vb);
			return -EADDRINUSE;
		}
		if (!in_a && !in_b) {
			mzri_warn("%s: %s is inside no network of VPC %u or VPC %u\n",
				  what, pfx_str(&pfx[i], b1), va, vb);
			return -EADDRNOTAVAIL;
		}
		if (in_a)
			pa[(*npa)++] = pfx[i];
		else
			pb[(*npb)++] = pfx[i];
	}
	if (!*npa || !*npb) {
		mzri_warn("%s: nothing of VPC %u is peered\n", what,
			  *npa ? vb : va);
		return -EINVAL;
	}
	/* Clouds refuse peerings of overlapping address spaces: an address
	 * must mean one endpoint on either side. */
	for (i = 0; i < *npa; i++) {
		for (j = 0; j < *npb; j++)
			if (overlap(pa[i].addr.s_addr, pa[i].len,
				    pb[j].addr.s_addr, pb[j].len))
				goto clash;
		if (net_overlap(what, &pa[i], va, nb, nnb, vb))
			return -EADDRINUSE;
	}
	for (i = 0; i < *npb; i++)
		if (net_overlap(what, &pb[i], vb, na, nna, va))
			return -EADDRINUSE;
	return 0;
clash:
	mzri_warn("%s: %s of VPC %u overlaps %s of VPC %u\n", what,
		  pfx_str(&pa[i], b1), va, pfx_str(&pb[j], b2), vb);
	return -EADDRINUSE;
}

static int peering_create(struct mzr_host *h, uint32_t va, uint32_t vb,
			  const struct mzr_prefix *pfx, unsigned int n)
{
	const char *what = "vpc peering create";
	struct mzr_prefix *na = NULL, *nb = NULL;
	struct mzr_prefix pa[MZR_MAX_PEERING_PREFIXES];
	struct mzr_prefix pb[MZR_MAX_PEERING_PREFIXES];
	unsigned int nna, nnb, npa, npb, i, added = 0;
	char b1[INET_ADDRSTRLEN + 4];
	struct mzr_net_key add[2 * MZR_MAX_PEERING_PREFIXES];
	struct mzr_vpc_val vpc;
	struct routes rs = {};
	int fd = mzri_fd(h, MZRI_MAP_VPC_PEERS), err;

	err = check_vnis(what, va, vb);
	if (!err)
		err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (va == vb || n > MZR_MAX_PEERING_PREFIXES || (n && !pfx)) {
		mzri_warn("%s: %s\n", what,
			  va == vb ? "a VPC cannot peer with itself" :
				    "bad prefix list");
		return -EINVAL;
	}
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &va, &vpc) ||
	    bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vb, &vpc)) {
		mzri_warn("%s: no VPC %u\n", what,
			  bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &va,
					     &vpc) ? va : vb);
		return -ENOENT;
	}
	err = dump_keys(fd, &rs, true);
	if (err)
		goto out;
	for (size_t k = 0; k < rs.n; k++) {
		uint32_t x = ntohl(rs.r[k].k.vni), y = rs.r[k].v.peer_vni;

		if ((x == va && y == vb) || (x == vb && y == va)) {
			mzri_warn("%s: VPC %u and VPC %u are peered already\n",
				  what, va, vb);
			err = -EEXIST;
			goto out;
		}
	}
	na = calloc(MAX_NETS, sizeof(*na));
	nb = calloc(MAX_NETS, sizeof(*nb));
	if (!na || !nb) {
		err = -ENOMEM;
		goto out;
	}
	err = vpc_nets(h, va, na, MAX_NETS, &nna);
	if (!err)
		err = vpc_nets(h, vb, nb, MAX_NETS, &nnb);
	if (!err)
		err = peering_sides(what, va, vb, pfx, n, na, nna, nb, nnb, pa,
				    &npa, pb, &npb);
	if (err)
		goto out;
	/* Another peering of A (B) reaching into a prefix the new one
	 * brings would make an address mean two VPCs. */
	for (size_t k = 0; k < rs.n; k++) {
		uint32_t x = ntohl(rs.r[k].k.vni);
		unsigned int m = x == va ? npb : x == vb ? npa : 0;
		const struct mzr_prefix *p = x == va ? pb : pa;

		for (i = 0; i < m; i++)
			if (overlap(rs.r[k].k.addr, rs.r[k].k.prefixlen - 32,
				    p[i].addr.s_addr, p[i].len)) {
				mzri_warn("%s: %s overlaps a prefix VPC %u reaches through its peering with VPC %u\n",
					  what, pfx_str(&p[i], b1), x,
					  rs.r[k].v.peer_vni);
				err = -EADDRINUSE;
				goto out;
			}
	}
	for (i = 0; i < npa + npb; i++) {
		bool a_side = i < npa;
		const struct mzr_prefix *p = a_side ? &pa[i] : &pb[i - npa];
		/* A's prefix is reached from B: key (B, p) -> A. */
		struct mzr_vpc_peer_val v = { .peer_vni = a_side ? va : vb };

		add[added] = (struct mzr_net_key){
			.prefixlen = 32 + p->len,
			.vni = htonl(a_side ? vb : va),
			.addr = p->addr.s_addr,
		};
		if (bpf_map_update_elem(fd, &add[added], &v, BPF_NOEXIST)) {
			err = mzri_map_err(-errno);
			mzri_warn("%s: %s: %s\n", what, pfx_str(p, b1),
				  err == -ENOSPC ? "peering table full" :
						  strerror(-err));
			while (added--)
				bpf_map_delete_elem(fd, &add[added]);
			goto out;
		}
		added++;
	}
out:
	free(rs.r);
	free(na);
	free(nb);
	return err;
}

static int peering_delete(struct mzr_host *h, uint32_t va, uint32_t vb)
{
	const char *what = "vpc peering delete";
	int fd = mzri_fd(h, MZRI_MAP_VPC_PEERS), err;
	struct routes rs = {};
	size_t found = 0;

	err = check_vnis(what, va, vb);
	if (!err)
		err = mzri_check_loaded(h, what);
	if (err)
		return err;
	err = dump_keys(fd, &rs, true);
	for (size_t k = 0; !err && k < rs.n; k++) {
		uint32_t x = ntohl(rs.r[k].k.vni), y = rs.r[k].v.peer_vni;

		if ((x == va && y == vb) || (x == vb && y == va)) {
			bpf_map_delete_elem(fd, &rs.r[k].k);
			found++;
		}
	}
	free(rs.r);
	if (!err && !found) {
		mzri_warn("%s: VPC %u and VPC %u are not peered\n", what, va,
			  vb);
		err = -ENOENT;
	}
	return err;
}

static int info_cmp(const void *a, const void *b)
{
	const struct mzr_vpc_peering_info *x = a, *y = b;

	if (x->vni_a != y->vni_a)
		return x->vni_a < y->vni_a ? -1 : 1;
	return x->vni_b < y->vni_b ? -1 : x->vni_b > y->vni_b;
}

int mzr_vpc_peering__for_each(const struct mzr_host *h,
			      int (*cb)(const struct mzr_vpc_peering_info *info,
					void *ctx),
			      void *ctx)
{
	struct mzr_vpc_peering_info *infos = NULL, *in;
	struct routes rs = {};
	size_t n = 0, k, j;
	int err;

	err = mzri_check_loaded_arg(h, "vpc peering for_each", cb);
	if (err)
		return err;
	err = dump_keys(mzri_fd(h, MZRI_MAP_VPC_PEERS), &rs, true);
	if (!err && rs.n) {
		infos = calloc(rs.n, sizeof(*infos));
		if (!infos)
			err = -ENOMEM;
	}
	for (k = 0; !err && k < rs.n; k++) {
		uint32_t x = ntohl(rs.r[k].k.vni), y = rs.r[k].v.peer_vni;
		uint32_t a = x < y ? x : y, b = x < y ? y : x;
		struct mzr_prefix p = {
			.addr.s_addr = rs.r[k].k.addr,
			.len = rs.r[k].k.prefixlen - 32,
		};

		for (j = 0; j < n; j++)
			if (infos[j].vni_a == a && infos[j].vni_b == b)
				break;
		in = &infos[j];
		if (j == n) {
			in->vni_a = a;
			in->vni_b = b;
			n++;
		}
		/* Key (x, p) -> y: p is y's. */
		if (y == a && in->n_prefixes_a < MZR_MAX_PEERING_PREFIXES)
			in->prefixes_a[in->n_prefixes_a++] = p;
		else if (y == b && in->n_prefixes_b < MZR_MAX_PEERING_PREFIXES)
			in->prefixes_b[in->n_prefixes_b++] = p;
	}
	if (n)
		qsort(infos, n, sizeof(*infos), info_cmp);
	for (k = 0; !err && k < n; k++)
		err = cb(&infos[k], ctx);
	free(infos);
	free(rs.r);
	return err;
}

int mzr_vpc_peering__create(struct mzr_host *h, uint32_t vni_a,
			    uint32_t vni_b, const struct mzr_prefix *prefixes,
			    unsigned int n_prefixes)
{
	return MZRI_LOCKED(h, false, peering_create(h, vni_a, vni_b, prefixes,
						    n_prefixes));
}

int mzr_vpc_peering__delete(struct mzr_host *h, uint32_t vni_a,
			    uint32_t vni_b)
{
	return MZRI_LOCKED(h, false, peering_delete(h, vni_a, vni_b));
}
