// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * NFs at the real core's hooks. Test NFs (tests/pkt/bpf/hook_nf.bpf.c) are
 * loaded with mzr_nf__open_file()/mzr_nf__load() and chained with
 * mzr_host__nf_insert() into each hook of the core that libmizar loaded:
 * agent-egress, bouncer, divider, deliver and external. Each NF records
 * the context it was given; the frames come out byte for byte as stated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include <mizar/nf.h>

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"
#include "shared.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define N_REC 3
#define OFF_NONE 0xffff

static struct core_env env;

/* What hook_nf.bpf.c records. */
struct hook_rec {
	uint64_t hits;
	struct mzr_ctx ctx;
};

struct test_nf {
	const char *obj;	/* object under PKT_NF_OBJ_DIR */
	const char *name;	/* chain member name */
	int id;			/* NF_ID it was built with */
	struct mzr_nf *nf;
	int rec_fd, cfg_fd;
};

static struct test_nf recs[N_REC] = {
	{ .obj = "pkt_hook_rec_1", .name = "rec1", .id = 1 },
	{ .obj = "pkt_hook_rec_2", .name = "rec2", .id = 2 },
	{ .obj = "pkt_hook_rec_3", .name = "rec3", .id = 3 },
};
static struct test_nf dropper = { .obj = "pkt_hook_drop", .name = "drop",
				  .id = 8 };
static struct test_nf rerouter = { .obj = "pkt_hook_reroute",
				   .name = "reroute", .id = 9 };

static const char *obj_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s.bpf.o", PKT_NF_OBJ_DIR, name);
	return buf;
}

static void nf_open_load(struct test_nf *t)
{
	struct bpf_object *obj;
	int err;

	t->nf = mzr_nf__open_file(obj_path(t->obj), NULL);
	if (!t->nf)
		test_die_err(t->obj, errno);
	err = mzr_nf__load(t->nf, env.host);
	if (err)
		test_die_err(t->obj, err);
	obj = mzr_nf__bpf_object(t->nf);
	t->rec_fd = bpf_object__find_map_fd_by_name(obj, "hook_rec");
	t->cfg_fd = bpf_object__find_map_fd_by_name(obj, "hook_cfg");
	if (t->rec_fd < 0 || t->cfg_fd < 0)
		test_die_err("test NF maps", ENOENT);
}

static struct hook_rec rec_read(const struct test_nf *t)
{
	struct hook_rec r;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(t->rec_fd, &zero, &r))
		test_die_err("hook_rec lookup", errno);
	return r;
}

static void rec_reset(struct test_nf *t)
{
	struct hook_rec r = {};
	uint32_t zero = 0;

	if (bpf_map_update_elem(t->rec_fd, &zero, &r, BPF_ANY))
		test_die_err("hook_rec reset", errno);
}

static void insert(struct test_nf *t, enum mzr_hook hook, int pos)
{
	int err = mzr_host__nf_insert(env.host, t->name, t->nf, hook, pos);

	if (err)
		test_die_err("mzr_host__nf_insert", err);
	rec_reset(t);
}

static void clear_chains(void)
{
	int err = mzr_host__nf_clear(env.host);

	if (err)
		test_die_err("mzr_host__nf_clear", err);
}

static uint32_t active_bank(void)
{
	uint32_t k = MZR_CHAIN_CFG_BANK, v;

	if (bpf_map_lookup_elem(env.chain_cfg_fd, &k, &v))
		test_die_err("mzr_chain_cfg", errno);
	return v & 1;
}

static uint64_t counter(uint32_t idx)
{
	uint64_t v[__MZR_CNT_MAX];
	int err = mzr_host__counters(env.host, v, __MZR_CNT_MAX);

	if (err)
		test_die_err("mzr_host__counters", err);
	return v[idx];
}

static uint64_t missed(uint32_t idx)
{
	uint64_t v[MZR_MISSED_SIZE];
	int err = mzr_host__missed(env.host, v, MZR_MISSED_SIZE);

	if (err)
		test_die_err("mzr_host__missed", err);
	return v[idx];
}

/* fixture_run(), saying so when the fixture holds too. */
static void fx(const struct fixture *f)
{
	fixture_check(core_env_progs(&env), f);
}

/* The same for a frame built by hand. */
static void fx_pkt(int prog, const struct fixture_pkt *f)
{
	fixture_pkt_check(prog, env.stats_fd, f);
}

/* ---- One hook's case ---------------------------------------------------- */

struct hook_case {
	const char *what;
	enum mzr_hook hook;
	const struct fixture *f; /* the packet and what the network does */
	struct mzr_ctx want;	 /* the context NFs must see (the fields the
				  * core fills from the packet) */
};

/* Run @f's input through its program on @ifindex; the output frame lands
 * in @out (may be NULL). */
static int run(const struct fixture *f, uint32_t ifindex, struct pkt *out)
{
	struct pkt in;

	frame_build(&in, f->in);
	return fixture_xdp_run(core_env_progs(&env)->progs[f->prog].fd,
			       ifindex, &in, out);
}

/* @f with another description, verdict and single counter, its output
 * not compared: what an NF's drop or a missed tail call makes of it. */
static struct fixture dropped(const struct fixture *f, const char *desc,
			      int verdict, int counter)
{
	struct fixture d = *f;

	d.desc = desc;
	d.verdict = verdict;
	d.out = NULL;
	d.out_same = false;
	memset(d.counters, 0, sizeof(d.counters));
	d.counters[0] = (struct fixture_counter){ counter, 1 };
	return d;
}

#define ONE(c) { { (c), 1 } }

