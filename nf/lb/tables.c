// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-lb tool: the data path's tables as the commands change them (see
 * tables.h): Maglev tables, the VIP filter, connections, the backends'
 * VIP lists.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "nftool.h"
#include "maglev.h"
#include "lb.h"
#include "tables.h"

/*
 * Build @v's Maglev table into a new inner map and store it in slot
 * @v->ring of lb_rings, replacing the old one in one step; no backend
 * empties the slot (the data path then drops as no_backend).
 */
int ring_install(const char *cmd, struct lb_maps *m, const struct lb_vip *v)
{
	uint32_t idx = v->ring, count = LB_RING_SIZE, *table = NULL;
	uint32_t *keys = NULL;
	struct lb_addr *vals = NULL;
	int fd = -1, err = 0;

	if (!v->n_backends) {
		if (bpf_map_delete_elem(m->rings, &idx) && errno != ENOENT)
			err = -errno;
		goto out;
	}
	table = calloc(LB_RING_SIZE, sizeof(*table));
	keys = calloc(LB_RING_SIZE, sizeof(*keys));
	vals = calloc(LB_RING_SIZE, sizeof(*vals));
	if (!table || !keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	err = lb_maglev_build(v->backends, v->n_backends, LB_RING_SIZE, table);
	if (err)
		goto out;
	for (uint32_t s = 0; s < LB_RING_SIZE; s++) {
		keys[s] = s;
		vals[s].ip = v->backends[table[s]].ip;
		vals[s].port = v->backends[table[s]].port;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lb_ring", sizeof(__u32),
			    sizeof(struct lb_addr), LB_RING_SIZE, NULL);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
		/* Kernels without batch ops on arrays: one by one. */
		for (uint32_t s = 0; s < LB_RING_SIZE; s++) {
			if (bpf_map_update_elem(fd, &keys[s], &vals[s], 0)) {
				err = -errno;
				goto out;
			}
		}
	}
	if (bpf_map_update_elem(m->rings, &idx, &fd, BPF_ANY))
		err = -errno;
out:
	if (err)
		mzctl_err(cmd, "cannot build the Maglev table: %s",
			  strerror(-err));
	if (fd >= 0)
		close(fd); /* lb_rings keeps the table */
	free(table);
	free(keys);
	free(vals);
	return err;
}

/* Slots of each backend of @v in its installed table (what the data path
 * uses), into @slots. Returns 0 or -errno. */
int ring_shares(struct lb_maps *m, const struct lb_vip *v, uint32_t *slots)
{
	uint32_t idx = v->ring, id, count = LB_RING_SIZE, s, b;
	struct lb_addr *vals;
	uint32_t *keys, out_batch;
	int fd, err = 0;

	memset(slots, 0, sizeof(*slots) * LB_MAX_BACKENDS);
	if (bpf_map_lookup_elem(m->rings, &idx, &id))
		return errno == ENOENT ? 0 : -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	keys = calloc(LB_RING_SIZE, sizeof(*keys));
	vals = calloc(LB_RING_SIZE, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, vals, &count,
				 NULL) &&
	    errno != ENOENT) {
		for (s = 0; s < LB_RING_SIZE; s++)
			if (bpf_map_lookup_elem(fd, &s, &vals[s])) {
				err = -errno;
				goto out;
			}
		count = LB_RING_SIZE;
	}
	for (s = 0; s < count; s++)
		for (b = 0; b < v->n_backends && b < LB_MAX_BACKENDS; b++)
			if (vals[s].ip == v->backends[b].ip &&
			    vals[s].port == v->backends[b].port) {
				slots[b]++;
				break;
			}
out:
	free(keys);
	free(vals);
	close(fd);
	return err;
}

/* A free slot of lb_rings, or -1 when every slot holds a VIP. */
int ring_alloc(struct lb_maps *m)
{
	bool used[LB_MAX_VIPS] = {};
	struct lb_vip_key k, *prev = NULL;
	struct lb_vip v;

	while (!bpf_map_get_next_key(m->vips, prev, &k)) {
		if (!bpf_map_lookup_elem(m->vips, &k, &v) &&
		    v.ring < LB_MAX_VIPS)
			used[v.ring] = true;
		prev = &k;
	}
	for (int i = 0; i < LB_MAX_VIPS; i++)
		if (!used[i])
			return i;
	return -1;
}

/* Count VIP @k in (@delta 1) or out of (-1) its lb_vip_filter slot. */
int filter_add(struct lb_maps *m, const struct lb_vip_key *k, int delta)
{
	__u32 slot = lb_vip_slot(k->vni, k->vip, k->port, k->proto), n;

	if (bpf_map_lookup_elem(m->filter, &slot, &n))
		return -errno;
	n = delta > 0 ? n + 1 : (n ? n - 1 : 0);
	return bpf_map_update_elem(m->filter, &slot, &n, BPF_EXIST) ? -errno
								     : 0;
}

/* Whether way @c of lb_conns holds a connection (not empty, not torn). */
static bool conn_valid(const struct lb_conn *c)
{
	return c->be.ip && c->check == lb_conn_check(lb_flow_hash(&c->flow),
						     &c->be);
}

