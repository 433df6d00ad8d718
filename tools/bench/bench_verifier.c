// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Verifier cost of the core programs: loads the back-plane through
 * libmizar on a private bpffs (nothing attached) and prints, for each
 * program, the instructions the verifier processed (verified_insns) and
 * the program's size after rewriting (xlated). For the note of a change:
 * build before and after, run both. Usage: bench_verifier   (root)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/mizar.h>

#include "testenv.h"

static const char *const progs[] = {
	"mzr_transit",	     "mzr_agent",	"mzr_cont_agent_egress",
	"mzr_cont_bouncer",  "mzr_cont_divider", "mzr_cont_deliver",
	"mzr_cont_external", "mzr_neigh",
};

int main(void)
{
	char bpffs[64], root[96], path[160];
	struct mzr_host *h;
	int err;

	test_require_root();
	test_bpffs_mount(bpffs);
	snprintf(root, sizeof(root), "%s/mizar", bpffs);
	mzr_set_print(NULL);
	{
		MZR_OPTS(mzr_host_opts, o, .pin_root = root);

		h = mzr_host__open(&o);
	}
	if (!h || (err = mzr_host__load(h))) {
		fprintf(stderr, "bench_verifier: cannot load the core\n");
		return 1;
	}
	printf("%-24s %14s %8s\n", "program", "verified_insns", "xlated");
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/progs/%s", root, progs[i]);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			printf("%-24s %14s\n", progs[i], strerror(errno));
			continue;
		}
		printf("%-24s %14u %8u\n", progs[i], info.verified_insns,
		       info.xlated_prog_len / 8);
		close(fd);
	}
	mzr_host__reset(h);
	mzr_host__close(h);
	return 0;
}
