/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Constants and structures shared by the BPF data plane, NF objects and
 * userspace: the wire format, counters and drop reasons, hooks and the
 * per-packet NF context. This header is the single source of truth for them
 * and compiles both with clang -target bpf and as C11/C++ in userspace.
 */
#ifndef MIZAR_ABI_H
#define MIZAR_ABI_H

#include <linux/types.h>

/* ---- Wire format (docs/wire-format.md) ---------------------------------- */

#define MZR_GENEVE_PORT 6081
#define MZR_GENEVE_VERSION 0
#define MZR_ETH_P_TEB 0x6558 /* Geneve protocol type: Ethernet */
#define MZR_OPT_CLASS 0x0111 /* Mizar's Geneve option class */
#define MZR_OPT_CRITICAL 0x80 /* critical bit of a Geneve option type */

/* Option types of class MZR_OPT_CLASS (all non-critical). */
enum mzr_opt_type {
	MZR_OPT_RTS = 0x01, /* 4 bytes: underlay IPv4 of the sender's host */
	MZR_OPT_FLAGS = 0x02, /* 4 bytes: MZR_F_* in network byte order */
};

/* Bits of the MZR_OPT_FLAGS option. */
#define MZR_F_DIRECT (1U << 0) /* sent on the direct path by an agent */
#define MZR_F_ROUTED (1U << 1) /* a divider has already forwarded it */
#define MZR_F_BYPASS (1U << 2) /* reserved: never set nor honoured (an
				* endpoint does not inject tunnel frames;
				* docs/bypass-decap.md) */
#define MZR_F_PEERED (1U << 4) /* a divider moved it across a VPC peering
				* (VNI rewritten): it never crosses again */
#define MZR_F_SCALED (1U << 3) /* sent by a copy of a scaled endpoint: the
				* receiver must not learn a direct path to
				* it (each flow has its own host) */

/* Bytes the agent adds in front of an endpoint's frame. */
#define MZR_GENEVE_HDR_LEN 8
#define MZR_OPT_HDR_LEN 4
#define MZR_OPTS_LEN (2 * (MZR_OPT_HDR_LEN + 4))
#define MZR_ENCAP_LEN (14 + 20 + 8 + MZR_GENEVE_HDR_LEN + MZR_OPTS_LEN)

#define MZR_VNI_MAX 0xffffffU
#define MZR_OUTER_TTL 64
#define MZR_SPORT_MIN 49152

/* ---- Counters and drop reasons ----------------------------------------- */

/*
 * Drop reasons and packet counters, each listed once as an X-macro:
 * X(ENUM_SUFFIX, name) for drops, X(ENUM_SUFFIX, name, role) for counters.
 * The enums below, the names operators see (`mizarctl stats`, libmizar's
 * mzr_counter_name()) and the docs all come from these lists. Append
 * only: the numbers are part of the stats ABI.
 *
 * Every packet the data plane drops is counted under exactly one reason.
 */
