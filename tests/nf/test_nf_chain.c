// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NF chains, against a stand-in core: NFs run in chain order and see the
 * context; a dropping NF ends the chain with its reason counted; pass-
 * through NFs leave the frame intact; the ABI is checked at open and at
 * run time; a missed tail call is a counted drop; chain updates are atomic
 * under traffic; chains are visible to other processes by name.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "fixture.h"
#include "nf_testcore.h"
#include "pktbuild.h"
#include "testenv.h"

#define HOOK MZR_HOOK_BOUNCER

static struct testcore tc;
static struct pkt frame;

/* The sequence of NF ids the last packet's chain recorded, as "1,2,3". */
static const char *seen(const struct mzr_ctx *c, char *buf, size_t n)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < c->scratch[0] && i < 15; i++)
		off += snprintf(buf + off, n - off, "%s%u", i ? "," : "",
				c->scratch[1 + i]);
	return buf;
}

static bool positions_in_order(const struct mzr_ctx *c)
{
	int i;

	for (i = 0; i < c->scratch[0] && i < 15; i++)
		if (c->scratch[16 + i] != i)
			return false;
	return true;
}

/* Run the frame; the verdict and the ids the continuation saw ("" when
 * it did not run). */
static int run(char *ids, size_t n)
{
	struct mzr_ctx c;
	int verdict;

	testcore_result_clear(&tc);
	verdict = testcore_run(&tc, frame.data, frame.len);
	testcore_result(&tc, &c);
	if (c.version)
		seen(&c, ids, n);
	else
		snprintf(ids, n, "-");
	return verdict;
}

static uint64_t stat(uint32_t idx)
{
	return percpu_sum(tc.host.map_fds[MZRI_MAP_STATS], idx);
}

static uint64_t missed(uint32_t hook, uint32_t pos)
{
	return percpu_sum(tc.host.map_fds[MZRI_MAP_MISSED],
			  MZR_MISSED_IDX(hook, pos));
}

static void test_open_checks(void)
{
	struct mzr_nf *nf;

	nf = mzr_nf__open_file(nf_obj("nf_nodecl"), NULL);
	CHECK(!nf && errno == EPROTO,
	      "an object without MZR_NF_DECLARE is refused (EPROTO)");
	nf = mzr_nf__open_file(nf_obj("nf_future"), NULL);
	CHECK(!nf && errno == EPROTO,
	      "an NF built for a newer context version is refused (EPROTO)");
	nf = mzr_nf__open_file("/nonexistent/nf.bpf.o", NULL);
	CHECK(!nf && errno == ENOENT, "a missing object file is ENOENT");
	{
		MZR_OPTS(mzr_nf_open_opts, o, .prog_name = "nope");
		nf = mzr_nf__open_file(nf_obj("nf_append_1"), &o);
		CHECK(!nf && errno == EINVAL, "an unknown prog_name is EINVAL");
	}
	nf = nf_open_obj("nf_append_1");
	CHECK(!strcmp(mzr_nf__declared_name(nf), "test-append") &&
		      mzr_nf__ctx_version(nf) == MZR_CTX_VERSION &&
		      !strcmp(mzr_nf__prog_name(nf), "nf_append") &&
		      mzr_nf__prog_fd(nf) == -EINVAL,
	      "a declared NF opens; nothing is loaded before load");
	mzr_nf__close(nf);
}

struct listing {
	char text[512];
	size_t off;
};

static int list_cb(const struct mzr_nf_info *i, void *ctx)
{
	struct listing *l = ctx;

	l->off += snprintf(l->text + l->off, sizeof(l->text) - l->off,
			   "%s%s@%s:%u", l->off ? " " : "", i->name,
			   mzr_hook_name(i->hook), i->pos);
	return 0;
}

static const char *listing(struct listing *l)
{
	memset(l, 0, sizeof(*l));
	mzr_host__nf_for_each(&tc.host, list_cb, l);
	return l->text;
}

