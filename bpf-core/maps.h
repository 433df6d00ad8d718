/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The core's own maps (the shared NF maps come from <mizar/bpf/maps.h>). */
#ifndef MZR_CORE_MAPS_H
#define MZR_CORE_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/maps.h>
#include <mizar/bpf/peers.h>
#include <mizar/bpf/geneve.h>
#include "shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_host_cfg);
} mzr_host SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_DEFAULT_MAX_VPCS);
	__type(key, __u32);
	__type(value, struct mzr_vpc_val);
} mzr_vpcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MZR_DEFAULT_MAX_NETWORKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mzr_net_key);
	__type(value, struct mzr_net_val);
} mzr_nets SEC(".maps");

/* Sized by the loader (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_DEFAULT_MAX_ENDPOINTS);
	__type(key, struct mzr_ep_key);
	__type(value, struct mzr_ep_val);
} mzr_eps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZR_MAX_LOCAL_EPS);
	__type(key, __u32);
	__type(value, struct mzr_local_val);
} mzr_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MZR_DEFAULT_MAX_DIRECT);
	__type(key, struct mzr_ep_key);
	__type(value, struct mzr_direct_val);
} mzr_direct SEC(".maps");

/*
 * What the core decided before a hook's NF chain ran, read back by the
 * continuation. Per CPU: a tail-call chain runs to completion on one CPU,
 * as the NF context does.
 */
struct mzr_plan {
	__u8 action;		/* enum mzr_action */
	__u8 hook;		/* enum mzr_hook, or __MZR_HOOK_MAX: none */
	__u16 counter;		/* enum mzr_counter bumped on success */
	__be32 next;		/* new outer destination */
	__u32 ifindex;		/* local endpoint's veth */
	__u32 set_flags;	/* MZR_F_* to set in the FLAGS option */
	__u32 clear_flags;	/* MZR_F_* to clear */
	__u8 mac[6];		/* inner destination MAC (delivery) */
	__u8 dec_inner_ttl;	/* a routed hop */
	__u8 veth;		/* delivery into a veth (MZR_EP_F_VETH) */
	__u32 vni;		/* non-zero: rewrite the VNI (VPC peering) */
};

/*
 * Per-CPU scratch of the core. The Geneve option walk writes its findings
 * here rather than on the stack: the verifier does not track map contents,
 * so the states leaving the walk's loop merge instead of multiplying.
 */
struct mzr_scratch {
	struct mzr_plan plan;
	struct mzr_geneve_md md;
	/* Hooks (1 << enum mzr_hook) an agent-injected packet has run
	 * already: the transit walk of the injected frame skips them. */
	__u32 inject_done;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_scratch);
} mzr_scratch_map SEC(".maps");

static __always_inline struct mzr_scratch *mzr_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mzr_scratch_map, &zero);
}

static __always_inline struct mzr_host_cfg *mzr_host_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mzr_host, &zero);
}

static __always_inline struct mzr_net_val *mzr_net_lookup(__u32 vni,
							  __be32 addr)
{
	struct mzr_net_key k = {
		.prefixlen = 64,
		.vni = bpf_htonl(vni),
		.addr = addr,
	};

	return bpf_map_lookup_elem(&mzr_nets, &k);
}

static __always_inline struct mzr_ep_val *mzr_ep_lookup(__u32 vni,
							__be32 ip)
{
	struct mzr_ep_key k = { .vni = vni, .ip = ip };

	return bpf_map_lookup_elem(&mzr_eps, &k);
}

#endif /* MZR_CORE_MAPS_H */
