// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A seeded mutation fuzzer of the data plane: frames built from the packet
 * fixtures' topology (tests/pkt/core_env.c: VPCs A and B share 10.1.1.0/24),
 * then mutated (bit flips, truncations, lying length fields, bogus Geneve
 * options, IP options, fragments, swapped VNIs, ARP garbage), run through
 * the real programs with BPF_PROG_TEST_RUN, 17 programs, each with its own
 * frame count:
 *
 *   mzr_transit and mzr_agent with empty NF chains;
 *   the same with the example NFs (ACL, LB, NAT, rate limiter) chained at
 *   their hooks through libmizar, so every hook's chain and continuation
 *   runs by tail call;
 *   each continuation mzr_cont_* and each NF run directly, on the per-CPU
 *   context and plan a seed reaching its hook left behind, with frames
 *   mutated mostly past the outer headers so the walk goes deep.
 *
 * Work is cut into bursts per program, each seeded by (seed, program,
 * burst); forked workers (one per CPU, each with its own netns and
 * back-plane) claim them. See docs/testing.md.
 *
 * Every frame must keep these invariants:
 *   - the verdict is XDP_DROP, XDP_PASS, XDP_TX or XDP_REDIRECT;
 *   - an XDP_DROP moves exactly one named drop counter by one, any other
 *     verdict moves none;
 *   - an emitted (TX/REDIRECT) tunnel frame is well formed (IPv4 without
 *     options, a valid header checksum, UDP to 6081, Geneve version 0 over
 *     Ethernet, options inside the frame), leaves from this host, goes to a
 *     known peer, and carries the VNI of the VPC the input belongs to;
 *   - an emitted plain frame goes to an endpoint of the input's VPC;
 *   - when every checksum of the input was valid, every checksum of the
 *     output is (recomputed independently by pkt_checksums_ok());
 *   - live frames: one emitted frame in 32 (transit and agent) is sent
 *     again with BPF_F_TEST_XDP_LIVE_FRAMES and must arrive behind the
 *     interface its output implies (a local endpoint's veth for its MAC,
 *     else the underlay; XDP_TX: where it came from).
 *
 * A violation prints the frame as a fixture to paste into tests/pkt and
 * the command line that replays its burst. Usage:
 *   fuzz_core [--seed N] [--seconds S] [--frames N | --min-frames M]
 *             [--workers W] [--verbose]
 *   fuzz_core --seed N --target NAME --burst B [--verbose]   (replay)
 *   fuzz_core --selftest   (the checks catch a cross-VPC delivery)
 * CI runs every program to --min-frames 200000 within --seconds 420;
 * `--frames 10000000` is a long run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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

#define HEADROOM 256
#define MAX_SEEDS 96
#define MAX_VIOLATIONS 10
#define ETH_LEN 14

/* ---- Deterministic randomness ------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: one state word, good enough for mutation choices. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- Targets and seeds --------------------------------------------------- */

/* The example NFs and the bouncer's pass-through, each also run directly
 * as a target of its own (on a context primed at its hook). */
#define N_NFS 8

enum target {
	T_TRANSIT,
	T_AGENT,
	T_TRANSIT_NF,
	T_AGENT_NF,
	T_CONT, /* + enum mzr_hook */
	T_NF = T_CONT + __MZR_HOOK_MAX, /* + index into nfs[] */
	__T_MAX = T_NF + N_NFS,
};

static const struct {
	const char *obj, *prog, *name, *target;
	enum mzr_hook hook;
} nfs[N_NFS] = {
	{ MZR_ACL_OBJ, "acl_egress", "fz-acl-egress", "nf acl_egress",
	  MZR_HOOK_AGENT_EGRESS },
	{ MZR_ACL_OBJ, "acl_deliver", "fz-acl-deliver", "nf acl_deliver",
	  MZR_HOOK_DELIVER },
	{ MZR_RL_OBJ, "ratelimit_egress", "fz-rl", "nf ratelimit_egress",
	  MZR_HOOK_AGENT_EGRESS },
	{ MZR_LB_OBJ, "lb_egress", "fz-lb-egress", "nf lb_egress",
	  MZR_HOOK_AGENT_EGRESS },
	{ MZR_LB_OBJ, "lb_deliver", "fz-lb-deliver", "nf lb_deliver",
	  MZR_HOOK_DELIVER },
	{ MZR_NAT_OBJ, "nat_exit", "fz-nat-exit", "nf nat_exit",
	  MZR_HOOK_DIVIDER },
	{ MZR_NAT_OBJ, "nat_entry", "fz-nat-entry", "nf nat_entry",
	  MZR_HOOK_EXTERNAL },
	/* No example NF sits at the bouncer: a pass-through recorder keeps
	 * its chain non-empty. */
	{ MZR_REC_OBJ, NULL, "fz-rec", "nf pass-through", MZR_HOOK_BOUNCER },
};

static const char *target_name(int t)
{
	static const char *names[] = {
		"mzr_transit", "mzr_agent", "mzr_transit+nfs",
		"mzr_agent+nfs", "mzr_cont_agent_egress", "mzr_cont_bouncer",
		"mzr_cont_divider", "mzr_cont_deliver", "mzr_cont_external",
	};
	return t >= T_NF ? nfs[t - T_NF].target : names[t];
}

/* The hook whose context a continuation or NF target runs on. */
static int hook_of(int t)
{
	return t >= T_NF ? (int)nfs[t - T_NF].hook : t - T_CONT;
}

/* A frame and where it enters: the agent of an endpoint's veth (whose VPC
 * it belongs to) or the transit program on the underlay. */
struct seed {
	struct pkt p;
	bool agent;
	unsigned int ifindex;
	uint32_t vni; /* the sender's VPC (agent); 0: read from the frame */
};

static struct core_env env;
static struct seed seeds[MAX_SEEDS];
static int n_seeds;
static int ctx_fd, ncpu;

/* Endpoints of the topology, by MAC (unique across VPCs). */
static const struct {
	const uint8_t *mac;
	uint32_t vni;
} endpoints[] = {
	{ MAC_EP1, VNI_A }, { MAC_EP2, VNI_A }, { MAC_EP3, VNI_A },
	{ MAC_EP4, VNI_A }, { MAC_EP6, VNI_A }, { MAC_EP7, VNI_A },
	{ MAC_EP8, VNI_A }, { MAC_B11, VNI_B }, { MAC_B12, VNI_B },
};

static const uint32_t peers[] = { H2, H3, H4, H5, H6, H99 };

static struct seed *new_seed(bool agent, unsigned int ifindex, uint32_t vni)
{
	struct seed *s;

	if (n_seeds == MAX_SEEDS) {
		fprintf(stderr, "too many seeds\n");
		exit(1);
	}
	s = &seeds[n_seeds++];
	s->agent = agent;
	s->ifindex = ifindex;
	s->vni = vni;
	return s;
}

static void agent_seed(unsigned int ifindex, uint32_t vni,
		       const struct inner_spec *is)
{
	build_inner(&new_seed(true, ifindex, vni)->p, is);
}

static void arp_seed(unsigned int ifindex, uint32_t vni, const uint8_t *mac,
		     uint32_t spa, uint32_t tpa)
{
	build_arp(&new_seed(true, ifindex, vni)->p, 1, mac, spa, tpa);
}

static void tunnel_seed(uint32_t from, uint32_t vni, uint32_t flags,
			const struct inner_spec *is)
{
	struct pkt inner;

	build_inner(&inner, is);
	tunnel_in(&new_seed(false, env.ul0, 0)->p, from, vni, flags, 64,
		  &inner);
}

static struct inner_spec spec(const uint8_t *smac, uint32_t src, uint32_t dst,
			      uint8_t proto)
{
	return (struct inner_spec){ .dmac = MAC_GW_A1, .smac = smac,
				    .src = src, .dst = dst, .proto = proto,
				    .sport = 40000, .dport = 5201,
				    .payload = 32 };
}

/* The fixtures' paths: hairpins, bouncer, divider, direct (fresh and
 * expired), external, ARP, in VPC A and in VPC B whose 10.1.1.11 and
 * 10.1.1.12 overlap A's addresses. */
