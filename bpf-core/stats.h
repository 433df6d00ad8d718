/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Named drops (enum mzr_drop_reason in abi.h) on the SDK's per-CPU
 * counters (mzr_count(), <mizar/bpf/context.h>), for XDP and tc. */
#ifndef MZR_CORE_STATS_H
#define MZR_CORE_STATS_H

#include <linux/pkt_cls.h>
#include <mizar/bpf/context.h>
#include "maps.h"
#include "trace.h"

/* Hide a value from the compiler so that a bounds check the verifier needs
 * is not optimised away. */
#define mzr_barrier_var(v) asm volatile("" : "+r"(v))

/* "Keep going": what a step of the walk returns when it reached no
 * verdict. A step returns MZR_GO or the program's verdict (XDP_* or
 * TC_ACT_*, a drop counted); a parser the convention of
 * <mizar/bpf/parse.h>. Apart from every verdict, TC_ACT_UNSPEC (-1) and
 * MZR_NOT_OURS (-1) included. */
#define MZR_GO (-16)

/* Count the drop under its reason (and note it for the trace). */
static __always_inline void mzr_note_drop(__u32 reason)
{
	mzr_count_drop(reason);
	mzr_trace_note_drop(reason);
}

/* Count the drop and return the XDP verdict. */
static __always_inline int mzr_drop(__u32 reason)
{
	mzr_note_drop(reason);
	return XDP_DROP;
}

/* Count the drop and return the tc verdict. */
static __always_inline int mzr_tc_drop(__u32 reason)
{
	mzr_note_drop(reason);
	return TC_ACT_SHOT;
}

#endif /* MZR_CORE_STATS_H */
