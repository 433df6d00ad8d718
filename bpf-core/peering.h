/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * VPC peering at the divider (docs/architecture.md, "VPC peering"): a
 * packet crosses from VPC X to VPC Y only when its destination lies in a
 * prefix of Y peered with X and its source in a prefix of X peered with
 * Y, checked by the divider that rewrites the VNI and again by the one
 * that receives it (docs/security.md, rule 11).
 */
#ifndef MZR_CORE_PEERING_H
#define MZR_CORE_PEERING_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MZR_MAX_VPC_PEER_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mzr_net_key);
	__type(value, struct mzr_vpc_peer_val);
} mzr_vpc_peers SEC(".maps");

/* The VPC peered with @vni that holds @addr, 0 for none. */
static __always_inline __u32 mzr_vpc_peer_of(__u32 vni, __be32 addr)
{
	struct mzr_net_key k = {
		.prefixlen = 64,
		.vni = bpf_htonl(vni),
		.addr = addr,
	};
	struct mzr_vpc_peer_val *v = bpf_map_lookup_elem(&mzr_vpc_peers, &k);

	return v ? v->peer_vni : 0;
}

/* Whether a packet from @saddr in VPC @from may reach @daddr in @to. */
static __always_inline int mzr_vpc_peering_allows(__u32 from, __u32 to,
						  __be32 saddr, __be32 daddr)
{
	return from && to && from != to &&
	       mzr_vpc_peer_of(from, daddr) == to &&
	       mzr_vpc_peer_of(to, saddr) == from;
}

/* A packet that crossed a peering into VPC @vni: the receiving divider
 * checks the peering again (the sender's divider may hold a peering this
 * one has deleted). */
static __always_inline int mzr_vpc_peered_in_ok(__u32 vni, __be32 saddr,
						__be32 daddr)
{
	__u32 from = mzr_vpc_peer_of(vni, saddr);

	return mzr_vpc_peering_allows(from, vni, saddr, daddr);
}

/* Rewrite the Geneve VNI of the tunnel frame (no checksum covers it: the
 * outer UDP checksum of a forwarded frame is 0). Returns 0 or a drop
 * reason. */
static __always_inline __u32 mzr_geneve_set_vni(void *data, void *end,
						 __u32 vni)
{
	struct mzr_genevehdr *g = data + MZR_GENEVE_OFF;

	if ((void *)(g + 1) > end)
		return MZR_DROP_MALFORMED;
	g->vni[0] = vni >> 16;
	g->vni[1] = vni >> 8;
	g->vni[2] = vni;
	return 0;
}

#endif /* MZR_CORE_PEERING_H */