static void make_seeds(void)
{
	static const uint32_t a_dst[] = {
		IP4(10, 1, 1, 11), IP4(10, 1, 1, 20), IP4(10, 1, 1, 12),
		IP4(10, 1, 2, 10), IP4(10, 1, 3, 10), IP4(10, 1, 1, 60),
		IP4(10, 1, 1, 61), IP4(10, 1, 3, 60), IP4(10, 1, 1, 40),
		IP4(8, 8, 8, 8),   IP4(10, 1, 1, 30),
	};
	static const uint32_t b_dst[] = {
		IP4(10, 1, 1, 12), IP4(10, 1, 1, 10), IP4(10, 2, 1, 5),
		IP4(10, 2, 2, 7),  IP4(8, 8, 4, 4),
	};
	static const uint8_t protos[] = { 17, 6, 1 };
	uint32_t ep1 = IP4(10, 1, 1, 10), b11 = IP4(10, 1, 1, 11);
	struct inner_spec is;

	for (size_t i = 0; i < sizeof(a_dst) / sizeof(a_dst[0]); i++)
		for (size_t j = 0; j < sizeof(protos); j++) {
			is = spec(MAC_EP1, ep1, a_dst[i], protos[j]);
			agent_seed(env.ep1h, VNI_A, &is);
		}
	for (size_t i = 0; i < sizeof(b_dst) / sizeof(b_dst[0]); i++)
		for (size_t j = 0; j < sizeof(protos); j++) {
			is = spec(MAC_B11, b11, b_dst[i], protos[j]);
			is.dmac = MAC_GW_A1; /* 10.1.1.1 in B too */
			agent_seed(env.ep6h, VNI_B, &is);
		}
	is = spec(MAC_EP1, ep1, IP4(10, 1, 1, 20), 17);
	is.frag_off = 0x2000; /* first fragment */
	agent_seed(env.ep1h, VNI_A, &is);
	is.frag_off = 0x0010; /* a later one */
	agent_seed(env.ep1h, VNI_A, &is);
	is.frag_off = 0;
	is.ihl = 7; /* IP options */
	agent_seed(env.ep1h, VNI_A, &is);
	arp_seed(env.ep1h, VNI_A, MAC_EP1, ep1, IP4(10, 1, 1, 11));
	arp_seed(env.ep1h, VNI_A, MAC_EP1, ep1, IP4(10, 1, 1, 12));
	arp_seed(env.ep6h, VNI_B, MAC_B11, b11, IP4(10, 1, 1, 10));
	arp_seed(env.ep6h, VNI_B, MAC_B11, b11, IP4(10, 1, 1, 12));

	/* Tunnel frames from peers, to every role this host plays. */
	for (size_t j = 0; j < sizeof(protos); j++) {
		is = spec(MAC_REMOTE, IP4(10, 1, 1, 77), IP4(10, 1, 1, 11),
			  protos[j]);
		tunnel_seed(H2, VNI_A, 0, &is); /* deliver to EP2 */
		tunnel_seed(H2, VNI_B, 0, &is); /* deliver to B11 */
		is.dst = IP4(10, 1, 1, 12);
		tunnel_seed(H2, VNI_A, 0, &is); /* B12 is not in A */
		tunnel_seed(H3, VNI_B, MZR_F_ROUTED, &is);
		is.dst = IP4(10, 1, 1, 20);
		tunnel_seed(H3, VNI_A, 0, &is); /* bounce to H5 */
		is.dst = IP4(10, 1, 2, 10);
		tunnel_seed(H2, VNI_A, MZR_F_ROUTED, &is);
		is.dst = IP4(10, 1, 1, 30);
		tunnel_seed(H2, VNI_A, 0, &is); /* bypass-decap */
		is.dst = IP4(10, 2, 1, 9);
		tunnel_seed(H4, VNI_B, 0, &is); /* we divide B */
		is.dst = IP4(10, 1, 1, 99);
		tunnel_seed(H2, VNI_C, 0, &is);
		tunnel_seed(H2, 4242, 0, &is);
		tunnel_seed(IP4(192, 168, 1, 77), VNI_A, 0, &is);
	}
	{
		struct pkt inner;
		struct seed *s;

		build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
			  IP4(10, 1, 1, 11));
		tunnel_in(&new_seed(false, env.ul0, 0)->p, H2, VNI_A, 0, 64,
			  &inner);
		tunnel_in(&new_seed(false, env.ul0, 0)->p, H2, VNI_B, 0, 64,
			  &inner);
		/* Plain underlay traffic: the external hook. */
		is = spec(MAC_H2, H2, US, 17);
		is.dmac = MAC_US;
		s = new_seed(false, env.ul0, 0);
		build_inner(&s->p, &is);
	}
}

/* ---- Frame walking (independent of the data plane's parsers) ------------ */

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/* Offset of the Geneve header when @f is IPv4/UDP to 6081 whose headers fit
 * in the frame, else -1. */
static long geneve_off(const uint8_t *f, size_t len)
{
	size_t ihl;

	if (len < ETH_LEN + 20 || get16(f + 12) != PKT_ETH_P_IPV4 ||
	    f[ETH_LEN] >> 4 != 4)
		return -1;
	ihl = (f[ETH_LEN] & 0xfu) * 4;
	if (ihl < 20 || f[ETH_LEN + 9] != 17 || len < ETH_LEN + ihl + 8 + 8)
		return -1;
	if (get16(f + ETH_LEN + ihl + 2) != PKT_GENEVE_PORT)
		return -1;
	return (long)(ETH_LEN + ihl + 8);
}

static uint32_t frame_vni(const uint8_t *f, size_t len)
{
	long g = geneve_off(f, len);

	return g < 0 ? 0 : get32(f + g + 4) >> 8;
}

/* ---- Mutations ----------------------------------------------------------- */

