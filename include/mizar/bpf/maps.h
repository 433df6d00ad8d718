/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps the core shares with NF objects, and the increment of their
 * per-CPU counters. An NF object that includes this header declares them;
 * the loader replaces them with the core's pinned maps (by name) before
 * the NF is loaded, so both sides see one instance.
 */
#ifndef MIZAR_BPF_MAPS_H
#define MIZAR_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/abi.h>

/* Hook continuations and NF chain slots (see MZR_PROG_* in abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MZR_PROG_ARRAY_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} mzr_progs SEC(".maps");

/* Active bank and chain lengths (see MZR_CHAIN_CFG_* in abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MZR_CHAIN_CFG_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} mzr_chain_cfg SEC(".maps");

/* The per-packet context, one per CPU, reset by the core at entry. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_ctx);
} mzr_ctx_map SEC(".maps");

/* Packet counters and drops (enum mzr_counter). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __MZR_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} mzr_stats SEC(".maps");

/* Missed tail calls by hook and chain position (MZR_MISSED_IDX). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MZR_MISSED_SIZE);
	__type(key, __u32);
	__type(value, __u64);
} mzr_missed SEC(".maps");

/* Add one to u64 entry @idx of per-CPU array @map (mzr_stats, mzr_missed):
 * per-CPU, so no other writer. */
static __always_inline void mzr_percpu_inc(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		*v += 1;
}

#endif /* MIZAR_BPF_MAPS_H */
