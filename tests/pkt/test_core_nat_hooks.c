// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The core's hooks for NAT, packet by packet, on the core libmizar loaded
 * (tests/pkt/core_env.c; this host is a divider of VPC B):
 *
 *  - a divider's packet for an address in no network of the VPC meets the
 *    divider hook with role EXTERNAL (an NF may take it out of the VPC)
 *    and, when no NF takes it, is dropped as no_route as before;
 *  - the same holds for a packet this host's agent injects (its endpoint's
 *    bouncer is this host);
 *  - an external NF that rewrites a plain IPv4 frame, sets ctx->vni and
 *    decides INJECT has the core encapsulate it into that VPC and route it
 *    like any tunnel packet: delivered to a local endpoint, or forwarded
 *    to the destination network's bouncer.
 *
 * The NF (tests/pkt/bpf/nat_hook_nf.bpf.c) records the context it saw.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include <mizar/nf.h>

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define OUTSIDE IP4(198, 51, 100, 7)	/* in no network of any VPC */
#define EP_B9 IP4(10, 2, 2, 10)		/* VPC B endpoint on noeph */

static const uint8_t MAC_B9[6] = { 0x0e, 0, 0, 0x02, 0x02, 0x0a };
static const uint8_t MAC_GW_B2[6] = { 0x02, 0, 10, 2, 2, 1 };

static struct core_env env;
static struct mzr_nf *nf;
static int rec_fd, cfg_fd;

struct nh_rec {
	uint64_t hits;
	struct mzr_ctx ctx;
};

struct nh_cfg {
	uint32_t inject;
	uint32_t vni;
	uint32_t daddr; /* network order */
	uint32_t pad;
};

static void fx(int prog, const struct fixture_pkt *f)
{
	fixture_pkt_check(prog, env.stats_fd, f);
}

static void nf_load(void)
{
	char path[4096];
	struct bpf_object *obj;
	int err;

	snprintf(path, sizeof(path), "%s/pkt_nat_hook_nf.bpf.o",
		 PKT_NF_OBJ_DIR);
	nf = mzr_nf__open_file(path, NULL);
	if (!nf)
		test_die_err(path, errno);
	err = mzr_nf__load(nf, env.host);
	if (err)
		test_die_err("mzr_nf__load", err);
	obj = mzr_nf__bpf_object(nf);
	rec_fd = bpf_object__find_map_fd_by_name(obj, "nh_rec");
	cfg_fd = bpf_object__find_map_fd_by_name(obj, "nh_cfg");
	if (rec_fd < 0 || cfg_fd < 0)
		test_die_err("test NF maps", ENOENT);
}

/* The NF alone in @hook's chain (no NF anywhere when @hook < 0), its
 * record cleared, configured with @cfg. */
static void chain(int hook, const struct nh_cfg *cfg)
{
	struct nh_rec r = {};
	struct nh_cfg none = {};
	uint32_t zero = 0;
	int err = mzr_host__nf_clear(env.host);

	if (err)
		test_die_err("mzr_host__nf_clear", err);
	if (hook >= 0) {
		err = mzr_host__nf_insert(env.host, "nat-hook", nf, hook,
					  MZR_NF_POS_END);
		if (err)
			test_die_err("mzr_host__nf_insert", err);
	}
	if (bpf_map_update_elem(rec_fd, &zero, &r, BPF_ANY) ||
	    bpf_map_update_elem(cfg_fd, &zero, cfg ? cfg : &none, BPF_ANY))
		test_die_err("test NF maps", errno);
}

static struct nh_rec rec(void)
{
	struct nh_rec r;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(rec_fd, &zero, &r))
		test_die_err("nh_rec", errno);
	return r;
}

/* What the NF saw: @hits entries, the last at @hook with @role. */
static void expect_rec(const char *what, uint64_t hits, uint8_t hook,
		       uint8_t role, uint32_t vni)
{
	struct nh_rec r = rec();

	if (!hits) {
		CHECK(r.hits == 0, "%s: the NF did not run (%llu)", what,
		      (unsigned long long)r.hits);
		return;
	}
	CHECK(r.hits == hits && r.ctx.hook == hook && r.ctx.role == role &&
		      r.ctx.vni == vni,
	      "%s: the NF ran %llu time(s) (want %llu) at hook %u role %u vni "
	      "%u (want %u, %u, %u)",
	      what, (unsigned long long)r.hits, (unsigned long long)hits,
	      r.ctx.hook, r.ctx.role, r.ctx.vni, hook, role, vni);
}

