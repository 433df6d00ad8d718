/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maglev lookup tables (Eisenbud et al., NSDI 2016, section 3.4) and the
 * parsing of mizar-lb's backend lists. Pure functions: no BPF, no I/O.
 */
#ifndef MZR_NF_LB_MAGLEV_H
#define MZR_NF_LB_MAGLEV_H

#include <stdint.h>

#include "lb.h"

/**
 * @brief Fill a Maglev lookup table of @m slots with indexes into @be.
 *
 * Each backend walks its own permutation of the slots (offset and skip
 * from two hashes of its address and port) and takes the next free slot
 * of it, @c weight times per round, until every slot is taken. The table
 * depends only on the set of backends, not on their order in @be, and
 * removing one backend moves few slots of the others.
 *
 * @param be backends (ip and port identify one; weight 1..LB_WEIGHT_MAX)
 * @param n number of backends, 1..LB_MAX_BACKENDS
 * @param m number of slots: a prime (every permutation must visit every
 *	slot), at least 2
 * @param table out: @m entries, each an index into @be
 * @return 0, or -EINVAL (no backend, too many, a weight out of range,
 *	duplicate backends, m < 2).
 */
int lb_maglev_build(const struct lb_backend *be, unsigned int n, uint32_t m,
		    uint32_t *table);

/* Whether @m is prime (table sizes). */
int lb_is_prime(uint32_t m);

/**
 * @brief Parse one backend, "IP[:PORT][@WEIGHT]": PORT 1..65535 (absent:
 * @default_port), WEIGHT 1..LB_WEIGHT_MAX (absent: 1). Addresses and
 * ports are stored in network order.
 * @return 0, -EINVAL (malformed), -ERANGE (port or weight out of range).
 */
int lb_parse_backend(const char *s, uint16_t default_port,
		     struct lb_backend *out);

/**
 * @brief Parse "BACKEND,BACKEND,..." (no spaces, no empty item), each as
 * lb_parse_backend(). On error, *@bad points at the offending item.
 * @return 0, -EINVAL/-ERANGE as above, -E2BIG (more than @max),
 *	-EEXIST (the same IP:PORT twice).
 */
int lb_parse_backends(const char *s, uint16_t default_port,
		      struct lb_backend *out, unsigned int max, unsigned int *n,
		      const char **bad);

#endif /* MZR_NF_LB_MAGLEV_H */
