/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-lb tool: its handle on the attached NF's pinned maps, and the
 * table updates the vip/backend commands are made of (tables.c).
 */
#ifndef MZR_NF_LB_TABLES_H
#define MZR_NF_LB_TABLES_H

#include <stdint.h>
#include "lb.h"

/* The pinned maps of the attached NF, and the lock serialising writers. */
struct lb_maps {
	int vips, rings, conns, rconns, stats, backends, filter;
	int lock;
};

/* Build @v's Maglev table and store it in slot @v->ring of lb_rings
 * (none when it has no backend). Returns 0 or -errno (reported on @cmd). */
int ring_install(const char *cmd, struct lb_maps *m, const struct lb_vip *v);
/* The table slots each backend of @v holds, into @slots. */
int ring_shares(struct lb_maps *m, const struct lb_vip *v, uint32_t *slots);
/* A free slot of lb_rings, or -ENOSPC. */
int ring_alloc(struct lb_maps *m);
/* Count VIP @k in (@delta 1) or out (-1) of lb_vip_filter. */
int filter_add(struct lb_maps *m, const struct lb_vip_key *k, int delta);
/* Forget the connections of VIP @k (both directions). */
void conns_purge(struct lb_maps *m, const struct lb_vip_key *k);
/* The connections lb_conns holds. */
uint64_t conns_count(struct lb_maps *m);
/* Bring lb_backends in line with lb_vips. */
void backends_sync(struct lb_maps *m);

#endif /* MZR_NF_LB_TABLES_H */
