// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trust on the underlay (docs/security.md): the known-peer table, kept
 * by reference counts from the objects (objects.c calls mzri_peers_ref()
 * and mzri_peers_unref()) plus explicit peers and this host's own
 * address, and the operator's protected underlay prefixes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "host_priv.h"

/* ---- Reference counts (the objects' side) ------------------------------- */

/* Drop @count references (and @flags) from @ip; the entry goes when none
 * is left. */
static void peer_put(int fd, __be32 ip, uint32_t count, uint32_t flags)
{
	struct mzr_peer_val v;

	if (bpf_map_lookup_elem(fd, &ip, &v))
		return;
	v.refs = v.refs > count ? v.refs - count : 0;
	v.flags &= ~flags;
	if (!v.refs && !v.flags)
		bpf_map_delete_elem(fd, &ip);
	else
		bpf_map_update_elem(fd, &ip, &v, BPF_EXIST);
}

/* Add @count references and @flags to @ip. */
static int peer_get(int fd, __be32 ip, uint32_t count, uint32_t flags)
{
	struct mzr_peer_val v = {};

	bpf_map_lookup_elem(fd, &ip, &v);
	v.refs += count;
	v.flags |= flags;
	if (bpf_map_update_elem(fd, &ip, &v, BPF_ANY))
		return mzri_map_err(-errno);
	return 0;
}

int mzri_peers_ref_counts(struct mzr_host *h, const struct in_addr *ips,
			  const uint32_t *counts, size_t n)
{
	int fd = mzri_fd(h, MZRI_MAP_PEERS);
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = peer_get(fd, ips[i].s_addr, counts ? counts[i] : 1, 0);
		if (err) {
			if (err == -ENOSPC)
				mzri_warn("known-peer table full (%u entries)\n",
					  MZR_MAX_PEERS);
			mzri_peers_unref_counts(h, ips, counts, i);
			return err;
		}
	}
	return 0;
}

void mzri_peers_unref_counts(struct mzr_host *h, const struct in_addr *ips,
			     const uint32_t *counts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		peer_put(mzri_fd(h, MZRI_MAP_PEERS), ips[i].s_addr,
			 counts ? counts[i] : 1, 0);
}

int mzri_peers_ref(struct mzr_host *h, const struct in_addr *ips, size_t n)
{
	return mzri_peers_ref_counts(h, ips, NULL, n);
}

void mzri_peers_unref(struct mzr_host *h, const struct in_addr *ips, size_t n)
{
	mzri_peers_unref_counts(h, ips, NULL, n);
}

static int cmp_be32(const void *a, const void *b)
{
	uint32_t x = ntohl(*(const uint32_t *)a);
	uint32_t y = ntohl(*(const uint32_t *)b);

	return x < y ? -1 : x > y;
}

struct tally {
	__be32 ip;
	uint32_t count;
};

static int cmp_tally(const void *a, const void *b)
{
	return cmp_be32(&((const struct tally *)a)->ip,
			&((const struct tally *)b)->ip);
}

long mzri_peers_tally(const struct in_addr *addrs, size_t stride, size_t n,
		      struct in_addr **ips_out, uint32_t **counts_out)
{
	struct in_addr *ips = NULL;
	uint32_t *counts = NULL;
	struct tally *t;
	size_t i, m = 0, k = 0;

