// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The core packet tests' environment; see core_env.h. */
#include "core_env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include "shared.h"
#include "testenv.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "hash.h"

const uint8_t MAC_US[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
const uint8_t MAC_H2[6] = { 0x02, 0xbb, 0, 0, 0, 0x02 };
const uint8_t MAC_H3[6] = { 0x02, 0xbb, 0, 0, 0, 0x03 };
const uint8_t MAC_H4[6] = { 0x02, 0xbb, 0, 0, 0, 0x04 };
const uint8_t MAC_H5[6] = { 0x02, 0xbb, 0, 0, 0, 0x05 };
const uint8_t MAC_H6[6] = { 0x02, 0xbb, 0, 0, 0, 0x06 };
const uint8_t MAC_EP1[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x0a };
const uint8_t MAC_EP2[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x0b };
const uint8_t MAC_EP3[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x14 };
const uint8_t MAC_EP4[6] = { 0x0e, 0, 0, 0x01, 0x02, 0x0a };
const uint8_t MAC_EP6[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x1e };
const uint8_t MAC_EP7[6] = { 0x0e, 0, 0, 0x01, 0x03, 0x0a };
const uint8_t MAC_EP8[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x28 };
const uint8_t MAC_B11[6] = { 0x0e, 0, 0, 0x02, 0x01, 0x0b };
const uint8_t MAC_B12[6] = { 0x0e, 0, 0, 0x02, 0x01, 0x0c };
const uint8_t MAC_GW_A1[6] = { 0x02, 0, 10, 1, 1, 1 };
const uint8_t MAC_GW_A2[6] = { 0x02, 0, 10, 1, 2, 1 };
const uint8_t MAC_VETH1[6] = { 0x02, 0xee, 0, 0, 0, 0x01 };
const uint8_t MAC_VETH5[6] = { 0x02, 0xee, 0, 0, 0, 0x05 };
const uint8_t MAC_REMOTE[6] = { 0x0e, 0, 0, 0x09, 0x09, 0x09 };
const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
const uint8_t MAC_ZERO[6] = { 0 };

static const struct frame_world core_world;

static void upd(int fd, const void *k, const void *v, const char *what)
{
	if (bpf_map_update_elem(fd, k, v, BPF_ANY)) {
		perror(what);
		exit(1);
	}
}

int core_env_prog_fd(const struct core_env *env, const char *name)
{
	return test_pinned_fd("%s/progs/%s", env->pin_root, name);
}

int core_env_map_fd(const struct core_env *env, const char *name)
{
	int fd = mzr_host__map_fd(env->host, name);

	if (fd < 0) {
		fprintf(stderr, "mzr_host__map_fd(%s): %s\n", name,
			strerror(-fd));
		exit(1);
	}
	return fd;
}

int core_env_prog_map_fd(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), ids[64], n;

	info.nr_map_ids = 64;
	info.map_ids = (uint64_t)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		fprintf(stderr, "prog info: %s\n", strerror(errno));
		exit(1);
	}
	n = info.nr_map_ids < 64 ? info.nr_map_ids : 64;
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		uint32_t mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) &&
		    !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	fprintf(stderr, "%s: not a map of program fd %d\n", name, prog_fd);
	exit(1);
}

int core_env_ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	if (n <= 0) {
		fprintf(stderr, "possible CPUs: %s\n", strerror(-n));
		exit(1);
	}
	return n;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void add_vpc(struct core_env *env, uint32_t vni, const uint32_t *d,
		    unsigned int nd)
{
	struct in_addr div[MZR_MAX_DIVIDERS_PER_VPC];

	for (unsigned int i = 0; i < nd; i++)
		div[i] = test_in4(d[i]);
	test_api(mzr_vpc__create(env->host, vni, div, nd), "mzr_vpc__create");
}

/* The gateway is the network's first address and its MAC is derived from
 * it by the library (02:00 + the address). */
