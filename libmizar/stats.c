// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counters: per-CPU sums and the names operators see for every counter
 * and drop reason (hook names: mzr_hook_name() in nf.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_priv.h"

/* Each counter's name and role, and each drop reason's name and its
 * counter's, all from abi.h's X-macro lists: one table per list. */
static const struct {
	const char *name, *role;
} counters[__MZR_CNT_ROLE_MAX] = {
#define X(e, name, role) [MZR_CNT_##e] = { #name, #role },
	MZR_COUNTERS(X)
#undef X
};

static const struct {
	const char *name, *counter;
} drops[__MZR_DROP_MAX] = {
#define X(e, name) [MZR_DROP_##e] = { #name, "drop_" #name },
	MZR_DROP_REASONS(X)
#undef X
};

_Static_assert(MZR_CNT_HOOK(MZR_HOOK_AGENT_EGRESS) == MZR_CNT_HOOK_AGENT_EGRESS &&
		       MZR_CNT_HOOK(MZR_HOOK_BOUNCER) == MZR_CNT_HOOK_BOUNCER &&
		       MZR_CNT_HOOK(MZR_HOOK_DIVIDER) == MZR_CNT_HOOK_DIVIDER &&
		       MZR_CNT_HOOK(MZR_HOOK_DELIVER) == MZR_CNT_HOOK_DELIVER &&
		       MZR_CNT_HOOK(MZR_HOOK_EXTERNAL) == MZR_CNT_EXTERNAL,
	       "hook counters follow enum mzr_hook");

_Static_assert(__MZR_DROP_MAX <= __MZR_CNT_MAX - MZR_CNT_DROP_BASE,
	       "drop reasons overflow the stats map");
_Static_assert(__MZR_CNT_ROLE_MAX <= MZR_CNT_DROP_BASE,
	       "role counters overflow into the drop slots");

const char *mzr_counter_name(unsigned int idx)
{
	if (idx < __MZR_CNT_ROLE_MAX)
		return counters[idx].name;
	if (idx >= MZR_CNT_DROP_BASE && idx - MZR_CNT_DROP_BASE < __MZR_DROP_MAX)
		return drops[idx - MZR_CNT_DROP_BASE].counter;
	return NULL;
}

const char *mzr_counter_role(unsigned int idx)
{
	if (idx < __MZR_CNT_ROLE_MAX)
		return counters[idx].role;
	if (idx >= MZR_CNT_DROP_BASE && idx - MZR_CNT_DROP_BASE < __MZR_DROP_MAX)
		return "drop";
	return NULL;
}

const char *mzr_drop_reason_name(unsigned int reason)
{
	return reason < __MZR_DROP_MAX ? drops[reason].name : NULL;
}

/* Sum @n per-CPU u64 slots of array map @fd into @out. */
static int percpu_sum(int fd, uint64_t *out, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 i;
	int c;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue; /* past the map's end: stays 0 */
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

static int percpu_zero(int fd, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 i;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &i, vals, BPF_ANY))
			err = -errno;
	free(vals);
	return err;
}

/* The first @n (at most @max) per-CPU sums of core map @m into @out. */
static int percpu_read(const struct mzr_host *h, const char *what,
		       enum mzri_map m, size_t max, uint64_t *out, size_t n)
{
	int err = mzri_check_loaded_arg(h, what, out || !n);

	if (err)
		return err;
	return percpu_sum(mzri_fd(h, m), out, n < max ? n : max);
}

int mzr_host__counters(const struct mzr_host *h, uint64_t *out, size_t n)
{
	return percpu_read(h, "counters", MZRI_MAP_STATS, __MZR_CNT_MAX, out,
			   n);
}

int mzr_host__missed(const struct mzr_host *h, uint64_t *out, size_t n)
{
	return percpu_read(h, "missed tail calls", MZRI_MAP_MISSED,
			   MZR_MISSED_SIZE, out, n);
}

static int counters_reset(struct mzr_host *h)
{
	int err = mzri_check_loaded(h, "counters reset");

	if (!err)
		err = percpu_zero(mzri_fd(h, MZRI_MAP_STATS), __MZR_CNT_MAX);
	if (!err)
		err = percpu_zero(mzri_fd(h, MZRI_MAP_MISSED), MZR_MISSED_SIZE);
	if (err)
		mzri_warn("counters reset: %s\n", strerror(-err));
	return err;
}

/* A writer too: under the pin root lock, as every writer. */
int mzr_host__counters_reset(struct mzr_host *h)
{
	return MZRI_LOCKED(h, false, counters_reset(h));
}
