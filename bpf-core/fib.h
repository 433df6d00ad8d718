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
 * The next-hop cache: underlay destination -> resolved next hop, so that a
 * forwarded packet costs a hash lookup instead of a FIB walk (~90 ns).
 * An entry is used for one second (MZR_NH_AGE_S) after bpf_fib_lookup()
 * last confirmed it, then looked up again: a changed neighbour MAC or
 * route is followed within that age. Only resolved next hops are cached,
 * so an unresolved neighbour keeps taking the tc hand-off (neigh.h). The
 * library empties it when the host's underlay changes (host attach).
 *
 * The age is kept in jiffies: bpf_jiffies64() is a load where the clocks
 * cost 15-45 ns a packet (tools/bench, breakdown). CONFIG_HZ comes from
 * the kernel's config; without it 100 jiffies are used (<= 1 s for any HZ
 * >= 100).
 */
#define MZR_NH_AGE_S 1
#define MZR_NH_AGE_JIFFIES_DEFAULT 100
#define MZR_NH_CACHE_MAX 65536

extern unsigned int CONFIG_HZ __kconfig __weak;

struct mzr_nh_val {
	__u8 dmac[6];
	__u8 smac[6];
	__u32 ifindex;
	__u64 checked;		/* bpf_jiffies64() of the FIB lookup */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MZR_NH_CACHE_MAX);
	__type(key, __be32);
	__type(value, struct mzr_nh_val);
} mzr_nh SEC(".maps");

/* @secs in jiffies (without CONFIG_HZ: MZR_NH_AGE_JIFFIES_DEFAULT). */
static __always_inline __u64 mzr_age_jiffies(__u32 secs)
{
	__u64 hz = CONFIG_HZ;

	return hz ? hz * secs : MZR_NH_AGE_JIFFIES_DEFAULT;
}

static __always_inline __u64 mzr_nh_age(void)
{
	return mzr_age_jiffies(MZR_NH_AGE_S);
}

/* bpf_fib_lookup() of @dst as this host sends to it from its underlay. */
static __always_inline int mzr_fib_lookup(struct xdp_md *xdp,
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

/*
 * In front of mzr_nh, per CPU: a few slots, direct-mapped by the
 * destination's hash, that a lookup reaches without a hash walk (an
 * array's lookup is inlined by the verifier; mzr_nh's costs ~20-30 ns,
 * tools/bench breakdown). A slot is a copy of a next hop mzr_nh or
 * bpf_fib_lookup() just gave, with the same check time, so nothing is used
 * past its age either way. It is tagged with this host's underlay address
 * and interface as they were when it was filled: a host attach that
 * changes them (and empties mzr_nh) makes every slot miss. Two hosts on
 * one slot take turns through mzr_nh.
 */
#define MZR_NH_L1_SLOTS 1024

struct mzr_nh_l1 {
	__be32 dst;		/* 0: empty */
	__be32 host_ip;		/* mzr_host_cfg.ip at the fill */
	__u32 host_ifindex;	/* mzr_host_cfg.ifindex at the fill */
	__u32 ifindex;
	__u8 dmac[6];
	__u8 smac[6];
	__u32 checked;		/* low bits of bpf_jiffies64() */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MZR_NH_L1_SLOTS);
	__type(key, __u32);
	__type(value, struct mzr_nh_l1);
} mzr_nh_l1 SEC(".maps");

static __always_inline __u32 mzr_nh_l1_slot(__be32 dst)
{
	/* Fibonacci hashing: the high bits of the product. */
	return ((__u32)dst * 0x9e3779b1U) >> 22;
}

_Static_assert(MZR_NH_L1_SLOTS == 1 << (32 - 22), "slot bits");

/* Fill @l1 for @dst; dst written last, so that a program that interrupts
 * the fill on this CPU sees an empty slot, never a mix. */
static __always_inline void
mzr_nh_l1_fill(struct mzr_nh_l1 *l1, const struct mzr_host_cfg *host,
	       __be32 dst, const struct mzr_next_hop *nh, __u64 checked)
{
	l1->dst = 0;
	asm volatile("" ::: "memory");
	l1->host_ip = host->ip;
	l1->host_ifindex = host->ifindex;
	l1->ifindex = nh->ifindex;
	__builtin_memcpy(l1->dmac, nh->dmac, 6);
	__builtin_memcpy(l1->smac, nh->smac, 6);
	l1->checked = (__u32)checked;
	asm volatile("" ::: "memory");
	l1->dst = dst;
}

/*
 * The next hop of @dst as this host would send to it from its underlay
 * interface: from the caches while fresh, else from the kernel's routes
 * and neighbours (then cached). Returns BPF_FIB_LKUP_RET_SUCCESS (nh
 * filled), BPF_FIB_LKUP_RET_NO_NEIGH (route found, neighbour unresolved:
 * the kernel must resolve it; only nh->ifindex and nh->gw filled) or
 * another value (no usable route).
 */
static __always_inline int mzr_fib_next_hop(struct xdp_md *xdp,
					    const struct mzr_host_cfg *host,
					    __be32 dst, struct mzr_next_hop *nh)
{
	__u32 slot = mzr_nh_l1_slot(dst);
	struct mzr_nh_l1 *l1 = bpf_map_lookup_elem(&mzr_nh_l1, &slot);
	__u64 now = bpf_jiffies64(), age = mzr_nh_age();
	struct mzr_nh_val *c, v;
	int rc;

	nh->gw = 0;
	if (l1 && l1->dst == dst && l1->host_ip == host->ip &&
	    l1->host_ifindex == host->ifindex &&
	    (__u32)now - l1->checked < age) {
		__builtin_memcpy(nh->dmac, l1->dmac, 6);
		__builtin_memcpy(nh->smac, l1->smac, 6);
		nh->ifindex = l1->ifindex;
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	c = bpf_map_lookup_elem(&mzr_nh, &dst);
	if (c && now - c->checked < age) {
		__builtin_memcpy(nh->dmac, c->dmac, 6);
		__builtin_memcpy(nh->smac, c->smac, 6);
		nh->ifindex = c->ifindex;
		if (l1)
			mzr_nh_l1_fill(l1, host, dst, nh, c->checked);
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	rc = mzr_fib_lookup(xdp, host, dst, nh);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__builtin_memcpy(v.dmac, nh->dmac, 6);
		__builtin_memcpy(v.smac, nh->smac, 6);
		v.ifindex = nh->ifindex;
		v.checked = now;
		bpf_map_update_elem(&mzr_nh, &dst, &v, BPF_ANY);
		if (l1)
			mzr_nh_l1_fill(l1, host, dst, nh, now);
	}
	return rc;
}

#endif /* MZR_CORE_FIB_H */
