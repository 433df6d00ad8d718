/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Table-driven packet tests: each fixture is run through a loaded XDP
 * program with BPF_PROG_TEST_RUN and its verdict and output frame compared
 * byte for byte with the expectation, printing a hex diff on mismatch.
 */
#ifndef MZR_TEST_FIXTURE_H
#define MZR_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuild.h"

struct fixture {
	const char *desc;	 /* what the network must do */
	struct pkt in;
	int verdict;		 /* XDP_* expected */
	bool check_out;		 /* compare the output frame */
	struct pkt out;		 /* expected output frame */
	/* Optional: counter index (enum mzr_counter) that must grow by one,
	 * -1 for none. */
	int counter;
	/* Optional: a second counter that must grow by one (e.g. a drop
	 * reason counted along with the path taken). */
	bool has_counter2;
	int counter2;
	uint32_t ingress_ifindex; /* ctx_in ingress_ifindex, 0 for none */
	/* The expected output is deliberately malformed or carries bad
	 * checksums (e.g. bad input passed to the kernel unchanged): skip
	 * pkt_checksums_ok() on it. */
	bool out_malformed;
	/* A tc (SCHED_CLS) program: the frame runs as an skb on device
	 * ingress_ifindex (ctx __sk_buff ifindex), with GSO segment size
	 * gso_size (0: none); verdicts are TC_ACT_*. */
	bool tc;
	uint32_t gso_size;
};

/* Extra room given to the program to grow the frame (encapsulation). */
#define FIXTURE_HEADROOM 256

/* Run one fixture through @prog_fd. Returns 0 when it matches; otherwise
 * prints the description, the verdicts and a hex diff around the first
 * differing byte, and returns -1. @stats_fd (or -1) is the per-CPU counter
 * map used for fixture->counter. */
int fixture_run(int prog_fd, int stats_fd, const struct fixture *f);

/*
 * Run @in through @prog_fd (BPF_PROG_TEST_RUN) as received on @ifindex
 * (0: no context); the output into @out when not NULL. The verdict; exits
 * 1 when the run itself fails.
 */
int fixture_xdp_run(int prog_fd, uint32_t ifindex, const struct pkt *in,
		    struct pkt *out);

/* fixture_run() as a CHECK (testenv.h): "ok: desc" or a failure counted
 * in test_failures. */
void fixture_check(int prog_fd, int stats_fd, const struct fixture *f);

/* Run @n fixtures, printing "fixture N/M ok: desc" (or FAILED) for each.
 * Returns the number of failures. */
int fixture_run_table(int prog_fd, int stats_fd, const struct fixture *tab,
		      size_t n);

/* "XDP_PASS" etc., or "XDP_?(n)" for unknown values (static buffer). */
const char *fixture_verdict_name(int verdict);

/* Print a hex dump with the first difference marked. */
void fixture_hexdiff(const uint8_t *want, size_t want_len,
		     const uint8_t *got, size_t got_len);

/* Sum of a per-CPU u64 counter at @idx of map @fd. Prints the error and
 * returns UINT64_MAX when the lookup fails. */
uint64_t fixture_counter(int stats_fd, uint32_t idx);

#endif