/* Where header fields are in @p, for the structure-aware mutations. */
static long layer(const struct pkt *p, enum pkt_layer t, int n)
{
	return pkt_layer_off(p, t, n);
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void fix_ipv4_csum(struct pkt *p, long ip)
{
	size_t hl;

	if (ip < 0 || (size_t)ip + 20 > p->len)
		return;
	hl = (p->data[ip] & 0xfu) * 4;
	if (hl < 20 || ip + hl > p->len)
		return;
	p->data[ip + 10] = p->data[ip + 11] = 0;
	put16(p->data + ip + 10,
	      (uint16_t)~pkt_csum_fold(pkt_csum_add(0, p->data + ip, hl)));
}

/* A rebuilt tunnel frame around @inner with random Geneve options in a
 * random order: unknown classes, critical bits, odd lengths, duplicates,
 * an RTS that lies about the sender. */
static void bogus_geneve(struct pkt *out, const struct pkt *in)
{
	long g = geneve_off(in->data, in->len), inner;
	static const uint32_t rts[] = { H2, H3, US, IP4(192, 168, 1, 77), 0 };
	struct pkt_ipv4_opts io = { .frag_off = 0x4000 };
	uint8_t data[16];
	size_t used = 0;
	int n = (int)rn(5);
	uint32_t src;

	out->len = 0; /* nothing built: the caller keeps its frame */
	if (g < 0)
		return;
	inner = g + 8 + (in->data[g] & 0x3f) * 4;
	if ((size_t)inner > in->len)
		return;
	src = get32(in->data + ETH_LEN + 12);
	pkt_init(out);
	pkt_eth(out, in->data, in->data + 6, PKT_ETH_P_IPV4);
	pkt_ipv4(out, src, US, 17, &io);
	pkt_udp_nocsum(out, 51000, PKT_GENEVE_PORT);
	pkt_geneve(out, rn(4) ? frame_vni(in->data, in->len) : rn(1 << 24),
		   0);
	for (int i = 0; i < n; i++) {
		uint16_t cls = rn(3) ? MZR_OPT_CLASS : (uint16_t)rnd();
		uint8_t type = (uint8_t)(rn(4) + 1);
		size_t len = 4 * rn(4);

		if (!rn(4))
			type |= MZR_OPT_CRITICAL;
		if (!rn(6))
			type = (uint8_t)rnd();
		if (used + 4 + len > 200)
			break;
		for (size_t k = 0; k < len; k++)
			data[k] = (uint8_t)rnd();
		if (len >= 4 && (type & 0x7f) == MZR_OPT_RTS) {
			uint32_t r = rts[rn(5)];

			data[0] = (uint8_t)(r >> 24);
			data[1] = (uint8_t)(r >> 16);
			data[2] = (uint8_t)(r >> 8);
			data[3] = (uint8_t)r;
		}
		pkt_geneve_opt(out, cls, type, data, len);
		used += 4 + len;
	}
	pkt_payload(out, in->data + inner, in->len - (size_t)inner);
	pkt_finish(out);
	/* Sometimes an option's length lies about where the next one is. */
	if (n && !rn(3)) {
		long o = layer(out, PKT_L_GENEVE, 0) + 8;

		out->data[o + 3] = (uint8_t)rn(32);
	}
}

static const char *mutate(struct pkt *p)
{
	long ip0 = layer(p, PKT_L_IPV4, 0), ip1 = layer(p, PKT_L_IPV4, 1);
	long udp = layer(p, PKT_L_UDP, 0), gen = layer(p, PKT_L_GENEVE, 0);
	long arp = layer(p, PKT_L_ARP, 0);
	long ip = ip1 >= 0 && rn(2) ? ip1 : ip0;
	struct pkt tmp;
	size_t off;

	switch (rn(12)) {
	case 0: /* bit flips, mostly in the headers */
		for (int i = 0, n = 1 + (int)rn(3); i < n; i++) {
			off = rn(3) ? rn(p->len < 120 ? (uint32_t)p->len : 120) :
				      rn((uint32_t)p->len);
			p->data[off] ^= (uint8_t)(1u << rn(8));
		}
		return "bit flip";
	case 1: /* random bytes */
		for (int i = 0, n = 1 + (int)rn(4); i < n; i++)
			p->data[rn((uint32_t)p->len)] = (uint8_t)rnd();
		return "byte";
	case 2:
		pkt_truncate(p, rn((uint32_t)p->len));
		return "truncation";
	case 3: /* lying lengths: IPv4 tot_len or ihl, UDP len, opt_len */
		if (ip >= 0 && rn(2)) {
			if (rn(2))
				put16(p->data + ip + 2, (uint16_t)rnd());
			else
				p->data[ip] = (uint8_t)(0x40 | rn(16));
			if (rn(2))
				fix_ipv4_csum(p, ip);
		} else if (udp >= 0 && rn(2)) {
			put16(p->data + udp + 4, (uint16_t)rn(2048));
		} else if (gen >= 0) {
			p->data[gen] = (uint8_t)((p->data[gen] & 0xc0) | rn(64));
		}
		return "length";
	case 4:
		if (gen >= 0) {
			bogus_geneve(&tmp, p);
			if (tmp.len)
				pkt_copy(p, &tmp);
		}
		return "geneve options";
	case 5: /* swapped or random VNI */
		if (gen >= 0) {
			static const uint32_t v[] = { VNI_A, VNI_B, VNI_C, 0 };
			uint32_t vni = rn(5) ? v[rn(4)] : rn(1 << 24);

			p->data[gen + 4] = (uint8_t)(vni >> 16);
			p->data[gen + 5] = (uint8_t)(vni >> 8);
			p->data[gen + 6] = (uint8_t)vni;
		}
		return "vni";
	case 6: /* fragments */
		if (ip >= 0) {
			put16(p->data + ip + 6,
			      (uint16_t)(rn(2) ? 0x2000 | rn(0x2000) : rnd()));
			fix_ipv4_csum(p, ip);
		}
		return "fragment";
	case 7: /* IP options: grow the header over the payload */
		if (ip >= 0 && (size_t)ip + 60 <= p->len) {
			uint8_t ihl = (uint8_t)(6 + rn(10));

			p->data[ip] = (uint8_t)(0x40 | ihl);
			for (size_t k = 20; k < ihl * 4u; k++)
				p->data[ip + (long)k] =
					rn(3) ? 1 /* NOP */ : (uint8_t)rnd();
			fix_ipv4_csum(p, ip);
		}
		return "ip options";
	case 8: /* ARP garbage */
		if (arp >= 0 && (size_t)arp + 28 <= p->len) {
			off = (size_t)arp + rn(28);
			p->data[off] = (uint8_t)rnd();
			if (!rn(3))
				pkt_truncate(p, (size_t)arp + rn(28));
		}
		return "arp";
	case 9: /* trailing garbage */
		if (p->len + 64 <= PKT_MAX) {
			size_t n = 1 + rn(64);

			for (size_t k = 0; k < n; k++)
				p->data[p->len + k] = (uint8_t)rnd();
			p->len += n;
		}
		return "trailer";
	case 10: /* addresses: inner and outer, MACs */
		off = rn(3) == 0 ? 0 : (ip >= 0 ? (size_t)ip + 12 : 6);
		if (off + 8 <= p->len)
			p->data[off + rn(8)] ^= (uint8_t)(1 + rn(255));
		if (ip >= 0 && rn(2))
			fix_ipv4_csum(p, ip);
		return "address";
	default: /* TTL */
		if (ip >= 0) {
			p->data[ip + 8] = (uint8_t)rn(3);
			fix_ipv4_csum(p, ip);
		}
		return "ttl";
	}
}

/*
 * Mutations past the outer headers: the inner Ethernet, IPv4 and L4 headers
 * and payload, and the Geneve options. A frame that reached a hook keeps
 * an outer header the continuation accepts, so the walk goes deep (for an
 * endpoint's frame, "inner" is its only header).
 */
static const char *mutate_inner(struct pkt *p)
{
	long gen = layer(p, PKT_L_GENEVE, 0);
	int n = gen >= 0 ? 1 : 0;
	long eth = layer(p, PKT_L_ETH, n), ip = layer(p, PKT_L_IPV4, n);
	long udp = layer(p, PKT_L_UDP, n), tcp = layer(p, PKT_L_TCP, 0);
	long icmp = layer(p, PKT_L_ICMP, 0);
	long l4 = udp >= 0 ? udp : tcp >= 0 ? tcp : icmp;
	long from = eth >= 0 ? eth : 0;
	struct pkt tmp;
	size_t off, span;

	if ((size_t)from >= p->len)
		return mutate(p);
	span = p->len - (size_t)from;
	switch (rn(12)) {
	case 0: /* bit flips in the inner headers */
		for (int i = 0, k = 1 + (int)rn(3); i < k; i++) {
			off = (size_t)from +
			      rn(span < 64 ? (uint32_t)span : 64);
			p->data[off] ^= (uint8_t)(1u << rn(8));
		}
		if (ip >= 0 && rn(2))
			fix_ipv4_csum(p, ip);
		return "inner bit flip";
	case 1:
		for (int i = 0, k = 1 + (int)rn(4); i < k; i++)
			p->data[(size_t)from + rn((uint32_t)span)] =
				(uint8_t)rnd();
		return "inner byte";
	case 2: /* cut inside the inner headers or payload */
		pkt_truncate(p, (size_t)from + rn((uint32_t)span));
		return "inner truncation";
	case 3:
		if (ip >= 0 && rn(2)) {
			if (rn(2))
				put16(p->data + ip + 2, (uint16_t)rn(1600));
			else
				p->data[ip] = (uint8_t)(0x40 | rn(16));
			if (rn(3))
				fix_ipv4_csum(p, ip);
		} else if (udp >= 0) {
			put16(p->data + udp + 4, (uint16_t)rn(1600));
		} else if (tcp >= 0) {
			p->data[tcp + 12] = (uint8_t)(rn(16) << 4);
		}
		return "inner length";
	case 4:
		if (gen >= 0) {
			bogus_geneve(&tmp, p);
			if (tmp.len)
				pkt_copy(p, &tmp);
		}
		return "geneve options";
	case 5:
		if (ip >= 0) {
			put16(p->data + ip + 6,
			      (uint16_t)(rn(2) ? 0x2000 | rn(0x2000) : rnd()));
			fix_ipv4_csum(p, ip);
		}
		return "inner fragment";
	case 6:
		if (ip >= 0 && (size_t)ip + 60 <= p->len) {
			uint8_t ihl = (uint8_t)(6 + rn(10));

			p->data[ip] = (uint8_t)(0x40 | ihl);
			for (size_t k = 20; k < ihl * 4u; k++)
				p->data[ip + (long)k] =
					rn(3) ? 1 : (uint8_t)rnd();
			fix_ipv4_csum(p, ip);
		}
		return "inner ip options";
	case 7:
		if (p->len + 64 <= PKT_MAX) {
			size_t k = 1 + rn(64);

			for (size_t i = 0; i < k; i++)
				p->data[p->len + i] = (uint8_t)rnd();
			p->len += k;
		}
		return "trailer";
	case 8: /* inner addresses and MACs */
		if (ip >= 0 && rn(3)) {
			p->data[ip + 12 + rn(8)] ^= (uint8_t)(1 + rn(255));
			fix_ipv4_csum(p, ip);
		} else if (span >= 12) {
			p->data[(size_t)from + rn(12)] ^=
				(uint8_t)(1 + rn(255));
		}
		return "inner address";
	case 9:
		if (ip >= 0) {
			p->data[ip + 8] = (uint8_t)rn(3);
			fix_ipv4_csum(p, ip);
		}
		return "inner ttl";
	case 10: /* L4: ports, flags, ICMP type, checksum */
		if (l4 >= 0 && (size_t)l4 + 8 <= p->len) {
			p->data[l4 + rn(8)] = (uint8_t)rnd();
			if (tcp >= 0 && (size_t)tcp + 14 <= p->len && rn(2))
				p->data[tcp + 13] = (uint8_t)rnd();
		}
		return "l4 header";
	default: /* the inner protocol or EtherType */
		if (ip >= 0 && rn(2)) {
			static const uint8_t pr[] = { 1, 6, 17, 47, 50, 132 };

			p->data[ip + 9] = rn(4) ? pr[rn(6)] : (uint8_t)rnd();
			fix_ipv4_csum(p, ip);
		} else if (span >= 14) {
			static const uint16_t et[] = { 0x0800, 0x0806, 0x86dd,
						       0x8100 };

			put16(p->data + from + 12, et[rn(4)]);
		}
		return "inner protocol";
	}
}

/* The NFs between a hook and its continuation keep the VNI (they are
 * trusted code): a continuation's frame has the VNI its plan was made for. */
static void keep_vni(struct pkt *p, const struct pkt *orig)
{
	long g = geneve_off(p->data, p->len);
	uint32_t vni = frame_vni(orig->data, orig->len);

	if (g < 0 || geneve_off(orig->data, orig->len) < 0)
		return;
	p->data[g + 4] = (uint8_t)(vni >> 16);
	p->data[g + 5] = (uint8_t)(vni >> 8);
	p->data[g + 6] = (uint8_t)vni;
}

/* ---- Running and checking ------------------------------------------------ */

static uint64_t verdicts[__T_MAX][5];
static uint64_t frames[__T_MAX];
static uint64_t drops[__T_MAX][__MZR_DROP_MAX];
static uint64_t n_frames, n_violations, n_unknown_drop_moves;
static uint64_t seed_arg;
static const char *mut_name;
/* --selftest: NFs that rewrite the VNI before a continuation, which makes
 * it deliver across VPCs: the checks must notice. */
static bool selftest;
static uint64_t n_cross_vpc;

/* Sum over CPUs of counters [@first, __MZR_CNT_MAX), one batched lookup
 * (the per-frame check reads only the drop range: half the copying). */
static void read_counters_from(uint64_t *sum, uint32_t first)
{
	static uint64_t *vals;
	static uint32_t keys[__MZR_CNT_MAX];
	uint32_t out_batch, in_batch = first - 1, count = __MZR_CNT_MAX - first;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	if (!vals) {
		vals = calloc((size_t)__MZR_CNT_MAX * (size_t)ncpu,
			      sizeof(*vals));
		if (!vals)
			abort();
	}
	if (bpf_map_lookup_batch(env.stats_fd, first ? &in_batch : NULL,
				 &out_batch, keys, vals, &count, &o) &&
	    errno != ENOENT) {
		perror("mzr_stats batch lookup");
		exit(1);
	}
	memset(sum, 0, sizeof(*sum) * __MZR_CNT_MAX);
	for (uint32_t i = 0; i < count; i++)
		for (int c = 0; c < ncpu; c++)
			sum[keys[i]] += vals[(size_t)i * ncpu + c];
}

static void read_counters(uint64_t *sum)
{
	read_counters_from(sum, 0);
}

/* The drop counters as the last frame left them: valid until something
 * other than a checked frame runs a program (priming, live frames). */
static uint64_t last_drops[__MZR_CNT_MAX];
static bool last_drops_valid;

#define BURST 256

/* What the last frame's context mutation was (for its reproducer). */
static char ctx_mut[64];

static void print_reproducer(int t, const struct seed *s, const struct pkt *in,
			     uint64_t idx)
{
	printf("    reproduce: fuzz_core --seed %llu --target '%s' "
	       "--burst %llu --verbose (frame %llu, mutation %s)\n",
	       (unsigned long long)seed_arg, target_name(t),
	       (unsigned long long)(idx / BURST), (unsigned long long)idx,
	       mut_name);
	if (t >= T_CONT)
		printf("    context at the %s hook%s%s\n",
		       mzr_hook_name((enum mzr_hook)hook_of(t)),
		       ctx_mut[0] ? ", mutated: " : "", ctx_mut);
	printf("    as a fixture (ingress ifindex of %s):\n",
	       s->agent ? "the endpoint's veth" : "ul0");
	printf("\tstatic const uint8_t fuzz_%llu[] = {",
	       (unsigned long long)idx);
	for (size_t i = 0; i < in->len; i++)
		printf("%s0x%02x,", i % 12 ? " " : "\n\t\t", in->data[i]);
	printf("\n\t};\n");
}

static bool violation(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static bool violation(const char *fmt, ...)
{
	va_list ap;

	n_violations++;
	printf("VIOLATION: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

static bool is_peer(uint32_t ip)
{
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		if (peers[i] == ip)
			return true;
	return false;
}

static uint32_t endpoint_vni(const uint8_t *mac)
{
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		if (!memcmp(endpoints[i].mac, mac, 6))
			return endpoints[i].vni;
	return 0;
}

/* The outer IPv4 source of tunnel frame @f, or 0 when it is none. */
static uint32_t tunnel_src(const uint8_t *f, size_t len)
{
	return geneve_off(f, len) >= 0 ? get32(f + ETH_LEN + 12) : 0;
}

/* An emitted frame: a well-formed tunnel frame to a peer with the input's
 * VNI, from us (agent-built, ARP replies) or from the input's sender (a
 * forwarding hop keeps it: docs/security.md, rule 3), or a plain frame to
 * an endpoint of the input's VPC. @in_src: the input's outer source. */
static bool check_output(const uint8_t *f, size_t len, uint32_t vni,
			 bool agent_built, uint32_t in_src)
{
	long g = geneve_off(f, len);
	const uint8_t *ip = f + ETH_LEN;
	uint32_t out_vni, dst_vni;
	bool bypass;

	if (g < 0) {
		dst_vni = len >= ETH_LEN ? endpoint_vni(f) : 0;
		if (!dst_vni)
			return violation("plain frame emitted to a MAC that "
					 "is no endpoint's");
		if (vni && dst_vni != vni && ++n_cross_vpc)
			return violation("frame of VNI %u delivered to an "
					 "endpoint of VNI %u", vni, dst_vni);
		return true;
	}
	if ((ip[0] & 0xf) != 5 && agent_built)
		return violation("agent-built outer IPv4 has options");
	if (pkt_csum_fold(pkt_csum_add(0, ip, (ip[0] & 0xfu) * 4)) != 0xffff &&
	    agent_built)
		return violation("outer IPv4 header checksum wrong");
	if (get16(ip + 2) != len - ETH_LEN && agent_built)
		return violation("outer tot_len %u for %zu bytes",
				 get16(ip + 2), len - ETH_LEN);
	if ((f[g] >> 6) != 0 || get16(f + g + 2) != PKT_ETH_P_TEB)
		return violation("Geneve version %u protocol 0x%04x emitted",
				 f[g] >> 6, get16(f + g + 2));
	if ((size_t)g + 8 + (f[g] & 0x3fu) * 4 + ETH_LEN > len)
		return violation("Geneve options run past the frame");
	/* A bypass-decap endpoint receives the tunnel frame as it came. */
	bypass = !agent_built && get32(ip + 16) == US;
	if (!bypass && get32(ip + 12) != US &&
	    (agent_built || get32(ip + 12) != in_src || !is_peer(in_src)))
		return violation("tunnel frame from %08x, neither this host "
				 "nor the sender (%08x)", get32(ip + 12),
				 in_src);
	if (!bypass && !is_peer(get32(ip + 16)))
		return violation("tunnel frame to %08x, no known peer",
				 get32(ip + 16));
	out_vni = get32(f + g + 4) >> 8;
	if (vni && out_vni != vni && ++n_cross_vpc)
		return violation("frame of VNI %u emitted with VNI %u", vni,
				 out_vni);
	if (out_vni != VNI_A && out_vni != VNI_B && out_vni != VNI_C)
		return violation("emitted with unknown VNI %u", out_vni);
	return true;
}

static int run_xdp(int fd, unsigned int ifindex, const struct pkt *in,
		   uint8_t *out, uint32_t *out_len)
{
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .data_out = out,
		    .data_size_out = PKT_MAX + HEADROOM, .repeat = 1,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	if (bpf_prog_test_run_opts(fd, &o)) {
		/* The kernel refuses frames shorter than an Ethernet header. */
		if (errno == EINVAL && in->len < ETH_LEN)
			return -1;
		fprintf(stderr, "BPF_PROG_TEST_RUN (%zu bytes): %s\n",
			in->len, strerror(errno));
		exit(1);
	}
	*out_len = o.data_size_out;
	return (int)o.retval;
}

static int nf_fd[N_NFS];

static int prog_of(int t)
{
	switch (t) {
	case T_TRANSIT:
	case T_TRANSIT_NF:
		return env.transit_fd;
	case T_AGENT:
	case T_AGENT_NF:
		return env.agent_fd;
	default:
		if (t >= T_NF)
			return nf_fd[t - T_NF];
		return env.cont_fd[t - T_CONT];
	}
}

/* ---- Live frames: where a redirected or transmitted frame really goes ----
 *
 * fz_arrive (XDP, counting by ingress interface, then dropping) sits on the
 * far end of every veth: ul1 for the underlay ul0, epNp for each endpoint
 * veth epNh. A sample of the frames a program redirects or transmits is run
 * once more with BPF_F_TEST_XDP_LIVE_FRAMES, which really sends it; it must
 * arrive at the far end of the interface the first run's output implies:
 * a local endpoint's veth for a frame to that endpoint's MAC, the
 * underlay for any other (XDP_TX: the interface it came in on). State
 * may have moved between the two runs (the second may be dropped: counted,
 * not a violation); a frame that arrives elsewhere is one.
 */
#define FZ_MAX_IF 256
#define LIVE_EVERY 32 /* one live run per this many emitted frames */

static int arrivals_fd = -1;
static unsigned int far_end[FZ_MAX_IF]; /* ifindex -> its veth peer's */
static unsigned int far_ends[16];	/* every far end, to poll */
static int n_far;
static struct {
	uint8_t mac[6];
	unsigned int ifindex;
} local_eps[16];
static int n_local_eps;
static uint64_t n_emitted, n_live, n_live_lost;

static int local_ep(const struct mzr_ep_info *i, void *ctx)
{
	(void)ctx;
	if (i->ifindex && n_local_eps < 16) {
		memcpy(local_eps[n_local_eps].mac, i->mac, 6);
		local_eps[n_local_eps++].ifindex = i->ifindex;
	}
	return 0;
}

/* The far ends' counting program (closed at exit: no leak to report). */
static struct bpf_object *arrive_obj;

static void arrive_close(void)
{
	bpf_object__close(arrive_obj);
}

static void live_setup(void)
{
	static const char *const pairs[][2] = {
		{ "ul0", "ul1" },   { "ep1h", "ep1p" }, { "ep2h", "ep2p" },
		{ "ep3h", "ep3p" }, { "ep4h", "ep4p" }, { "ep5h", "ep5p" },
		{ "ep6h", "ep6p" }, { "ep7h", "ep7p" }, { "noeph", "ep8p" },
	};
	int fd = test_load_prog(MZR_ARRIVE_OBJ, "fz_arrive", &arrive_obj);

	atexit(arrive_close);
	arrivals_fd = test_map_fd(arrive_obj, "fz_arrivals");
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		unsigned int a = test_ifindex(pairs[i][0]);
		unsigned int b = test_ifindex(pairs[i][1]);
		int err;

		if (a >= FZ_MAX_IF || b >= FZ_MAX_IF)
			test_die_err("ifindex too large for fz_arrivals",
				     -ERANGE);
		far_end[a] = b;
		far_ends[n_far++] = b;
		err = bpf_xdp_attach((int)b, fd, 0, NULL);
		if (err)
			test_die_err("attaching fz_arrive", err);
	}
	test_api(mzr_ep__for_each(env.host, 0, local_ep, NULL),
		 "mzr_ep__for_each");
}

/* Where output @f of verdict @v, from a frame that came in on @ingress,
 * must arrive (the far end's ifindex). */
static unsigned int live_expect(int v, unsigned int ingress,
				const uint8_t *f)
{
	if (v == XDP_TX)
		return far_end[ingress];
	for (int i = 0; i < n_local_eps; i++)
		if (!memcmp(local_eps[i].mac, f, 6))
			return far_end[local_eps[i].ifindex];
	return far_end[env.ul0];
}

/* Run @in live and check where it arrives; false on a violation. */
static bool live_check(int fd, unsigned int ingress, const struct pkt *in,
		       int v, const uint8_t *out)
{
	static uint64_t before[FZ_MAX_IF];
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ingress };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));
	unsigned int want = live_expect(v, ingress, out), got = 0;
	uint64_t c;

	for (int i = 0; i < n_far; i++)
		if (bpf_map_lookup_elem(arrivals_fd, &far_ends[i],
					&before[far_ends[i]]))
			before[far_ends[i]] = 0;
	if (bpf_prog_test_run_opts(fd, &o))
		test_die_err("BPF_PROG_TEST_RUN (live frames)", -errno);
	n_live++;
	last_drops_valid = false;
	/* The far end's NAPI runs after the send: wait for it (bounded;
	 * nothing arriving is counted, not judged). */
	for (int tries = 0; tries < 200 && !got; tries++) {
		for (int i = 0; i < n_far && !got; i++)
			if (!bpf_map_lookup_elem(arrivals_fd, &far_ends[i],
						 &c) &&
			    c != before[far_ends[i]])
				got = far_ends[i];
		if (!got)
			usleep(500);
	}
	if (!got) {
		n_live_lost++;
		return true;
	}
	if (got != want)
		return violation("live frame (%s) arrived behind ifindex %u, "
				 "expected behind %u",
				 fixture_verdict_name(v), got, want);
	return true;
}