static void add_net(struct core_env *env, uint32_t vni, uint32_t prefix,
		    unsigned int len, const uint32_t *b, unsigned int nb)
{
	struct in_addr bouncers[MZR_MAX_BOUNCERS_PER_NET];

	for (unsigned int i = 0; i < nb; i++)
		bouncers[i] = test_in4(b[i]);
	test_api(mzr_net__create(env->host, vni, test_in4(prefix), len, bouncers, nb,
			    NULL),
	    "mzr_net__create");
}

/* An endpoint; hosted here (agent attached to @ifname) when @ifname. */
static void add_ep(struct core_env *env, uint32_t vni, uint32_t ip,
		   const uint8_t *mac, uint32_t host, const char *ifname,
		   uint32_t flags)
{
	struct mzr_ep_spec spec = { .vni = vni, .ip = test_in4(ip),
				    .host = test_in4(host), .ifname = ifname,
				    .flags = flags };

	memcpy(spec.mac, mac, 6);
	test_api(mzr_ep__create(env->host, &spec), "mzr_ep__create");
}

/* Older than MZR_DIRECT_TTL_NS by far. */
#define DIRECT_EXPIRED_AGE_NS (120ULL * 1000000000ULL)

static void add_direct(int fd, uint32_t vni, uint32_t ip, uint32_t host,
		       uint64_t ns)
{
	struct mzr_ep_key k = { .vni = vni, .ip = htonl(ip) };
	struct mzr_direct_val v = { .host = htonl(host), .updated_ns = ns };

	upd(fd, &k, &v, "mzr_direct");
}

/* The flow hash the core computes for a built inner frame (ARP: the
 * addresses only; IPv4: ports unless a fragment), as in bpf-core/hash.h. */
static uint32_t frame_flow_hash(const struct pkt *in)
{
	const uint8_t *d = in->data;
	uint32_t a, b;
	uint16_t sp = 0, dp = 0;

	if (in->len >= 14 + 28 && d[12] == 0x08 && d[13] == 0x06) {
		memcpy(&a, d + 14 + 14, 4);
		memcpy(&b, d + 14 + 24, 4);
		return mzr_flow_hash(a, b, 0, 0, 0);
	}
	if (in->len < 14 + 20)
		return 0;
	{
		size_t l4 = 14 + (size_t)(d[14] & 0xf) * 4;
		uint8_t proto = d[14 + 9];
		bool frag = ((d[14 + 6] << 8 | d[14 + 7]) & 0x3fff) != 0;

		memcpy(&a, d + 14 + 12, 4);
		memcpy(&b, d + 14 + 16, 4);
		if (!frag && (proto == 6 || proto == 17) && in->len >= l4 + 4) {
			memcpy(&sp, d + l4, 2);
			memcpy(&dp, d + l4 + 2, 2);
		}
		return mzr_flow_hash(a, b, sp, dp, proto);
	}
}

static uint32_t world_resolve(uint32_t ip, const struct pkt *inner)
{
	return ip == A1_BOUNCER ? a1_bouncer(frame_flow_hash(inner)) : ip;
}

static uint16_t world_sport(const struct pkt *inner)
{
	return (uint16_t)(MZR_SPORT_MIN | (frame_flow_hash(inner) & 0x3fff));
}

static const struct frame_world core_world = {
	.self = US,
	.self_mac = MAC_US,
	.mac_of = host_mac,
	.resolve_ip = world_resolve,
	.flow_sport = world_sport,
};