/* The five hooks' packets, in enum mzr_hook order. */
static const struct fixture hook_fixtures[] = {
	{ .desc = "agent-egress: EP1's UDP to a remote endpoint is tunnelled "
		  "to a bouncer",
	  .prog = PROG_AGENT, .in = FROM_EP1(.dst = EP3),
	  .verdict = XDP_REDIRECT,
	  .out = AGENT_OUT(.inner = FROM_EP1(.dst = EP3)),
	  .counters = ONE(MZR_CNT_AGENT_ENCAP) },
	/* A direct-path packet from H6 forwarded to EP3's host. */
	{ .desc = "bouncer: a packet for a remote endpoint goes to its host, "
		  "TTL - 1, flags and RTS kept",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H6, .vni = VNI_A, .flags = MZR_F_DIRECT,
		       .ttl = 20, .inner = FROM_REMOTE(.dst = EP3)),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H6, .to = H5, .vni = VNI_A,
			.flags = MZR_F_DIRECT, .ttl = 19,
			.inner = FROM_REMOTE(.dst = EP3)),
	  .counters = ONE(MZR_CNT_BOUNCER_FWD) },
	/* VPC B, network 10.1.1.0/24 to network 10.2.1.0/24. */
	{ .desc = "divider: routed to the destination network's bouncer, "
		  "ROUTED, inner TTL - 1",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H2, .vni = VNI_B,
		       .inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7))),
	  .verdict = XDP_TX,
	  .out = TUNNEL(.from = H2, .to = H3, .vni = VNI_B,
			.flags = MZR_F_ROUTED, .ttl = 63,
			.inner = FROM_REMOTE(.dst = IP4(10, 2, 1, 7),
					     .ttl = 63)),
	  .counters = ONE(MZR_CNT_DIVIDER_FWD) },
	/* From H5 to EP2, decapsulated. The sender is no endpoint of the
	 * agent's tables, so what it learns changes no other case. */
	{ .desc = "deliver: decapsulated to EP2 with EP2's MAC",
	  .prog = PROG_TRANSIT,
	  .in = TUNNEL(.from = H5, .vni = VNI_A,
		       .inner = FROM_REMOTE(.dst = EP2,
					    .src = IP4(10, 1, 1, 21))),
	  .verdict = XDP_REDIRECT,
	  .out = FROM_REMOTE(.dst = EP2, .src = IP4(10, 1, 1, 21),
			     .dmac = MAC_EP2),
	  .counters = ONE(MZR_CNT_DELIVER) },
	/* UDP to another port on the underlay; the kernel's. */
	{ .desc = "external: non-tunnel UDP on the underlay goes to the "
		  "kernel unchanged",
	  .prog = PROG_TRANSIT,
	  .in = UDP(.dmac = MAC_US, .smac = MAC_H2, .src = H2, .dst = US,
		    .sport = 5555, .dport = 4789, .payload = 40),
	  .verdict = XDP_PASS, .out_same = true,
	  .counters = ONE(MZR_CNT_TRANSIT_PASS) },
};

static void want_offsets(struct mzr_ctx *w, bool tunnel, bool l4)
{
	w->outer_l3_off = tunnel ? 14 : OFF_NONE;
	w->outer_l4_off = tunnel ? 34 : OFF_NONE;
	w->geneve_off = tunnel ? 42 : OFF_NONE;
	w->inner_l2_off = tunnel ? MZR_ENCAP_LEN : 0;
	w->inner_l3_off = w->inner_l2_off + 14;
	w->inner_l4_off = l4 ? w->inner_l3_off + 20 : OFF_NONE;
}

/* The inner flow the core puts in the context (UDP). */
static void want_flow(struct mzr_ctx *w, uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport)
{
	w->saddr = htonl(src);
	w->daddr = htonl(dst);
	w->sport = htons(sport);
	w->dport = htons(dport);
	w->proto = 17;
}

static void build_cases(struct hook_case *c)
{
	static const char *what[] = { "agent-egress", "bouncer", "divider",
				      "deliver", "external" };

	memset(c, 0, 5 * sizeof(*c));
	for (int i = 0; i < 5; i++) {
		c[i].what = what[i];
		c[i].hook = (enum mzr_hook)i;
		c[i].f = &hook_fixtures[i];
		c[i].want.ingress_ifindex = i ? env.ul0 : env.ep1h;
	}

	c[0].want.role = MZR_ROLE_AGENT;
	c[0].want.vni = VNI_A;
	want_offsets(&c[0].want, false, true);
	want_flow(&c[0].want, EP1, EP3, 40000, 5201);

	c[1].want.role = MZR_ROLE_BOUNCER;
	c[1].want.vni = VNI_A;
	want_offsets(&c[1].want, true, true);
	want_flow(&c[1].want, REMOTE, EP3, 7777, 8080);
	c[1].want.rts = htonl(H6);
	c[1].want.flags = MZR_F_DIRECT;

	c[2].want.role = MZR_ROLE_DIVIDER;
	c[2].want.vni = VNI_B;
	want_offsets(&c[2].want, true, true);
	want_flow(&c[2].want, REMOTE, IP4(10, 2, 1, 7), 7777, 8080);
	c[2].want.rts = htonl(H2);

	c[3].want.role = MZR_ROLE_HOST;
	c[3].want.vni = VNI_A;
	want_offsets(&c[3].want, true, true);
	want_flow(&c[3].want, IP4(10, 1, 1, 21), EP2, 7777, 8080);
	c[3].want.rts = htonl(H5);

	/* The core does not parse what is not a tunnel frame. */
	c[4].want.role = MZR_ROLE_EXTERNAL;
	c[4].want.outer_l3_off = OFF_NONE;
	c[4].want.outer_l4_off = OFF_NONE;
	c[4].want.geneve_off = OFF_NONE;
	c[4].want.inner_l2_off = OFF_NONE;
	c[4].want.inner_l3_off = OFF_NONE;
	c[4].want.inner_l4_off = OFF_NONE;
}

