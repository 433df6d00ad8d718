/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Memory the kernel fills through a bpf(2) command that valgrind's
 * memcheck does not model (BPF_MAP_LOOKUP_BATCH): marked defined, so that
 * memcheck checks how we use those bytes instead of reporting each one
 * (tests/valgrind). A few no-op instructions outside valgrind; nothing
 * without valgrind's headers.
 */
#ifndef MZR_MEMCHECK_H
#define MZR_MEMCHECK_H

#if defined(__has_include) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define mzri_kernel_wrote(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define mzri_kernel_wrote(p, n) ((void)(p), (void)(n))
#endif

#endif /* MZR_MEMCHECK_H */
