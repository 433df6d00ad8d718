// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Table fill benchmark: how long counting the endpoint table takes at
 * 1k and 1M entries: mzr_map__count() (the kernel's element counts read
 * by a map iterator, what `mizarctl host show` and `metrics` use), its
 * fallback of batched lookups, and a key-by-key bpf_map_get_next_key()
 * walk (the floor: what the first release did) of the same map in the
 * same run. Prints times, ratios and one JSON line. Needs root; private
 * bpffs under /run.
 *
 *   bench_tables [N...]   endpoint counts (default 1000 1000000)
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

/* libmizar's switch to its fallback (tables.c; static build only). */
extern bool mzri_count_no_iter;

static char bpffs[] = "/run/mzr-bench-tables.XXXXXX";
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
	fprintf(stderr, "bench_tables: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* The floor: one syscall per key. */
static uint32_t count_by_key(int fd)
{
	__u64 key, next;
	void *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static void run(size_t n, int idx)
{
	MZR_OPTS(mzr_host_opts, opts);
	struct mzr_table_usage t[16];
	struct mzr_ep_spec *specs;
	struct mzr_host *h;
	struct in_addr net = { htonl(0x0a000000) }, b = { htonl(0xc0a80001) };
	double t_batch = 1e99, t_key = 1e99, t_all = 1e99, t_iter = 1e99, t0;
	uint32_t c_batch = 0, c_key = 0, c_iter = 0;
	char root[96];
	size_t i;
	int fd, err, r, nt = 0;

	snprintf(root, sizeof(root), "%s/host%d", bpffs, idx);
	opts.pin_root = root;
	opts.max_endpoints = n + n / 8 + 16;
	h = mzr_host__open(&opts);
	if (!h)
		die("open", -errno);
	if ((err = mzr_host__load(h)) ||
	    (err = mzr_vpc__create(h, 1, NULL, 0)) ||
	    (err = mzr_net__create(h, 1, net, 8, &b, 1, NULL)))
		die("setup", err);
	specs = calloc(n, sizeof(*specs));
	if (!specs)
		die("memory", -ENOMEM);
	for (i = 0; i < n; i++) {
		specs[i].vni = 1;
		specs[i].ip.s_addr = htonl(0x0a000002 + i);
		specs[i].mac[0] = 0x02;
		memcpy(&specs[i].mac[2], &specs[i].ip.s_addr, 4);
		specs[i].host.s_addr = htonl(0xc0a80101);
	}
	err = mzr_ep__create_batch(h, specs, n, NULL);
	if (err)
		die("create_batch", err);
	free(specs);
	fd = mzr_host__map_fd(h, "mzr_eps");

	/* Alternate floor and batch so that drift hits both alike. */
	for (r = 0; r < 3; r++) {
		t0 = now();
		c_key = count_by_key(fd);
		t0 = now() - t0;
		t_key = t0 < t_key ? t0 : t_key;
		mzri_count_no_iter = true;
		t0 = now();
		err = mzr_map__count(fd, &c_batch);
		t0 = now() - t0;
		mzri_count_no_iter = false;
		if (err)
			die("mzr_map__count (batched)", err);
		t_batch = t0 < t_batch ? t0 : t_batch;
		t0 = now();
		err = mzr_map__count(fd, &c_iter);
		t0 = now() - t0;
		if (err)
			die("mzr_map__count", err);
		t_iter = t0 < t_iter ? t0 : t_iter;
		t0 = now();
		nt = mzr_host__tables(h, t, 16);
		t0 = now() - t0;
		if (nt < 0)
			die("mzr_host__tables", nt);
		t_all = t0 < t_all ? t0 : t_all;
	}
	if (c_key != n || c_batch != n || c_iter != n || t[0].entries != n)
		fprintf(stderr,
			"bench_tables: counted %u (by key), %u (batch), %u "
			"(iterator), %u (tables), expected %zu\n",
			c_key, c_batch, c_iter, t[0].entries, n);
	printf("%8zu endpoints: iterator %8.2f ms, batched %8.2f ms, "
	       "key-by-key %8.2f ms (iterator/key %.4f, batched/key %.4f); "
	       "all %d tables %8.2f ms\n",
	       n, t_iter * 1e3, t_batch * 1e3, t_key * 1e3, t_iter / t_key,
	       t_batch / t_key, nt, t_all * 1e3);
	printf("{\"bench\":\"tables\",\"endpoints\":%zu,\"iter_ms\":%.3f,"
	       "\"batch_ms\":%.3f,\"key_ms\":%.3f,\"tables_ms\":%.3f}\n",
	       n, t_iter * 1e3, t_batch * 1e3, t_key * 1e3, t_all * 1e3);
	mzr_host__reset(h);
	mzr_host__close(h);
}

int main(int argc, char **argv)
{
	size_t def[] = { 1000, 1000000 }, n;
	int i, k = argc > 1 ? argc - 1 : 2;

	if (geteuid()) {
		fprintf(stderr, "bench_tables: needs root (BPF maps)\n");
		return 77;
	}
	if (!mkdtemp(bpffs) || mount("bpf", bpffs, "bpf", 0, NULL))
		die("private bpffs", -errno);
	mounted = true;
	atexit(cleanup);
	for (i = 0; i < k; i++) {
		n = argc > 1 ? strtoul(argv[i + 1], NULL, 0) : def[i];
		if (!n || n > (1U << 24) - 16) {
			fprintf(stderr,
				"usage: bench_tables [N...] (1..16M)\n");
			return 2;
		}
		run(n, i);
	}
	return 0;
}