	/* Runs first (a batch names few hosts, in long runs), then merge
	 * the runs after sorting them by address. */
	t = malloc((n ? n : 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct in_addr *a = (const void *)((const char *)addrs +
							 i * stride);

		if (m && t[m - 1].ip == a->s_addr) {
			t[m - 1].count++;
			continue;
		}
		t[m].ip = a->s_addr;
		t[m++].count = 1;
	}
	qsort(t, m, sizeof(*t), cmp_tally);
	for (i = 0; i < m; i++) {
		if (k && t[k - 1].ip == t[i].ip)
			t[k - 1].count += t[i].count;
		else
			t[k++] = t[i];
	}
	ips = malloc((k ? k : 1) * sizeof(*ips));
	counts = malloc((k ? k : 1) * sizeof(*counts));
	if (!ips || !counts) {
		free(ips);
		free(counts);
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < k; i++) {
		ips[i].s_addr = t[i].ip;
		counts[i] = t[i].count;
	}
	free(t);
	*ips_out = ips;
	*counts_out = counts;
	return k;
}

int mzri_peer_self(struct mzr_host *h, __be32 old_ip, __be32 new_ip)
{
	int fd = mzri_fd(h, MZRI_MAP_PEERS);

	if (old_ip == new_ip)
		return new_ip ? peer_get(fd, new_ip, 0, MZR_PEER_F_SELF) : 0;
	if (old_ip)
		peer_put(fd, old_ip, 0, MZR_PEER_F_SELF);
	return new_ip ? peer_get(fd, new_ip, 0, MZR_PEER_F_SELF) : 0;
}

/* ---- Explicit peers --------------------------------------------------- */

static bool peer_explicit(int fd, __be32 ip)
{
	struct mzr_peer_val v;

	return !bpf_map_lookup_elem(fd, &ip, &v) &&
	       (v.flags & MZR_PEER_F_EXPLICIT);
}

/* @ips valid, distinct, and each an explicit peer already (@want_explicit) or
 * not yet: what an add (false) or a delete (true) of all or none needs. */
static int peer_list_check(const struct mzr_host *h, const char *what,
			   const struct in_addr *ips, size_t n, bool want_explicit)
{
	char buf[INET_ADDRSTRLEN];
	size_t i, j;
	int fd, err;

	err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (n && !ips) {
		mzri_warn("%s: address list is NULL\n", what);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!mzri_ip_valid(ips[i])) {
			mzri_warn("%s: bad peer address %s\n", what,
				  mzri_ntoa(ips[i], buf));
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (ips[j].s_addr == ips[i].s_addr) {
				mzri_warn("%s: peer %s listed twice\n", what,
					  mzri_ntoa(ips[i], buf));
				return -EINVAL;
			}
		}
	}
	fd = mzri_fd(h, MZRI_MAP_PEERS);
	for (i = 0; i < n; i++) {
		if (peer_explicit(fd, ips[i].s_addr) == want_explicit)
			continue;
		if (want_explicit) {
			mzri_warn("%s: %s is not an explicit peer\n", what,
				  mzri_ntoa(ips[i], buf));
			return -ENOENT;
		}
		mzri_warn("%s: %s is a peer already\n", what,
			  mzri_ntoa(ips[i], buf));
		return -EEXIST;
	}
	return 0;
}

static int peer_add_batch(struct mzr_host *h, const struct in_addr *ips,
			  size_t n)
{
	const char *what = "peer add";
	char buf[INET_ADDRSTRLEN];
	size_t i, j;
	int fd, err;

	err = peer_list_check(h, what, ips, n, false);
	if (err)
		return err;
	fd = mzri_fd(h, MZRI_MAP_PEERS);
	for (i = 0; i < n; i++) {
		err = peer_get(fd, ips[i].s_addr, 0, MZR_PEER_F_EXPLICIT);
		if (!err)
			continue;
		for (j = 0; j < i; j++)
			peer_put(fd, ips[j].s_addr, 0, MZR_PEER_F_EXPLICIT);
		if (err == -ENOSPC)
			mzri_warn("%s: peer table full (%u entries)\n", what,
				  MZR_MAX_PEERS);
		else
			mzri_warn("%s: %s: %s\n", what, mzri_ntoa(ips[i], buf),
				  strerror(-err));
		return err;
	}
	return 0;
}

static int peer_delete_batch(struct mzr_host *h, const struct in_addr *ips,
			     size_t n)
{
	size_t i;
	int err;

	err = peer_list_check(h, "peer delete", ips, n, true);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		peer_put(mzri_fd(h, MZRI_MAP_PEERS), ips[i].s_addr, 0,
			 MZR_PEER_F_EXPLICIT);
	return 0;
}

/* Public writers: one writer of the pin root at a time (lock.c). */
int mzr_host__peer_add_batch(struct mzr_host *h, const struct in_addr *ips,
			     size_t n)
{
	return MZRI_LOCKED(h, false, peer_add_batch(h, ips, n));
}

int mzr_host__peer_delete_batch(struct mzr_host *h, const struct in_addr *ips,
				size_t n)
{
	return MZRI_LOCKED(h, false, peer_delete_batch(h, ips, n));
}

int mzr_host__peer_add(struct mzr_host *h, struct in_addr ip)
{
	return mzr_host__peer_add_batch(h, &ip, 1);
}

int mzr_host__peer_delete(struct mzr_host *h, struct in_addr ip)
{
	return mzr_host__peer_delete_batch(h, &ip, 1);
}

struct peer_ent {
	__be32 ip;
	struct mzr_peer_val v;
};

static int cmp_peer(const void *a, const void *b)
{
	return cmp_be32(&((const struct peer_ent *)a)->ip,
			&((const struct peer_ent *)b)->ip);
}

