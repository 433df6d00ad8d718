// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Element counts of every BPF map, in one pass of a bpf_map iterator:
 * the kernel keeps a per-CPU element count for hash maps (Linux >= 6.6,
 * bpf_map_sum_elem_count()), so counting a table of 1M endpoints costs a
 * sum over CPUs, not a walk. Userspace (tables.c) reads one record per map.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Only the fields read here, relocated against the kernel's BTF. */
struct seq_file;
struct bpf_map {
	__u32 id;
} __attribute__((preserve_access_index));
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));
struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
} __attribute__((preserve_access_index));

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* One record per map; layout mirrored in tables.c. */
struct mzr_map_count_rec {
	__u32 id;
	__u32 pad;
	__s64 count;
};

SEC("iter/bpf_map")
int mzr_map_counts(struct bpf_iter__bpf_map *ctx)
{
	struct bpf_map *map = ctx->map;
	struct mzr_map_count_rec rec = {};

	if (!map)
		return 0;
	rec.id = map->id;
	rec.count = bpf_map_sum_elem_count(map);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