/* Run one frame through target @t and check every invariant. */
static void fuzz_one(int t, const struct seed *s, const struct pkt *in,
		     uint64_t idx, bool verbose)
{
	static uint64_t before[__MZR_CNT_MAX], after[__MZR_CNT_MAX];
	static uint8_t out[PKT_MAX + HEADROOM];
	uint32_t out_len = 0, vni, moved = 0, reason = 0;
	bool ok = true, in_ok;
	int v;

	if (in->len < ETH_LEN)
		return; /* not a frame the kernel hands to XDP */
	vni = s->agent ? s->vni : frame_vni(in->data, in->len);
	if (t >= T_CONT && !s->agent)
		vni = frame_vni(s->p.data, s->p.len); /* the plan's VPC */
	if (vni != VNI_A && vni != VNI_B && vni != VNI_C)
		vni = 0; /* not ours: the output is checked for known VNIs */
	in_ok = pkt_checksums_ok(in->data, in->len, NULL, 0);
	if (last_drops_valid)
		memcpy(before, last_drops, sizeof(before));
	else
		read_counters_from(before, MZR_CNT_DROP_BASE);
	v = run_xdp(prog_of(t), s->ifindex, in, out, &out_len);
	read_counters_from(after, MZR_CNT_DROP_BASE);
	memcpy(last_drops, after, sizeof(last_drops));
	last_drops_valid = true;
	frames[t]++;
	n_frames++;
	if (v < 0 || v > XDP_REDIRECT || v == XDP_ABORTED) {
		ok = violation("%s returned %s", target_name(t),
			       fixture_verdict_name(v));
		goto done;
	}
	verdicts[t][v]++;
	for (uint32_t r = 0; r < __MZR_DROP_MAX; r++) {
		uint64_t d = after[MZR_CNT_DROP_BASE + r] -
			     before[MZR_CNT_DROP_BASE + r];

		if (d) {
			moved += (uint32_t)d;
			reason = r;
		}
	}
	for (uint32_t r = __MZR_DROP_MAX; r < 64; r++)
		if (after[MZR_CNT_DROP_BASE + r] != before[MZR_CNT_DROP_BASE + r])
			n_unknown_drop_moves++;
	if (v == XDP_DROP) {
		if (moved != 1 || reason == MZR_DROP_NONE)
			ok = violation("XDP_DROP moved %u drop counters (last "
				       "%s)", moved,
				       mzr_counter_name(MZR_CNT_DROP_BASE +
							reason));
		else
			drops[t][reason]++;
	} else if (moved) {
		ok = violation("%s moved drop counter %s",
			       fixture_verdict_name(v),
			       mzr_counter_name(MZR_CNT_DROP_BASE + reason));
	}
	if (v == XDP_TX || v == XDP_REDIRECT) {
		bool agent_built = (t == T_AGENT || t == T_AGENT_NF) &&
				   geneve_off(out, out_len) >= 0;
		char why[160];

		if (!check_output(out, out_len, vni, agent_built,
				  tunnel_src(in->data, in->len)))
			ok = false;
		else if (in_ok && !pkt_checksums_ok(out, out_len, why,
						    sizeof(why)))
			ok = violation("valid input, output: %s", why);
		else if (t < T_CONT && arrivals_fd >= 0 &&
			 ++n_emitted % LIVE_EVERY == 0 &&
			 !live_check(prog_of(t), s->ifindex, in, v, out))
			ok = false;
	}
done:
	if (!ok || verbose) {
		printf("%s frame %llu: %s (%s), %zu -> %u bytes, VNI %u\n",
		       ok ? "  " : "   ", (unsigned long long)idx,
		       target_name(t), fixture_verdict_name(v), in->len,
		       out_len, vni);
	}
	if (!ok) {
		print_reproducer(t, s, in, idx);
		if (out_len) {
			printf("    output:\n");
			pkt_dump(out, out_len);
		}
	}
	if (!ok || verbose)
		fflush(stdout); /* one report in one write, between workers */
}