/* Forget the connections of VIP @k (both directions). A set is written
 * back whole: a flow the data path places in it meanwhile may lose its
 * slot, and is placed again (by the same table) on its next packet. */
void conns_purge(struct lb_maps *m, const struct lb_vip_key *k)
{
	struct lb_flow *keys = NULL, f, *prev = NULL;
	struct lb_conn_set set;
	size_t n = 0, cap = 0, i;
	struct lb_addr a;
	uint32_t idx;

	for (idx = 0; idx < LB_CONN_SETS; idx++) {
		bool dirty = false;

		if (bpf_map_lookup_elem(m->conns, &idx, &set))
			continue;
		for (i = 0; i < LB_CONN_WAYS; i++) {
			struct lb_conn *c = &set.way[i];

			if (c->be.ip && c->flow.vni == k->vni &&
			    c->flow.proto == k->proto &&
			    c->flow.daddr == k->vip &&
			    c->flow.dport == k->port) {
				memset(c, 0, sizeof(*c));
				dirty = true;
			}
		}
		if (dirty)
			bpf_map_update_elem(m->conns, &idx, &set, BPF_ANY);
	}

	while (!bpf_map_get_next_key(m->rconns, prev, &f)) {
		if (f.vni == k->vni && f.proto == k->proto &&
		    !bpf_map_lookup_elem(m->rconns, &f, &a) &&
		    a.ip == k->vip && a.port == k->port) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct lb_flow *nk =
					realloc(keys, nc * sizeof(*nk));

				if (!nk)
					break;
				keys = nk;
				cap = nc;
			}
			keys[n++] = f;
		}
		prev = &f;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(m->rconns, &keys[i]);
	free(keys);
}

uint64_t conns_count(struct lb_maps *m)
{
	struct lb_conn_set set;
	uint64_t n = 0;
	uint32_t idx;

	for (idx = 0; idx < LB_CONN_SETS; idx++) {
		if (bpf_map_lookup_elem(m->conns, &idx, &set))
			continue;
		for (int i = 0; i < LB_CONN_WAYS; i++)
			n += conn_valid(&set.way[i]);
	}
	return n;
}

/*
 * Bring lb_backends in line with lb_vips (lb.h): every backend lists the
 * VIPs it serves, and keeps those it left that still exist (their
 * connections go on); a VIP that is gone leaves every list; a list that
 * overflowed stays so (its connections rely on lb_rconns). Called after
 * every change of lb_vips; until then a new connection writes its
 * lb_rconns entry, so no reply is missed.
 */
void backends_sync(struct lb_maps *m)
{
	struct lb_backend_key *keys = NULL, bk, last, *prev = NULL;
	struct lb_vip_key vk, *vprev = NULL;
	size_t n = 0, cap = 0, i;
	struct lb_vip v;
	struct lb_rev r;

	while (!bpf_map_get_next_key(m->backends, prev, &bk)) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct lb_backend_key *nk =
				realloc(keys, nc * sizeof(*nk));

			if (!nk)
				break;
			keys = nk;
			cap = nc;
		}
		keys[n++] = bk;
		last = bk;
		prev = &last;
	}
	for (i = 0; i < n; i++) {
		uint32_t j, kept = 0;

		if (bpf_map_lookup_elem(m->backends, &keys[i], &r) ||
		    r.n_vips > LB_REV_VIPS)
			continue;
		for (j = 0; j < r.n_vips; j++) {
			struct lb_vip_key k = { .vni = keys[i].vni,
						.vip = r.vips[j].ip,
						.port = r.vips[j].port,
						.proto = keys[i].proto };

			if (!bpf_map_lookup_elem(m->vips, &k, &v))
				r.vips[kept++] = r.vips[j];
		}
		if (!kept) {
			bpf_map_delete_elem(m->backends, &keys[i]);
			continue;
		}
		memset(&r.vips[kept], 0,
		       sizeof(r.vips[0]) * (LB_REV_VIPS - kept));
		r.n_vips = kept;
		bpf_map_update_elem(m->backends, &keys[i], &r, BPF_ANY);
	}
	free(keys);

	while (!bpf_map_get_next_key(m->vips, vprev, &vk)) {
		vprev = &vk;
		if (bpf_map_lookup_elem(m->vips, &vk, &v))
			continue;
		for (i = 0; i < v.n_backends && i < LB_MAX_BACKENDS; i++) {
			uint32_t j;

			bk = (struct lb_backend_key){
				.vni = vk.vni, .ip = v.backends[i].ip,
				.port = v.backends[i].port, .proto = vk.proto
			};
			if (bpf_map_lookup_elem(m->backends, &bk, &r))
				memset(&r, 0, sizeof(r));
			if (r.n_vips > LB_REV_VIPS)
				continue;
			for (j = 0; j < r.n_vips; j++)
				if (r.vips[j].ip == vk.vip &&
				    r.vips[j].port == vk.port)
					break;
			if (j < r.n_vips)
				continue;
			if (r.n_vips == LB_REV_VIPS) {
				r.n_vips = LB_REV_VIPS + 1;
			} else {
				r.vips[r.n_vips].ip = vk.vip;
				r.vips[r.n_vips].port = vk.port;
				r.n_vips++;
			}
			bpf_map_update_elem(m->backends, &bk, &r, BPF_ANY);
		}
	}
}
