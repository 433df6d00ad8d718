// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Table fill levels on a real kernel: mzr_host__tables() reports every
 * core table with its entries and capacity, NF maps pinned under the pin
 * root after them, the total when the caller's array is short; and
 * mzr_map__count() counts each map type exactly, agreeing with a plain
 * get_next_key walk: from the kernel's element counts (map iterator) and,
 * with the iterator switched off, with batches (hash, LRU, per-CPU hash,
 * more entries than a batch) or key by key (LPM trie); LRU evictions
 * included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/mizar.h>

#include "testenv.h"

#define MAX_EPS 32

/* libmizar's switch to its fallback walks (tables.c). */
extern bool mzri_count_no_iter;

static char bpffs[128];
static char root[192];
static struct mzr_host *h;

static int quiet(enum mzr_print_level level, const char *fmt, va_list args)
{
	if (getenv("MZR_TEST_VERBOSE"))
		vfprintf(stderr, fmt, args);
	return 0;
}

static struct mzr_ep_spec ep(uint32_t i)
{
	struct mzr_ep_spec s = {
		.vni = 100,
		.ip.s_addr = htonl(0x0a000002 + i),
		.host.s_addr = htonl(0xc0a80702),
		.mac = { 0x02, 0x00 },
	};

	memcpy(&s.mac[2], &s.ip.s_addr, 4);
	return s;
}

static int setup(void **state)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root, .max_endpoints = MAX_EPS,
		 .max_direct = 512);
	struct in_addr b = { htonl(0xc0a80701) };

	h = mzr_host__open(&o);
	assert_non_null(h);
	assert_int_equal(mzr_host__load(h), 0);
	assert_int_equal(mzr_vpc__create(h, 100, NULL, 0), 0);
	assert_int_equal(mzr_vpc__create(h, 200, NULL, 0), 0);
	assert_int_equal(mzr_net__create(h, 100,
					 (struct in_addr){ htonl(0x0a000000) },
					 24, &b, 1, NULL),
			 0);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(mzr_host__reset(h), 0);
	mzr_host__close(h);
	h = NULL;
	return 0;
}

static const struct mzr_table_usage *find(const struct mzr_table_usage *t,
					  int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

static void test_core_tables(void **state)
{
	struct mzr_table_usage t[32];
	struct mzr_ep_spec specs[MAX_EPS - 2];
	const struct mzr_table_usage *e;
	uint32_t i;
	int n;

	for (i = 0; i < MAX_EPS - 2; i++)
		specs[i] = ep(i);
	assert_int_equal(mzr_ep__create_batch(h, specs, MAX_EPS - 2, NULL), 0);

	n = mzr_host__tables(h, t, 32);
	assert_int_equal(n, 5);
	assert_string_equal(t[0].name, "endpoints");
	assert_string_equal(t[1].name, "local_endpoints");
	assert_string_equal(t[2].name, "networks");
	assert_string_equal(t[3].name, "vpcs");
	assert_string_equal(t[4].name, "direct_path");
	assert_int_equal(t[0].entries, MAX_EPS - 2);
	assert_int_equal(t[0].capacity, MAX_EPS);
	assert_int_equal(t[0].kind, MZR_TABLE_CORE);
	assert_int_equal(t[1].entries, 0);
	assert_int_equal(t[2].entries, 1);
	assert_int_equal(t[3].entries, 2);
	assert_int_equal(t[4].entries, 0);
	assert_int_equal(t[4].capacity, 512);
	assert_int_equal(t[4].kind, MZR_TABLE_CACHE);

	/* A short array gets what fits; the return says how many exist. */
	memset(t, 0xee, sizeof(t));
	assert_int_equal(mzr_host__tables(h, t, 2), 5);
	assert_string_equal(t[1].name, "local_endpoints");
	assert_int_equal((unsigned char)t[2].name[0], 0xee);
	assert_int_equal(mzr_host__tables(h, NULL, 0), 5);
	assert_int_equal(mzr_host__tables(h, NULL, 1), -EINVAL);
	assert_int_equal(mzr_host__tables(NULL, t, 32), -EINVAL);

	/* Deleting is seen at once. */
	assert_int_equal(mzr_ep__delete(h, 100, specs[0].ip), 0);
	n = mzr_host__tables(h, t, 32);
	e = find(t, n, "endpoints");
	assert_non_null(e);
	assert_int_equal(e->entries, MAX_EPS - 3);
}

/* Pinned NF maps are listed by path after the core tables; arrays and
 * programs are not. */
static void test_nf_maps_listed(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, no_prealloc,
		    .map_flags = BPF_F_NO_PREALLOC);
	struct mzr_table_usage t[32];
	const struct mzr_table_usage *e;
	char dir[256], path[320];
	uint32_t k, v = 0;
	int fd, afd, n;

	snprintf(dir, sizeof(dir), "%s/nfcfg", root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/nfcfg/tool", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "tool_ct", 4, 4, 100, NULL);
	assert_true(fd >= 0);
	for (k = 0; k < 7; k++)
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	snprintf(path, sizeof(path), "%s/tool_ct", dir);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	afd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tool_cfg", 4, 4, 8, NULL);
	assert_true(afd >= 0);
	snprintf(path, sizeof(path), "%s/tool_cfg", dir);
	assert_int_equal(bpf_obj_pin(afd, path), 0);
	close(afd);
	close(fd);
	snprintf(dir, sizeof(dir), "%s/nf_shared", root);
	mkdir(dir, 0700);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "shared_tbl", 4, 4, 10,
			    &no_prealloc);
	assert_true(fd >= 0);
	for (k = 0; k < 9; k++)
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	snprintf(path, sizeof(path), "%s/shared_tbl", dir);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);

	n = mzr_host__tables(h, t, 32);
	assert_int_equal(n, 7);
	assert_string_equal(t[5].name, "nf_shared/shared_tbl");
	assert_int_equal(t[5].entries, 9);
	assert_int_equal(t[5].capacity, 10);
	assert_int_equal(t[5].kind, MZR_TABLE_NF);
	e = find(t, n, "nfcfg/tool/tool_ct");
	assert_non_null(e);
	assert_int_equal(e->entries, 7);
	assert_int_equal(e->capacity, 100);
	assert_null(find(t, n, "nfcfg/tool/tool_cfg"));

	/* The fallback walks find the same. */
	mzri_count_no_iter = true;
	assert_int_equal(mzr_host__tables(h, t, 32), 7);
	mzri_count_no_iter = false;
	assert_int_equal(t[5].entries, 9);
	e = find(t, n, "nfcfg/tool/tool_ct");
	assert_non_null(e);
	assert_int_equal(e->entries, 7);
}

