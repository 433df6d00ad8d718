// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The core packet tests' environment; see core_env.h. */
#include "core_env.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>
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

static void sh(const char *cmd)
{
	if (system(cmd)) {
		fprintf(stderr, "setup failed: %s\n", cmd);
		exit(1);
	}
}

static unsigned int ifidx(const char *name)
{
	unsigned int i = if_nametoindex(name);

	if (!i) {
		fprintf(stderr, "no interface %s\n", name);
		exit(1);
	}
	return i;
}

static void upd(int fd, const void *k, const void *v, const char *what)
{
	if (bpf_map_update_elem(fd, k, v, BPF_ANY)) {
		perror(what);
		exit(1);
	}
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	return test_map_fd(obj, name);
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	if (!p) {
		fprintf(stderr, "no program %s in the core object\n", name);
		exit(1);
	}
	return bpf_program__fd(p);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void add_net(int fd, uint32_t vni, uint32_t prefix, int len,
		    uint32_t gw, const uint8_t *gw_mac, const uint32_t *b,
		    int nb)
{
	struct mzr_net_key k = { .prefixlen = 32 + (uint32_t)len,
				 .vni = htonl(vni),
				 .addr = htonl(prefix) };
	struct mzr_net_val v = { .prefix = htonl(prefix),
				 .prefixlen = (uint32_t)len,
				 .gw = htonl(gw),
				 .n_bouncers = (uint32_t)nb };

	memcpy(v.gw_mac, gw_mac, 6);
	for (int i = 0; i < nb; i++)
		v.bouncers[i] = htonl(b[i]);
	upd(fd, &k, &v, "mzr_nets");
}

static void add_ep(int fd, uint32_t vni, uint32_t ip, const uint8_t *mac,
		   uint32_t host, unsigned int ifindex, uint32_t flags)
{
	struct mzr_ep_key k = { .vni = vni, .ip = htonl(ip) };
	struct mzr_ep_val v = { .host = htonl(host),
				.ifindex = ifindex,
				.flags = flags };

	memcpy(v.mac, mac, 6);
	upd(fd, &k, &v, "mzr_eps");
}

static void add_local(int fd, unsigned int ifindex, uint32_t vni,
		      uint32_t ip, const uint8_t *mac, const uint8_t *veth)
{
	struct mzr_local_val v = { .vni = vni, .ip = htonl(ip) };

	memcpy(v.mac, mac, 6);
	memcpy(v.veth_mac, veth, 6);
	upd(fd, &ifindex, &v, "mzr_local");
}

static void add_vpc(int fd, uint32_t vni, const uint32_t *d, int nd)
{
	struct mzr_vpc_val v = { .n_dividers = (uint32_t)nd };

	for (int i = 0; i < nd; i++)
		v.dividers[i] = htonl(d[i]);
	upd(fd, &vni, &v, "mzr_vpcs");
}

static void add_direct(int fd, uint32_t vni, uint32_t ip, uint32_t host,
		       uint64_t ns)
{
	struct mzr_ep_key k = { .vni = vni, .ip = htonl(ip) };
	struct mzr_direct_val v = { .host = htonl(host), .updated_ns = ns };

	upd(fd, &k, &v, "mzr_direct");
}

void core_env_setup(struct core_env *env)
{
	static const char *names[] = { "ep1h", "ep2h", "ep3h",
				       "ep4h", "ep5h", "ep6h" };
	struct mzr_host_cfg host = { .ip = htonl(US), .mtu = 1500 };
	char cmd[256];
	int fd;
	uint64_t now;

	test_require_root();
	test_private_netns();
	/* bpf_fib_lookup() needs forwarding on the underlay (host init
	 * enables it on real hosts). */
	sh("sysctl -qw net.ipv4.ip_forward=1");
	sh("ip link add ul0 type veth peer name ul1");
	sh("ip link set ul0 address 02:aa:00:00:00:01");
	sh("ip addr add 192.168.1.1/24 dev ul0");
	sh("ip link set ul1 up && ip link set ul0 up");
	for (int h = 2; h <= 6; h++) {
		snprintf(cmd, sizeof(cmd),
			 "ip neigh replace 192.168.1.%d lladdr "
			 "02:bb:00:00:00:%02d dev ul0 nud permanent",
			 h, h);
		sh(cmd);
	}
	for (int i = 0; i < 6; i++) {
		snprintf(cmd, sizeof(cmd),
			 "ip link add %s type veth peer name ep%d && "
			 "ip link set %s address 02:ee:00:00:00:%02d && "
			 "ip link set ep%d up && ip link set %s up",
			 names[i], i + 1, names[i], i + 1, i + 1, names[i]);
		sh(cmd);
	}
	env->ul0 = ifidx("ul0");
	env->ep1h = ifidx("ep1h");
	env->ep2h = ifidx("ep2h");
	env->ep3h = ifidx("ep3h");
	env->ep4h = ifidx("ep4h");
	env->ep5h = ifidx("ep5h");
	env->ep6h = ifidx("ep6h");

	env->transit_fd = test_load_prog(MZR_CORE_BPF_OBJECT, "mzr_transit",
					 &env->obj);
	env->agent_fd = prog_fd(env->obj, "mzr_agent");
	env->cont_fd[MZR_HOOK_AGENT_EGRESS] =
		prog_fd(env->obj, "mzr_cont_agent_egress");
	env->cont_fd[MZR_HOOK_BOUNCER] = prog_fd(env->obj, "mzr_cont_bouncer");
	env->cont_fd[MZR_HOOK_DIVIDER] = prog_fd(env->obj, "mzr_cont_divider");
	env->cont_fd[MZR_HOOK_DELIVER] = prog_fd(env->obj, "mzr_cont_deliver");
	env->cont_fd[MZR_HOOK_EXTERNAL] =
		prog_fd(env->obj, "mzr_cont_external");
	env->stats_fd = map_fd(env->obj, "mzr_stats");
	env->direct_fd = map_fd(env->obj, "mzr_direct");
	env->chain_cfg_fd = map_fd(env->obj, "mzr_chain_cfg");
	env->progs_fd = map_fd(env->obj, "mzr_progs");
	env->missed_fd = map_fd(env->obj, "mzr_missed");

	/* The continuations, as the library installs them. */
	for (uint32_t h = 0; h < __MZR_HOOK_MAX; h++) {
		uint32_t k = MZR_PROG_CONT(h);

		upd(env->progs_fd, &k, &env->cont_fd[h], "mzr_progs");
	}

	host.ifindex = env->ul0;
	memcpy(host.mac, MAC_US, 6);
	fd = map_fd(env->obj, "mzr_host");
	upd(fd, &(uint32_t){ 0 }, &host, "mzr_host");

	fd = map_fd(env->obj, "mzr_vpcs");
	add_vpc(fd, VNI_A, (uint32_t[]){ H4 }, 1);
	add_vpc(fd, VNI_B, (uint32_t[]){ US, H4 }, 2);
	add_vpc(fd, VNI_C, NULL, 0);

	fd = map_fd(env->obj, "mzr_nets");
	add_net(fd, VNI_A, IP4(10, 1, 1, 0), 24, IP4(10, 1, 1, 1), MAC_GW_A1,
		(uint32_t[]){ H2, H3 }, 2);
	add_net(fd, VNI_A, IP4(10, 1, 2, 0), 24, IP4(10, 1, 2, 1), MAC_GW_A2,
		(uint32_t[]){ US }, 1);
	add_net(fd, VNI_A, IP4(10, 1, 3, 0), 24, IP4(10, 1, 3, 1), MAC_GW_A2,
		(uint32_t[]){ H99 }, 1);
	add_net(fd, VNI_B, IP4(10, 2, 1, 0), 24, IP4(10, 2, 1, 1), MAC_GW_A2,
		(uint32_t[]){ H3 }, 1);
	add_net(fd, VNI_B, IP4(10, 2, 2, 0), 24, IP4(10, 2, 2, 1), MAC_GW_A2,
		(uint32_t[]){ US }, 1);
	add_net(fd, VNI_B, IP4(10, 1, 1, 0), 24, IP4(10, 1, 1, 1), MAC_GW_A1,
		(uint32_t[]){ H3 }, 1);

	fd = map_fd(env->obj, "mzr_eps");
	add_ep(fd, VNI_A, IP4(10, 1, 1, 10), MAC_EP1, US, env->ep1h,
	       MZR_EP_F_LOCAL);
	add_ep(fd, VNI_A, IP4(10, 1, 1, 11), MAC_EP2, US, env->ep2h,
	       MZR_EP_F_LOCAL);
	add_ep(fd, VNI_A, IP4(10, 1, 1, 20), MAC_EP3, H5, 0, 0);
	add_ep(fd, VNI_A, IP4(10, 1, 2, 10), MAC_EP4, US, env->ep4h,
	       MZR_EP_F_LOCAL);
	add_ep(fd, VNI_A, IP4(10, 1, 1, 30), MAC_EP6, US, env->ep3h,
	       MZR_EP_F_LOCAL | MZR_EP_F_BYPASS);
	add_ep(fd, VNI_A, IP4(10, 1, 3, 10), MAC_EP7, US, env->ep5h,
	       MZR_EP_F_LOCAL);
	add_ep(fd, VNI_A, IP4(10, 1, 1, 40), MAC_EP8, H99, 0, 0);
	/* VPC B reuses 10.1.1.11 and has 10.1.1.12, unknown to VPC A. */
	add_ep(fd, VNI_B, IP4(10, 1, 1, 11), MAC_B11, US, env->ep6h,
	       MZR_EP_F_LOCAL);
	add_ep(fd, VNI_B, IP4(10, 1, 1, 12), MAC_B12, US, env->ep6h,
	       MZR_EP_F_LOCAL);

	fd = map_fd(env->obj, "mzr_local");
	add_local(fd, env->ep1h, VNI_A, IP4(10, 1, 1, 10), MAC_EP1, MAC_VETH1);
	add_local(fd, env->ep4h, VNI_A, IP4(10, 1, 2, 10), MAC_EP4,
		  (const uint8_t[]){ 0x02, 0xee, 0, 0, 0, 0x04 });
	add_local(fd, env->ep5h, VNI_A, IP4(10, 1, 3, 10), MAC_EP7, MAC_VETH5);

	now = mono_ns();
	add_direct(env->direct_fd, VNI_A, IP4(10, 1, 1, 60), H6, now);
	add_direct(env->direct_fd, VNI_A, IP4(10, 1, 1, 61), H6,
		   now > 120000000000ULL ? now - 120000000000ULL : 0);
}

void build_inner(struct pkt *p, const struct inner_spec *s)
{
	struct pkt_ipv4_opts o = { .ttl = s->ttl,
				   .frag_off = s->frag_off,
				   .ihl = s->ihl };
	uint8_t proto = s->proto ? s->proto : 17;
	bool later = (s->frag_off & 0x1fff) != 0;

	pkt_init(p);
	pkt_eth(p, s->dmac, s->smac, PKT_ETH_P_IPV4);
	pkt_ipv4(p, s->src, s->dst, proto, &o);
	if (!later) {
		if (proto == 17)
			pkt_udp(p, s->sport, s->dport);
		else if (proto == 6)
			pkt_tcp(p, s->sport, s->dport, 1000, 0, PKT_TCP_SYN);
		else if (proto == 1)
			pkt_icmp_echo(p, 8, 7, 1);
	}
	if (s->payload)
		pkt_payload_pattern(p, s->payload);
	pkt_finish(p);
}

void build_arp(struct pkt *p, uint16_t op, const uint8_t *smac,
	       uint32_t spa, uint32_t tpa)
{
	pkt_init(p);
	pkt_eth(p, MAC_BCAST, smac, PKT_ETH_P_ARP);
	pkt_arp(p, op, smac, spa, MAC_ZERO, tpa);
	pkt_finish(p);
}

void build_encap(struct pkt *p, const struct outer_spec *o,
		 const struct pkt *inner)
{
	struct pkt_ipv4_opts io = { .ttl = o->ttl, .frag_off = 0x4000 };

	pkt_init(p);
	pkt_eth(p, o->dmac, o->smac, PKT_ETH_P_IPV4);
	pkt_ipv4(p, o->src, o->dst, 17, &io);
	pkt_udp_nocsum(p, o->sport, PKT_GENEVE_PORT);
	pkt_geneve(p, o->vni, 0);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_RTS, o->rts);
	if (!o->no_flags_opt)
		pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_FLAGS, o->flags);
	pkt_payload(p, inner->data, inner->len);
	pkt_finish(p);
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
