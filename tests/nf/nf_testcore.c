// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "nf_testcore.h"
#include "pktbuild.h"
#include "testenv.h"

const char *nf_obj(const char *name)
{
	static char buf[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s.bpf.o", NF_OBJ_DIR, name);
	return buf[i];
}

struct mzr_nf *nf_open_obj(const char *name)
{
	struct mzr_nf *nf = mzr_nf__open_file(nf_obj(name), NULL);

	if (!nf) {
		printf("FAIL: open %s: %s\n", name, strerror(errno));
		exit(1);
	}
	return nf;
}

void testcore_frame(struct pkt *p, const char *payload)
{
	pkt_init(p);
	pkt_eth(p, (uint8_t[]){ 2, 0, 0, 0, 0, 2 },
		(uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 0x0800);
	pkt_ipv4(p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 17, NULL);
	pkt_udp(p, 1234, 5678);
	pkt_payload(p, payload, strlen(payload));
	pkt_finish(p);
}

static int map_fd(struct testcore *tc, const char *name)
{
	return test_map_fd(tc->obj, name);
}

void testcore_setup(struct testcore *tc)
{
	char root[128];
	unsigned int hook;
	int i;

	memset(tc, 0, sizeof(*tc));
	test_require_root();
	test_bpffs_mount(root);
	tc->entry_fd = test_load_prog(nf_obj("nf_test_core"), "test_entry",
				      &tc->obj);
	tc->cont_fd = bpf_program__fd(
		bpf_object__find_program_by_name(tc->obj, "test_cont"));
	tc->knobs_fd = map_fd(tc, "test_knobs");
	tc->result_fd = map_fd(tc, "test_result");

	snprintf(tc->host.pin_root, sizeof(tc->host.pin_root), "%s", root);
	tc->host.loaded = true;
	for (i = 0; i < MZRI_MAP__N; i++)
		tc->host.map_fds[i] = -1;
	for (i = 0; i < MZRI_PROG__N; i++)
		tc->host.prog_fds[i] = -1;
	tc->host.map_fds[MZRI_MAP_PROGS] = map_fd(tc, MZR_MAP_PROGS);
	tc->host.map_fds[MZRI_MAP_CHAIN_CFG] = map_fd(tc, MZR_MAP_CHAIN_CFG);
	tc->host.map_fds[MZRI_MAP_CTX] = map_fd(tc, MZR_MAP_CTX);
	tc->host.map_fds[MZRI_MAP_STATS] = map_fd(tc, MZR_MAP_STATS);
	tc->host.map_fds[MZRI_MAP_MISSED] = map_fd(tc, MZR_MAP_MISSED);

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		__u32 slot = MZR_PROG_CONT(hook);

		if (bpf_map_update_elem(tc->host.map_fds[MZRI_MAP_PROGS], &slot,
					&tc->cont_fd, BPF_ANY)) {
			fprintf(stderr, "install continuation: %s\n",
				strerror(errno));
			exit(1);
		}
	}
}

void testcore_knob(struct testcore *tc, uint32_t knob, uint32_t val)
{
	if (bpf_map_update_elem(tc->knobs_fd, &knob, &val, BPF_ANY)) {
		fprintf(stderr, "knob %u: %s\n", knob, strerror(errno));
		exit(1);
	}
}

void testcore_result_clear(struct testcore *tc)
{
	struct mzr_ctx zero = {};
	__u32 key = 0;

	bpf_map_update_elem(tc->result_fd, &key, &zero, BPF_ANY);
}

void testcore_result(struct testcore *tc, struct mzr_ctx *out)
{
	__u32 key = 0;

	memset(out, 0, sizeof(*out));
	bpf_map_lookup_elem(tc->result_fd, &key, out);
}

int testcore_run(struct testcore *tc, const void *frame, size_t len)
{
	unsigned char out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(tc->entry_fd, &o))
		return -1;
	return (int)o.retval;
}

uint64_t percpu_sum(int fd, uint32_t idx)
{
	int n = libbpf_num_possible_cpus();
	uint64_t *v, sum = 0;
	int i;

	v = calloc(n, sizeof(*v));
	if (v && !bpf_map_lookup_elem(fd, &idx, v))
		for (i = 0; i < n; i++)
			sum += v[i];
	free(v);
	return sum;
}
