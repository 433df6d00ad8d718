// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Provisioning benchmark: endpoints created per second through the API,
 * one by one and in a batch, next to raw bpf_map_update_batch() into the
 * same map in the same run (the floor). Prints rates, ratios to the floor
 * and one JSON line. Needs root; uses a private bpffs under /run.
 *
 *   bench_provision [N [SINGLE_N [ROUNDS]]]
 *     N         endpoints per batch run (default 1000000)
 *     SINGLE_N  endpoints for the one-by-one run (default min(N, 200000))
 *     ROUNDS    batch/raw repetitions, best kept (default 3)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/mizar.h>

/* Mirrors of the endpoint table's key and value (bpf-core/shared.h). */
struct ep_key {
	__u32 vni;
	__be32 ip;
};

struct ep_val {
	__u8 mac[6];
	__u16 pad;
	__be32 host;
	__u32 ifindex;
	__u32 flags;
};

static char bpffs[] = "/run/mzr-bench.XXXXXX";
static bool mounted;

static void cleanup(void)
{
	if (!mounted)
		return;
	umount2(bpffs, MNT_DETACH);
	rmdir(bpffs);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_provision: %s: %s\n", what, strerror(-err));
	exit(1);
}

static void clear(int fd, struct ep_key *keys, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 count = n;

	if (bpf_map_delete_batch(fd, keys, &count, &o) || count != n)
		die("delete_batch", -errno);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	size_t single_n = argc > 2 ? strtoul(argv[2], NULL, 0) :
				     (n < 200000 ? n : 200000);
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	MZR_OPTS(mzr_host_opts, opts);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct mzr_ep_spec *specs;
	struct ep_key *keys;
	struct ep_val *vals;
	struct mzr_host *h;
	struct in_addr net = { htonl(0x0a000000) }, b = { htonl(0xc0a80001) };
	char root[64];
	double t, raw = 1e99, batch = 1e99, single;
	size_t i, idx;
	int fd, err, r;
	__u32 count;

	if (!n || n > (1U << 24) - 16 || single_n > n || rounds < 1) {
		fprintf(stderr, "usage: bench_provision [N [SINGLE_N [ROUNDS]]]\n");
		return 2;
	}
	if (geteuid()) {
		fprintf(stderr, "bench_provision: needs root (BPF maps)\n");
		return 77;
	}
	if (!mkdtemp(bpffs) || mount("bpf", bpffs, "bpf", 0, NULL))
		die("private bpffs", -errno);
	mounted = true;
	atexit(cleanup);
	snprintf(root, sizeof(root), "%s/host", bpffs);
	opts.pin_root = root;
	opts.max_endpoints = n;

	h = mzr_host__open(&opts);
	if (!h)
		die("open", -errno);
	if ((err = mzr_host__load(h)) || (err = mzr_vpc__create(h, 1, NULL, 0)) ||
	    (err = mzr_net__create(h, 1, net, 8, &b, 1, NULL)))
		die("setup", err);
	fd = mzr_host__map_fd(h, "mzr_eps");

	specs = calloc(n, sizeof(*specs));
	keys = calloc(n, sizeof(*keys));
	vals = calloc(n, sizeof(*vals));
	if (!specs || !keys || !vals)
		die("memory", -ENOMEM);
	for (i = 0; i < n; i++) {
		uint32_t ip = 0x0a000002 + i;

		specs[i].vni = 1;
		specs[i].ip.s_addr = htonl(ip);
		specs[i].mac[0] = 0x02;
		memcpy(&specs[i].mac[2], &specs[i].ip.s_addr, 4);
		specs[i].host.s_addr = htonl(0xc0a80100 + (i & 0xff) + 1);
		keys[i].vni = 1;
		keys[i].ip = specs[i].ip.s_addr;
		memcpy(vals[i].mac, specs[i].mac, 6);
		vals[i].host = specs[i].host.s_addr;
	}

	/* Alternate floor and API so that drift hits both alike. */
	for (r = 0; r < rounds; r++) {
		count = n;
		t = now();
		if (bpf_map_update_batch(fd, keys, vals, &count, &bo))
			die("raw update_batch", -errno);
		t = now() - t;
		raw = t < raw ? t : raw;
		clear(fd, keys, n);

		t = now();
		err = mzr_ep__create_batch(h, specs, n, &idx);
		t = now() - t;
		if (err)
			die("mzr_ep__create_batch", err);
		batch = t < batch ? t : batch;
		clear(fd, keys, n);
	}
	t = now();
	for (i = 0; i < single_n; i++)
		if ((err = mzr_ep__create(h, &specs[i])))
			die("mzr_ep__create", err);
	single = now() - t;
	clear(fd, keys, single_n);

	printf("endpoints: %zu (single: %zu), best of %d rounds\n", n,
	       single_n, rounds);
	printf("raw bpf_map_update_batch  %12.0f eps/s  (floor)\n", n / raw);
	printf("mzr_ep__create_batch      %12.0f eps/s  %.2f of raw\n",
	       n / batch, raw / batch);
	printf("mzr_ep__create            %12.0f eps/s  %.3f of raw\n",
	       single_n / single, (n / raw) ? (single_n / single) / (n / raw) : 0);
	printf("{\"bench\":\"provision\",\"n\":%zu,\"single_n\":%zu,"
	       "\"raw_eps\":%.0f,\"batch_eps\":%.0f,\"single_eps\":%.0f,"
	       "\"batch_ratio\":%.3f,\"single_ratio\":%.4f}\n",
	       n, single_n, n / raw, n / batch, single_n / single, raw / batch,
	       (single_n / single) / (n / raw));

	mzr_host__reset(h);
	mzr_host__close(h);
	free(specs);
	free(keys);
	free(vals);
	return 0;
}
