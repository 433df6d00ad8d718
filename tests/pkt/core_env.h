/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The world the core's packet tests run in: a private netns with a veth
 * underlay whose neighbours are permanent (deterministic bpf_fib_lookup),
 * endpoint veths, and the core loaded through libmizar exactly as an agent
 * would (mzr_host__open/load/attach on a private bpffs, then the API's
 * VPCs, networks and endpoints: a small topology of three VPCs). Frame
 * builders for inner and tunnel frames.
 */
#ifndef MZR_TEST_CORE_ENV_H
#define MZR_TEST_CORE_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "fixture_frames.h"
#include "pktbuild.h"

/* Underlay: this host (US) and its neighbours. H99 has no neighbour entry
 * (bpf_fib_lookup says NO_NEIGH). */
#define US IP4(192, 168, 1, 1)
#define H2 IP4(192, 168, 1, 2)
#define H3 IP4(192, 168, 1, 3)
#define H4 IP4(192, 168, 1, 4)
#define H5 IP4(192, 168, 1, 5)
#define H6 IP4(192, 168, 1, 6) /* a known peer named by no object */
#define H7 IP4(192, 168, 1, 7) /* on the underlay, not a Mizar host */
#define H99 IP4(192, 168, 1, 99)

#define VNI_A 100 /* we bounce A1's endpoints; H4 is A's divider */
#define VNI_B 200 /* we are one of B's dividers */
#define VNI_C 300 /* no dividers at all */

extern const uint8_t MAC_US[6], MAC_H2[6], MAC_H3[6], MAC_H4[6], MAC_H5[6],
	MAC_H6[6];
extern const uint8_t MAC_EP1[6], MAC_EP2[6], MAC_EP3[6], MAC_EP4[6],
	MAC_EP6[6], MAC_EP7[6], MAC_EP8[6], MAC_B11[6], MAC_B12[6];
extern const uint8_t MAC_GW_A1[6], MAC_GW_A2[6], MAC_VETH1[6], MAC_VETH5[6];
extern const uint8_t MAC_REMOTE[6], MAC_BCAST[6], MAC_ZERO[6];

/* Endpoints (host order) and the gateways of networks A1 and A2. */
#define EP1 IP4(10, 1, 1, 10)	 /* VPC A, here on ep1h */
#define EP2 IP4(10, 1, 1, 11)	 /* VPC A, here on ep2h */
#define EP3 IP4(10, 1, 1, 20)	 /* VPC A, on H5 */
#define EP4 IP4(10, 1, 2, 10)	 /* VPC A, network A2 (we bounce), ep4h */
#define EP6 IP4(10, 1, 1, 30)	 /* VPC A, bypass-decap, ep3h */
#define REMOTE IP4(10, 1, 1, 77) /* a sender on another host (MAC_REMOTE) */
#define GW_A1 IP4(10, 1, 1, 1)
#define GW_A2 IP4(10, 1, 2, 1)

/* A placeholder outer destination: the bouncer of network A1 that the
 * flow hash of the inner frame chooses (resolved by core_env's world). */
#define A1_BOUNCER IP4(0, 0, 0, 1)

/* EP1's UDP 40000 -> 5201 (32 bytes) through A1's gateway. */
#define FROM_EP1(...)                                                          \
	UDP(.dmac = MAC_GW_A1, .smac = MAC_EP1, .src = EP1, .sport = 40000,    \
	    .dport = 5201, .payload = 32, __VA_ARGS__)
/* EP1's TCP SYN 33333 -> 80. */
#define TCP_FROM_EP1(...) FROM_EP1(.proto = 6, .sport = 33333, .dport = 80, \
				   __VA_ARGS__)
/* The remote sender's UDP 7777 -> 8080 (24 bytes). */
#define FROM_REMOTE(...)                                                       \
	UDP(.dmac = MAC_GW_A1, .smac = MAC_REMOTE, .src = REMOTE,             \
	    .sport = 7777, .dport = 8080, .payload = 24, __VA_ARGS__)
/* The remote sender's ARP request for @ip, and the answer that @ip is at
 * @mac. */
#define ARP_FROM_REMOTE(ip) ARP(.smac = MAC_REMOTE, .src = REMOTE, .dst = (ip))
#define ARP_ANSWER_TO_REMOTE(ip, mac)                                          \
	ARP(.op = 2, .dmac = MAC_REMOTE, .smac = (mac), .src = (ip),           \
	    .tha = MAC_REMOTE, .dst = REMOTE)
/* A Mizar tunnel frame to this host (.to overrides) from .from, outer
 * source port 51000; RTS .from, FLAGS .flags. */
#define TUNNEL(...) GENEVE(.to = US, .sport = 51000, __VA_ARGS__)
/* What this host's agent emits in VPC A: to the flow's bouncer of A1 (.to
 * overrides), source port from the flow, RTS this host. */
#define AGENT_OUT(...)                                                         \
	GENEVE(.from = US, .to = A1_BOUNCER, .flow_sport = true,             \
	       .vni = VNI_A, __VA_ARGS__)