/* Listing as another process sees it (a fresh process, same pin root). */
static bool child_lists(const char *want)
{
	int pfd[2], status;
	char buf[512] = "";
	struct listing l;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return false;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		listing(&l);
		n = write(pfd[1], l.text, strlen(l.text));
		_exit(n < 0);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, want))
		printf("    other process lists '%s', want '%s'\n", buf, want);
	return !strcmp(buf, want);
}

static void test_chain_order(struct mzr_nf *a, struct mzr_nf *b,
			     struct mzr_nf *c)
{
	struct fixture_pkt f = {
		.desc = "a chain of pass-through NFs leaves the frame "
			"byte-identical and ends in the continuation (XDP_TX)",
		.verdict = XDP_TX,
		.check_out = true,
		.counter = MZR_CNT_NF_RUN,
	};
	struct mzr_ctx ctx;
	struct listing l;
	char ids[64];
	int v;

	v = run(ids, sizeof(ids));
	CHECK(v == XDP_TX && !strcmp(ids, ""),
	      "an empty hook goes straight on (verdict %d, ids '%s')", v, ids);

	CHECK(!mzr_host__nf_insert(&tc.host, "nf-a", a, HOOK, MZR_NF_POS_END),
	      "insert nf-a at the end");
	CHECK(!mzr_host__nf_insert(&tc.host, "nf-c", c, HOOK, MZR_NF_POS_END),
	      "insert nf-c at the end");
	CHECK(!mzr_host__nf_insert(&tc.host, "nf-b", b, HOOK, 1),
	      "insert nf-b at position 1");

	v = run(ids, sizeof(ids));
	testcore_result(&tc, &ctx);
	CHECK(v == XDP_TX && !strcmp(ids, "1,2,3"),
	      "NFs run in chain order, then the continuation (verdict %d, "
	      "ids '%s')", v, ids);
	CHECK(positions_in_order(&ctx) && ctx.chain_len == 3,
	      "each NF sees its own chain position; chain_len is 3");
	CHECK(ctx.vni == 42 && ctx.proto == 17 &&
		      ctx.version == MZR_CTX_VERSION && ctx.hook == HOOK,
	      "NFs and the continuation see the core's context (vni %u)",
	      ctx.vni);

	f.in = frame;
	f.out = frame;
	CHECK(!fixture_pkt_run(tc.entry_fd, tc.host.map_fds[MZRI_MAP_STATS], &f),
	      "%s", f.desc);

	CHECK(!strcmp(listing(&l), "nf-a@bouncer:0 nf-b@bouncer:1 "
				   "nf-c@bouncer:2"),
	      "the chain lists in order: %s", l.text);
	CHECK(child_lists("nf-a@bouncer:0 nf-b@bouncer:1 nf-c@bouncer:2"),
	      "another process lists the same chain by name");
}

static void test_drop(void)
{
	struct mzr_nf *d = nf_open_obj("nf_drop_6"), *t = nf_open_obj("nf_drop_ttl");
	uint64_t before, before_ttl;
	char ids[64];
	int v;

	CHECK(!mzr_host__nf_insert(&tc.host, "nf-drop", d, HOOK, 1),
	      "insert a dropping NF at position 1");
	before = stat(MZR_CNT_DROP_BASE + MZR_DROP_NF);
	testcore_result_clear(&tc);
	v = testcore_run(&tc, frame.data, frame.len);
	testcore_result(&tc, &(struct mzr_ctx){});
	run(ids, sizeof(ids));
	CHECK(v == XDP_DROP && !strcmp(ids, "-"),
	      "a dropping NF stops the chain: XDP_DROP, no continuation "
	      "(verdict %d)", v);
	CHECK(stat(MZR_CNT_DROP_BASE + MZR_DROP_NF) == before + 2,
	      "its drop is counted as 'nf' (reason 0 means MZR_DROP_NF)");
	CHECK(!mzr_host__nf_remove(&tc.host, "nf-drop"), "remove nf-drop");

	CHECK(!mzr_host__nf_insert(&tc.host, "nf-ttl", t, HOOK, 0),
	      "insert an NF dropping with a named reason first");
	before_ttl = stat(MZR_CNT_DROP_BASE + MZR_DROP_TTL_EXPIRED);
	before = stat(MZR_CNT_DROP_BASE + MZR_DROP_NF);
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_DROP &&
		      stat(MZR_CNT_DROP_BASE + MZR_DROP_TTL_EXPIRED) ==
			      before_ttl + 1 &&
		      stat(MZR_CNT_DROP_BASE + MZR_DROP_NF) == before,
	      "the NF's own reason is counted, not the generic one");
	CHECK(!mzr_host__nf_remove(&tc.host, "nf-ttl"), "remove nf-ttl");
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_TX && !strcmp(ids, "1,2,3"),
	      "after removal the chain is 1,2,3 again (ids '%s')", ids);
	mzr_nf__close(d);
	mzr_nf__close(t);
}