/* Compare what NF @pos of a chain of @len saw with the case's context. */
static bool ctx_ok(const struct hook_case *c, const struct mzr_ctx *got,
		   unsigned int pos, unsigned int len, uint32_t bank,
		   const int *ids_before)
{
	const struct mzr_ctx *w = &c->want;
	bool ok = true;

#define FIELD(f, want)                                                         \
	do {                                                                   \
		if ((uint64_t)got->f != (uint64_t)(want)) {                    \
			printf("    %s NF %u: ctx." #f " = %#llx, want %#llx\n", \
			       c->what, pos, (unsigned long long)got->f,       \
			       (unsigned long long)(want));                    \
			ok = false;                                            \
		}                                                              \
	} while (0)
	FIELD(version, MZR_CTX_VERSION);
	FIELD(len, sizeof(struct mzr_ctx));
	FIELD(role, w->role);
	FIELD(hook, c->hook);
	FIELD(chain_pos, pos);
	FIELD(chain_len, len);
	FIELD(chain_bank, bank);
	FIELD(decision, MZR_DECIDE_CONTINUE);
	FIELD(vni, w->vni);
	FIELD(outer_l3_off, w->outer_l3_off);
	FIELD(outer_l4_off, w->outer_l4_off);
	FIELD(geneve_off, w->geneve_off);
	FIELD(inner_l2_off, w->inner_l2_off);
	FIELD(inner_l3_off, w->inner_l3_off);
	FIELD(inner_l4_off, w->inner_l4_off);
	FIELD(saddr, w->saddr);
	FIELD(daddr, w->daddr);
	FIELD(sport, w->sport);
	FIELD(dport, w->dport);
	FIELD(proto, w->proto);
	FIELD(drop_reason, 0);
	FIELD(rts, w->rts);
	FIELD(flags, w->flags);
	FIELD(ingress_ifindex, w->ingress_ifindex);
	/* The scratch: zero at the hook, then what the NFs before wrote. */
	FIELD(scratch[0], pos);
	for (unsigned int i = 0; i < pos; i++)
		FIELD(scratch[1 + i], ids_before[i]);
	for (unsigned int i = 1 + pos; i < MZR_CTX_SCRATCH_LEN; i++)
		FIELD(scratch[i], 0);
#undef FIELD
	return ok;
}

/* Per-hook packet counters (MZR_CNT_HOOK()). */
static void hooks_snap(uint64_t *v)
{
	for (int h = 0; h < __MZR_HOOK_MAX; h++)
		v[h] = counter(MZR_CNT_HOOK(h));
}

/* Since hooks_snap(@before): each hook in @mask counted @n packets, the
 * others none. */
static bool hooks_moved(const uint64_t *before, uint32_t mask, uint64_t n,
			const char *what)
{
	bool ok = true;

	for (int h = 0; h < __MZR_HOOK_MAX; h++) {
		uint64_t want = before[h] + ((mask >> h) & 1 ? n : 0);
		uint64_t got = counter(MZR_CNT_HOOK(h));

		if (got != want) {
			printf("    %s: hook %d counter %llu, want %llu\n", what,
			       h, (unsigned long long)got,
			       (unsigned long long)want);
			ok = false;
		}
	}
	return ok;
}

static void hooks_check(const struct hook_case *c, const uint64_t *before,
			const char *when)
{
	CHECK(hooks_moved(before, 1U << c->hook, 1, c->what),
	      "%s: %s, the packet is counted once at its hook point (%s) and "
	      "at no other", c->what, when,
	      c->hook == MZR_HOOK_EXTERNAL ? "'external'" : "hook_*");
}

/* No NF, then three pass-through NFs: same verdict, same bytes, same
 * counter; each NF saw the packet once, in chain order, with the
 * context of the packet. */
static void case_pass_through(const struct hook_case *c)
{
	uint64_t hc[__MZR_HOOK_MAX];
	struct pkt base, with;
	uint64_t runs;
	int v0, v1, ids[N_REC];
	uint32_t bank;
	char desc[256];
	bool ok = true;

	clear_chains();
	hooks_snap(hc);
	fx(c->f);
	hooks_check(c, hc, "with no NF");
	v0 = run(c->f, c->want.ingress_ifindex, &base);

	/* Inserted out of order: positions, not insertion order, count. */
	insert(&recs[1], c->hook, MZR_NF_POS_END);
	insert(&recs[2], c->hook, MZR_NF_POS_END);
	insert(&recs[0], c->hook, 0);
	bank = active_bank();
	runs = counter(MZR_CNT_NF_RUN);
	snprintf(desc, sizeof(desc), "%s, through a chain of %d pass-through "
		 "NFs", c->f->desc, N_REC);
	hooks_snap(hc);
	{
		struct fixture f = *c->f;

		f.desc = desc;
		fx(&f);
	}
	hooks_check(c, hc, "with a chain");
	CHECK(counter(MZR_CNT_NF_RUN) == runs + 1,
	      "%s: the chain was entered once (nf_run)", c->what);
	for (int i = 0; i < N_REC; i++) {
		struct hook_rec r = rec_read(&recs[i]);

		ids[i] = recs[i].id;
		ok &= r.hits == 1;
		if (r.hits != 1)
			printf("    %s: NF %d ran %llu times\n", c->what, i,
			       (unsigned long long)r.hits);
		ok &= ctx_ok(c, &r.ctx, (unsigned int)i, N_REC, bank, ids);
	}
	CHECK(ok, "%s: each NF ran once, in chain order, and saw role, hook, "
	      "VNI, offsets, inner flow, RTS, flags and its position", c->what);

	v1 = run(c->f, c->want.ingress_ifindex, &with);
	CHECK(v0 == v1 && base.len == with.len &&
		      !memcmp(base.data, with.data, base.len),
	      "%s: pass-through NFs leave verdict and frame byte-identical "
	      "to the run without NFs", c->what);
	clear_chains();
}

