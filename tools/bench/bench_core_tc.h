/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bench_core's tc rows (bench_core_tc.c): the tc agent and the tc
 * transit (mzr_neigh) under a SCHED_CLS frame-restoring wrapper.
 */
#ifndef MZR_BENCH_CORE_TC_H
#define MZR_BENCH_CORE_TC_H

#include <stdbool.h>

struct core_env;

#define BENCH_TC_ROWS 7

struct bench_tc_row {
	const char *name, *key;
	double ns, floor_ns;
	bool fresh; /* a fresh skb per iteration, not the wrapper */
};

/*
 * Measure the tc paths on @env's topology: fastest of @rounds runs of
 * @repeat iterations each, the floor (same wrapper, MAC swap + redirect)
 * before and after. Every measured run must end with the path's verdict,
 * move its counter by exactly @repeat and leave the same frame as one
 * unwrapped run of the program on the template. Leaves the host's transit
 * flag as it found it. Exits with a message on any error.
 */
void bench_core_tc(struct core_env *env, unsigned int repeat,
		   unsigned int rounds,
		   struct bench_tc_row rows[BENCH_TC_ROWS]);

#endif
