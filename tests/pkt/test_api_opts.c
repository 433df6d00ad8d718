// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The LIBMIZAR_0.2 _opts variants of calls whose 0.1 signatures cannot
 * grow: mzr_vpc__create_opts(), mzr_host__nf_insert_opts() and
 * mzr_ep__create_batch_opts() (specs of the caller's size). Their
 * options take effect, NULL gives the documented defaults, and a caller's
 * struct with bytes this library does not know is refused (libbpf's rule).
 * And the size-carrying getters (*_get_info, as bpf_obj_get_info_by_fd).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
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

/* Specs of a future, larger struct mzr_ep_spec (stride spec_sz). */
struct spec_v9 {
	struct mzr_ep_spec s;
	uint64_t future;
};

static void ep_batch_opts(void)
{
	struct spec_v9 v[2];
	struct mzr_ep_info info;
	size_t failed = 99;
	int err;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++) {
		v[i].s.vni = VNI_A;
		v[i].s.ip = test_in4(IP4(10, 1, 1, 60 + i));
		memcpy(v[i].s.mac, MAC_EP1, 6);
		v[i].s.mac[5] = 0x60 + i;
		v[i].s.host = test_in4(H2);
	}
	v[1].future = 1;
	{
		MZR_OPTS(mzr_ep_batch_opts, o, .spec_sz = sizeof(v[0]));

		err = mzr_ep__create_batch_opts(env.host, v, 2, &failed, &o);
		CHECK(err == -EINVAL && failed == 1,
		      "a spec with an unknown non-zero tail: %d, index %zu",
		      err, failed);
		CHECK(mzr_ep__get(env.host, VNI_A, v[0].s.ip, &info) ==
			      -ENOENT,
		      "nothing created when one spec is refused");
		v[1].future = 0;
		err = mzr_ep__create_batch_opts(env.host, v, 2, &failed, &o);
		CHECK(!err, "specs at the caller's stride: %d", err);
	}
	for (int i = 0; i < 2; i++) {
		err = mzr_ep__get(env.host, VNI_A, v[i].s.ip, &info);
		CHECK(!err && !memcmp(info.mac, v[i].s.mac, 6) &&
			      info.host.s_addr == htonl(H2),
		      "spec %d read at the caller's stride: %d", i, err);
		mzr_ep__delete(env.host, VNI_A, v[i].s.ip);
	}
	{
		MZR_OPTS(mzr_ep_batch_opts, o, .spec_sz = 8);

		err = mzr_ep__create_batch_opts(env.host, v, 2, NULL, &o);
		CHECK(err == -EINVAL, "spec_sz smaller than the spec: %d",
		      err);
	}
}

static void ep_opts_spec_sz(void)
{
	struct spec_v9 v = { .s = { .vni = VNI_A } };
	struct mzr_ep_info info;
	int err;

	v.s.ip = test_in4(IP4(10, 1, 1, 62));
	memcpy(v.s.mac, MAC_EP1, 6);
	v.s.mac[5] = 0x62;
	v.s.host = test_in4(H3);
	v.future = 1;
	{
		MZR_OPTS(mzr_ep_opts, o, .spec_sz = sizeof(v));

		err = mzr_ep__create_opts(env.host, &v.s, &o);
		CHECK(err == -EINVAL, "ep create_opts, a spec with an unknown "
		      "non-zero tail: %d", err);
		v.future = 0;
		err = mzr_ep__create_opts(env.host, &v.s, &o);
		CHECK(!err, "ep create_opts, a larger spec, zero tail: %d",
		      err);
	}
	err = mzr_ep__get(env.host, VNI_A, v.s.ip, &info);
	CHECK(!err && info.host.s_addr == htonl(H3),
	      "the endpoint is there: %d", err);
	mzr_ep__delete(env.host, VNI_A, v.s.ip);
}

/* Size-carrying getters: an older (smaller) caller's struct is not
 * overrun, a newer (larger) one gets zeros past what this library knows. */
static void get_info_len(void)
{
	struct {
		struct mzr_vpc_info i;
		uint64_t future;
	} vbig;
	struct {
		struct mzr_ep_info i;
		uint64_t future;
	} ebig;
	struct {
		struct mzr_host_info i;
		uint64_t future;
	} hbig;
	struct mzr_vpc_info small;
	const unsigned char *tail;
	size_t len, k;
	bool kept = true;
	int err;

	memset(&small, 0xaa, sizeof(small));
	len = offsetof(struct mzr_vpc_info, dividers);
	err = mzr_vpc__get_info(env.host, 400, &small, &len);
	tail = (const unsigned char *)&small + offsetof(struct mzr_vpc_info,
							 dividers);
	for (k = 0; k < sizeof(small.dividers); k++)
		kept = kept && tail[k] == 0xaa;
	CHECK(!err && len == offsetof(struct mzr_vpc_info, dividers) &&
		      small.vni == 400 && small.n_dividers == 2 && kept,
	      "an older caller's smaller vpc info: %d, len %zu, not overrun "
	      "%d", err, len, kept);

	memset(&vbig, 0xaa, sizeof(vbig));
	len = sizeof(vbig);
	err = mzr_vpc__get_info(env.host, 400, &vbig.i, &len);
	CHECK(!err && len == sizeof(vbig.i) && vbig.future == 0 &&
		      vbig.i.n_dividers == 2 &&
		      vbig.i.dividers[1].s_addr == htonl(H3),
	      "a newer caller's larger vpc info: %d, len %zu, tail %llx", err,
	      len, (unsigned long long)vbig.future);

	memset(&ebig, 0xaa, sizeof(ebig));
	len = sizeof(ebig);
	err = mzr_ep__get_info(env.host, VNI_A, test_in4(IP4(10, 1, 1, 10)),
			       &ebig.i, &len);
	CHECK(!err && len == sizeof(ebig.i) && ebig.future == 0 &&
		      !memcmp(ebig.i.mac, MAC_EP1, 6),
	      "a larger ep info: %d, len %zu", err, len);

	memset(&hbig, 0xaa, sizeof(hbig));
	len = sizeof(hbig);
	err = mzr_host__get_info(env.host, &hbig.i, &len);
	CHECK(!err && len == sizeof(hbig.i) && hbig.future == 0 &&
		      hbig.i.ip.s_addr == htonl(US),
	      "a larger host info: %d, len %zu", err, len);

	err = mzr_vpc__get_info(env.host, 400, &vbig.i, NULL);
	CHECK(err == -EINVAL, "no info_len: %d", err);
	len = sizeof(vbig.i);
	err = mzr_vpc__get_info(env.host, 4242, &vbig.i, &len);
	CHECK(err == -ENOENT, "errors as mzr_vpc__get(): %d", err);
}

int main(void)
{
	core_env_setup(&env);
	vpc_opts();
	nf_insert_opts();
	ep_batch_opts();
	ep_opts_spec_sz();
	get_info_len();
	printf("%d failures\n", test_failures);
	return test_failures ? 1 : 0;
}