/* A dropping NF ends the chain: counted under its reason, the NFs after
 * it never see the packet. */
static void case_drop(const struct hook_case *c)
{
	struct fixture f;
	struct hook_rec r1, rd, r3;
	char desc[256];

	clear_chains();
	insert(&recs[0], c->hook, MZR_NF_POS_END);
	insert(&dropper, c->hook, MZR_NF_POS_END);
	insert(&recs[2], c->hook, MZR_NF_POS_END);
	snprintf(desc, sizeof(desc), "%s: an NF that drops ends the chain "
		 "and the packet (counted as drop_nf)", c->what);
	f = dropped(c->f, desc, XDP_DROP, DROP(MZR_DROP_NF));
	fx(&f);
	r1 = rec_read(&recs[0]);
	rd = rec_read(&dropper);
	r3 = rec_read(&recs[2]);
	CHECK(r1.hits == 1 && rd.hits == 1 && r3.hits == 0 &&
		      rd.ctx.chain_pos == 1 && rd.ctx.scratch[1] == 1,
	      "%s: NFs before the dropper ran, the one after did not "
	      "(hits %llu, %llu, %llu)", c->what,
	      (unsigned long long)r1.hits, (unsigned long long)rd.hits,
	      (unsigned long long)r3.hits);
	clear_chains();
}

/* A slot emptied under a chain of non-zero length, then a missing
 * continuation: each a counted missed tail call at (hook, position). */
static void case_missed(const struct hook_case *c)
{
	struct fixture f;
	struct mzr_nf_info info;
	uint32_t slot;
	uint64_t m;
	char desc[256];
	int err;

	clear_chains();
	insert(&recs[0], c->hook, MZR_NF_POS_END);
	insert(&recs[1], c->hook, MZR_NF_POS_END);
	slot = MZR_PROG_NF(active_bank(), c->hook, 1);
	if (bpf_map_delete_elem(env.progs_fd, &slot))
		test_die_err("emptying a chain slot", errno);
	m = missed(MZR_MISSED_IDX(c->hook, 1));
	snprintf(desc, sizeof(desc), "%s: a chain slot emptied under traffic "
		 "drops the packet as a missed tail call", c->what);
	f = dropped(c->f, desc, XDP_DROP, DROP(MZR_DROP_MISSED_TAIL_CALL));
	fx(&f);
	err = mzr_host__nf_get(env.host, recs[1].name, &info);
	CHECK(missed(MZR_MISSED_IDX(c->hook, 1)) == m + 1 && !err &&
		      info.missed == m + 1 && rec_read(&recs[0]).hits == 1,
	      "%s: the miss is counted at (hook %d, position 1), and "
	      "nf_get(%s) reports it", c->what, c->hook, recs[1].name);

	/* The continuation gone: the miss is at position MZR_CHAIN_MAX. */
	clear_chains();
	insert(&recs[0], c->hook, MZR_NF_POS_END);
	slot = MZR_PROG_CONT(c->hook);
	if (bpf_map_delete_elem(env.progs_fd, &slot))
		test_die_err("emptying a continuation", errno);
	m = missed(MZR_MISSED_IDX(c->hook, MZR_CHAIN_MAX));
	snprintf(desc, sizeof(desc), "%s: a missing continuation drops the "
		 "packet as a missed tail call", c->what);
	fx(&f);
	CHECK(missed(MZR_MISSED_IDX(c->hook, MZR_CHAIN_MAX)) == m + 1,
	      "%s: the miss is counted at (hook %d, continuation)", c->what,
	      c->hook);
	if (bpf_map_update_elem(env.progs_fd, &slot, &env.cont_fd[c->hook],
				BPF_ANY))
		test_die_err("restoring the continuation", errno);
	clear_chains();
	/* Back to normal. */
	f = *c->f;
	snprintf(desc, sizeof(desc), "%s: with the chain emptied the packet "
		 "takes the inline path again", c->what);
	f.desc = desc;
	fx(&f);
}

/* ---- Rerouting ---------------------------------------------------------- */

static void set_reroute(uint32_t daddr)
{
	uint32_t zero = 0, v = htonl(daddr);

	if (bpf_map_update_elem(rerouter.cfg_fd, &zero, &v, BPF_ANY))
		test_die_err("hook_cfg", errno);
}

