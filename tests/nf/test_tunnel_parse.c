// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A bypass-decap NF and the core read a tunnel frame alike: for each
 * frame, the context mzr_tunnel_parse() builds equals the one the real
 * core (loaded by libmizar, tests/pkt/core_env) hands to an NF at its
 * deliver hook, and a frame the core drops is refused by the parser with
 * the core's drop reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
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

struct parse_out {
	int32_t ret;
	uint32_t pad;
	struct mzr_ctx ctx;
};

static struct core_env env;
static int parse_fd, parse_out_fd, seen_fd;
static int fails;

struct agree_case {
	const char *desc;
	struct pkt in;
	int drop;	/* 0: delivered (contexts compared); else the reason */
};

static uint64_t counter(uint32_t idx)
{
	uint64_t v[__MZR_CNT_MAX];

	if (mzr_host__counters(env.host, v, __MZR_CNT_MAX))
		return 0;
	return v[idx];
}

/* Compare what the NF saw at the core's deliver hook with the parser's. */
static bool same_ctx(const struct mzr_ctx *core, const struct mzr_ctx *nf)
{
	bool ok = true;

#define SAME(f)                                                                \
	do {                                                                   \
		if ((uint64_t)core->f != (uint64_t)nf->f) {                    \
			printf("    ctx." #f ": core %#llx, parser %#llx\n",     \
			       (unsigned long long)core->f,                    \
			       (unsigned long long)nf->f);                     \
			ok = false;                                            \
		}                                                              \
	} while (0)
	SAME(version);
	SAME(len);
	SAME(role);
	SAME(hook);
	SAME(decision);
	SAME(vni);
	SAME(outer_l3_off);
	SAME(outer_l4_off);
	SAME(geneve_off);
	SAME(inner_l2_off);
	SAME(inner_l3_off);
	SAME(inner_l4_off);
	SAME(saddr);
	SAME(daddr);
	SAME(sport);
	SAME(dport);
	SAME(proto);
	SAME(rts);
	SAME(flags);
	SAME(ingress_ifindex);
	SAME(drop_reason);
#undef SAME
	return ok;
}

static void check_case(const struct agree_case *c)
{
	struct parse_out out = {};
	struct mzr_ctx core = {};
	uint32_t zero = 0;
	uint64_t before;
	bool ok;
	int v;

	bpf_map_update_elem(seen_fd, &zero, &core, BPF_ANY);
	bpf_map_update_elem(parse_out_fd, &zero, &out, BPF_ANY);
	before = c->drop ? counter(MZR_CNT_DROP_BASE + c->drop) : 0;
	v = fixture_xdp_run(env.transit_fd, env.ul0, &c->in, NULL);
	fixture_xdp_run(parse_fd, env.ul0, &c->in, NULL);
	bpf_map_lookup_elem(seen_fd, &zero, &core);
	bpf_map_lookup_elem(parse_out_fd, &zero, &out);

	if (c->drop) {
		ok = v == XDP_DROP &&
		     counter(MZR_CNT_DROP_BASE + c->drop) == before + 1 &&
		     out.ret == c->drop;
		if (!ok)
			printf("    core: verdict %d, drop %s counted %llu "
			       "time(s); parser: %d, want %d\n", v,
			       mzr_drop_reason_name(c->drop),
			       (unsigned long long)(counter(MZR_CNT_DROP_BASE +
							    c->drop) -
						    before),
			       out.ret, c->drop);
	} else {
		ok = core.version != 0 && out.ret == 0;
		if (!ok)
			printf("    core's deliver hook %s; parser returned "
			       "%d\n", core.version ? "ran" : "did not run",
			       out.ret);
		ok = ok && same_ctx(&core, &out.ctx);
	}
	printf("%s: %s\n", ok ? "ok" : "FAIL", c->desc);
	fails += !ok;
}

/* A tunnel frame from H5 to this host around @inner, with @n_other
 * non-critical options of another class (type @other_type) before RTS
 * and FLAGS, and an RTS option of @rts_len bytes. */