#define MZR_DROP_REASONS(X)                                                    \
	X(NONE, none)		/* index 0: no reason, never counted */        \
	X(MALFORMED, malformed)	/* truncated or inconsistent header */         \
	X(GENEVE_VERSION, geneve_version) /* Geneve version other than 0 (SDK  \
					   * parsers; the core passes such     \
					   * frames: it cannot tell that they  \
					   * are Mizar's) */                   \
	X(BAD_OPTION, bad_option) /* option length runs past the header */     \
	X(CRIT_OPTION, crit_option) /* unknown critical Geneve option */       \
	X(BAD_VNI, bad_vni)	/* VNI 0 with Mizar options */                 \
	X(NOT_IPV4, not_ipv4)	/* inner frame neither IPv4 nor ARP */         \
	X(SPOOFED, spoofed)	/* endpoint sent with a foreign IP or MAC */   \
	X(NO_ROUTE, no_route)	/* no network / divider for the destination */ \
	X(NO_ENDPOINT, no_endpoint) /* destination unknown after divider round */ \
	X(TTL_EXPIRED, ttl_expired) /* TTL would reach 0 on a forwarding hop */ \
	X(TOO_BIG, too_big)	/* frame plus encapsulation exceeds MTU */     \
	X(FIB, fib)		/* underlay route lookup failed */             \
	X(ENCAP, encap)		/* could not grow/shrink the frame */          \
	X(NO_BOUNCER, no_bouncer) /* network has no bouncer */                 \
	X(UNKNOWN_EP, unknown_ep) /* agent on an interface with no endpoint */ \
	X(MISSED_TAIL_CALL, missed_tail_call) /* NF chain slot emptied */      \
	X(NF, nf)		/* an NF dropped the packet */                 \
	X(NF_ABI, nf_abi)	/* NF context version mismatch */              \
	X(ARP, arp)		/* ARP that is not an IPv4-over-Ethernet       \
				 * request */                                  \
	X(UNKNOWN_PEER, unknown_peer) /* Mizar Geneve from an underlay address \
				       * that is not a known Mizar host */     \
	X(TO_UNDERLAY, to_underlay) /* the external path aimed at a known peer \
				     * or a protected underlay prefix */       \
	X(ARP_RATE, arp_rate)	/* endpoint's ARP requests above its rate */   \
	X(FRAGMENT, fragment)	/* IP fragment whose datagram has no known     \
				 * verdict (first fragment unseen) */         \
	X(NOT_PEERED, not_peered) /* across a VPC peering without both its     \
				   * ends in the peered prefixes, or twice */

#define MZR_COUNTERS(X)                                                        \
	X(AGENT_RX, agent_rx, agent) /* frames seen by transit agents */       \
	X(AGENT_ENCAP, agent_encap, agent) /* encapsulated towards a bouncer */ \
	X(AGENT_DIRECT, agent_direct, agent) /* encapsulated straight to the   \
					      * host */                        \
	X(AGENT_LOCAL, agent_local, agent) /* delivered to an endpoint on this \
					    * host */                          \
	X(AGENT_ARP, agent_arp, agent) /* ARP requests tunnelled to a bouncer */ \
	X(AGENT_KERNEL, agent_kernel, agent) /* handed to the kernel           \
					      * (unresolved neigh) */          \
	X(TRANSIT_RX, transit_rx, transit) /* frames seen by the transit prog */ \
	X(TRANSIT_PASS, transit_pass, transit) /* not Mizar traffic: passed */ \
	X(UNKNOWN_VNI, unknown_vni, transit) /* Mizar options, unknown VNI:    \
					      * passed */                      \
	X(DELIVER, deliver, host) /* decapsulated to a local endpoint */       \
	X(DELIVER_BYPASS, deliver_bypass, host) /* delivered encapsulated      \
						 * (bypass-decap) */           \
	X(LEARNED, learned, host) /* direct-path entries learned or refreshed */ \
	X(BOUNCER_FWD, bouncer_fwd, bouncer) /* forwarded to the endpoint's    \
					      * host */                        \
	X(BOUNCER_ARP, bouncer_arp, bouncer) /* ARP requests answered */       \
	X(BOUNCER_TO_DIVIDER, bouncer_to_divider, bouncer) /* no entry: sent   \
							    * to a divider */  \
	X(DIVIDER_FWD, divider_fwd, divider) /* divider: routed to a bouncer */ \
	X(STALE_DIRECT, stale_direct, transit) /* direct-path packet re-sent   \
						* to a bouncer */              \
	X(KERNEL_FWD, kernel_fwd, transit) /* forwarded via the kernel         \
					    * (unresolved neigh) */            \
	X(NF_RUN, nf_run, nf)	/* NF programs entered via tail call */        \
	X(EXTERNAL, external, external) /* non-tunnel packets at the external  \
					 * hook (also its MZR_CNT_HOOK()) */   \
	/* Packets reaching each hook point, whether or not its chain is       \
	 * empty; in enum mzr_hook order (MZR_CNT_HOOK()), under the role      \
	 * that runs the hook. */                                              \
	X(HOOK_AGENT_EGRESS, hook_agent_egress, agent) /* packets at the       \
							* agent-egress hook */ \
	X(HOOK_BOUNCER, hook_bouncer, bouncer) /* packets at the bouncer       \
					      * hook */                        \
	X(HOOK_DIVIDER, hook_divider, divider) /* packets at the divider       \
					      * hook */                        \
	X(HOOK_DELIVER, hook_deliver, host) /* packets at the deliver hook,    \
					   * same-host hairpins included */    \
	X(GENEVE_OAM, geneve_oam, transit) /* Mizar Geneve with the O          \
					    * (control) bit: to the kernel */  \
	X(AGENT_FRAG_NEEDED, agent_frag_needed, agent) /* too big with DF:     \
							* answered with ICMP   \
							* Fragmentation Needed \
							* (also drop too_big) */ \
	X(LEARN_REFUSED, learn_refused, host) /* direct-path learning refused: \
					       * RTS is not the outer source   \
					       * or not a known peer */        \
	X(DIVIDER_PEER, divider_peer, divider) /* divider: sent across a VPC   \
						* peering (VNI rewritten) */