static void reroutes(void)
{
	struct fixture_pkt f = {};
	struct inner_spec s, o;
	struct pkt inner, re;

	/* agent-egress: EP1 to EP3 (bouncer path) rewritten to 10.1.1.60,
	 * whose host H6 the agent has learned: straight to H6, DIRECT. */
	clear_chains();
	insert(&recs[0], MZR_HOOK_AGENT_EGRESS, MZR_NF_POS_END);
	insert(&rerouter, MZR_HOOK_AGENT_EGRESS, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 60));
	s = from_ep1(IP4(10, 1, 1, 20));
	o = from_ep1(IP4(10, 1, 1, 60));
	f.desc = "agent-egress: an NF that rewrites the destination from "
		 "EP3 (on H5, via a bouncer) to 10.1.1.60 (learned on H6) "
		 "gets the packet sent to H6 on the direct path";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_AGENT_DIRECT;
	f.ingress_ifindex = env.ep1h;
	build_inner(&f.in, &s);
	f.check_out = true;
	build_inner(&re, &o);
	agent_out(&f.out, &re, &o, H6, MZR_F_DIRECT);
	fx_pkt(env.agent_fd, &f);
	CHECK(rec_read(&rerouter).hits == 1 &&
		      rec_read(&rerouter).ctx.chain_pos == 1,
	      "agent-egress: the rerouting NF ran second in its chain");

	/* deliver: for EP2 here, rewritten to EP3 on H5 and rerouted: this
	 * host bounces it to H5 instead of delivering it. */
	clear_chains();
	insert(&rerouter, MZR_HOOK_DELIVER, MZR_NF_POS_END);
	insert(&recs[0], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 20));
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 21);
	o = s;
	o.dst = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	build_inner(&re, &o);
	memset(&f, 0, sizeof(f));
	f.desc = "deliver: an NF that rewrites the destination from EP2 "
		 "(here) to EP3 (on H5) and asks for a reroute gets the "
		 "packet forwarded to H5, not delivered";
	f.verdict = XDP_TX;
	f.counter = MZR_CNT_BOUNCER_FWD;
	f.ingress_ifindex = env.ul0;
	tunnel_in(&f.in, H2, VNI_A, 0, 64, &inner);
	f.check_out = true;
	tunnel_fwd(&f.out, H2, H5, VNI_A, 0, 63, &re);
	fx_pkt(env.transit_fd, &f);
	{
		struct hook_rec r = rec_read(&recs[0]);

		CHECK(r.hits == 1 && r.ctx.decision == MZR_DECIDE_REROUTE &&
			      r.ctx.scratch[0] == 1 && r.ctx.scratch[1] == 9,
		      "deliver: the NF after the rerouter sees decision "
		      "REROUTE in the context");
	}

	/* bouncer: for EP3 on H5, rewritten to EP2 hosted here: rerouted,
	 * it is delivered here, decapsulated, through the deliver hook as
	 * from the wire (docs/security.md, rule 6). */
	clear_chains();
	insert(&rerouter, MZR_HOOK_BOUNCER, MZR_NF_POS_END);
	insert(&recs[0], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 11));
	s = remote(IP4(10, 1, 1, 20));
	s.src = IP4(10, 1, 1, 22);
	o = s;
	o.dst = IP4(10, 1, 1, 11);
	o.dmac = MAC_EP2;
	build_inner(&inner, &s);
	memset(&f, 0, sizeof(f));
	f.desc = "bouncer: an NF that rewrites the destination from EP3 (on "
		 "H5) to EP2 (here) and asks for a reroute gets the packet "
		 "delivered here";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_DELIVER;
	f.ingress_ifindex = env.ul0;
	tunnel_in(&f.in, H2, VNI_A, 0, 64, &inner);
	f.check_out = true;
	build_inner(&f.out, &o);
	fx_pkt(env.transit_fd, &f);
	{
		struct hook_rec r = rec_read(&recs[0]);

		CHECK(r.hits == 1 && r.ctx.hook == MZR_HOOK_DELIVER &&
			      r.ctx.role == MZR_ROLE_HOST &&
			      r.ctx.daddr == htonl(IP4(10, 1, 1, 11)),
		      "bouncer reroute to a local endpoint: the deliver NF "
		      "ran once (%llu), role host, for EP2",
		      (unsigned long long)r.hits);
	}

	/* The same with a deliver NF that drops: the reroute does not
	 * bypass the deliver policy. */
	clear_chains();
	insert(&rerouter, MZR_HOOK_BOUNCER, MZR_NF_POS_END);
	insert(&dropper, MZR_HOOK_DELIVER, MZR_NF_POS_END);
	f.desc = "bouncer: a reroute to a local endpoint is dropped by the "
		 "deliver hook's NF (drop_nf), never delivered around it";
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_NF);
	f.check_out = false;
	fx_pkt(env.transit_fd, &f);
	clear_chains();
}

/* ---- Learning after the deliver chain ----------------------------------- */

static bool direct_host(uint32_t ip, uint32_t *host)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(ip) };
	struct mzr_direct_val v;

	if (bpf_map_lookup_elem(env.direct_fd, &k, &v))
		return false;
	*host = ntohl(v.host);
	return true;
}

/* docs/security.md, rule 3: the direct path is learned only from frames
 * the deliver hook's chain accepted. */
static void learn_after_chain(void)
{
	struct fixture_pkt f = {};
	struct inner_spec s = remote(IP4(10, 1, 1, 11));
	struct pkt inner;
	uint64_t learned0 = counter(MZR_CNT_LEARNED);
	uint32_t host = 0;
	bool known;

	s.src = IP4(10, 1, 1, 23);
	build_inner(&inner, &s);
	clear_chains();
	insert(&dropper, MZR_HOOK_DELIVER, MZR_NF_POS_END);
	f.desc = "deliver: a frame for EP2 that the deliver NF drops "
		 "(drop_nf)";
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_NF);
	f.ingress_ifindex = env.ul0;
	tunnel_in(&f.in, H5, VNI_A, 0, 64, &inner);
	fx_pkt(env.transit_fd, &f);
	known = direct_host(IP4(10, 1, 1, 23), &host);
	CHECK(!known && counter(MZR_CNT_LEARNED) == learned0,
	      "deliver: the dropped frame taught nothing (10.1.1.23 %s)",
	      known ? "learned" : "unknown");

	clear_chains();
	insert(&recs[0], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	f.desc = "deliver: the same frame accepted by the deliver NF is "
		 "delivered";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_LEARNED;
	fx_pkt(env.transit_fd, &f);
	CHECK(direct_host(IP4(10, 1, 1, 23), &host) && host == H5,
	      "deliver: once accepted, 10.1.1.23 is learned on H5");
	clear_chains();
}