const struct fixture_progs *core_env_progs(const struct core_env *env)
{
	static struct fixture_prog progs[__PROG_MAX];
	static struct fixture_progs ps = { progs, __PROG_MAX, -1 };

	if (!progs[PROG_AGENT].name) {
		progs[PROG_AGENT] = (struct fixture_prog){
			"mzr_agent", env->agent_fd, false, "ep1h" };
		progs[PROG_TRANSIT] = (struct fixture_prog){
			"mzr_transit", env->transit_fd, false, "ul0" };
		progs[PROG_TC_AGENT] = (struct fixture_prog){
			"mzr_neigh", core_env_prog_fd(env, "mzr_neigh"), true,
			"ep1h" };
		progs[PROG_TC_TRANSIT] = progs[PROG_TC_AGENT];
		progs[PROG_TC_TRANSIT].dev = "ul0";
		ps.stats_fd = env->stats_fd;
	}
	return &ps;
}

void core_env_setup(struct core_env *env)
{
	static const char *names[] = { "ep1h", "ep2h", "ep3h", "ep4h",
				       "ep5h", "ep6h", "ep7h", "noeph" };
	static const char *cont[__MZR_HOOK_MAX] = {
		[MZR_HOOK_AGENT_EGRESS] = "mzr_cont_agent_egress",
		[MZR_HOOK_BOUNCER] = "mzr_cont_bouncer",
		[MZR_HOOK_DIVIDER] = "mzr_cont_divider",
		[MZR_HOOK_DELIVER] = "mzr_cont_deliver",
		[MZR_HOOK_EXTERNAL] = "mzr_cont_external",
	};
	uint64_t now;

	memset(env, 0, sizeof(*env));
	frame_world = &core_world;
	test_require_root();
	test_private_netns();
	test_bpffs_mount(env->bpffs);
	snprintf(env->pin_root, sizeof(env->pin_root), "%s/mizar", env->bpffs);
	/* IPv6 is off on the underlay: every counter a fixture checks moves
	 * only by the fixture's own frame. */
	env->ul0 = test_underlay();
	for (int h = 2; h <= 7; h++)
		test_underlay_neigh(IP4(192, 168, 1, h));
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		test_sh("ip link add %s type veth peer name ep%dp && "
			"ip link set %s address 02:ee:00:00:00:%02d && "
			"ip link set ep%dp up && ip link set %s up",
			names[i], i + 1, names[i], i + 1, i + 1, names[i]);
	env->ep1h = test_ifindex("ep1h");
	env->ep2h = test_ifindex("ep2h");
	env->ep3h = test_ifindex("ep3h");
	env->ep4h = test_ifindex("ep4h");
	env->ep5h = test_ifindex("ep5h");
	env->ep6h = test_ifindex("ep6h");
	env->ep7h = test_ifindex("ep7h");
	env->noeph = test_ifindex("noeph");

	/* The back-plane, as an agent brings it up. The library also turns
	 * on the forwarding bpf_fib_lookup() needs. */
	{
		MZR_OPTS(mzr_host_opts, o, .pin_root = env->pin_root);

		env->host = mzr_host__open(&o);
		if (!env->host)
			test_api(-errno, "mzr_host__open");
	}
	test_api(mzr_host__load(env->host), "mzr_host__load");
	test_api(mzr_host__attach(env->host, "ul0", NULL), "mzr_host__attach ul0");

	env->transit_fd = core_env_prog_fd(env, "mzr_transit");
	env->agent_fd = core_env_prog_fd(env, "mzr_agent");
	for (int h = 0; h < __MZR_HOOK_MAX; h++)
		env->cont_fd[h] = core_env_prog_fd(env, cont[h]);
	env->stats_fd = core_env_map_fd(env, "mzr_stats");
	env->direct_fd = core_env_map_fd(env, "mzr_direct");
	env->chain_cfg_fd = core_env_map_fd(env, "mzr_chain_cfg");
	env->progs_fd = core_env_map_fd(env, "mzr_progs");
	env->missed_fd = core_env_map_fd(env, "mzr_missed");

	add_vpc(env, VNI_A, (uint32_t[]){ H4 }, 1);
	add_vpc(env, VNI_B, (uint32_t[]){ US, H4 }, 2);
	add_vpc(env, VNI_C, NULL, 0);

	add_net(env, VNI_A, IP4(10, 1, 1, 0), 24, (uint32_t[]){ H2, H3 }, 2);
	add_net(env, VNI_A, IP4(10, 1, 2, 0), 24, (uint32_t[]){ US }, 1);
	add_net(env, VNI_A, IP4(10, 1, 3, 0), 24, (uint32_t[]){ H99 }, 1);
	add_net(env, VNI_B, IP4(10, 2, 1, 0), 24, (uint32_t[]){ H3 }, 1);
	add_net(env, VNI_B, IP4(10, 2, 2, 0), 24, (uint32_t[]){ US }, 1);
	add_net(env, VNI_B, IP4(10, 1, 1, 0), 24, (uint32_t[]){ H3 }, 1);

	add_ep(env, VNI_A, IP4(10, 1, 1, 10), MAC_EP1, US, "ep1h", 0);
	add_ep(env, VNI_A, IP4(10, 1, 1, 11), MAC_EP2, US, "ep2h", 0);
	add_ep(env, VNI_A, IP4(10, 1, 1, 20), MAC_EP3, H5, NULL, 0);
	add_ep(env, VNI_A, IP4(10, 1, 2, 10), MAC_EP4, US, "ep4h", 0);
	add_ep(env, VNI_A, IP4(10, 1, 1, 30), MAC_EP6, US, "ep3h",
	       MZR_EP_BYPASS_DECAP);
	add_ep(env, VNI_A, IP4(10, 1, 3, 10), MAC_EP7, US, "ep5h", 0);
	add_ep(env, VNI_A, IP4(10, 1, 1, 40), MAC_EP8, H99, NULL, 0);
	/* VPC B reuses 10.1.1.11 and has 10.1.1.12, unknown to VPC A. */
	add_ep(env, VNI_B, IP4(10, 1, 1, 11), MAC_B11, US, "ep6h", 0);
	add_ep(env, VNI_B, IP4(10, 1, 1, 12), MAC_B12, US, "ep7h", 0);
	/* H6 is a Mizar host no object names: a cluster's node list. H7
	 * (a neighbour on the underlay) is no Mizar host. */
	test_api(mzr_host__peer_add(env->host, test_in4(H6)),
		 "mzr_host__peer_add");

	/* Learned direct paths, one fresh and one expired, as the data
	 * plane writes them. The expired one is 120 s old in the data
	 * plane's u64 arithmetic (bpf_ktime_get_ns() - updated_ns): it wraps
	 * on purpose when the machine has been up for less than 120 s, where
	 * a clamp to 0 would make the entry younger than its TTL. */
	now = mono_ns();
	add_direct(env->direct_fd, VNI_A, IP4(10, 1, 1, 60), H6, now);
	add_direct(env->direct_fd, VNI_A, IP4(10, 1, 1, 61), H6,
		   now - DIRECT_EXPIRED_AGE_NS);
	/* A fresh entry in another network (learned while talking to an
	 * endpoint of that network): not a shortcut around the divider. */
	add_direct(env->direct_fd, VNI_A, IP4(10, 1, 3, 60), H6, now);
}

