// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-packet cost of an NF hook and of each pass-through NF in its chain,
 * as ratios to a floor program measured in the same run (DESIGN.md §7).
 *
 * Every configuration runs under the benchmarks' wrapper (bench_wrap of
 * tools/bench/bench_core.bpf.c), which restores the 64-byte frame from a
 * template on each iteration and tail-calls the program under test:
 *   floor      MAC swap + XDP_TX
 *   hook+N     a stand-in core hook (context filled, chain of N
 *              pass-through NFs, continuation doing MAC swap + XDP_TX)
 * The verdict of each measured run must be XDP_TX.
 *
 * Usage: bench_nf_chain [-n REPEAT] [-m MAX_NFS] [-j]   (root)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "bench_wrap.h"
#include "core.h"
#include "pktbuild.h"
#include "testenv.h"

#define TMPL_LEN 64
#define BENCH_HOOK MZR_HOOK_AGENT_EGRESS
#define ROUNDS 5

static const char *obj_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s.bpf.o", NF_OBJ_DIR, name);
	return buf;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	if (!p) {
		fprintf(stderr, "no program %s\n", name);
		exit(1);
	}
	return bpf_program__fd(p);
}

/* Mean ns per packet of the wrapper with @target_fd, over ROUNDS runs
 * (the minimum: the least disturbed by the shared machine). */
static double measure(int wrap_fd, int target_map, int target_fd,
		      const struct pkt *frame, unsigned int repeat)
{
	unsigned char out[256];
	double best = 0;
	__u32 zero = 0;
	int r;

	if (bpf_map_update_elem(target_map, &zero, &target_fd, BPF_ANY)) {
		fprintf(stderr, "bench_target: %s\n", strerror(errno));
		exit(1);
	}
	for (r = 0; r < ROUNDS; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame->data,
			    .data_size_in = frame->len, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = repeat);

		if (bpf_prog_test_run_opts(wrap_fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			exit(1);
		}
		if (o.retval != XDP_TX) {
			fprintf(stderr, "measured run ended with verdict %u, "
				"not XDP_TX: the benchmark is broken\n",
				o.retval);
			exit(1);
		}
		if (!r || o.duration < best)
			best = o.duration;
	}
	return best;
}