/* ---- The example NFs at their hooks ------------------------------------- */

static struct mzr_nf *loaded[N_NFS]; /* closed at exit */
static int n_loaded;
static uint8_t nf_pos[N_NFS]; /* position in its hook's chain */

/* Each NF's own maps pinned under one directory per object, as its tool
 * does, so that two programs of one object share them. */
static void insert_nfs(bool quiet)
{
	for (int i = 0; i < N_NFS; i++) {
		MZR_OPTS(mzr_nf_open_opts, o, .prog_name = nfs[i].prog);
		struct bpf_map *map;
		struct mzr_nf *nf;
		int err;

		nf = mzr_nf__open_file(nfs[i].obj, nfs[i].prog ? &o : NULL);
		if (!nf)
			test_die_err(nfs[i].obj, errno);
		bpf_object__for_each_map(map, mzr_nf__bpf_object(nf)) {
			const char *mn = bpf_map__name(map);
			char path[256];

			if (!nfs[i].prog || !strncmp(mn, "mzr_", 4) ||
			    strchr(mn, '.'))
				continue;
			snprintf(path, sizeof(path), "%s/fz_%s", env.pin_root,
				 mn);
			err = bpf_map__set_pin_path(map, path);
			if (err)
				test_die_err("bpf_map__set_pin_path", err);
		}
		err = mzr_nf__load(nf, env.host);
		if (err)
			test_die_err(nfs[i].name, err);
		err = mzr_host__nf_insert(env.host, nfs[i].name, nf,
					  nfs[i].hook, MZR_NF_POS_END);
		if (err)
			test_die_err("mzr_host__nf_insert", err);
		loaded[n_loaded++] = nf;
		nf_fd[i] = mzr_nf__prog_fd(nf);
		for (int j = 0; j < i; j++)
			nf_pos[i] += nfs[j].hook == nfs[i].hook;
		if (!quiet)
			printf("NF %s (%s) at the %s hook, position %u\n",
			       nfs[i].name, mzr_nf__prog_name(nf),
			       mzr_hook_name(nfs[i].hook), nf_pos[i]);
	}
}

