/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-CPU packet counters and named drops (enum mzr_counter in abi.h). */
#ifndef MZR_CORE_STATS_H
#define MZR_CORE_STATS_H

#include "maps.h"
#include "trace.h"

/* Hide a value from the compiler so that a bounds check the verifier needs
 * is not optimised away. */
#define mzr_barrier_var(v) asm volatile("" : "+r"(v))

/* "Keep going" sentinel returned by steps that did not reach a verdict. */
#define MZR_GO (-1)

static __always_inline void mzr_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&mzr_stats, &idx);

	if (v)
		*v += 1;
}

/* Count the drop under its reason and return the verdict. */
static __always_inline int mzr_drop(__u32 reason)
{
	mzr_count(MZR_CNT_DROP_BASE + reason);
	mzr_trace_note_drop(reason);
	return XDP_DROP;
}

#endif /* MZR_CORE_STATS_H */