static void test_replace(void)
{
	struct mzr_nf *e = nf_open_obj("nf_append_5");
	struct mzr_nf_info before, after;
	char ids[64];
	int v;

	mzr_host__nf_get(&tc.host, "nf-b", &before);
	CHECK(!mzr_host__nf_replace(&tc.host, "nf-b", e),
	      "replace nf-b's program");
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_TX && !strcmp(ids, "1,5,3"),
	      "the new program runs at the same position (ids '%s')", ids);
	CHECK(!mzr_host__nf_get(&tc.host, "nf-b", &after) &&
		      after.prog_id != before.prog_id && after.pos == 1 &&
		      after.hook == HOOK,
	      "nf-b keeps hook and position with a new program id");
	mzr_nf__close(e);
}

static void test_abi_runtime(void)
{
	uint64_t before = stat(MZR_CNT_DROP_BASE + MZR_DROP_NF_ABI);
	char ids[64];
	int v;

	/* Knobs 1 and 2 hold version + 1 and length + 1 of the context. */
	testcore_knob(&tc, 1, MZR_CTX_VERSION + 2);
	testcore_knob(&tc, 2, sizeof(struct mzr_ctx) + 16 + 1);
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_TX && !strcmp(ids, "1,5,3"),
	      "a newer, longer context is served to older NFs (ids '%s')",
	      ids);
	testcore_knob(&tc, 2, 0);

	testcore_knob(&tc, 1, MZR_CTX_VERSION - 1 + 1);
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_DROP && !strcmp(ids, "-") &&
		      stat(MZR_CNT_DROP_BASE + MZR_DROP_NF_ABI) == before + 1,
	      "a context older than the NF's is refused at run time: "
	      "XDP_DROP counted as nf_abi (verdict %d)", v);
	testcore_knob(&tc, 1, 0);

	testcore_knob(&tc, 2, sizeof(struct mzr_ctx) - 4 + 1);
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_DROP &&
		      stat(MZR_CNT_DROP_BASE + MZR_DROP_NF_ABI) == before + 2,
	      "so is a context shorter than the NF's (verdict %d)", v);
	testcore_knob(&tc, 2, 0);
}