/* EP1 (10.1.1.10, network A1) talking UDP to @dst. */
struct inner_spec from_ep1(uint32_t dst)
{
	return (struct inner_spec){ .dmac = MAC_GW_A1, .smac = MAC_EP1,
				    .src = IP4(10, 1, 1, 10), .dst = dst,
				    .sport = 40000, .dport = 5201,
				    .payload = 32 };
}

/* What the agent on this host emits for @in to @next. */
void agent_out(struct pkt *out, const struct pkt *in,
		      const struct inner_spec *s, uint32_t next,
		      uint32_t flags)
{
	struct outer_spec o = { .dmac = host_mac(next), .smac = MAC_US,
				.src = US, .dst = next,
				.sport = flow_sport(s), .vni = VNI_A,
				.rts = US, .flags = flags };

	build_encap(out, &o, in);
}

/* A tunnel frame arriving at this host from @from (sender's host). */
void tunnel_in(struct pkt *p, uint32_t from, uint32_t vni,
		      uint32_t flags, uint8_t ttl, const struct pkt *inner)
{
	struct outer_spec o = { .dmac = MAC_US, .smac = host_mac(from),
				.src = from, .dst = US, .ttl = ttl,
				.sport = 51000, .vni = vni, .rts = from,
				.flags = flags };

	build_encap(p, &o, inner);
}

