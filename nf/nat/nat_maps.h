/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-nat data path: its maps (layouts in nat.h) and the counted drop.
 * Included once, by nat.bpf.c.
 */
#ifndef MZR_NF_NAT_MAPS_H
#define MZR_NF_NAT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>
#include <mizar/bpf/csum.h>

#include "nat.h"
#include "nf_l4.h"

#ifndef AF_INET
#define AF_INET 2
#endif

#define NAT_NS 1000000000ULL
#define NAT_REFRESH_NS NAT_NS	/* rewrite an entry's seen_ns at most 1/s */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NAT_MAX_SNAT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat_snat_key);
	__type(value, struct nat_snat_val);
} nat_snat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NAT_MAX_DNAT);
	__type(key, struct nat_dnat_key);
	__type(value, struct nat_dnat_val);
} nat_dnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_MAX_CONN);
	__type(key, struct nat_ct_out_key);
	__type(value, struct nat_ct_out_val);
} nat_ct_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_MAX_CONN);
	__type(key, struct nat_ct_in_key);
	__type(value, struct nat_ct_in_val);
} nat_ct_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_cfg);
} nat_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __NAT_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} nat_stats SEC(".maps");

static __always_inline int nat_drop(struct mzr_ctx *ctx, __u32 counter,
				    __u32 reason)
{
	nf_count(&nat_stats, counter);
	return mzr_nf_drop(ctx, reason);
}

#endif /* MZR_NF_NAT_MAPS_H */