static void close_nfs(void)
{
	for (int i = 0; i < n_loaded; i++)
		mzr_nf__close(loaded[i]);
	n_loaded = 0;
}

/* ---- Contexts at a hook -------------------------------------------------- */

static int my_cpu;
static struct mzr_ctx *ctx_vals; /* ncpu values */
static int scratch_fd;
static void *scratch_zero; /* ncpu zeroed values of mzr_scratch_map */

static void ctx_write(const struct mzr_ctx *c)
{
	uint32_t zero = 0;

	for (int i = 0; i < ncpu; i++)
		ctx_vals[i] = *c;
	if (bpf_map_update_elem(ctx_fd, &zero, ctx_vals, BPF_ANY))
		test_die_err("mzr_ctx_map update", errno);
}

/* Run seed @s through its program with a cleared context (a stale one must
 * not pass for this frame's): its hook's chain runs, then the continuation,
 * and both leave the context and the plan in the per-CPU maps. Returns the
 * hook reached (and the context in @c), or -1. */
static int prime(const struct seed *s, struct mzr_ctx *c)
{
	static uint8_t out[PKT_MAX + HEADROOM];
	uint32_t zero = 0, len;

	memset(c, 0, sizeof(*c));
	ctx_write(c);
	/* No plan of an earlier packet either: a burst depends on its seed
	 * only, so --target/--burst replays it. */
	if (bpf_map_update_elem(scratch_fd, &zero, scratch_zero, BPF_ANY))
		test_die_err("mzr_scratch_map reset", errno);
	last_drops_valid = false;
	run_xdp(s->agent ? env.agent_fd : env.transit_fd, s->ifindex, &s->p,
		out, &len);
	if (bpf_map_lookup_elem(ctx_fd, &zero, ctx_vals))
		test_die_err("mzr_ctx_map lookup", errno);
	*c = ctx_vals[my_cpu];
	if (!c->version || c->hook >= __MZR_HOOK_MAX)
		return -1;
	return c->hook;
}

/* Sometimes a context field lies: decision, chain position, version, any
 * byte before the NFs' scratch space. */
static void mutate_ctx(struct mzr_ctx *c)
{
	uint8_t *b = (uint8_t *)c;
	size_t off;

	switch (rn(4)) {
	case 0:
		c->decision = (uint8_t)rn(6);
		snprintf(ctx_mut, sizeof(ctx_mut), "decision %u", c->decision);
		break;
	case 1:
		c->chain_pos = (uint8_t)rn(20);
		snprintf(ctx_mut, sizeof(ctx_mut), "chain_pos %u",
			 c->chain_pos);
		break;
	case 2:
		c->version = (uint16_t)rn(4);
		snprintf(ctx_mut, sizeof(ctx_mut), "version %u", c->version);
		break;
	default:
		off = rn(offsetof(struct mzr_ctx, scratch));
		b[off] = (uint8_t)rnd();
		snprintf(ctx_mut, sizeof(ctx_mut), "byte %zu = 0x%02x", off,
			 b[off]);
	}
}

/* An NF may write scratch, decision and drop_reason, and the VNI at the
 * external hook (docs/nf-abi.md, section 2): an NF target's context lies
 * only there (the rest decides which program the NF tail-calls next, the
 * NF's own contract, not the core's). */
static void mutate_ctx_nf(struct mzr_ctx *c, int hook)
{
	static const uint32_t v[] = { VNI_A, VNI_B, VNI_C, 0 };
	size_t off;

	switch (rn(hook == MZR_HOOK_EXTERNAL ? 4 : 3)) {
	case 0:
		c->decision = (uint8_t)rn(6);
		snprintf(ctx_mut, sizeof(ctx_mut), "decision %u", c->decision);
		break;
	case 1:
		off = rn(sizeof(c->scratch));
		c->scratch[off] = (uint8_t)rnd();
		snprintf(ctx_mut, sizeof(ctx_mut), "scratch[%zu] = 0x%02x",
			 off, c->scratch[off]);
		break;
	case 2:
		c->drop_reason = (uint16_t)rn(__MZR_DROP_MAX + 4);
		snprintf(ctx_mut, sizeof(ctx_mut), "drop_reason %u",
			 c->drop_reason);
		break;
	default:
		c->vni = rn(5) ? v[rn(4)] : rn(1 << 24);
		if (rn(2))
			c->decision = MZR_DECIDE_INJECT;
		snprintf(ctx_mut, sizeof(ctx_mut), "vni %u decision %u",
			 c->vni, c->decision);
	}
}

/* The seeds that reach each hook (with every chain non-empty), found by
 * priming each seed once. */
static int hook_seeds[__MZR_HOOK_MAX][MAX_SEEDS];
static int n_hook_seeds[__MZR_HOOK_MAX];

