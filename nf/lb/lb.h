/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-lb: constants and map layouts shared by the BPF object (lb.bpf.c)
 * and its control tool (main.c). Compiles with clang -target bpf and as C
 * in userspace. See docs/nf-lb.md.
 */
#ifndef MZR_NF_LB_H
#define MZR_NF_LB_H

#include <linux/types.h>

/*
 * Slots of a VIP's Maglev lookup table: a prime (the permutation of each
 * backend must visit every slot), 65537 as in the Maglev paper, so that
 * shares stay within ~1% of the weights up to a few hundred backends.
 * Each table is its own inner map of 65537 * 8 bytes = 512 KiB.
 */
#define LB_RING_SIZE 65537
#define LB_MAX_VIPS 256 /* VIPs per host (tables: outer map slots) */
#define LB_MAX_BACKENDS 64 /* backends per VIP */
#define LB_WEIGHT_MAX 100 /* weights 1..100 (default 1) */
/* Connections: lb_conns' slots (client -> VIP, see struct lb_conn_set)
 * and lb_rconns' entries (LRU, reply direction of backends of many VIPs;
 * its LRU lists are per CPU, BPF_F_NO_COMMON_LRU). */
#define LB_MAX_CONNS 131072

/*
 * lb_vip_filter: an ARRAY of LB_FILTER_SIZE counters, the number of VIPs
 * whose key hashes to each slot (lb_vip_slot()). A packet whose slot
 * counts 0 is no VIP's: it goes on after one inlined array load, and a
 * packet of a known connection goes from the filter straight to
 * lb_conns, without the lb_vips lookup (the tool purges a VIP's
 * connections when it deletes the VIP, so a hit is always a live VIP's).
 */
#define LB_FILTER_SIZE 4096 /* a power of two */

/* lb_vips key: a service of one VPC. */
struct lb_vip_key {
	__u32 vni;
	__be32 vip;
	__be16 port;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

/* A backend as configured; port is never 0 (defaults to the VIP's). */
struct lb_backend {
	__be32 ip;
	__be16 port;
	__u16 weight;
};

/* lb_vips value. The data path reads only `ring`; the backend list is
 * the configuration the tool rebuilds tables from. */
struct lb_vip {
	__u32 ring; /* slot of this VIP's table in lb_rings */
	__u32 n_backends;
	struct lb_backend backends[LB_MAX_BACKENDS];
};

/* An address and port: a table slot, a backend of a connection, or the
 * VIP a reply must appear to come from. ip 0 = empty. */
struct lb_addr {
	__be32 ip;
	__be16 port;
	__u16 pad;
};

/* Key of both connection tables: a flow as seen on the wire. lb_conns
 * holds client -> VIP flows (value: the backend), lb_rconns holds the
 * backend -> client flows of the same connections (value: the VIP).
 * 16 bytes (the 24-bit VNI and the protocol share a word): the tables
 * hash four words, not five. */
struct lb_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 vni : 24;
	__u32 proto : 8;
} __attribute__((aligned(8))); /* compared as two 64-bit words */

/*
 * lb_conns: the client -> VIP connections, an ARRAY of LB_CONN_SETS sets
 * of LB_CONN_WAYS slots (one cache line), the set chosen by the flow's
 * hash. Shared by all CPUs, so that a reply handled by another CPU finds
 * its connection, and written without a lock: placing a flow is a few
 * stores, no allocation, no LRU list. Two CPUs may write one slot at
 * once, or one read it while another writes it; `check` (a hash of the
 * flow's hash and the backend) makes such a torn slot read as empty,
 * never as another flow's backend. A full set gives up the slot not
 * used since the set's last eviction (`ref`), else the one the new
 * flow's hash picks; the flow that lost it is placed again by the same
 * Maglev table on its next packet (the same backend while the VIP's
 * backends are unchanged).
 */
#define LB_CONN_WAYS 2
#define LB_CONN_SETS (LB_MAX_CONNS / LB_CONN_WAYS) /* a power of two */

struct lb_conn {
	struct lb_flow flow;
	struct lb_addr be; /* ip 0: empty */
	__u32 check;	   /* lb_conn_check(); else the slot is empty */
	__u32 ref;	   /* 1: used since the set's last eviction */
};

struct lb_conn_set {
	struct lb_conn way[LB_CONN_WAYS];
};

