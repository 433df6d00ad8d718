// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mzr_ep__create_batch(): many endpoints in one map batch, with their
 * duplicates (in the table and within the batch) found first.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_priv.h"
#include "memcheck.h"
#include "ep.h"
#include "objects.h"

/*
 * A set of endpoint keys (open addressing), to find duplicates of a batch
 * against the table and within the batch: the kernel's batch update takes
 * no BPF_NOEXIST.
 */
struct key_set {
	uint64_t *slots; /* 0: empty (VNI 0 never occurs) */
	size_t mask;
};

static uint64_t key_u64(const struct mzr_ep_key *k)
{
	return (uint64_t)k->vni << 32 | k->ip;
}

static int key_set_init(struct key_set *ks, size_t n)
{
	size_t cap = 64;

	while (cap < 2 * n)
		cap <<= 1;
	ks->slots = calloc(cap, sizeof(*ks->slots));
	ks->mask = cap - 1;
	return ks->slots ? 0 : -ENOMEM;
}

/* Insert @k; false when it was already there. */
static bool key_set_add(struct key_set *ks, uint64_t k)
{
	size_t i = (k * 0x9e3779b97f4a7c15ULL) >> 20 & ks->mask;

	for (;; i = (i + 1) & ks->mask) {
		if (ks->slots[i] == k)
			return false;
		if (!ks->slots[i]) {
			ks->slots[i] = k;
			return true;
		}
	}
}

/*
 * Keys of the endpoints already in the table: the whole table in batches
 * when the batch is large, else key by key (cheaper against a big table).
 */
static int batch_dups(const struct mzr_host *h, const struct mzr_ep_key *keys,
		      size_t n, size_t *dup_idx)
{
	struct mzr_ep_key *have = NULL;
	struct mzr_ep_val v;
	struct key_set ks;
	void *vals = NULL;
	long m = 0, i;
	bool dump = n * 8 >= h->max_endpoints;
	int err;

	if (dump) {
		m = mzri_map_dump(mzri_fd(h, MZRI_MAP_EPS), sizeof(*have),
			     sizeof(struct mzr_ep_val), (void **)&have, &vals);
		free(vals);
		if (m < 0)
			return m;
	}
	err = key_set_init(&ks, n + m);
	if (err)
		goto out;
	for (i = 0; i < m; i++)
		key_set_add(&ks, key_u64(&have[i]));
	for (i = 0; i < (long)n; i++) {
		if (!key_set_add(&ks, key_u64(&keys[i])) ||
		    (!dump &&
		     !bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &keys[i],
					  &v))) {
			*dup_idx = i;
			err = -EEXIST;
			break;
		}
	}
	free(ks.slots);
out:
	free(have);
	return err;
}

