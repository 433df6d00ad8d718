/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What ep.c gives ep_batch.c: one endpoint's map entry and its network
 * check. Layer: above objects.c; ep.c calls nothing of ep_batch.c.
 */
#ifndef MZR_EP_H
#define MZR_EP_H

#include <mizar/host.h>

#include "shared.h"

/* The map key and value of endpoint @s. */
void mzri_ep_fill(const struct mzr_ep_spec *s, struct mzr_ep_key *k,
		  struct mzr_ep_val *v);

/* The endpoint's address must be a host address of a network of its VPC
 * (@net: that network, NULL when none) and not the network's gateway;
 * -errno logged, prefixed by @what. */
int mzri_ep_net_check(const char *what, const struct mzr_ep_spec *s,
		      const struct mzr_net_val *net);

/*
 * Spec @i of a caller's array of @sz-byte specs (@sz: the caller's
 * sizeof(struct mzr_ep_spec), 0: ours) into @out. -EINVAL (logged): @sz
 * smaller than ours, or non-zero bytes past the fields we know.
 */
int mzri_ep_spec_copy(const void *specs, size_t sz, size_t i,
		      struct mzr_ep_spec *out);

#endif /* MZR_EP_H */
