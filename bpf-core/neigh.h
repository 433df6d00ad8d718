/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unresolved underlay neighbours (docs/architecture.md, "Underlay next
 * hop"). XDP cannot queue a frame while the kernel resolves a neighbour,
 * and passing it up for the kernel to IP-forward does not work on a veth
 * (the skb keeps the PACKET_OTHERHOST its peer's eth_type_trans() gave it,
 * and ip_rcv drops it). So the XDP program marks the finished frame with
 * struct mzr_neigh_meta in its XDP metadata and passes it up; the core's
 * tc ingress program on the same interface (mzr_neigh) sends it out of the
 * underlay with bpf_redirect_neigh(), as Cilium does: the kernel's
 * neighbour subsystem resolves the next hop, queueing the frame meanwhile,
 * and writes the Ethernet header.
 */
#ifndef MZR_CORE_NEIGH_H
#define MZR_CORE_NEIGH_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "fib.h"
#include "stats.h"

/*
 * Mark the frame for the tc program: the next hop @nh (from a NO_NEIGH
 * bpf_fib_lookup) in the XDP metadata. Returns 0 (the caller then counts
 * and returns XDP_PASS) or a drop reason.
 */
static __always_inline __u32 mzr_neigh_handoff(struct xdp_md *xdp,
					       const struct mzr_next_hop *nh)
{
	struct mzr_neigh_meta *m;
	void *data;

	if (!nh->ifindex)
		return MZR_DROP_FIB;
	if (bpf_xdp_adjust_meta(xdp, -(int)sizeof(*m)))
		return MZR_DROP_ENCAP;
	m = (void *)(long)xdp->data_meta;
	data = (void *)(long)xdp->data;
	if ((void *)(m + 1) > data)
		return MZR_DROP_ENCAP;
	m->magic = MZR_NEIGH_META_MAGIC;
	m->ifindex = nh->ifindex;
	m->nh = nh->gw;
	return 0;
}

/*
 * The tc ingress side: a frame carrying our metadata goes out of its
 * underlay interface through the neighbour subsystem; anything else is
 * left alone (TC_ACT_UNSPEC: the next filter, if any, or the stack).
 */
static __always_inline int mzr_neigh_tc_run(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct mzr_neigh_meta *m = (void *)(long)skb->data_meta;
	struct bpf_redir_neigh nh = { .nh_family = AF_INET };
	long ret;

	if ((void *)(m + 1) > data || m->magic != MZR_NEIGH_META_MAGIC)
		return TC_ACT_UNSPEC;
	if (m->nh) {
		nh.ipv4_nh = m->nh;
		ret = bpf_redirect_neigh(m->ifindex, &nh, sizeof(nh), 0);
	} else {
		ret = bpf_redirect_neigh(m->ifindex, NULL, 0, 0);
	}
	if (ret != TC_ACT_REDIRECT) {
		mzr_count_drop(MZR_DROP_FIB);
		return TC_ACT_SHOT;
	}
	return TC_ACT_REDIRECT;
}

#endif /* MZR_CORE_NEIGH_H */
