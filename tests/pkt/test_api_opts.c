// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The LIBMIZAR_0.2 _opts variants of calls whose 0.1 signatures cannot
 * grow: mzr_vpc__create_opts() and mzr_host__nf_insert_opts(). Their
 * options take effect, NULL gives the documented defaults, and a caller's
 * struct with bytes this library does not know is refused (libbpf's rule).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mizar/host.h>
#include <mizar/nf.h>

#include "core_env.h"
#include "testenv.h"

static struct core_env env;

static void vpc_opts(void)
{
	/* Named: MZR_OPTS() is a statement expression. */
	struct in_addr d[] = { test_in4(H2), test_in4(H3) };
	struct mzr_vpc_info info;
	struct {
		struct mzr_vpc_opts o;
		uint64_t future;
	} big = { .o.sz = sizeof(big), .future = 1 };
	int err;

	{
		MZR_OPTS(mzr_vpc_opts, o, .dividers = d, .n_dividers = 2);

		err = mzr_vpc__create_opts(env.host, 400, &o);
		CHECK(!err, "vpc create_opts with 2 dividers: %d", err);
	}
	err = mzr_vpc__get(env.host, 400, &info);
	CHECK(!err && info.n_dividers == 2 &&
		      info.dividers[0].s_addr == d[0].s_addr &&
		      info.dividers[1].s_addr == d[1].s_addr,
	      "the VPC has the opts' dividers: %d, %u", err, info.n_dividers);

	err = mzr_vpc__create_opts(env.host, 401, NULL);
	CHECK(!err, "vpc create_opts, NULL opts: %d", err);
	err = mzr_vpc__get(env.host, 401, &info);
	CHECK(!err && info.n_dividers == 0, "NULL opts: no dividers: %d, %u",
	      err, info.n_dividers);

	err = mzr_vpc__create_opts(env.host, 402, &big.o);
	CHECK(err == -EINVAL, "opts with unknown non-zero bytes: %d", err);
	big.future = 0;
	err = mzr_vpc__create_opts(env.host, 402, &big.o);
	CHECK(!err, "a larger opts whose extra bytes are zero: %d", err);
	err = mzr_vpc__create_opts(env.host, 400, NULL);
	CHECK(err == -EEXIST, "errors as mzr_vpc__create(): %d", err);
}

struct pos_of {
	const char *name;
	int pos;
};

static int find_pos(const struct mzr_nf_info *info, void *ctx)
{
	struct pos_of *p = ctx;

	if (!strcmp(info->name, p->name))
		p->pos = (int)info->pos;
	return 0;
}

static int nf_pos(const char *name)
{
	struct pos_of p = { .name = name, .pos = -1 };
	int err = mzr_host__nf_for_each(env.host, find_pos, &p);

	return err ? err : p.pos;
}

static struct mzr_nf *nf_open(const char *obj)
{
	char path[4096];
	struct mzr_nf *nf;

	snprintf(path, sizeof(path), "%s/%s.bpf.o", PKT_NF_OBJ_DIR, obj);
	nf = mzr_nf__open_file(path, NULL);
	if (!nf)
		test_die_err(obj, errno);
	return nf;
}

static void nf_insert_opts(void)
{
	struct mzr_nf *a = nf_open("pkt_hook_rec_1");
	struct mzr_nf *b = nf_open("pkt_hook_rec_2");
	struct mzr_nf *c = nf_open("pkt_hook_rec_3");
	struct {
		struct mzr_nf_insert_opts o;
		uint64_t future;
	} big = { .o.sz = sizeof(big), .future = 1 };
	int err;

	err = mzr_host__nf_insert_opts(env.host, "a", a, MZR_HOOK_BOUNCER,
				       NULL);
	CHECK(!err, "nf_insert_opts, NULL opts: %d", err);
	err = mzr_host__nf_insert_opts(env.host, "b", b, MZR_HOOK_BOUNCER,
				       NULL);
	CHECK(!err && nf_pos("a") == 0 && nf_pos("b") == 1,
	      "NULL opts appends: %d, a at %d, b at %d", err, nf_pos("a"),
	      nf_pos("b"));
	err = mzr_host__nf_insert_opts(env.host, "c", c, MZR_HOOK_BOUNCER,
				       &big.o);
	CHECK(err == -EINVAL && nf_pos("c") == -1,
	      "opts with unknown non-zero bytes: %d", err);
	{
		MZR_OPTS(mzr_nf_insert_opts, o, .pos = 0);

		err = mzr_host__nf_insert_opts(env.host, "c", c,
					       MZR_HOOK_BOUNCER, &o);
	}
	CHECK(!err && nf_pos("c") == 0 && nf_pos("a") == 1 &&
		      nf_pos("b") == 2,
	      "opts .pos = 0 inserts first: %d, c at %d", err, nf_pos("c"));
	mzr_host__nf_remove(env.host, "a");
	mzr_host__nf_remove(env.host, "b");
	mzr_host__nf_remove(env.host, "c");
	mzr_nf__close(a);
	mzr_nf__close(b);
	mzr_nf__close(c);
}

int main(void)
{
	core_env_setup(&env);
	vpc_opts();
	nf_insert_opts();
	printf("%d failures\n", test_failures);
	return test_failures ? 1 : 0;
}