/* VPC B's endpoint 10.2.1.7 (behind bouncer H3) sending UDP to @dst. */
static struct inner_spec from_b(uint32_t dst)
{
	return (struct inner_spec){ .dmac = MAC_GW_B2, .smac = MAC_REMOTE,
				    .src = IP4(10, 2, 1, 7), .dst = dst,
				    .sport = 40000, .dport = 53,
				    .payload = 32 };
}

static void tunnel_from_h3(struct pkt *p, const struct pkt *inner)
{
	struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H3, .src = H3,
				.dst = US, .sport = 51000, .vni = VNI_B,
				.rts = H3 };

	build_encap(p, &o, inner);
}

static void divider_exit(void)
{
	static struct fixture_pkt f;
	struct inner_spec s = from_b(OUTSIDE);
	struct pkt inner;

	build_inner(&inner, &s);
	memset(&f, 0, sizeof(f));
	f.ingress_ifindex = env.ul0;
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_NO_ROUTE);
	tunnel_from_h3(&f.in, &inner);

	chain(-1, NULL);
	f.desc = "divider: a packet for an address in no network of the VPC "
		 "is dropped as no_route when no NF takes it";
	fx(env.transit_fd, &f);

	chain(MZR_HOOK_DIVIDER, NULL);
	f.desc = "divider: such a packet meets the divider hook first, then "
		 "is dropped as no_route when the NF continues";
	fx(env.transit_fd, &f);
	expect_rec("leaving the VPC", 1, MZR_HOOK_DIVIDER, MZR_ROLE_EXTERNAL,
		   VNI_B);
	{
		struct nh_rec r = rec();

		CHECK(r.ctx.saddr == htonl(s.src) &&
			      r.ctx.daddr == htonl(OUTSIDE) &&
			      r.ctx.sport == htons(40000) &&
			      r.ctx.dport == htons(53) && r.ctx.proto == 17 &&
			      r.ctx.inner_l2_off == 66 &&
			      r.ctx.inner_l3_off == 80 &&
			      r.ctx.inner_l4_off == 100 &&
			      r.ctx.rts == htonl(H3),
		      "leaving the VPC: the NF sees the inner flow, its "
		      "offsets and the sender's host");
	}

	/* In-VPC routing keeps role DIVIDER. */
	s = from_b(IP4(10, 2, 1, 8));
	s.src = IP4(10, 2, 2, 7);
	build_inner(&inner, &s);
	tunnel_from_h3(&f.in, &inner);
	chain(MZR_HOOK_DIVIDER, NULL);
	f.desc = "divider: a packet for a network of the VPC is routed to "
		 "its bouncer as before";
	f.verdict = XDP_TX;
	f.counter = MZR_CNT_DIVIDER_FWD;
	fx(env.transit_fd, &f);
	expect_rec("routed in the VPC", 1, MZR_HOOK_DIVIDER, MZR_ROLE_DIVIDER,
		   VNI_B);
}

/* EP_B9, on this host in 10.2.2.0/24 whose bouncer is this host, sends to
 * the outside: the agent injects it into the transit walk here. */
static void agent_exit(void)
{
	static struct fixture_pkt f;
	struct inner_spec s = { .dmac = MAC_GW_B2, .smac = MAC_B9,
				.src = EP_B9, .dst = OUTSIDE, .sport = 40001,
				.dport = 80, .payload = 16 };

	memset(&f, 0, sizeof(f));
	f.ingress_ifindex = env.noeph;
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_NO_ROUTE);
	build_inner(&f.in, &s);

	chain(-1, NULL);
	f.desc = "agent on the divider: an endpoint's packet for the outside "
		 "is dropped as no_route when no NF takes it";
	fx(env.agent_fd, &f);

	chain(MZR_HOOK_DIVIDER, NULL);
	f.desc = "agent on the divider: the injected packet meets the "
		 "divider hook (role external) before no_route";
	fx(env.agent_fd, &f);
	expect_rec("injected by the agent", 1, MZR_HOOK_DIVIDER,
		   MZR_ROLE_EXTERNAL, VNI_B);
	{
		struct nh_rec r = rec();

		CHECK(r.ctx.saddr == htonl(EP_B9) &&
			      r.ctx.daddr == htonl(OUTSIDE) &&
			      r.ctx.rts == htonl(US) &&
			      r.ctx.ingress_ifindex == env.noeph,
		      "injected by the agent: the NF sees the endpoint's "
		      "flow, RTS this host, ingress the endpoint's veth");
	}
}