/* ---- Same-host hairpin: the deliver hook -------------------------------- */

#define HBIT(h) (1U << (h))

static bool hairpin_ctx_ok(const struct mzr_ctx *c, const struct inner_spec *s)
{
	return c->role == MZR_ROLE_HOST && c->hook == MZR_HOOK_DELIVER &&
	       c->vni == VNI_A && c->outer_l3_off == OFF_NONE &&
	       c->outer_l4_off == OFF_NONE && c->geneve_off == OFF_NONE &&
	       c->inner_l2_off == 0 && c->inner_l3_off == 14 &&
	       c->inner_l4_off == 34 && c->saddr == htonl(s->src) &&
	       c->daddr == htonl(s->dst) && c->sport == htons(s->sport) &&
	       c->dport == htons(s->dport) && c->proto == 17 &&
	       c->rts == htonl(US) && c->flags == 0 &&
	       c->ingress_ifindex == env.ep1h && c->chain_pos == 0;
}

static void hairpin(void)
{
	struct inner_spec s = from_ep1(IP4(10, 1, 1, 11)), o;
	uint64_t hc[__MZR_HOOK_MAX];
	struct fixture_pkt f = {};
	struct pkt re;
	struct hook_rec r;

	/* EP1 -> EP2, both hosted here. */
	clear_chains();
	f.desc = "hairpin: EP1 -> EP2 (both here), no NF: EP2's MAC, to its "
		 "veth";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_AGENT_LOCAL;
	f.ingress_ifindex = env.ep1h;
	build_inner(&f.in, &s);
	f.check_out = true;
	o = s;
	o.dmac = MAC_EP2;
	build_inner(&f.out, &o);
	hooks_snap(hc);
	fx_pkt(env.agent_fd, &f);
	CHECK(hooks_moved(hc, HBIT(MZR_HOOK_AGENT_EGRESS) |
				      HBIT(MZR_HOOK_DELIVER), 1, "hairpin"),
	      "hairpin: counted at the agent-egress and deliver hook points");

	insert(&recs[0], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	f.desc = "hairpin: through a deliver NF, the same bytes to EP2's veth";
	fx_pkt(env.agent_fd, &f);
	r = rec_read(&recs[0]);
	CHECK(r.hits == 1 && hairpin_ctx_ok(&r.ctx, &s),
	      "hairpin: the deliver NF ran once (%llu) and saw role host, "
	      "hook deliver, VNI A, the plain frame's offsets, the flow, RTS "
	      "this host and EP1's veth", (unsigned long long)r.hits);

	clear_chains();
	insert(&dropper, MZR_HOOK_DELIVER, MZR_NF_POS_END);
	f.desc = "hairpin: a deliver NF that drops stops same-host traffic "
		 "(drop_nf)";
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_NF);
	f.check_out = false;
	fx_pkt(env.agent_fd, &f);
	CHECK(rec_read(&dropper).hits == 1, "hairpin: the dropper ran");

	/* A deliver NF redirects EP1 -> EP2 to EP3 (on H5): the agent
	 * decides again and tunnels it to a bouncer. */
	clear_chains();
	insert(&rerouter, MZR_HOOK_DELIVER, MZR_NF_POS_END);
	insert(&recs[1], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 20));
	o = s;
	o.dst = IP4(10, 1, 1, 20);
	build_inner(&re, &o);
	f.desc = "hairpin: a deliver NF that rewrites EP2 to EP3 (on H5) and "
		 "reroutes gets the packet tunnelled to a bouncer";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_AGENT_ENCAP;
	f.check_out = true;
	agent_out(&f.out, &re, &o, a1_bouncer(flow_hash(&o)), 0);
	hooks_snap(hc);
	fx_pkt(env.agent_fd, &f);
	r = rec_read(&recs[1]);
	CHECK(rec_read(&rerouter).hits == 1 && r.hits == 1 &&
		      r.ctx.decision == MZR_DECIDE_REROUTE &&
		      hooks_moved(hc, HBIT(MZR_HOOK_AGENT_EGRESS) |
					      HBIT(MZR_HOOK_DELIVER), 1,
				  "hairpin rerouted"),
	      "hairpin: each deliver NF ran once, the next saw REROUTE");

	/* Rerouted to a local endpoint again: delivered without meeting the
	 * deliver hook a second time. */
	clear_chains();
	insert(&rerouter, MZR_HOOK_DELIVER, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 11));
	s = from_ep1(IP4(10, 1, 1, 11));
	s.sport = 40002;
	build_inner(&f.in, &s);
	o = s;
	o.dmac = MAC_EP2;
	build_inner(&f.out, &o);
	f.desc = "hairpin: a deliver NF that reroutes to a local endpoint "
		 "again: delivered, the hook not re-entered";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_AGENT_LOCAL;
	fx_pkt(env.agent_fd, &f);
	CHECK(rec_read(&rerouter).hits == 1,
	      "hairpin: the rerouting deliver NF ran once (%llu)",
	      (unsigned long long)rec_read(&rerouter).hits);

	/* An agent-egress NF (an LB) sends EP1's packet for EP3 to EP2 here:
	 * the deliver hook sees it on its way to EP2. */
	clear_chains();
	insert(&rerouter, MZR_HOOK_AGENT_EGRESS, MZR_NF_POS_END);
	insert(&recs[0], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 11));
	s = from_ep1(IP4(10, 1, 1, 20));
	build_inner(&f.in, &s);
	o = s;
	o.dst = IP4(10, 1, 1, 11);
	o.dmac = MAC_EP2;
	build_inner(&f.out, &o);
	f.desc = "hairpin: an agent-egress NF that rewrites EP3 to EP2 (here) "
		 "gets the packet to EP2 through the deliver hook";
	fx_pkt(env.agent_fd, &f);
	o.dmac = MAC_GW_A1;
	r = rec_read(&recs[0]);
	CHECK(r.hits == 1 && hairpin_ctx_ok(&r.ctx, &o),
	      "hairpin: after an agent-egress reroute the deliver NF ran once "
	      "and saw the rewritten flow");
	clear_chains();
}