/*
 * lb_backends: which VIPs a backend serves (or served: a VIP that still
 * exists stays listed after the backend left it, for the connections it
 * keeps), written by the tool whenever a VIP or its backends change. A
 * reply from a backend is matched to its connection by looking up the
 * client -> VIP flow in lb_conns for each listed VIP, so that a new
 * connection writes one entry (lb_conns), not two. Only a backend listed
 * under more than LB_REV_VIPS VIPs (n_vips > LB_REV_VIPS) needs its
 * connections' reply direction in lb_rconns.
 */
#define LB_REV_VIPS 4

struct lb_backend_key {
	__u32 vni;
	__be32 ip;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct lb_rev {
	__u32 n_vips;		/* > LB_REV_VIPS: too many to list */
	struct lb_addr vips[LB_REV_VIPS];
};

/* lb_stats (PERCPU_ARRAY of __u64). Append only. */
enum lb_counter {
	LB_CNT_NEW_CONN = 0, /* connection placed by the Maglev table */
	LB_CNT_CONN_HIT, /* packet of a known connection */
	LB_CNT_REPLY, /* reply rewritten at deliver (remote backend) */
	LB_CNT_REPLY_LOCAL, /* reply rewritten at deliver (same-host backend) */
	LB_CNT_NO_BACKEND, /* dropped: the VIP has no backend */
	LB_CNT_CONN_FULL, /* connection table update failed */
	LB_CNT_CONN_EVICTED, /* a connection gave its lb_conns slot up */
	__LB_CNT_MAX,
};

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u32 lb_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

/* The hash of a flow as it reaches the load balancer (client -> VIP).
 * Every field of the 5-tuple counts, so that the connections of one
 * client spread over the backends: the key's two words multiplied by
 * odd constants (independent, so the CPU runs them side by side), their
 * halves folded and finished by lb_mix(). */
static __always_inline __u32 lb_flow_hash(const struct lb_flow *f)
{
	__u64 w[2], h;

	__builtin_memcpy(w, f, sizeof(w)); /* not an aliasing cast */
	h = w[0] * 0x9e3779b97f4a7c15ULL ^ w[1] * 0xc2b2ae3d27d4eb4fULL;

	return lb_mix((__u32)(h >> 32) ^ (__u32)h);
}

/* @h % LB_RING_SIZE without a division (a 64-bit divide in the JIT):
 * 2^16 = -1 mod 2^16 + 1, so h = hi * 2^16 + lo = lo - hi. */
static __always_inline __u32 lb_ring_index(__u32 h)
{
	__s32 r = (__s32)(h & 0xffff) - (__s32)(h >> 16);

	return r < 0 ? (__u32)(r + LB_RING_SIZE) : (__u32)r;
}

/* The flow's slot in a Maglev table. Shared with userspace so that tests
 * can predict the backend of a flow. */
static __always_inline __u32 lb_flow_slot(const struct lb_flow *f)
{
	return lb_ring_index(lb_flow_hash(f));
}

/* The lb_conns set of a flow of hash @h. */
static __always_inline __u32 lb_conn_set_of(__u32 h)
{
	return h & (LB_CONN_SETS - 1);
}

/* The `check` of a slot holding a flow of hash @h placed on @be. */
static __always_inline __u32 lb_conn_check(__u32 h, const struct lb_addr *be)
{
	return lb_mix(h ^ be->ip ^ ((__u32)be->port << 16) ^ 0x9e3779b9U);
}

/* Whether @c holds the flow @f (of hash @h), with its backend copied to
 * @be first: a slot written meanwhile by another CPU fails the check. */
static __always_inline int lb_conn_match(const struct lb_conn *c,
					 const struct lb_flow *f, __u32 h,
					 struct lb_addr *be)
{
	__u64 a[2], b[2];

	__builtin_memcpy(a, &c->flow, sizeof(a));
	__builtin_memcpy(b, f, sizeof(b));
	*be = c->be;
	return a[0] == b[0] && a[1] == b[1] && be->ip &&
	       c->check == lb_conn_check(h, be);
}

/* The lb_vip_filter slot of a service (vni, vip, port, proto). */
static __always_inline __u32 lb_vip_slot(__u32 vni, __be32 vip, __be16 port,
					 __u8 proto)
{
	__u32 h = lb_mix(vni ^ ((__u32)proto << 24) ^ ((__u32)port << 8));

	return lb_mix(h ^ vip) & (LB_FILTER_SIZE - 1);
}

#define LB_CNT_NAMES                                                          \
	{                                                                     \
		"new_conn", "conn_hit", "reply", "reply_local", "no_backend", \
			"conn_full", "conn_evicted"                           \
	}

#endif /* MZR_NF_LB_H */
