/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * VPC peering: two VPCs whose dividers route between chosen prefixes of
 * each (docs/architecture.md, "VPC peering"; the rule that keeps
 * everything else apart is docs/security.md, rule 11). Give every divider
 * of both VPCs the same peering. Conventions as <mizar/host.h>.
 */
#ifndef MIZAR_VPC_PEERING_H
#define MIZAR_VPC_PEERING_H

#include <stdint.h>
#include <netinet/in.h>

#include <mizar/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mzr_host;

/* Prefixes of one side of a peering, at most. */
#define MZR_MAX_PEERING_PREFIXES 16

struct mzr_prefix {
	struct in_addr addr;	/* host bits zero */
	unsigned int len;	/* 0-32 */
};

struct mzr_vpc_peering_info {
	uint32_t vni_a, vni_b;	/* vni_a < vni_b */
	unsigned int n_prefixes_a; /* of VPC vni_a, reachable from vni_b */
	struct mzr_prefix prefixes_a[MZR_MAX_PEERING_PREFIXES];
	unsigned int n_prefixes_b; /* of VPC vni_b, reachable from vni_a */
	struct mzr_prefix prefixes_b[MZR_MAX_PEERING_PREFIXES];
};

/**
 * @brief Peer VPCs @p vni_a and @p vni_b on @p prefixes (each inside a
 * network of one of the two, as this host knows them; both VPCs must
 * have at least one), or, with @p n_prefixes 0, on all their networks
 * known here. A divider of either VPC then forwards a packet whose
 * destination lies in a peered prefix of the other, and whose source in
 * a peered prefix of its own, to a divider of the other VPC with the VNI
 * rewritten. This host needs both VPCs (the other's dividers) and their
 * networks.
 * @return 0; -ERANGE: bad VNI; -EINVAL: the same VNI twice, a bad prefix,
 * no prefix on one side, too many prefixes, handle not loaded; -ENOENT:
 * no such VPC; -EEXIST: the two are peered already; -EADDRNOTAVAIL: a
 * prefix inside no network of either; -EADDRINUSE: overlap (a prefix in
 * networks of both VPCs, a prefix of one side overlapping the other
 * side's prefixes or networks, or another peering of the same VPC),
 * refused as clouds refuse overlapping peerings; -ENOSPC: table full.
 * On error nothing is left behind.
 */
MZR_API int mzr_vpc_peering__create(struct mzr_host *host, uint32_t vni_a,
				    uint32_t vni_b,
				    const struct mzr_prefix *prefixes,
				    unsigned int n_prefixes);

/**
 * @brief Remove the peering of @p vni_a and @p vni_b (either order): from
 * now on this host's dividers route nothing between them.
 * @return 0; -ERANGE: bad VNI; -ENOENT: not peered; -EINVAL: handle not
 * loaded.
 */
MZR_API int mzr_vpc_peering__delete(struct mzr_host *host, uint32_t vni_a,
				    uint32_t vni_b);

/**
 * @brief Call @p cb for each peering, in (vni_a, vni_b) order.
 * @return 0 after the last; the first non-zero return of @p cb; -EINVAL:
 * @p cb NULL or handle not loaded; -ENOMEM.
 */
MZR_API int mzr_vpc_peering__for_each(const struct mzr_host *host,
				      int (*cb)(const struct mzr_vpc_peering_info *info,
						void *ctx),
				      void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_VPC_PEERING_H */