static void find_hook_seeds(void)
{
	struct mzr_ctx c;

	memset(n_hook_seeds, 0, sizeof(n_hook_seeds));
	for (int i = 0; i < n_seeds; i++) {
		int h = prime(&seeds[i], &c);

		if (h >= 0)
			hook_seeds[h][n_hook_seeds[h]++] = i;
	}
}

static double now_s(void)
{
	return (double)mono_ns() / 1e9;
}

/* ---- Scheduling: bursts of frames per target ------------------------------
 *
 * Work is cut into bursts of BURST frames of one target; burst b of target
 * t draws every choice from a generator seeded with (seed, t, b), so its
 * frames do not depend on which worker ran it or when: `--target T --burst
 * B` replays it. Workers (forked, one per CPU, each with its own netns,
 * bpffs and back-plane) claim bursts from shared memory, always for the
 * target with the fewest claimed, until each target has its quota.
 */
#define MAX_WORKERS 8

struct wstats {
	uint64_t frames[__T_MAX], verdicts[__T_MAX][5];
	uint64_t drops[__T_MAX][__MZR_DROP_MAX];
	uint64_t violations, unknown_drop_moves, live, live_lost, cross_vpc;
	uint64_t nf_run, hooks[__MZR_HOOK_MAX];
	uint64_t no_hook_bursts;
	int status; /* 0 ran, 77 skipped */
};

static struct shared {
	uint64_t claimed[__T_MAX]; /* bursts handed out */
	uint64_t done[__T_MAX];	   /* frames run */
	uint64_t violations;
	int stop, timed_out;
	struct wstats w[MAX_WORKERS];
} *sh;

static uint64_t quota_bursts; /* --frames: per target; 0: none */
static uint64_t min_frames;   /* --min-frames */
static double t0, deadline, phase1_end;
static uint64_t no_hook_bursts;

static bool phase1(int t)
{
	return t == T_TRANSIT || t == T_AGENT;
}

static void burst_rng(int t, uint64_t b)
{
	rng_state = seed_arg ^ ((uint64_t)(t + 1) * 0xd1342543de82ef95ULL) ^
		    ((b + 1) * 0x9e3779b97f4a7c15ULL);
	(void)rnd();
}

/* Claim the next burst of the phase's least-served target; false when the
 * phase has nothing left. */
static bool claim(bool first_phase, int *tp, uint64_t *bp)
{
	for (;;) {
		int best = -1;

		if (__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
			return false;
		if (now_s() >= deadline) {
			if (min_frames)
				for (int t = 0; t < __T_MAX; t++)
					if (__atomic_load_n(&sh->done[t],
							    __ATOMIC_RELAXED) <
					    min_frames)
						sh->timed_out = 1;
			return false;
		}
		if (first_phase && !quota_bursts && !min_frames &&
		    now_s() >= phase1_end)
			return false;
		for (int t = 0; t < __T_MAX; t++) {
			uint64_t c = __atomic_load_n(&sh->claimed[t],
						     __ATOMIC_RELAXED);

			if (phase1(t) != first_phase ||
			    (selftest && (t < T_CONT || t >= T_NF)))
				continue;
			if (quota_bursts && c >= quota_bursts)
				continue;
			if (min_frames && __atomic_load_n(&sh->done[t],
							  __ATOMIC_RELAXED) >=
						  min_frames)
				continue;
			if (best < 0 || c < sh->claimed[best])
				best = t;
		}
		if (best < 0)
			return false;
		*bp = __atomic_fetch_add(&sh->claimed[best], 1,
					 __ATOMIC_RELAXED);
		if (quota_bursts && *bp >= quota_bursts)
			continue;
		*tp = best;
		return true;
	}
}

/* Run burst @b of target @t; returns the frames run. */
static uint64_t run_burst(int t, uint64_t b, bool verbose)
{
	static struct pkt in;
	const struct seed *s = NULL;
	struct mzr_ctx primed, c;
	uint64_t before = n_frames;
	int h = t >= T_CONT ? hook_of(t) : -1;

	burst_rng(t, b);
	if (h >= 0) {
		/* One seed that reaches the hook now (learned state can move
		 * a seed elsewhere): its context and plan serve the burst. */
		for (int tries = 0; tries < 8 && !s; tries++) {
			if (!n_hook_seeds[h])
				break;
			s = &seeds[hook_seeds[h][rn(n_hook_seeds[h])]];
			if (prime(s, &primed) != h)
				s = NULL;
		}
		if (!s) {
			no_hook_bursts++;
			return 0;
		}
		if (t >= T_NF)
			primed.chain_pos = nf_pos[t - T_NF];
	}
	for (int k = 0; k < BURST; k++) {
		uint64_t idx = b * BURST + (uint64_t)k;
		bool deep;

		if (h < 0) {
			do
				s = &seeds[rn(n_seeds)];
			while (s->agent != (t == T_AGENT || t == T_AGENT_NF));
		}
		/* Past a hook mostly the inner headers; elsewhere half. */
		deep = h >= 0 ? rn(8) != 0 : rn(2) != 0;
		pkt_copy(&in, &s->p);
		mut_name = "none";
		for (int m = 0, n = (int)rn(4); m < n; m++)
			mut_name = deep ? mutate_inner(&in) : mutate(&in);
		if (h >= 0) {
			if (!selftest)
				keep_vni(&in, &s->p);
			c = primed;
			ctx_mut[0] = 0;
			if (!rn(8)) {
				if (t >= T_NF)
					mutate_ctx_nf(&c, h);
				else
					mutate_ctx(&c);
			}
			ctx_write(&c);
		}
		fuzz_one(t, s, &in, idx, verbose);
		if (n_violations >= MAX_VIOLATIONS || (selftest && n_cross_vpc))
			break;
	}
	return n_frames - before;
}

/* ---- Workers ------------------------------------------------------------- */

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	/* One CPU: the per-CPU context a continuation reads is the one the
	 * previous run on this CPU left. */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		test_die_err("sched_setaffinity", errno);
	my_cpu = cpu;
}

/* Fd of map @name that program @prog uses (a map the library does not
 * pin), by the program's map ids. */
static int prog_map_fd(int prog, const char *name)
{
	uint32_t ids[64], n;
	struct bpf_prog_info pi = { 0 };
	uint32_t len = sizeof(pi);

	pi.nr_map_ids = 64;
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog, &pi, &len))
		test_die_err("prog info", errno);
	n = pi.nr_map_ids < 64 ? pi.nr_map_ids : 64;
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_map_info mi = { 0 };
		uint32_t ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) &&
		    !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	test_die_err(name, -ENOENT);
}

static void publish(struct wstats *w)
{
	static uint64_t c[__MZR_CNT_MAX];

	memcpy(w->frames, frames, sizeof(frames));
	memcpy(w->verdicts, verdicts, sizeof(verdicts));
	memcpy(w->drops, drops, sizeof(drops));
	w->violations = n_violations;
	w->unknown_drop_moves = n_unknown_drop_moves;
	w->live = n_live;
	w->live_lost = n_live_lost;
	w->cross_vpc = n_cross_vpc;
	w->no_hook_bursts = no_hook_bursts;
	read_counters(c);
	w->nf_run = c[MZR_CNT_NF_RUN];
	for (int h = 0; h < __MZR_HOOK_MAX; h++)
		w->hooks[h] = c[MZR_CNT_HOOK(h)];
}

/* One worker: its own netns, bpffs and back-plane on CPU @cpu; the phase
 * without NFs first, then the NFs inserted and the rest. */
static void worker(int wi, int cpu, int only, uint64_t only_burst,
		   bool verbose)
{
	uint64_t reported = 0;

	core_env_setup(&env);
	pin_cpu(cpu);
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		test_die_err("libbpf_num_possible_cpus", ncpu);
	ctx_vals = calloc((size_t)ncpu, sizeof(*ctx_vals));
	if (!ctx_vals)
		abort();
	ctx_fd = core_env_map_fd(&env, "mzr_ctx_map");
	scratch_fd = prog_map_fd(env.transit_fd, "mzr_scratch_map");
	{
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(scratch_fd, &info, &len))
			test_die_err("mzr_scratch_map info", errno);
		scratch_zero = calloc((size_t)ncpu,
				      (info.value_size + 7) & ~7u);
		if (!scratch_zero)
			abort();
	}
	make_seeds();
	live_setup();
	if (only >= 0) { /* replay one burst */
		if (!phase1(only)) {
			insert_nfs(false);
			find_hook_seeds();
		}
		run_burst(only, only_burst, verbose);
		publish(&sh->w[wi]);
		close_nfs();
		return;
	}
	for (int first = 1; first >= 0; first--) {
		int t;
		uint64_t b;

		if (!first) {
			/* Out of time already: no NFs to load for nothing. */
			if (sh->stop || now_s() >= deadline) {
				claim(false, &t, &b);
				break;
			}
			insert_nfs(wi != 0);
			find_hook_seeds();
		}
		while (claim(first, &t, &b)) {
			uint64_t n = run_burst(t, b, verbose);

			__atomic_fetch_add(&sh->done[t], n, __ATOMIC_RELAXED);
			if (n_violations > reported) {
				uint64_t add = n_violations - reported, all;

				all = __atomic_add_fetch(&sh->violations, add,
							 __ATOMIC_RELAXED);

				reported = n_violations;
				if (all >= MAX_VIOLATIONS ||
				    (selftest && n_cross_vpc))
					sh->stop = 1;
			}
		}
	}
	publish(&sh->w[wi]);
	close_nfs();
}