static uint32_t walk_count(int fd, size_t key_sz)
{
	char key[64], next[64];
	void *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_sz);
		prev = key;
		n++;
	}
	return n;
}

/* Create a map of @type, insert @fill distinct keys (an LRU map of @max
 * < @fill evicts), and check the count against a walk. */
static void count_type(enum bpf_map_type type, uint32_t key_sz, uint32_t max,
		       uint32_t fill, const char *what)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int ncpu = libbpf_num_possible_cpus();
	uint8_t key[16] = {};
	uint64_t *vals;
	uint32_t i, n = 12345;
	int fd;

	if (type == BPF_MAP_TYPE_LPM_TRIE)
		o.map_flags = BPF_F_NO_PREALLOC;
	fd = bpf_map_create(type, what, key_sz, 8, max, &o);
	if (fd < 0)
		fail_msg("%s: create: %s", what, strerror(errno));
	vals = calloc(ncpu, sizeof(*vals));
	assert_non_null(vals);
	for (i = 0; i < fill; i++) {
		memset(key, 0, sizeof(key));
		if (type == BPF_MAP_TYPE_LPM_TRIE) {
			key[0] = 32; /* prefix length, then the address */
			memcpy(&key[4], &i, 4);
		} else {
			memcpy(key, &i, 4);
		}
		if (bpf_map_update_elem(fd, key, vals, BPF_NOEXIST))
			fail_msg("%s: insert %u: %s", what, i, strerror(errno));
	}
	assert_int_equal(mzr_map__count(fd, &n), 0);
	if (n != walk_count(fd, key_sz) || (fill <= max && n != fill))
		fail_msg("%s%s: counted %u, filled %u, walk %u", what,
			 mzri_count_no_iter ? " (walks)" : "", n, fill,
			 walk_count(fd, key_sz));
	if (fill > max && n >= fill)
		fail_msg("%s: %u counted, no eviction", what, n);
	free(vals);
	close(fd);
}

static void count_all_types(void)
{
	count_type(BPF_MAP_TYPE_HASH, 8, 100000, 0, "hash_empty");
	count_type(BPF_MAP_TYPE_HASH, 8, 100000, 1, "hash_one");
	/* More than a batch (16384): several batched calls. */
	count_type(BPF_MAP_TYPE_HASH, 8, 100000, 40000, "hash_40k");
	/* Full table, more entries than buckets per batch can hold. */
	count_type(BPF_MAP_TYPE_HASH, 4, 20000, 20000, "hash_full");
	count_type(BPF_MAP_TYPE_PERCPU_HASH, 4, 30000, 20000, "pcpu_hash");
	count_type(BPF_MAP_TYPE_LRU_HASH, 8, 50000, 17000, "lru_hash");
	count_type(BPF_MAP_TYPE_LRU_HASH, 4, 1000, 3000, "lru_evicting");
	count_type(BPF_MAP_TYPE_LPM_TRIE, 8, 1000, 300, "lpm");
}

static void test_count_map_types(void **state)
{
	uint32_t n;

	count_all_types();
	mzri_count_no_iter = true;
	count_all_types();
	mzri_count_no_iter = false;
	assert_true(mzr_map__count(-1, &n) < 0);
	assert_int_equal(mzr_map__count(0, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_core_tables, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nf_maps_listed, setup,
						teardown),
		cmocka_unit_test(test_count_map_types),
	};

	test_require_root();
	test_private_netns();
	test_bpffs_mount(bpffs);
	snprintf(root, sizeof(root), "%s/host", bpffs);
	mzr_set_print(quiet);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