int mzr_host__peer_for_each(const struct mzr_host *h,
			    int (*cb)(const struct mzr_peer_info *info,
				      void *ctx),
			    void *ctx)
{
	struct peer_ent *ents;
	struct mzr_peer_info info;
	__be32 key, *prev = NULL;
	size_t n = 0, i;
	int fd, err;

	err = mzri_check_loaded_arg(h, "peer for_each", cb);
	if (err)
		return err;
	fd = mzri_fd(h, MZRI_MAP_PEERS);
	ents = calloc(MZR_MAX_PEERS, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	while (n < MZR_MAX_PEERS && !bpf_map_get_next_key(fd, prev, &key)) {
		ents[n].ip = key;
		prev = &ents[n].ip;
		if (!bpf_map_lookup_elem(fd, &key, &ents[n].v))
			n++;
	}
	qsort(ents, n, sizeof(*ents), cmp_peer);
	for (i = 0; i < n && !err; i++) {
		memset(&info, 0, sizeof(info));
		info.ip.s_addr = ents[i].ip;
		info.refs = ents[i].v.refs;
		if (ents[i].v.flags & MZR_PEER_F_EXPLICIT)
			info.flags |= MZR_PEER_EXPLICIT;
		if (ents[i].v.flags & MZR_PEER_F_SELF)
			info.flags |= MZR_PEER_SELF;
		err = cb(&info, ctx);
	}
	free(ents);
	return err;
}

/* ---- Protected underlay prefixes ---------------------------------------- */

static int protect_args(const struct mzr_host *h, const char *what,
			struct in_addr prefix, unsigned int len)
{
	char buf[INET_ADDRSTRLEN];
	int err = mzri_check_loaded(h, what);

	if (err)
		return err;
	if (len > 32 || (ntohl(prefix.s_addr) & ~mzri_mask(len))) {
		mzri_warn("%s: bad prefix %s/%u (host bits set or longer than /32)\n",
			  what, mzri_ntoa(prefix, buf), len);
		return -EINVAL;
	}
	return 0;
}

static int protect_add(struct mzr_host *h, struct in_addr prefix,
		       unsigned int len)
{
	const char *what = "protect add";
	struct mzr_protect_key k = { .prefixlen = len, .addr = prefix.s_addr };
	char buf[INET_ADDRSTRLEN];
	__u32 one = 1;
	int err;

	err = protect_args(h, what, prefix, len);
	if (err)
		return err;
	if (!bpf_map_update_elem(mzri_fd(h, MZRI_MAP_PROTECT), &k, &one,
				 BPF_NOEXIST))
		return 0;
	err = mzri_map_err(-errno);
	if (err == -EEXIST)
		mzri_warn("%s: %s/%u is protected already\n", what,
			  mzri_ntoa(prefix, buf), len);
	else if (err == -ENOSPC)
		mzri_warn("%s: protected prefix table full (%u entries)\n",
			  what, MZR_MAX_PROTECT);
	else
		mzri_warn("%s: %s/%u: %s\n", what, mzri_ntoa(prefix, buf), len,
			  strerror(-err));
	return err;
}

static int protect_delete(struct mzr_host *h, struct in_addr prefix,
			  unsigned int len)
{
	const char *what = "protect delete";
	struct mzr_protect_key k = { .prefixlen = len, .addr = prefix.s_addr };
	char buf[INET_ADDRSTRLEN];
	int err;

	err = protect_args(h, what, prefix, len);
	if (err)
		return err;
	if (!bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_PROTECT), &k))
		return 0;
	err = -errno;
	if (err == -ENOENT)
		mzri_warn("%s: %s/%u is not protected\n", what,
			  mzri_ntoa(prefix, buf), len);
	else
		mzri_warn("%s: %s/%u: %s\n", what, mzri_ntoa(prefix, buf), len,
			  strerror(-err));
	return err;
}

int mzr_host__protect_add(struct mzr_host *h, struct in_addr prefix,
			  unsigned int len)
{
	return MZRI_LOCKED(h, false, protect_add(h, prefix, len));
}

int mzr_host__protect_delete(struct mzr_host *h, struct in_addr prefix,
			     unsigned int len)
{
	return MZRI_LOCKED(h, false, protect_delete(h, prefix, len));
}

static int cmp_protect(const void *a, const void *b)
{
	const struct mzr_protect_key *x = a, *y = b;
	int c = cmp_be32(&x->addr, &y->addr);

	if (c)
		return c;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}

int mzr_host__protect_for_each(const struct mzr_host *h,
			       int (*cb)(const struct mzr_protect_info *info,
					 void *ctx),
			       void *ctx)
{
	struct mzr_protect_key keys[MZR_MAX_PROTECT], *prev = NULL;
	struct mzr_protect_info info;
	size_t n = 0, i;
	int fd, err;

	err = mzri_check_loaded_arg(h, "protect for_each", cb);
	if (err)
		return err;
	fd = mzri_fd(h, MZRI_MAP_PROTECT);
	while (n < MZR_MAX_PROTECT &&
	       !bpf_map_get_next_key(fd, prev, &keys[n])) {
		prev = &keys[n];
		n++;
	}
	qsort(keys, n, sizeof(*keys), cmp_protect);
	for (i = 0; i < n && !err; i++) {
		memset(&info, 0, sizeof(info));
		info.prefix.s_addr = keys[i].addr;
		info.prefixlen = keys[i].prefixlen;
		err = cb(&info, ctx);
	}
	return err;
}