static int ep_create_batch(struct mzr_host *h, const struct mzr_ep_spec *specs,
			   size_t n, size_t *failed_idx)
{
	const char *what = "ep create_batch";
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct mzr_ep_key *keys = NULL;
	struct mzr_ep_val *vals = NULL;
	const struct net_ent *ne;
	struct net_ent *nets = NULL;
	struct in_addr *hosts = NULL;
	uint32_t *host_refs = NULL;
	long n_hosts;
	struct mzr_vpc_val vpc;
	char buf[INET_ADDRSTRLEN];
	uint32_t last_vni = 0;
	__u32 count, done;
	long n_nets;
	size_t i = 0, j;
	int err;

	if (failed_idx)
		*failed_idx = 0;
	err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (!n)
		return 0;
	if (!specs || n > UINT32_MAX) {
		mzri_warn("%s: bad spec array\n", what);
		return -EINVAL;
	}
	n_nets = mzri_net_snapshot(h, &nets);
	if (n_nets < 0)
		return n_nets;
	keys = malloc(n * sizeof(*keys));
	vals = malloc(n * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* Validate everything before the kernel sees anything. */
	for (i = 0; i < n; i++) {
		const struct mzr_ep_spec *s = &specs[i];

		err = mzri_ep_spec_check(s);
		if (err)
			goto out;
		if (s->ifname) {
			mzri_warn("%s: endpoint %s: local endpoints (ifname) cannot be batched\n",
				  what, mzri_ntoa(s->ip, buf));
			err = -EINVAL;
			goto out;
		}
		ne = mzri_net_find(nets, n_nets, s->vni, s->ip);
		if (!ne && s->vni != last_vni &&
		    bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &s->vni,
					&vpc)) {
			mzri_warn("%s: no VPC %u\n", what, s->vni);
			err = -ENOENT;
			goto out;
		}
		last_vni = s->vni;
		err = mzri_ep_net_check(what, s, ne ? &ne->val : NULL);
		if (err)
			goto out;
		mzri_ep_fill(s, &keys[i], &vals[i]);
	}
	err = batch_dups(h, keys, n, &i);
	if (err) {
		if (err == -EEXIST)
			mzri_warn("%s: endpoint %s already exists in VPC %u\n",
				  what, mzri_ntoa(specs[i].ip, buf),
				  specs[i].vni);
		goto out;
	}

	/* The endpoints' hosts are known peers while named (peers.c). */
	n_hosts = mzri_peers_tally((const struct in_addr *)&vals[0].host,
				   sizeof(*vals), n, &hosts, &host_refs);
	if (n_hosts < 0) {
		err = n_hosts;
		goto out;
	}
	err = mzri_peers_ref_counts(h, hosts, host_refs, n_hosts);
	if (err)
		goto out;
	/* Every key is new: on failure, the first count went in and are ours
	 * to remove. */
	count = n;
	if (!bpf_map_update_batch(mzri_fd(h, MZRI_MAP_EPS), keys, vals, &count,
				  &bopts))
		goto out;
	err = mzri_map_err(-errno);
	mzri_peers_unref_counts(h, hosts, host_refs, n_hosts);
	i = count < n ? count : n - 1;
	done = count;
	if (count && bpf_map_delete_batch(mzri_fd(h, MZRI_MAP_EPS), keys,
					  &done, &bopts)) {
		for (j = 0; j < count; j++)
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EPS), &keys[j]);
	}
	if (err == -ENOSPC)
		mzri_warn("%s: endpoint table full (%u entries)\n", what,
			  h->max_endpoints);
	else
		mzri_warn("%s: endpoint %s: %s\n", what,
			  mzri_ntoa(specs[i].ip, buf), strerror(-err));
out:
	if (err && failed_idx)
		*failed_idx = i;
	free(hosts);
	free(host_refs);
	free(nets);
	free(keys);
	free(vals);
	return err;
}

int mzr_ep__create_batch(struct mzr_host *h, const struct mzr_ep_spec *specs,
			 size_t n, size_t *failed_idx)
{
	return MZRI_LOCKED(h, false,
			   ep_create_batch(h, specs, n, failed_idx));
}

/* Specs of the caller's size into an array of ours, so that the spec
 * can grow. */
int mzr_ep__create_batch_opts(struct mzr_host *h, const void *specs, size_t n,
			      size_t *failed_idx,
			      const struct mzr_ep_batch_opts *opts)
{
	size_t sz = MZRI_OPTS_GET(opts, spec_sz, 0), i;
	struct mzr_ep_spec *copy;
	int err = 0;

	if (!MZRI_OPTS_VALID(opts, mzr_ep_batch_opts))
		return -EINVAL;
	if (!sz || sz == sizeof(*copy))
		return mzr_ep__create_batch(h, specs, n, failed_idx);
	if (n && !specs)
		return -EINVAL;
	copy = calloc(n ? n : 1, sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		err = mzri_ep_spec_copy(specs, sz, i, &copy[i]);
	if (err && failed_idx)
		*failed_idx = i - 1;
	if (!err)
		err = mzr_ep__create_batch(h, copy, n, failed_idx);
	free(copy);
	return err;
}
