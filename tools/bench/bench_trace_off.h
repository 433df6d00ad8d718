/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* bench_core -O (bench_trace_off.c): tracing off against no trace points. */
#ifndef MZR_BENCH_TRACE_OFF_H
#define MZR_BENCH_TRACE_OFF_H

struct core_env;
struct bench_core_bpf;

/**
 * @brief Measure bench_core's six paths in the build without trace points
 * and in the normal one (tracing off, counters on, a filtered trace),
 * interleaved, and print the table and a JSON line.
 * @return 0 (exits on any error).
 */
int bench_trace_off(struct core_env *env, struct bench_core_bpf *skel,
		    unsigned int repeat, unsigned int rounds);

#endif