static void test_missed(void)
{
	int progs = tc.host.map_fds[MZRI_MAP_PROGS];
	uint64_t before = stat(MZR_CNT_DROP_BASE + MZR_DROP_MISSED_TAIL_CALL);
	uint64_t m1 = missed(HOOK, 1), mc = missed(HOOK, MZR_CHAIN_MAX);
	struct mzr_nf_info info;
	__u32 key = MZR_CHAIN_CFG_BANK, bank, slot;
	char ids[64];
	int v;

	bpf_map_lookup_elem(tc.host.map_fds[MZRI_MAP_CHAIN_CFG], &key, &bank);
	slot = MZR_PROG_NF(bank, HOOK, 1);
	bpf_map_delete_elem(progs, &slot);
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_DROP && missed(HOOK, 1) == m1 + 1 &&
		      stat(MZR_CNT_DROP_BASE + MZR_DROP_MISSED_TAIL_CALL) ==
			      before + 1,
	      "an emptied chain slot is a counted drop (missed_tail_call, "
	      "mzr_missed at its position)");
	CHECK(!mzr_host__nf_get(&tc.host, "nf-b", &info) && info.missed == 1,
	      "nf show reports the miss at nf-b's position (%llu)",
	      (unsigned long long)info.missed);

	slot = MZR_PROG_CONT(HOOK);
	bpf_map_delete_elem(progs, &slot);
	/* Republish so that position 1 is filled again. */
	CHECK(!mzr_host__nf_remove(&tc.host, "nf-c"), "remove nf-c");
	v = run(ids, sizeof(ids));
	CHECK(v == XDP_DROP && missed(HOOK, MZR_CHAIN_MAX) == mc + 1,
	      "a missing continuation is a counted drop too");
	bpf_map_update_elem(progs, &slot, &tc.cont_fd, BPF_ANY);
}

static void test_errors(struct mzr_nf *a)
{
	char name[16];
	int i, err = 0;

	CHECK(mzr_host__nf_insert(&tc.host, "nf-a", a, HOOK, 0) == -EEXIST,
	      "a taken name is EEXIST");
	CHECK(mzr_host__nf_insert(&tc.host, "bad/name", a, HOOK, 0) ==
		      -EINVAL &&
		      mzr_host__nf_insert(&tc.host, "has.dot", a, HOOK, 0) ==
			      -EINVAL &&
		      mzr_host__nf_insert(&tc.host, "", a, HOOK, 0) == -EINVAL,
	      "bad names are EINVAL");
	CHECK(mzr_host__nf_insert(&tc.host, "x", a, __MZR_HOOK_MAX, 0) ==
		      -EINVAL,
	      "a bad hook is EINVAL");
	CHECK(mzr_host__nf_insert(&tc.host, "x", a, MZR_HOOK_DIVIDER, 1) ==
		      -ERANGE,
	      "a position past the chain's end is ERANGE");
	CHECK(mzr_host__nf_remove(&tc.host, "nope") == -ENOENT &&
		      mzr_host__nf_replace(&tc.host, "nope", a) == -ENOENT,
	      "an unknown name is ENOENT");
	for (i = 0; i < MZR_CHAIN_MAX && !err; i++) {
		snprintf(name, sizeof(name), "fill%d", i);
		err = mzr_host__nf_insert(&tc.host, name, a,
					  MZR_HOOK_DIVIDER, MZR_NF_POS_END);
	}
	CHECK(!err && mzr_host__nf_insert(&tc.host, "one-more", a,
					  MZR_HOOK_DIVIDER,
					  MZR_NF_POS_END) == -ENOSPC,
	      "a chain holds %d NFs, then ENOSPC", MZR_CHAIN_MAX);
	for (i = 0; i < MZR_CHAIN_MAX; i++) {
		snprintf(name, sizeof(name), "fill%d", i);
		mzr_host__nf_remove(&tc.host, name);
	}
}

/* Whether PIN_ROOT/@rel exists. */
static bool pinned(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tc.host.pin_root, rel);
	return !access(path, F_OK);
}

/*
 * One packet may run three chains (the agent's, the transit hook its
 * injection meets, then deliver after a reroute to a local endpoint):
 * their NFs together stay within the kernel's 33 tail calls, refused at
 * insert with E2BIG and nothing left behind. The bouncer chain holds 3 NFs
 * (nf-a, nf-b, nf-c) here.
 */
