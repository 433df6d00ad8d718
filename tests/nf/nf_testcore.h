/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A stand-in back-plane for NF tests: the test core (bpf/test_core.bpf.c)
 * loaded on a private bpffs and wrapped in a host handle, so that the NF
 * API runs unchanged against it.
 */
#ifndef MZR_NF_TESTCORE_H
#define MZR_NF_TESTCORE_H

#include <stddef.h>
#include <stdint.h>

#include <mizar/abi.h>

#include "host_priv.h"

struct mzr_nf;
struct pkt;

struct testcore {
	struct bpf_object *obj;
	struct mzr_host host;
	int entry_fd;
	int cont_fd;
	int knobs_fd;
	int result_fd;
};

/* Path of test BPF object @name (without .bpf.o), in a static buffer. */
const char *nf_obj(const char *name);

/* mzr_nf__open_file() of test BPF object @name; exits 1 on failure. */
struct mzr_nf *nf_open_obj(const char *name);

/* Root, private bpffs, test core loaded with its continuation installed
 * at every hook. Exits 77 when not root, 1 on any setup failure. */
void testcore_setup(struct testcore *tc);

/* A UDP frame 10.0.0.1:1234 -> 10.0.0.2:5678 carrying @payload. */
void testcore_frame(struct pkt *p, const char *payload);

void testcore_knob(struct testcore *tc, uint32_t knob, uint32_t val);

/* Forget the continuation's last record (its version reads 0). */
void testcore_result_clear(struct testcore *tc);
void testcore_result(struct testcore *tc, struct mzr_ctx *out);

/* One BPF_PROG_TEST_RUN of the entry; returns the verdict, -1 on error. */
int testcore_run(struct testcore *tc, const void *frame, size_t len);

/* Sum over CPUs of u64 entry @idx of per-CPU map @fd. */
uint64_t percpu_sum(int fd, uint32_t idx);

#endif
