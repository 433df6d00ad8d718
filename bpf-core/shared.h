/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Keys and values of the core maps, shared by bpf-core and libmizar (the
 * library includes this file; it is not installed).
 */
#ifndef MZR_CORE_SHARED_H
#define MZR_CORE_SHARED_H

#include <linux/types.h>
#include <mizar/abi.h>

#define MZR_MAX_BOUNCERS 8
#define MZR_MAX_DIVIDERS 8

#define MZR_DEFAULT_MAX_ENDPOINTS (1U << 16)
#define MZR_DEFAULT_MAX_NETWORKS 4096
#define MZR_DEFAULT_MAX_VPCS 1024
#define MZR_DEFAULT_MAX_DIRECT (1U << 16)
#define MZR_MAX_LOCAL_EPS 4096

/* Direct-path entries older than this are not used (nanoseconds). */
#define MZR_DIRECT_TTL_NS (30ULL * 1000000000ULL)

/* mzr_host: one entry, this host's identity on the underlay. */
struct mzr_host_cfg {
	__be32 ip;		/* underlay IPv4 of this host */
	__u32 ifindex;		/* underlay interface */
	__u16 mtu;		/* underlay MTU */
	__u8 mac[6];		/* underlay interface MAC */
	__u32 flags;		/* MZR_HOST_F_* (low bits; high: userspace) */
};

/* mzr_host_cfg.flags: the transit runs in tc on the underlay
 * (bpf-core/transit_tc.h), not in XDP. */
#define MZR_HOST_F_TC_TRANSIT (1U << 0)

/* mzr_vpcs: key VNI (host order). */
struct mzr_vpc_val {
	__u32 n_dividers;
	__be32 dividers[MZR_MAX_DIVIDERS];
};

/* mzr_nets: LPM trie keyed by (VNI, prefix). */
struct mzr_net_key {
	__u32 prefixlen;	/* 32 + prefix length */
	__be32 vni;		/* network byte order so the trie matches it */
	__be32 addr;
};

struct mzr_net_val {
	__be32 prefix;
	__u32 prefixlen;
	__be32 gw;
	__u8 gw_mac[6];
	__u16 pad;
	__u32 n_bouncers;
	__be32 bouncers[MZR_MAX_BOUNCERS];
};

/* mzr_eps (and mzr_direct): key (VNI, IPv4). */
struct mzr_ep_key {
	__u32 vni;
	__be32 ip;
};

#define MZR_EP_F_LOCAL (1U << 0)  /* hosted on this host (ifindex valid) */
#define MZR_EP_F_BYPASS (1U << 1) /* bypass decapsulation */
#define MZR_EP_F_SCALED (1U << 2) /* several hosts: see mzr_ep_hosts */
/* The host-side device is a veth: the tc transit delivers into its peer
 * with bpf_redirect_peer() (no second transmit, no re-segmentation). */
#define MZR_EP_F_VETH (1U << 3)

struct mzr_ep_val {
	__u8 mac[6];
	__u16 pad;
	__be32 host;		/* underlay IPv4 of the endpoint's host */
	__u32 ifindex;		/* host-side veth when MZR_EP_F_LOCAL */
	__u32 flags;
};

/* mzr_ep_hosts: key struct mzr_ep_key of a scaled endpoint (its mzr_eps
 * entry has MZR_EP_F_SCALED), value its hosts. A map of its own so that
 * the common endpoint entry stays small. */
#define MZR_MAX_SCALED_EPS 4096

struct mzr_ep_hosts_val {
	__u32 n_hosts;
	__be32 hosts[MZR_MAX_EP_HOSTS];
};

/* mzr_vpc_peers: LPM trie keyed like mzr_nets by (VNI X, prefix P): in
 * VPC X, destination prefix P lies in VPC peer_vni, peered with X. A
 * peering of A and B is the entries (A, B's prefixes) -> B and (B, A's
 * prefixes) -> A. */
#define MZR_MAX_VPC_PEER_ROUTES 4096

struct mzr_vpc_peer_val {
	__u32 peer_vni;
	__u32 pad;
};

/* mzr_local: key ifindex of a host-side veth; the agent's view. */
struct mzr_local_val {
	__u32 vni;
	__be32 ip;
	__u8 mac[6];		/* endpoint's MAC */
	__u8 veth_mac[6];	/* host-side veth MAC (kernel hand-off) */
	__u32 flags;
};

/* mzr_direct: learned endpoint -> host, key struct mzr_ep_key. */
struct mzr_direct_val {
	__be32 host;
	__u32 pad;
	__u64 updated_ns;
};

/*
 * XDP metadata (bpf_xdp_adjust_meta) on a finished tunnel frame whose
 * underlay neighbour is unresolved: the XDP program passes the frame up
 * with it, and the core's tc ingress program (mzr_neigh) sends it out of
 * @ifindex with bpf_redirect_neigh(), which resolves the neighbour.
 * Frames without it are not the tc program's business.
 */
#define MZR_NEIGH_META_MAGIC 0x4d5a524eU /* "MZRN" */

struct mzr_neigh_meta {
	__u32 magic;		/* MZR_NEIGH_META_MAGIC */
	__u32 ifindex;		/* underlay interface to send it out of */
	__be32 nh;		/* IPv4 next hop (gateway or the host); 0:
				 * let the kernel route the outer header */
};

#endif /* MZR_CORE_SHARED_H */