static void tunnel(struct pkt *p, const struct pkt *inner, int n_other,
		   uint8_t other_type, size_t rts_len)
{
	uint32_t rts[2] = { htonl(H5), 0 };
	int i;

	pkt_init(p);
	pkt_eth(p, MAC_US, host_mac(H5), PKT_ETH_P_IPV4);
	pkt_ipv4(p, H5, US, 17,
		 &(struct pkt_ipv4_opts){ .frag_off = 0x4000 });
	pkt_udp_nocsum(p, 51000, PKT_GENEVE_PORT);
	pkt_geneve(p, VNI_A, 0);
	for (i = 0; i < n_other; i++)
		pkt_geneve_opt_u32(p, 0x0200, other_type, i);
	pkt_geneve_opt(p, MZR_OPT_CLASS, MZR_OPT_RTS, rts, rts_len);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_FLAGS, 0);
	pkt_payload(p, inner->data, inner->len);
	pkt_finish(p);
}

/* UDP from a remote endpoint to EP2, a local endpoint of VPC A. */
static struct inner_spec to_ep2(void)
{
	struct inner_spec s = remote(IP4(10, 1, 1, 11));

	s.src = IP4(10, 1, 1, 21);
	return s;
}

int main(void)
{
	struct agree_case c[8];
	struct bpf_object *pobj;
	struct mzr_nf *rec;
	struct inner_spec s;
	struct pkt inner;
	int n = 0, err, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	parse_fd = test_load_prog(NF_OBJ_DIR "/nf_tunnel_parse.bpf.o", "tunnel_parse",
				  &pobj);
	parse_out_fd = test_map_fd(pobj, "parse_out");
	rec = mzr_nf__open_file(NF_OBJ_DIR "/nf_record.bpf.o", NULL);
	err = rec ? mzr_host__nf_insert(env.host, "rec", rec,
					MZR_HOOK_DELIVER, MZR_NF_POS_END) :
		    -errno;
	if (err) {
		fprintf(stderr, "recorder at the deliver hook: %s\n",
			strerror(-err));
		return 1;
	}
	seen_fd = bpf_object__find_map_fd_by_name(mzr_nf__bpf_object(rec),
						  "nf_seen");
	memset(c, 0, sizeof(c));

	s = to_ep2();
	build_inner(&inner, &s);
	c[n].desc = "a UDP datagram to a local endpoint: the same context";
	tunnel(&c[n++].in, &inner, 0, 0, 4);

	c[n].desc = "ten options (eight of another class before RTS and "
		    "FLAGS) are walked to the end: the same RTS and flags";
	tunnel(&c[n++].in, &inner, 8, 0x05, 4);

	s = to_ep2();
	s.frag_off = 0x2000;
	build_inner(&inner, &s);
	c[n].desc = "a first fragment (MF, offset 0) has no ports, as every "
		    "fragment of its datagram";
	tunnel(&c[n++].in, &inner, 0, 0, 4);

	s = to_ep2();
	s.frag_off = 0x0010;
	build_inner(&inner, &s);
	c[n].desc = "a later fragment: no ports, the L4 offset after the "
		    "IPv4 header";
	tunnel(&c[n++].in, &inner, 0, 0, 4);

	build_arp(&inner, 2, MAC_REMOTE, IP4(10, 1, 1, 21),
		  IP4(10, 1, 1, 11));
	c[n].desc = "an ARP reply to a local endpoint: addresses from its "
		    "sender and target fields";
	tunnel(&c[n++].in, &inner, 0, 0, 4);

	s = to_ep2();
	build_inner(&inner, &s);
	c[n].desc = "an RTS option of 8 bytes is a bad option for both";
	c[n].drop = MZR_DROP_BAD_OPTION;
	tunnel(&c[n++].in, &inner, 0, 0, 8);

	c[n].desc = "an unknown critical option of another class is refused "
		    "by both";
	c[n].drop = MZR_DROP_CRIT_OPTION;
	tunnel(&c[n++].in, &inner, 1, 0x85, 4);

	for (i = 0; i < n; i++)
		check_case(&c[i]);

	mzr_host__nf_clear(env.host);
	mzr_nf__close(rec);
	bpf_object__close(pobj);
	printf("%s: %d failure(s)\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}