enum mzr_drop_reason {
#define MZR_X_DROP(e, name) MZR_DROP_##e,
	MZR_DROP_REASONS(MZR_X_DROP)
#undef MZR_X_DROP
	__MZR_DROP_MAX,
};

/* Packet counters by role and path. Drops are counted at
 * MZR_CNT_DROP_BASE + reason. */
enum mzr_counter {
#define MZR_X_COUNTER(e, name, role) MZR_CNT_##e,
	MZR_COUNTERS(MZR_X_COUNTER)
#undef MZR_X_COUNTER
	__MZR_CNT_ROLE_MAX,
	MZR_CNT_DROP_BASE = 64,
	__MZR_CNT_MAX = MZR_CNT_DROP_BASE + 64,
};

/* ---- Hooks and the NF context ------------------------------------------ */

enum mzr_hook {
	MZR_HOOK_AGENT_EGRESS = 0, /* agent, before encapsulation */
	MZR_HOOK_BOUNCER,	   /* transit, before a bouncer forwards */
	MZR_HOOK_DIVIDER,	   /* transit, before a divider forwards */
	MZR_HOOK_DELIVER,	   /* before a local endpoint receives (transit,
				    * or the agent's same-host hairpin) */
	MZR_HOOK_EXTERNAL,	   /* transit, non-tunnel traffic on the underlay */
	__MZR_HOOK_MAX,
};

/* The packet counter of each hook point (enum mzr_counter): the external
 * hook's is MZR_CNT_EXTERNAL, which predates the others. */
#define MZR_CNT_HOOK_EXTERNAL MZR_CNT_EXTERNAL
#define MZR_CNT_HOOK(hook)                                                     \
	((hook) == MZR_HOOK_EXTERNAL ? MZR_CNT_EXTERNAL :                      \
				       MZR_CNT_HOOK_AGENT_EGRESS + (hook))

/*
 * Chains. The program array `mzr_progs` holds, for each hook, the core's
 * continuation (where the pipeline resumes after the chain) and two banks of
 * MZR_CHAIN_MAX NF slots. A chain update fills the inactive bank, then flips
 * the active bank in `mzr_chain_cfg` with one u32 store: a packet reads the
 * bank once, at the hook, so it sees the old chain or the new one.
 */
#define MZR_CHAIN_MAX 16
#define MZR_CHAIN_BANKS 2
#define MZR_PROG_CONT(hook) (hook)
#define MZR_PROG_NF(bank, hook, pos)                                           \
	(__MZR_HOOK_MAX + ((bank) * __MZR_HOOK_MAX + (hook)) * MZR_CHAIN_MAX +  \
	 (pos))
#define MZR_PROG_ARRAY_SIZE                                                    \
	(__MZR_HOOK_MAX + MZR_CHAIN_BANKS * __MZR_HOOK_MAX * MZR_CHAIN_MAX)

/* mzr_chain_cfg (ARRAY of __u32): key 0 the active bank, then the length of
 * each bank's chain of each hook. */
#define MZR_CHAIN_CFG_BANK 0
#define MZR_CHAIN_CFG_LEN(bank, hook) (1 + (bank) * __MZR_HOOK_MAX + (hook))
#define MZR_CHAIN_CFG_SIZE (1 + MZR_CHAIN_BANKS * __MZR_HOOK_MAX)

/* mzr_missed (PERCPU_ARRAY of __u64): missed tail calls per hook and chain
 * position; position MZR_CHAIN_MAX is the core continuation. */
