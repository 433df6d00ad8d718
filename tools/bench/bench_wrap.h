/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The benchmarks' frame-restoring wrapper (bench_core.bpf.c), as both
 * sides see it: the frame templates it writes and its configuration.
 */
#ifndef MZR_BENCH_WRAP_H
#define MZR_BENCH_WRAP_H

#include <linux/types.h>

#define BENCH_TMPL_MAX 256
#define BENCH_TMPL_SLOTS 65536

struct bench_tmpl {
	__u32 len;
	__u32 pad;
	__u8 b[BENCH_TMPL_MAX];
};

struct bench_cfg {
	__u32 n_tmpl; /* templates used round robin; 0 or 1: only the first */
};

#endif