static void test_combined_length(struct mzr_nf *a)
{
	char name[16];
	int i, err = 0;

	for (i = 0; i < MZR_CHAIN_MAX && !err; i++) {
		snprintf(name, sizeof(name), "dl%d", i);
		err = mzr_host__nf_insert(&tc.host, name, a, MZR_HOOK_DELIVER,
					  MZR_NF_POS_END);
	}
	for (i = 0; i < MZR_CHAIN_MAX - 6 && !err; i++) {
		snprintf(name, sizeof(name), "ae%d", i);
		err = mzr_host__nf_insert(&tc.host, name, a,
					  MZR_HOOK_AGENT_EGRESS,
					  MZR_NF_POS_END);
	}
	CHECK(!err, "16 NFs at deliver, 3 at the bouncer and 10 at agent-egress: "
	      "33 tail calls for an injected, rerouted packet, accepted");
	CHECK(mzr_host__nf_insert(&tc.host, "ae-more", a,
				  MZR_HOOK_AGENT_EGRESS, MZR_NF_POS_END) ==
		      -E2BIG &&
		      mzr_host__nf_insert(&tc.host, "ae-more", a,
					  MZR_HOOK_AGENT_EGRESS, 0) == -E2BIG,
	      "one more at agent-egress: E2BIG");
	CHECK(!pinned("nf/ae-more") && !pinned("nf_maps/ae-more") &&
		      mzr_host__nf_get(&tc.host, "ae-more",
				       &(struct mzr_nf_info){}) == -ENOENT,
	      "the refused NF left no pin and no registry entry");
	CHECK(!mzr_host__nf_insert(&tc.host, "bn-more", a, MZR_HOOK_EXTERNAL,
				   MZR_NF_POS_END),
	      "the external hook, with 14 NFs left for its pairs, accepts one");
	mzr_host__nf_remove(&tc.host, "bn-more");
	for (i = 0; i < MZR_CHAIN_MAX; i++) {
		snprintf(name, sizeof(name), "dl%d", i);
		mzr_host__nf_remove(&tc.host, name);
		snprintf(name, sizeof(name), "ae%d", i);
		mzr_host__nf_remove(&tc.host, name);
	}
}

/*
 * The registry is written first and restored when publishing fails: a
 * chain member whose pin vanished makes the publish fail, and the insert
 * that tried leaves the registry as it was (and no pin).
 */
static void test_registry_rollback(struct mzr_nf *a, struct mzr_nf *b)
{
	char path[PATH_MAX], ids[64];
	int err;

	snprintf(path, sizeof(path), "%s/nf/nf-b", tc.host.pin_root);
	CHECK(!unlink(path), "nf-b's pin removed behind the library's back");
	err = mzr_host__nf_insert(&tc.host, "nf-x", a, HOOK, MZR_NF_POS_END);
	CHECK(err == -ENOENT, "an insert cannot publish then (%d)", err);
	CHECK(mzr_host__nf_get(&tc.host, "nf-x",
			       &(struct mzr_nf_info){}) == -ENOENT &&
		      !pinned("nf/nf-x"),
	      "the registry was restored: no nf-x, no pin");
	CHECK(run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "1,2,3"),
	      "the old chain still runs (%s)", ids);
	CHECK(!bpf_obj_pin(mzr_nf__prog_fd(b), path), "nf-b pinned again");
}

/*
 * A registry that cannot be written (frozen here) stops an insert before
 * anything runs: the chain packets see stays what the registry names.
 * Last: the registry stays frozen.
 */
static void test_registry_first(struct mzr_nf *a)
{
	char path[PATH_MAX], ids[64];
	int fd, err;

	snprintf(path, sizeof(path), "%s/maps/mzr_nf_registry",
		 tc.host.pin_root);
	fd = bpf_obj_get(path);
	CHECK(fd >= 0 && !bpf_map_freeze(fd), "the registry frozen");
	if (fd >= 0)
		close(fd);
	err = mzr_host__nf_insert(&tc.host, "nf-y", a, HOOK, 0);
	CHECK(err < 0, "an insert fails when the registry cannot be written "
	      "(%d)", err);
	CHECK(run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "1"),
	      "and nothing was published: the chain is still 1 (%s)", ids);
	CHECK(!pinned("nf/nf-y"), "and nf-y left no pin");
}

