/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The underlay next hop of an outer destination, from the kernel's routes
 * and neighbours (bpf_fib_lookup). */
#ifndef MZR_CORE_FIB_H
#define MZR_CORE_FIB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "shared.h"

#ifndef AF_INET
#define AF_INET 2
#endif

struct mzr_next_hop {
	__u8 smac[6];
	__u8 dmac[6];
	__u32 ifindex;
	__be32 gw;		/* IPv4 next hop; 0: not an IPv4 one */
};

/*
 * Look up @dst as this host would send to it from its underlay interface.
 * Returns BPF_FIB_LKUP_RET_SUCCESS (nh filled), BPF_FIB_LKUP_RET_NO_NEIGH
 * (route found, neighbour unresolved: the kernel must resolve it; only
 * nh->ifindex and nh->gw filled) or another value (no usable route).
 */
static __always_inline int mzr_fib_next_hop(struct xdp_md *xdp,
					    const struct mzr_host_cfg *host,
					    __be32 dst, struct mzr_next_hop *nh)
{
	struct bpf_fib_lookup f = {};
	int rc;

	f.family = AF_INET;
	f.l4_protocol = IPPROTO_UDP;
	f.ipv4_src = host->ip;
	f.ipv4_dst = dst;
	f.ifindex = host->ifindex;
	rc = bpf_fib_lookup(xdp, &f, sizeof(f), BPF_FIB_LOOKUP_OUTPUT);
	/* On SUCCESS and NO_NEIGH the kernel has filled the egress
	 * interface and, for a route through a gateway, put the gateway in
	 * ipv4_dst (family AF_INET6 for an IPv6 gateway) before it looked
	 * for the neighbour. Copied whatever rc is (callers use them only
	 * on those two): a field left unset on some paths lets the compiler
	 * hold it in a register the verifier sees as something else on a
	 * path it cannot rule out. */
	nh->ifindex = f.ifindex;
	nh->gw = f.family == AF_INET ? f.ipv4_dst : 0;
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__builtin_memcpy(nh->smac, f.smac, 6);
		__builtin_memcpy(nh->dmac, f.dmac, 6);
	}
	return rc;
}

#endif /* MZR_CORE_FIB_H */