#define MZR_MISSED_IDX(hook, pos) ((hook) * (MZR_CHAIN_MAX + 1) + (pos))
#define MZR_MISSED_SIZE (__MZR_HOOK_MAX * (MZR_CHAIN_MAX + 1))

/* Names of the maps an NF object shares with the core (bound by name). */
#define MZR_MAP_PROGS "mzr_progs"
#define MZR_MAP_CHAIN_CFG "mzr_chain_cfg"
#define MZR_MAP_CTX "mzr_ctx_map"
#define MZR_MAP_STATS "mzr_stats"
#define MZR_MAP_MISSED "mzr_missed"
#define MZR_MAP_PEERS "mzr_peers"
#define MZR_MAP_PROTECT "mzr_protect"

enum mzr_role {
	MZR_ROLE_AGENT = 1,
	MZR_ROLE_HOST,	  /* delivering to a local endpoint */
	MZR_ROLE_BOUNCER,
	MZR_ROLE_DIVIDER,
	MZR_ROLE_EXTERNAL,
};

/* What an NF asks of the core when its chain ends. */
enum mzr_decision {
	MZR_DECIDE_CONTINUE = 0, /* core resumes its normal path */
	MZR_DECIDE_REROUTE,	 /* core looks the destination up again */
	MZR_DECIDE_INJECT,	 /* external hook: treat as VPC traffic */
};

#define MZR_CTX_VERSION 1
#define MZR_CTX_SCRATCH_LEN 32

/*
 * Per-packet context kept in a per-CPU map, reset at program entry and
 * visible to every NF of a chain. Append only: new fields go at the end and
 * bump MZR_CTX_VERSION; `len` is sizeof() of the producer's struct.
 */
struct mzr_ctx {
	__u16 version;
	__u16 len;
	__u8 role;	/* enum mzr_role */
	__u8 hook;	/* enum mzr_hook */
	__u8 chain_pos;	/* position of the running NF in its chain */
	__u8 decision;	/* enum mzr_decision */
	__u32 vni;
	/* Offsets from the start of the frame; 0xffff when absent. */
	__u16 outer_l3_off;
	__u16 outer_l4_off;
	__u16 geneve_off;
	__u16 inner_l2_off;
	__u16 inner_l3_off;
	__u16 inner_l4_off;
	/* Inner flow, network byte order (ports 0 when not TCP/UDP). */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 chain_bank;   /* bank of the chain this packet runs */
	__u8 chain_len;	   /* NFs in that chain */
	__u8 pad0;
	__u16 drop_reason; /* enum mzr_drop_reason, set by mzr_nf_drop() */
	__u16 pad1;
	__be32 rts;	   /* sender's host, when the packet carried RTS */
	__u32 flags;	   /* MZR_F_* of the packet */
	__u32 ingress_ifindex;
	__u8 scratch[MZR_CTX_SCRATCH_LEN]; /* NF-to-NF metadata */
};

/* ---- Scaled endpoints -------------------------------------------------- */

/* Hosts one scaled endpoint (one VNI, IP) may have; each flow meets one
 * of them, chosen by rendezvous hashing of the symmetric flow hash. */
#define MZR_MAX_EP_HOSTS 8

/* ---- Trust: known peers and the protected underlay (docs/security.md) - */

#define MZR_MAX_PEERS 16384
#define MZR_MAX_PROTECT 256

/* Why an address is in mzr_peers (an entry lives while any holds). */
#define MZR_PEER_F_EXPLICIT (1U << 0) /* mzr_host__peer_add() */
#define MZR_PEER_F_SELF (1U << 1)     /* this host's underlay address */

/* mzr_peers: key underlay IPv4 (network byte order). */
struct mzr_peer_val {
	__u32 refs;	/* VPC dividers, network bouncers, endpoint hosts
			 * naming this address */
	__u32 flags;	/* MZR_PEER_F_* */
};

/* mzr_protect: LPM trie of underlay prefixes the external path never
 * reaches; the value is unused (1). */
struct mzr_protect_key {
	__u32 prefixlen;
	__be32 addr;
};

#endif /* MIZAR_ABI_H */