/* ---- Atomicity under traffic -------------------------------------------- */

static volatile bool stop;
static unsigned long runs, bad;
static char bad_ids[96];

static void *traffic(void *arg)
{
	char ids[64];
	int v;

	while (!stop) {
		v = run(ids, sizeof(ids));
		runs++;
		if (v != XDP_TX || (strcmp(ids, "1,2,3") &&
				    strcmp(ids, "4,1,2,3"))) {
			bad++;
			snprintf(bad_ids, sizeof(bad_ids), "%d:%s", v, ids);
		}
	}
	return NULL;
}

static void test_atomic(struct mzr_nf *front)
{
	pthread_t th;
	int i, err = 0;

	pthread_create(&th, NULL, traffic, NULL);
	for (i = 0; i < 200 && !err; i++) {
		err = mzr_host__nf_insert(&tc.host, "front", front, HOOK, 0);
		err = err ?: mzr_host__nf_remove(&tc.host, "front");
	}
	stop = true;
	pthread_join(th, NULL);
	CHECK(!err && runs > 0 && !bad,
	      "400 updates shifting every slot under %lu packets: each saw "
	      "the old chain or the new one, never a mix (bad %lu, last "
	      "'%s')", runs, bad, bad_ids);
}

int main(void)
{
	struct mzr_nf *a, *b, *c, *d;
	__u32 slot;

	setvbuf(stdout, NULL, _IOLBF, 0);
	testcore_setup(&tc);
	mzr_set_print(NULL);

	testcore_frame(&frame, "mizar nf chain test");
	testcore_knob(&tc, 0, HOOK);

	test_open_checks();
	a = nf_open_obj("nf_append_1");
	b = nf_open_obj("nf_append_2");
	c = nf_open_obj("nf_append_3");
	d = nf_open_obj("nf_append_4");
	CHECK(!mzr_nf__load(a, &tc.host) && mzr_nf__prog_fd(a) >= 0,
	      "load binds the NF to the back-plane's maps");
	CHECK(mzr_nf__load(a, &tc.host) == -EALREADY, "load twice: EALREADY");

	test_chain_order(a, b, c);
	test_drop();
	/* Restore 1,2,3 for the next tests. */
	test_replace();
	test_abi_runtime();
	test_missed();
	CHECK(!mzr_host__nf_remove(&tc.host, "nf-b") &&
		      !mzr_host__nf_insert(&tc.host, "nf-b", b, HOOK, 1) &&
		      !mzr_host__nf_insert(&tc.host, "nf-c", c, HOOK,
					   MZR_NF_POS_END),
	      "rebuild 1,2,3");
	test_errors(a);
	test_atomic(d);

	test_combined_length(a);
	test_registry_rollback(a, b);
	CHECK(!mzr_host__nf_remove(&tc.host, "nf-a"),
	      "chains update again once the pin is back");
	{
		char ids[64];

		CHECK(run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "2,3"),
		      "chain 2,3 (%s)", ids);
		CHECK(!mzr_host__nf_insert(&tc.host, "nf-a", a, HOOK, 0),
		      "rebuild 1,2,3");
	}
	CHECK(!mzr_host__nf_clear(&tc.host), "clear every chain");
	slot = MZR_PROG_NF(0, HOOK, 0);
	{
		char ids[64];
		int v = run(ids, sizeof(ids));

		CHECK(v == XDP_TX && !strcmp(ids, ""),
		      "after clear the hook is empty again");
	}
	(void)slot;
	CHECK(!mzr_host__nf_insert(&tc.host, "nf-a", a, HOOK, 0),
	      "chain 1 for the last test");
	test_registry_first(a);
	mzr_nf__close(a);
	mzr_nf__close(b);
	mzr_nf__close(c);
	mzr_nf__close(d);
	return test_report();
}