/* The largest frame an endpoint may send that fits the 1500-byte underlay
 * once encapsulated. */
#define FITS_MTU (1500 - (MZR_ENCAP_LEN - 14))

/* The programs fixture tables name (.prog). */
enum core_prog {
	PROG_AGENT = 1, /* mzr_agent (XDP), default device ep1h */
	PROG_TRANSIT,	/* mzr_transit (XDP), default device ul0 */
	PROG_TC_AGENT,	/* mzr_neigh (tc), default device ep1h */
	PROG_TC_TRANSIT, /* mzr_neigh (tc) on the underlay: device ul0 */
	__PROG_MAX,
};

struct mzr_host;

struct core_env {
	struct mzr_host *host;	/* the back-plane, loaded by libmizar */
	char bpffs[64];		/* a private bpffs mount */
	char pin_root[96];	/* BPFFS/mizar, as /sys/fs/bpf/mizar */
	int transit_fd, agent_fd; /* from PIN_ROOT/progs */
	int stats_fd, direct_fd, chain_cfg_fd, progs_fd, missed_fd;
	int cont_fd[5]; /* by enum mzr_hook */
	/* Host-side veths: ep1h..ep7h serve endpoints; noeph serves none. */
	unsigned int ul0, ep1h, ep2h, ep3h, ep4h, ep5h, ep6h, ep7h, noeph;
};

/* Root, private netns, underlay and endpoint veths, the back-plane loaded
 * and attached through libmizar, the topology created through its API.
 * Exits 77 when not root, 1 (with the reason) when any step fails. */
void core_env_setup(struct core_env *env);

/* Fd of pinned core program @name (e.g. "mzr_transit"); exits on error. */
int core_env_prog_fd(const struct core_env *env, const char *name);

/* Fd of map @name used by program @prog_fd (the core's private maps are
 * not all in libmizar's list); exits when it has none. */
int core_env_prog_map_fd(int prog_fd, const char *name);

/* The number of possible CPUs (per-CPU map values); exits on error. */
int core_env_ncpus(void);

/* The core's programs for fixture_run_table() (counters: mzr_stats). */
const struct fixture_progs *core_env_progs(const struct core_env *env);

/* Fd of core map @name through mzr_host__map_fd(); exits on error. */
int core_env_map_fd(const struct core_env *env, const char *name);

/* An endpoint's IPv4 frame. */
struct inner_spec {
	const uint8_t *dmac, *smac;
	uint32_t src, dst;
	uint8_t proto; /* IPPROTO_UDP (default when 0), TCP, ICMP */
	uint16_t sport, dport;
	uint8_t ttl;	   /* 0: 64 */
	uint16_t frag_off; /* host order */
	uint8_t ihl;	   /* 0: 5 */
	size_t payload;	   /* bytes of pattern */
};
void build_inner(struct pkt *p, const struct inner_spec *s);
void build_arp(struct pkt *p, uint16_t op, const uint8_t *smac,
	       uint32_t spa, uint32_t tpa);

/* A Mizar tunnel frame around @inner (the older, positional builders,
 * kept for the benchmarks; all of them build through frame_build()). */
struct outer_spec {
	const uint8_t *dmac, *smac;
	uint32_t src, dst;
	uint8_t ttl;	   /* 0: 64 */
	uint16_t sport;
	uint32_t vni;
	uint32_t rts;	   /* host order */
	uint32_t flags;	   /* MZR_F_* */
	bool no_flags_opt; /* omit the FLAGS option */
};
void build_encap(struct pkt *p, const struct outer_spec *o,
		 const struct pkt *inner);

/* EP1 (10.1.1.10, network A1) talking UDP to @dst. */
struct inner_spec from_ep1(uint32_t dst);
/* A remote sender 10.1.1.77 (MAC_REMOTE) talking UDP to @dst. */
struct inner_spec remote(uint32_t dst);
/* What the agent on this host emits for @in (built from @s) to @next. */
void agent_out(struct pkt *out, const struct pkt *in,
	       const struct inner_spec *s, uint32_t next, uint32_t flags);
/* A tunnel frame arriving at this host from @from (sender's host). */
void tunnel_in(struct pkt *p, uint32_t from, uint32_t vni, uint32_t flags,
	       uint8_t ttl, const struct pkt *inner);
/* The same frame after this host forwards it to @next as a transit hop. */
void tunnel_fwd(struct pkt *p, uint32_t from, uint32_t next, uint32_t vni,
		uint32_t flags, uint8_t ttl, const struct pkt *inner);

/* The UDP source port the core derives from the inner flow of @s. */
uint16_t flow_sport(const struct inner_spec *s);
uint32_t flow_hash(const struct inner_spec *s);
uint32_t arp_hash(uint32_t spa, uint32_t tpa);

/* The bouncer of network A1 (two bouncers, H2 and H3) for hash @h. */
uint32_t a1_bouncer(uint32_t h);
const uint8_t *host_mac(uint32_t ip);

/* CLOCK_MONOTONIC in ns (bpf_ktime_get_ns()). */
uint64_t mono_ns(void);

#endif