/* ---- This host as its own bouncer: the injected walk meets its hook ---- */

#define EP_B9 IP4(10, 2, 2, 10) /* VPC B, on noeph; its bouncer is US */
static const uint8_t MAC_B9[6] = { 0x0e, 0, 0, 0x02, 0x02, 0x0a };
static const uint8_t MAC_GW_B2[6] = { 0x02, 0, 10, 2, 2, 1 };

static void inject_hooks(void)
{
	struct inner_spec s = { .dmac = MAC_GW_A2, .smac = MAC_EP4,
				.src = IP4(10, 1, 2, 10),
				.dst = IP4(10, 1, 1, 20), .sport = 999,
				.dport = 443, .payload = 16 };
	uint64_t hc[__MZR_HOOK_MAX];
	struct fixture_pkt f = {};
	struct hook_rec r;

	/* EP4's bouncer is this host: bounced here to EP3's host. */
	clear_chains();
	f.desc = "inject: EP4 (its bouncer is this host) to EP3 on H5, no NF: "
		 "bounced straight to H5";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_BOUNCER_FWD;
	f.ingress_ifindex = env.ep4h;
	build_inner(&f.in, &s);
	f.check_out = true;
	{
		struct outer_spec o = { .dmac = MAC_H5, .smac = MAC_US,
					.src = US, .dst = H5, .ttl = 63,
					.sport = flow_sport(&s), .vni = VNI_A,
					.rts = US };

		build_encap(&f.out, &o, &f.in);
	}
	hooks_snap(hc);
	fx_pkt(env.agent_fd, &f);
	CHECK(hooks_moved(hc, HBIT(MZR_HOOK_AGENT_EGRESS) |
				      HBIT(MZR_HOOK_BOUNCER), 1, "inject"),
	      "inject: counted at the agent-egress and bouncer hook points");

	insert(&recs[0], MZR_HOOK_BOUNCER, MZR_NF_POS_END);
	insert(&recs[1], MZR_HOOK_AGENT_EGRESS, MZR_NF_POS_END);
	f.desc = "inject: through an agent-egress and a bouncer NF, the same "
		 "bytes to H5";
	fx_pkt(env.agent_fd, &f);
	r = rec_read(&recs[0]);
	CHECK(r.hits == 1 && rec_read(&recs[1]).hits == 1 &&
		      r.ctx.role == MZR_ROLE_BOUNCER &&
		      r.ctx.hook == MZR_HOOK_BOUNCER && r.ctx.vni == VNI_A &&
		      r.ctx.rts == htonl(US) && r.ctx.geneve_off == 42 &&
		      r.ctx.inner_l2_off == MZR_ENCAP_LEN &&
		      r.ctx.daddr == htonl(s.dst) &&
		      r.ctx.ingress_ifindex == env.ep4h,
	      "inject: the bouncer NF ran once on the injected tunnel frame "
	      "(role bouncer, RTS this host), the agent-egress NF once");

	clear_chains();
	insert(&dropper, MZR_HOOK_BOUNCER, MZR_NF_POS_END);
	f.desc = "inject: a bouncer NF that drops stops it (drop_nf)";
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_NF);
	f.check_out = false;
	fx_pkt(env.agent_fd, &f);

	/* To the bypass-decap EP6 here: never hairpinned, injected, then
	 * delivered encapsulated through the deliver hook. */
	clear_chains();
	insert(&recs[0], MZR_HOOK_DELIVER, MZR_NF_POS_END);
	s.dst = IP4(10, 1, 1, 30);
	build_inner(&f.in, &s);
	f.desc = "inject: EP4 to the bypass-decap EP6 here is delivered "
		 "encapsulated through the deliver hook";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_DELIVER_BYPASS;
	f.check_out = true;
	{
		struct outer_spec o = { .dmac = MAC_EP6, .smac = MAC_US,
					.src = US, .dst = US,
					.sport = flow_sport(&s), .vni = VNI_A,
					.rts = US };

		build_encap(&f.out, &o, &f.in);
	}
	fx_pkt(env.agent_fd, &f);
	r = rec_read(&recs[0]);
	CHECK(r.hits == 1 && r.ctx.role == MZR_ROLE_HOST &&
		      r.ctx.hook == MZR_HOOK_DELIVER,
	      "inject: the deliver NF ran once (%llu) with role host",
	      (unsigned long long)r.hits);

	/* VPC B: this host is B9's bouncer and B's divider. */
	clear_chains();
	insert(&recs[0], MZR_HOOK_DIVIDER, MZR_NF_POS_END);
	s = (struct inner_spec){ .dmac = MAC_GW_B2, .smac = MAC_B9,
				 .src = EP_B9, .dst = IP4(10, 2, 1, 7),
				 .sport = 40001, .dport = 80, .payload = 16 };
	build_inner(&f.in, &s);
	f.ingress_ifindex = env.noeph;
	f.desc = "inject: B9 (bouncer and divider: this host) to 10.2.1.7 is "
		 "routed to H3 through the divider hook, ROUTED, inner TTL - 1";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_DIVIDER_FWD;
	{
		struct outer_spec o = { .dmac = MAC_H3, .smac = MAC_US,
					.src = US, .dst = H3, .ttl = 63,
					.sport = flow_sport(&s), .vni = VNI_B,
					.rts = US, .flags = MZR_F_ROUTED };
		struct inner_spec i = s;
		struct pkt routed;

		i.ttl = 63;
		build_inner(&routed, &i);
		build_encap(&f.out, &o, &routed);
	}
	hooks_snap(hc);
	fx_pkt(env.agent_fd, &f);
	r = rec_read(&recs[0]);
	CHECK(r.hits == 1 && r.ctx.role == MZR_ROLE_DIVIDER &&
		      r.ctx.hook == MZR_HOOK_DIVIDER && r.ctx.vni == VNI_B &&
		      hooks_moved(hc, HBIT(MZR_HOOK_AGENT_EGRESS) |
					      HBIT(MZR_HOOK_DIVIDER), 1,
				  "inject divider"),
	      "inject: the divider NF ran once (%llu) with role divider",
	      (unsigned long long)r.hits);

	/* A bouncer NF that reroutes the injected packet to EP2 here: it is
	 * delivered, and no hook runs twice. */
	clear_chains();
	insert(&rerouter, MZR_HOOK_BOUNCER, MZR_NF_POS_END);
	insert(&recs[1], MZR_HOOK_AGENT_EGRESS, MZR_NF_POS_END);
	set_reroute(IP4(10, 1, 1, 11));
	s = (struct inner_spec){ .dmac = MAC_GW_A2, .smac = MAC_EP4,
				 .src = IP4(10, 1, 2, 10),
				 .dst = IP4(10, 1, 1, 20), .sport = 998,
				 .dport = 443, .payload = 16 };
	build_inner(&f.in, &s);
	f.ingress_ifindex = env.ep4h;
	f.desc = "inject: a bouncer NF that reroutes the injected packet to "
		 "EP2 here gets it delivered";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_DELIVER;
	{
		struct inner_spec o = s;

		o.dst = IP4(10, 1, 1, 11);
		o.dmac = MAC_EP2;
		build_inner(&f.out, &o);
	}
	fx_pkt(env.agent_fd, &f);
	CHECK(rec_read(&rerouter).hits == 1 && rec_read(&recs[1]).hits == 1,
	      "inject: the agent-egress and bouncer NFs ran once each");
	clear_chains();
}