/* The same frame after this host forwards it to @next as a transit hop:
 * the outer source stays the sender's (the next host checks the RTS
 * against it). */
void tunnel_fwd(struct pkt *p, uint32_t from, uint32_t next,
		       uint32_t vni, uint32_t flags, uint8_t ttl,
		       const struct pkt *inner)
{
	struct outer_spec o = { .dmac = host_mac(next), .smac = MAC_US,
				.src = from, .dst = next, .ttl = ttl,
				.sport = 51000, .vni = vni, .rts = from,
				.flags = flags };

	build_encap(p, &o, inner);
}

/* EP3-like remote sender 10.1.1.77 on H2 to @dst in VPC @vni. */
struct inner_spec remote(uint32_t dst)
{
	return (struct inner_spec){ .dmac = MAC_GW_A1, .smac = MAC_REMOTE,
				    .src = IP4(10, 1, 1, 77), .dst = dst,
				    .sport = 7777, .dport = 8080,
				    .payload = 24 };
}

void build_inner(struct pkt *p, const struct inner_spec *s)
{
	frame_build(p, IPV4(.dmac = s->dmac, .smac = s->smac, .src = s->src,
			    .dst = s->dst, .proto = s->proto ? s->proto : 17,
			    .sport = s->sport, .dport = s->dport,
			    .ttl = s->ttl, .frag_off = s->frag_off,
			    .ihl = s->ihl, .payload = s->payload));
}

void build_arp(struct pkt *p, uint16_t op, const uint8_t *smac,
	       uint32_t spa, uint32_t tpa)
{
	frame_build(p, ARP(.op = op, .smac = smac, .src = spa, .dst = tpa));
}

void build_encap(struct pkt *p, const struct outer_spec *o,
		 const struct pkt *inner)
{
	frame_world = &core_world;
	frame_build(p, GENEVE(.dmac = o->dmac, .smac = o->smac, .src = o->src,
			      .dst = o->dst, .ttl = o->ttl, .sport = o->sport,
			      .vni = o->vni, .rts = o->rts, .flags = o->flags,
			      .no_flags_opt = o->no_flags_opt,
			      .inner = PKT(inner)));
}

uint32_t flow_hash(const struct inner_spec *s)
{
	uint8_t proto = s->proto ? s->proto : 17;
	bool frag = (s->frag_off & 0x3fff) != 0;
	bool ports = !frag && (proto == 6 || proto == 17);

	return mzr_flow_hash(htonl(s->src), htonl(s->dst),
			     ports ? htons(s->sport) : 0,
			     ports ? htons(s->dport) : 0, proto);
}

uint32_t arp_hash(uint32_t spa, uint32_t tpa)
{
	return mzr_flow_hash(htonl(spa), htonl(tpa), 0, 0, 0);
}

uint16_t flow_sport(const struct inner_spec *s)
{
	return (uint16_t)(MZR_SPORT_MIN | (flow_hash(s) & 0x3fff));
}

uint32_t a1_bouncer(uint32_t h)
{
	return h % 2 ? H3 : H2;
}

const uint8_t *host_mac(uint32_t ip)
{
	switch (ip) {
	case H2:
		return MAC_H2;
	case H3:
		return MAC_H3;
	case H4:
		return MAC_H4;
	case H5:
		return MAC_H5;
	case H6:
		return MAC_H6;
	default:
		return MAC_US;
	}
}