/* ---- Main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: fuzz_core [--seed N] [--seconds S] [--frames N | "
		"--min-frames M]\n"
		"                 [--workers W] [--verbose] [--selftest]\n"
		"       fuzz_core --seed N --target NAME --burst B "
		"[--verbose]\n");
	exit(2);
}

static void print_totals(const struct wstats *w, double secs, int nw)
{
	static const char *vn[] = { "aborted", "drop", "pass", "tx",
				    "redirect" };
	uint64_t total = 0;

	printf("\n%-24s %9s", "program", "frames");
	for (int v = 0; v < 5; v++)
		printf(" %8s", vn[v]);
	printf("  drops by reason\n");
	for (int t = 0; t < __T_MAX; t++) {
		const char *sep = "";

		printf("%-24s %9llu", target_name(t),
		       (unsigned long long)w->frames[t]);
		for (int v = 0; v < 5; v++)
			printf(" %8llu", (unsigned long long)w->verdicts[t][v]);
		printf("  ");
		for (uint32_t r = 0; r < __MZR_DROP_MAX; r++) {
			const char *n = mzr_counter_name(MZR_CNT_DROP_BASE + r);

			if (!w->drops[t][r])
				continue;
			printf("%s%s=%llu", sep, n ? n + 5 : "?",
			       (unsigned long long)w->drops[t][r]);
			sep = " ";
		}
		printf("\n");
		total += w->frames[t];
	}
	printf("live frames: %llu emitted frames sent again live, %llu "
	       "arrived where the output said, %llu did not arrive\n",
	       (unsigned long long)w->live,
	       (unsigned long long)(w->live - w->live_lost),
	       (unsigned long long)w->live_lost);
	printf("NF programs entered by tail call: %llu; hook points "
	       "reached: agent_egress %llu bouncer %llu divider %llu "
	       "deliver %llu external %llu\n",
	       (unsigned long long)w->nf_run,
	       (unsigned long long)w->hooks[0], (unsigned long long)w->hooks[1],
	       (unsigned long long)w->hooks[2], (unsigned long long)w->hooks[3],
	       (unsigned long long)w->hooks[4]);
	if (w->no_hook_bursts)
		printf("%llu bursts found no seed reaching their hook\n",
		       (unsigned long long)w->no_hook_bursts);
	printf("\n%llu frames in %.1f s (%.0f frames/s, %d workers), seed "
	       "%llu, %llu violations\n",
	       (unsigned long long)total, secs, total / secs, nw,
	       (unsigned long long)seed_arg,
	       (unsigned long long)w->violations);
}

static int find_target(const char *name)
{
	char *end;
	long n = strtol(name, &end, 10);

	if (!*end && n >= 0 && n < __T_MAX)
		return (int)n;
	for (int t = 0; t < __T_MAX; t++)
		if (!strcmp(name, target_name(t)))
			return t;
	fprintf(stderr, "fuzz_core: no target '%s'\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t max_frames = 0, only_burst = 0;
	double seconds = 0;
	bool verbose = false;
	int nw = 0, only = -1, skipped = 0, failed = 0;
	struct wstats sum = { 0 };
	cpu_set_t allowed;
	int cpus[MAX_WORKERS], n_cpus = 0;

	seed_arg = (uint64_t)time(NULL);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed_arg = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--frames") && i + 1 < argc)
			max_frames = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--min-frames") && i + 1 < argc)
			min_frames = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			nw = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--target") && i + 1 < argc)
			only = find_target(argv[++i]);
		else if (!strcmp(argv[i], "--burst") && i + 1 < argc)
			only_burst = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--selftest"))
			selftest = true;
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
		else
			usage();
	}
	if (max_frames && min_frames)
		usage();
	if (!max_frames && !min_frames && !seconds)
		seconds = 30;
	if (max_frames)
		quota_bursts = (max_frames / __T_MAX + BURST - 1) / BURST;
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		test_die_err("sched_getaffinity", errno);
	for (int c = 0; c < CPU_SETSIZE && n_cpus < MAX_WORKERS; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n_cpus++] = c;
	if (nw <= 0 || nw > n_cpus)
		nw = n_cpus;
	if (only >= 0 || selftest)
		nw = 1;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	printf("fuzz_core: seed %llu (replay with --seed %llu), %d workers, "
	       "%s\n", (unsigned long long)seed_arg,
	       (unsigned long long)seed_arg, nw,
	       max_frames ? "frame-bounded" :
	       min_frames ? "until every program has its minimum" :
			    "time-bounded");
	fflush(stdout);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		test_die_err("mmap", errno);
	t0 = now_s();
	deadline = seconds ? t0 + seconds : 1e300;
	/* Time-bounded without a minimum: the two programs without NFs get
	 * their share of the time first. */
	phase1_end = t0 + (seconds ? seconds : 0) * 2 / __T_MAX;
	for (int wi = 0; wi < nw; wi++) {
		pid_t pid = fork();

		if (pid < 0)
			test_die_err("fork", errno);
		if (!pid) {
			/* A killed parent (a test timeout) takes its workers
			 * with it; SIGTERM runs their cleanups. */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() == 1)
				exit(1);
			worker(wi, cpus[wi], only, only_burst, verbose);
			fflush(stdout);
			exit(0);
		}
	}
	for (int wi = 0; wi < nw; wi++) {
		int st;

		if (wait(&st) < 0)
			test_die_err("wait", errno);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			skipped++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	if (skipped == nw)
		return 77;
	for (int wi = 0; wi < nw; wi++) {
		const struct wstats *w = &sh->w[wi];

		for (int t = 0; t < __T_MAX; t++) {
			sum.frames[t] += w->frames[t];
			for (int v = 0; v < 5; v++)
				sum.verdicts[t][v] += w->verdicts[t][v];
			for (int r = 0; r < __MZR_DROP_MAX; r++)
				sum.drops[t][r] += w->drops[t][r];
		}
		sum.violations += w->violations;
		sum.unknown_drop_moves += w->unknown_drop_moves;
		sum.live += w->live;
		sum.live_lost += w->live_lost;
		sum.cross_vpc += w->cross_vpc;
		sum.nf_run += w->nf_run;
		sum.no_hook_bursts += w->no_hook_bursts;
		for (int h = 0; h < __MZR_HOOK_MAX; h++)
			sum.hooks[h] += w->hooks[h];
	}
	print_totals(&sum, now_s() - t0, nw);
	if (failed)
		printf("FAIL: %d of %d workers failed\n", failed, nw);
	if (selftest) {
		printf("%s: selftest: %llu cross-VPC deliveries detected "
		       "with VNI-rewriting NFs\n",
		       sum.cross_vpc ? "PASS" : "FAIL",
		       (unsigned long long)sum.cross_vpc);
		return sum.cross_vpc && !failed ? 0 : 1;
	}
	if (sum.unknown_drop_moves)
		printf("note: %llu moves of drop counters past the named "
		       "reasons\n", (unsigned long long)sum.unknown_drop_moves);
	if (min_frames && only < 0)
		for (int t = 0; t < __T_MAX; t++)
			if (sum.frames[t] < min_frames) {
				printf("FAIL: %s ran %llu frames, fewer than "
				       "the minimum %llu%s\n", target_name(t),
				       (unsigned long long)sum.frames[t],
				       (unsigned long long)min_frames,
				       sh->timed_out ? " (time ran out)" : "");
				failed++;
			}
	return sum.violations || sum.unknown_drop_moves || failed ? 1 : 0;
}
