/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Scaled endpoints: one (VNI, IP) served by several hosts, each flow
 * pinned to one of them by rendezvous (highest-random-weight) hashing of
 * the symmetric flow hash (docs/architecture.md, "Scaled endpoints").
 */
#ifndef MZR_CORE_SCALED_H
#define MZR_CORE_SCALED_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "shared.h"
#include "hash.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_MAX_SCALED_EPS);
	__type(key, struct mzr_ep_key);
	__type(value, struct mzr_ep_hosts_val);
} mzr_ep_hosts SEC(".maps");

/* Weight of @host for a flow: the host with the highest weight serves
 * it, so removing one host moves only the flows it had. */
static __always_inline __u32 mzr_rendezvous_weight(__u32 flow_hash,
						   __be32 host)
{
	return mzr_jhash_3words(flow_hash, host, MZR_MAX_EP_HOSTS,
				MZR_HASH_SEED);
}

/* The host of scaled endpoint @k for a flow of hash @flow_hash (the
 * symmetric mzr_pkt_hash(): both directions agree), 0 when it has none. */
static __always_inline __be32 mzr_scaled_pick(const struct mzr_ep_key *k,
					      __u32 flow_hash)
{
	struct mzr_ep_hosts_val *hv = bpf_map_lookup_elem(&mzr_ep_hosts, k);
	__u32 best_w = 0, w;
	__be32 best = 0;

	if (!hv)
		return 0;
#pragma unroll
	for (__u32 i = 0; i < MZR_MAX_EP_HOSTS; i++) {
		if (i >= hv->n_hosts)
			break;
		w = mzr_rendezvous_weight(flow_hash, hv->hosts[i]);
		/* Ties (rare) go to the higher address: order-free. */
		if (!best || w > best_w ||
		    (w == best_w && hv->hosts[i] > best)) {
			best_w = w;
			best = hv->hosts[i];
		}
	}
	return best;
}

#endif /* MZR_CORE_SCALED_H */
