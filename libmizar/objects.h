/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What objects.c (VPCs, networks, map walking) gives the endpoint code
 * (ep.c, ep_batch.c, peers.c...). Layer: above core_obj.c, addr.c,
 * netdev.c and peers.c; objects.c calls nothing of ep*.c.
 */
#ifndef MZR_OBJECTS_H
#define MZR_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "shared.h"

struct mzr_host;

/* What a call on an existing object checks first: the VNI, then that the
 * host's datapath is loaded, then (getters) that @arg_ok, the out-pointer
 * is usable (mzri_check_loaded_arg()). */
int mzri_check_vni_loaded_arg(const struct mzr_host *h, const char *what,
			      uint32_t vni, bool arg_ok);

static inline int mzri_check_vni_loaded(const struct mzr_host *h,
					const char *what, uint32_t vni)
{
	return mzri_check_vni_loaded_arg(h, what, vni, true);
}

/*
 * Read a whole hash or LPM map into arrays (batched where the kernel can).
 * Returns the number of entries or -errno; keys and vals are malloc'd.
 */
long mzri_map_dump(int fd, size_t ksz, size_t vsz, void **keys_out,
		   void **vals_out);

/* The LPM key of network prefix/len in VPC @vni. */
struct mzr_net_key mzri_net_key(uint32_t vni, struct in_addr prefix,
				unsigned int len);

/* Networks sorted by (VNI, first address); they never overlap in a VPC. */
struct net_ent {
	uint32_t vni;
	uint32_t first, last; /* host order */
	struct mzr_net_val val;
};

/* Every network, sorted (malloc'd into *@out); their number or -errno. */
long mzri_net_snapshot(const struct mzr_host *h, struct net_ent **out);

/* The network of @ents (sorted) holding (vni, ip), or NULL. */
const struct net_ent *mzri_net_find(const struct net_ent *ents, long n,
				    uint32_t vni, struct in_addr ip);

#endif /* MZR_OBJECTS_H */
