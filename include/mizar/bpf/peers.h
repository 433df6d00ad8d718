/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Trust on the underlay (docs/security.md): the Mizar hosts this host
 * knows (mzr_peers) and the underlay prefixes the operator protects
 * (mzr_protect). Shared by the core and NF objects: the loader binds an
 * NF's copies to the core's instances by name.
 */
#ifndef MIZAR_BPF_PEERS_H
#define MIZAR_BPF_PEERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/abi.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_MAX_PEERS);
	__type(key, __be32);
	__type(value, struct mzr_peer_val);
} mzr_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MZR_MAX_PROTECT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mzr_protect_key);
	__type(value, __u32);
} mzr_protect SEC(".maps");

/* Whether @ip (an underlay IPv4) is a Mizar host this host knows. */
static __always_inline int mzr_peer_known(__be32 ip)
{
	return bpf_map_lookup_elem(&mzr_peers, &ip) != 0;
}

/**
 * mzr_underlay_check() - may the external path send to @daddr?
 * @daddr: destination IPv4 of a frame about to leave towards the
 *	   underlay/Internet (after NAT), network byte order.
 *
 * Call it before emitting (XDP_TX, redirect, or a pass to the kernel's
 * routing) from an external path: a tenant must never reach a Mizar host
 * (its Geneve port would believe the frame) or an underlay prefix the
 * operator protects.
 *
 * Return: 0 when allowed, else MZR_DROP_TO_UNDERLAY (drop it with that
 * reason, e.g. mzr_nf_drop(ctx, MZR_DROP_TO_UNDERLAY)).
 */
static __always_inline __u32 mzr_underlay_check(__be32 daddr)
{
	struct mzr_protect_key k = { .prefixlen = 32, .addr = daddr };

	if (mzr_peer_known(daddr) || bpf_map_lookup_elem(&mzr_protect, &k))
		return MZR_DROP_TO_UNDERLAY;
	return 0;
}

#endif /* MIZAR_BPF_PEERS_H */