/* A plain frame from the outside to this host, UDP 5555 -> 8080. */
static struct inner_spec outside_in(size_t payload)
{
	return (struct inner_spec){ .dmac = MAC_US, .smac = MAC_REMOTE,
				    .src = OUTSIDE, .dst = US, .sport = 5555,
				    .dport = 8080, .payload = payload };
}

static void external_inject(void)
{
	static struct fixture_pkt f;
	struct inner_spec s = outside_in(40);
	struct nh_cfg cfg = { .inject = 1, .vni = VNI_B };

	memset(&f, 0, sizeof(f));
	f.ingress_ifindex = env.ul0;
	build_inner(&f.in, &s);

	chain(MZR_HOOK_EXTERNAL, NULL);
	f.desc = "external: an NF that does not inject leaves the frame to "
		 "the kernel, unchanged";
	f.verdict = XDP_PASS;
	f.counter = MZR_CNT_TRANSIT_PASS;
	f.check_out = true;
	pkt_copy(&f.out, &f.in);
	fx(env.transit_fd, &f);
	expect_rec("external", 1, MZR_HOOK_EXTERNAL, MZR_ROLE_EXTERNAL, 0);

	/* To VPC B's 10.1.1.11, hosted here (ep6h). */
	cfg.daddr = htonl(IP4(10, 1, 1, 11));
	chain(MZR_HOOK_EXTERNAL, &cfg);
	f.desc = "external: a plain frame injected into VPC B for a local "
		 "endpoint is delivered to its veth with its MAC";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_DELIVER;
	{
		struct inner_spec o = s;

		o.dmac = MAC_B11;
		o.dst = IP4(10, 1, 1, 11);
		build_inner(&f.out, &o);
	}
	fx(env.transit_fd, &f);
	expect_rec("external, injected", 1, MZR_HOOK_EXTERNAL,
		   MZR_ROLE_EXTERNAL, 0);

	/* To VPC B's 10.2.1.7: this host is B's divider, H3 the bouncer. */
	cfg.daddr = htonl(IP4(10, 2, 1, 7));
	chain(MZR_HOOK_EXTERNAL, &cfg);
	f.desc = "external: a plain frame injected into VPC B for a remote "
		 "endpoint is encapsulated (RTS this host) and routed to its "
		 "network's bouncer, ROUTED, inner TTL - 1";
	f.verdict = XDP_TX;
	f.counter = MZR_CNT_DIVIDER_FWD;
	{
		struct inner_spec o = s;
		struct pkt routed;
		struct outer_spec out = { .dmac = MAC_H3, .smac = MAC_US,
					  .src = US, .dst = H3, .ttl = 63,
					  .vni = VNI_B, .rts = US,
					  .flags = MZR_F_ROUTED };

		o.dst = IP4(10, 2, 1, 7);
		out.sport = flow_sport(&o);
		o.ttl = 63;
		build_inner(&routed, &o);
		build_encap(&f.out, &out, &routed);
	}
	fx(env.transit_fd, &f);

	cfg.vni = 4242;
	chain(MZR_HOOK_EXTERNAL, &cfg);
	f.desc = "external: injecting into a VPC this host does not know is "
		 "dropped (bad_vni)";
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_BAD_VNI);
	f.check_out = false;
	fx(env.transit_fd, &f);

	cfg.vni = VNI_B;
	chain(MZR_HOOK_EXTERNAL, &cfg);
	s = outside_in(1500 - 20 - 8);
	build_inner(&f.in, &s);
	f.desc = "external: a full-size underlay frame cannot be carried "
		 "once encapsulated (too_big)";
	f.counter = DROP(MZR_DROP_TOO_BIG);
	fx(env.transit_fd, &f);
}

int main(void)
{
	struct mzr_ep_spec ep = { .vni = VNI_B,
				  .ip = { htonl(EP_B9) },
				  .host = { htonl(US) },
				  .ifname = "noeph" };
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	memcpy(ep.mac, MAC_B9, 6);
	err = mzr_ep__create(env.host, &ep);
	if (err)
		test_die_err("mzr_ep__create 10.2.2.10", err);
	nf_load();

	divider_exit();
	agent_exit();
	external_inject();
	mzr_host__nf_clear(env.host);
	return test_report();
}