/* ---- Load-time checks --------------------------------------------------- */

static void abi_checks(void)
{
	struct mzr_nf *nf;
	int err = 0;

	errno = 0;
	nf = mzr_nf__open_file(obj_path("pkt_hook_future"), NULL);
	if (nf) {
		err = mzr_nf__load(nf, env.host);
		if (!err)
			err = mzr_host__nf_insert(env.host, "future", nf,
						  MZR_HOOK_DELIVER,
						  MZR_NF_POS_END);
		mzr_nf__close(nf);
	} else {
		err = -errno;
	}
	CHECK(err == -EPROTO,
	      "an NF built against a newer context version is refused "
	      "before the kernel sees it (%d, want -EPROTO)", err);
	{
		struct mzr_nf_info info;

		CHECK(mzr_host__nf_get(env.host, "future", &info) == -ENOENT,
		      "the refused NF is in no chain");
	}
}

/* The `external` counter counts the non-tunnel packets seen at the
 * external hook, with or without a chain there. */
static void external_counter(const struct hook_case *ext)
{
	uint64_t before;

	clear_chains();
	before = counter(MZR_CNT_EXTERNAL);
	fx(ext->f);
	CHECK(counter(MZR_CNT_EXTERNAL) == before + 1,
	      "external: a non-tunnel packet with no external NF is counted "
	      "under 'external' (%llu -> %llu)", (unsigned long long)before,
	      (unsigned long long)counter(MZR_CNT_EXTERNAL));
	insert(&recs[0], MZR_HOOK_EXTERNAL, MZR_NF_POS_END);
	before = counter(MZR_CNT_EXTERNAL);
	fx(ext->f);
	CHECK(counter(MZR_CNT_EXTERNAL) == before + 1,
	      "external: a packet entering the external hook's chain is "
	      "counted under 'external' (%llu -> %llu)",
	      (unsigned long long)before,
	      (unsigned long long)counter(MZR_CNT_EXTERNAL));
	clear_chains();
}

int main(void)
{
	struct hook_case cases[5];

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	{
		struct mzr_ep_spec ep = { .vni = VNI_B,
					  .ip = { htonl(EP_B9) },
					  .host = { htonl(US) },
					  .ifname = "noeph" };
		int err;

		memcpy(ep.mac, MAC_B9, 6);
		err = mzr_ep__create(env.host, &ep);
		if (err)
			test_die_err("mzr_ep__create 10.2.2.10", err);
	}
	for (int i = 0; i < N_REC; i++)
		nf_open_load(&recs[i]);
	nf_open_load(&dropper);
	nf_open_load(&rerouter);

	build_cases(cases);
	for (int i = 0; i < 5; i++) {
		case_pass_through(&cases[i]);
		case_drop(&cases[i]);
		case_missed(&cases[i]);
	}
	reroutes();
	learn_after_chain();
	external_counter(&cases[4]);
	hairpin();
	inject_hooks();
	abi_checks();

	for (int i = 0; i < N_REC; i++)
		mzr_nf__close(recs[i].nf);
	mzr_nf__close(dropper.nf);
	mzr_nf__close(rerouter.nf);
	return test_report();
}