int main(int argc, char **argv)
{
	unsigned int repeat = 1000000, max_nfs = 8, i;
	struct bpf_object *wrap_obj, *obj;
	struct bench_tmpl tmpl = {};
	struct mzr_host host = {};
	struct mzr_nf *nf;
	struct pkt frame;
	int wrap, target, opt, tmpl_fd, hook;
	bool json = false;
	double floor_ns, t[MZR_CHAIN_MAX + 1];
	char root[128], name[32];
	__u32 zero = 0, slot;

	while ((opt = getopt(argc, argv, "n:m:j")) != -1) {
		if (opt == 'n')
			repeat = strtoul(optarg, NULL, 0);
		else if (opt == 'm')
			max_nfs = strtoul(optarg, NULL, 0);
		else if (opt == 'j')
			json = true;
		else {
			fprintf(stderr, "usage: %s [-n REPEAT] [-m MAX_NFS] "
				"[-j]\n", argv[0]);
			return 2;
		}
	}
	if (max_nfs > MZR_CHAIN_MAX - 1)
		max_nfs = MZR_CHAIN_MAX - 1;
	test_require_root();
	test_bpffs_mount(root);
	mzr_set_print(NULL);
	libbpf_set_print(NULL);

	wrap = test_load_prog(obj_path("nf_bench_wrap"), "bench_wrap",
			      &wrap_obj);
	target = test_map_fd(wrap_obj, "bench_target");
	tmpl_fd = test_map_fd(wrap_obj, "bench_tmpl");
	hook = test_load_prog(obj_path("nf_bench_hook"), "bench_hook", &obj);

	/* The stand-in core is the back-plane the NFs bind to. */
	snprintf(host.pin_root, sizeof(host.pin_root), "%s", root);
	host.loaded = true;
	for (i = 0; i < MZRI_MAP__N; i++)
		host.map_fds[i] = -1;
	host.map_fds[MZRI_MAP_PROGS] = test_map_fd(obj, MZR_MAP_PROGS);
	host.map_fds[MZRI_MAP_CHAIN_CFG] = test_map_fd(obj, MZR_MAP_CHAIN_CFG);
	host.map_fds[MZRI_MAP_CTX] = test_map_fd(obj, MZR_MAP_CTX);
	host.map_fds[MZRI_MAP_STATS] = test_map_fd(obj, MZR_MAP_STATS);
	host.map_fds[MZRI_MAP_MISSED] = test_map_fd(obj, MZR_MAP_MISSED);
	slot = MZR_PROG_CONT(BENCH_HOOK);
	i = prog_fd(obj, "bench_cont");
	bpf_map_update_elem(host.map_fds[MZRI_MAP_PROGS], &slot, &i, BPF_ANY);

	pkt_init(&frame);
	pkt_eth(&frame, (uint8_t[]){ 2, 0, 0, 0, 0, 2 },
		(uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 0x0800);
	pkt_ipv4(&frame, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 17, NULL);
	pkt_udp(&frame, 1234, 5678);
	pkt_payload(&frame, "0123456789abcdefghij", TMPL_LEN - 42);
	pkt_finish(&frame);
	tmpl.len = TMPL_LEN;
	memcpy(tmpl.b, frame.data, TMPL_LEN);
	if (frame.len != TMPL_LEN ||
	    bpf_map_update_elem(tmpl_fd, &zero, &tmpl, BPF_ANY)) {
		fprintf(stderr, "template: %zu bytes\n", frame.len);
		return 1;
	}

	nf = mzr_nf__open_file(obj_path("nf_bench_pass"), NULL);
	if (!nf || mzr_nf__load(nf, &host)) {
		fprintf(stderr, "cannot load the pass-through NF\n");
		return 1;
	}

	floor_ns = measure(wrap, target, prog_fd(wrap_obj, "bench_floor"), &frame,
			   repeat);
	for (i = 0; i <= max_nfs; i++) {
		if (i) {
			snprintf(name, sizeof(name), "pass%u", i);
			if (mzr_host__nf_insert(&host, name, nf, BENCH_HOOK,
						MZR_NF_POS_END)) {
				fprintf(stderr, "insert %s failed\n", name);
				return 1;
			}
		}
		t[i] = measure(wrap, target, hook,
			       &frame, repeat);
	}
	/* The floor again: a drift between start and end shows here. */
	floor_ns = (floor_ns + measure(wrap, target,
				       prog_fd(wrap_obj, "bench_floor"), &frame,
				       repeat)) / 2;

	if (json) {
		printf("{\"repeat\":%u,\"floor_ns\":%.2f,\"chains\":[", repeat,
		       floor_ns);
		for (i = 0; i <= max_nfs; i++)
			printf("%s{\"nfs\":%u,\"ns\":%.2f,\"ratio\":%.3f,"
			       "\"per_nf_ratio\":%.3f}",
			       i ? "," : "", i, t[i], t[i] / floor_ns,
			       i ? (t[i] - t[0]) / i / floor_ns : 0.0);
		printf("]}\n");
	} else {
		printf("floor (wrapper + MAC swap + XDP_TX): %.1f ns/pkt = 1.00"
		       "\n", floor_ns);
		printf("%-28s %9s %8s %14s\n", "configuration", "ns/pkt",
		       "ratio", "vs previous");
		for (i = 0; i <= max_nfs; i++) {
			snprintf(name, sizeof(name), i ? "hook + %u NF%s" :
						      "empty hook", i,
				 i == 1 ? "" : "s");
			printf("%-28s %9.1f %8.2f %+14.2f\n", name, t[i],
			       t[i] / floor_ns,
			       i ? (t[i] - t[i - 1]) / floor_ns :
				   (t[0] - floor_ns) / floor_ns);
		}
		if (max_nfs)
			printf("mean cost of one pass-through NF: %.2f x floor"
			       "\n", (t[max_nfs] - t[0]) / max_nfs / floor_ns);
	}
	mzr_host__nf_clear(&host);
	mzr_nf__close(nf);
	bpf_object__close(obj);
	bpf_object__close(wrap_obj);
	return 0;
}
