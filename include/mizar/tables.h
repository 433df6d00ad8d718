/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Table fill levels: how many entries each of a back-plane's tables holds
 * against its capacity (for `mizarctl host show` and `mizarctl metrics`).
 */
#ifndef MIZAR_TABLES_H
#define MIZAR_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include <mizar/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mzr_host;

/* Fill level from which tools warn (percent of capacity). */
#define MZR_TABLE_WARN_PCT 90

#define MZR_TABLE_NAME_MAX 64

/* Kinds of table. */
enum mzr_table_kind {
	MZR_TABLE_CORE = 0, /* a core table: fails inserts when full */
	MZR_TABLE_CACHE, /* an LRU cache: evicts its oldest when full */
	MZR_TABLE_NF, /* a hash, LRU or LPM map pinned by an NF */
};

struct mzr_table_usage {
	/*
	 * Core tables: "endpoints", "local_endpoints", "networks", "vpcs",
	 * "direct_path". NF maps: their path under the pin root
	 * ("nf_shared/MAP", "nf_maps/NF/MAP", "nfcfg/TOOL/MAP").
	 */
	char name[MZR_TABLE_NAME_MAX];
	enum mzr_table_kind kind;
	uint32_t entries;
	uint32_t capacity; /* the map's max_entries */
};

/**
 * @brief Fill levels of this back-plane's tables: the core tables first
 * (endpoints, local endpoints, networks, VPCs, direct-path cache), then
 * every hash, LRU-hash or LPM-trie map pinned by NFs under the pin root
 * (nf_shared, nf_maps, nfcfg), in path order. Arrays are always full and
 * not listed. Hash maps are counted from the kernel's own element counts,
 * read for all maps at once by a bpf_map iterator program loaded for the
 * call (Linux >= 6.6 with BTF; ~10-20 ms whatever the sizes); without it,
 * and for LPM tries, by walking the map (batched lookups where the type
 * has them, 16384 entries per syscall, else key by key). Entries inserted
 * or deleted meanwhile may or may not be counted.
 * @param out receives up to @p n tables; may be NULL when @p n is 0.
 * @return the number of tables (which may exceed @p n: call again with a
 * larger array); -EINVAL: @p host not loaded, or @p out NULL with @p n
 * non-zero; -ENOMEM; other -errno from the kernel on a core table (an NF
 * map that cannot be read is left out, with one MZR_DEBUG line).
 */
MZR_API int mzr_host__tables(const struct mzr_host *host,
			     struct mzr_table_usage *out, size_t n);

/**
 * @brief Count the entries of the map behind @p map_fd (any map type that
 * supports BPF_MAP_GET_NEXT_KEY), as mzr_host__tables() counts each table
 * (the kernel's element count for hash maps, else a walk).
 * @return 0 with the count in @p *count; -EINVAL: @p count NULL; -ENOMEM;
 * other -errno from the kernel.
 */
MZR_API int mzr_map__count(int map_fd, uint32_t *count);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_TABLES_H */
