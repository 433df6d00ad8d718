/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-acl's maps as both sides see them: the rule set of a VPC, the
 * connection tracking table, hit counters and the NF's own counters. Shared
 * by acl.bpf.c and the tool; compiles with clang -target bpf and as C11.
 */
#ifndef MZR_ACL_H
#define MZR_ACL_H

#include <linux/types.h>

#define MZR_ACL_MAX_RULES 64	/* rules per VPC */
#define MZR_ACL_MAX_VPCS 4096	/* VPCs with a policy on one host */
#define MZR_ACL_PRIO_MIN 1
#define MZR_ACL_PRIO_MAX 65535
#define MZR_ACL_CT_SIZE 65536	/* tracked connections (LRU) */
#define MZR_ACL_HITS_SIZE 16384 /* (vni, prio) hit counters */
#define MZR_ACL_FRAG_SIZE 16384 /* fragmented datagrams in flight (LRU) */

/* Idle timeouts of tracked connections, and how stale a "last seen" stamp
 * may get before a packet rewrites it (saves a write per packet). */
#define MZR_ACL_CT_TCP_NS (3600ULL * 1000000000ULL)
#define MZR_ACL_CT_UDP_NS (120ULL * 1000000000ULL)
#define MZR_ACL_CT_OTHER_NS (30ULL * 1000000000ULL)
#define MZR_ACL_CT_REFRESH_NS (1000000000ULL)
/* How long later fragments follow their first fragment's verdict: the
 * kernel's default reassembly timeout (net.ipv4.ipfrag_time). */
#define MZR_ACL_FRAG_NS (30ULL * 1000000000ULL)

enum mzr_acl_action {
	MZR_ACL_ALLOW = 0,
	MZR_ACL_DENY = 1,
};

/* Protocol of a rule: an IPPROTO_* value, or 0 for any. */
#define MZR_ACL_PROTO_ANY 0

/*
 * One rule. Addresses and masks in network byte order with the host bits
 * of the address zero; ports in host byte order, [0, 65535] when the rule
 * has no dport.
 */
struct mzr_acl_rule {
	__be32 src;
	__be32 src_mask;
	__be32 dst;
	__be32 dst_mask;
	__u16 dport_lo;
	__u16 dport_hi;
	__u16 prio;
	__u8 proto;
	__u8 action; /* enum mzr_acl_action */
};

/*
 * A VPC's whole policy: one value of map mzr_acl_sets (HASH, key the VNI,
 * host order), replaced by one update so that the data path sees the old
 * policy or the new one. rules[0..n) are sorted by ascending prio.
 * `gen` changes with every update: connections tracked under another
 * generation are checked again against the current rules.
 */
struct mzr_acl_set {
	__u64 gen;
	__u32 n;
	__u8 dflt; /* enum mzr_acl_action when no rule matches */
	__u8 pad[3];
	struct mzr_acl_rule rules[MZR_ACL_MAX_RULES];
};

/*
 * Tracked connection: both directions of a flow share one key, its
 * endpoints (address, port) ordered so that lo <= hi. ICMP echo stands in
 * for ports: a request is (id, 0), its reply (0, id).
 */
struct mzr_acl_ct_key {
	__u32 vni;
	__be32 lo_addr;
	__be32 hi_addr;
	__be16 lo_port;
	__be16 hi_port;
	__u8 proto;
	__u8 pad[3];
};

struct mzr_acl_ct_val {
	__u64 seen_ns;	/* bpf_ktime_get_ns() of the last packet */
	__u64 gen;	/* policy generation that allowed it */
	__u8 orig_lo;	/* the first packet went from lo to hi */
	__u8 pad[7];
};

/*
 * A fragmented datagram (map acl_frags, LRU): the verdict its first
 * fragment got, which its later fragments (no ports of their own) follow.
 * Keyed as IPv4 reassembly keys a datagram: addresses, protocol, IP id.
 */
struct mzr_acl_frag_key {
	__u32 vni;
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 pad;
};

struct mzr_acl_frag_val {
	__u64 seen_ns;	/* when the first fragment was judged */
	__u8 action;	/* enum mzr_acl_action */
	__u8 pad[7];
};

/* Hit counter of a rule (prio) or of the default (MZR_ACL_HIT_DEFAULT). */
struct mzr_acl_hit_key {
	__u32 vni;
	__u32 prio;
};
#define MZR_ACL_HIT_DEFAULT 0x10000U

/* The NF's own counters (mzr_acl_stats, per CPU). Append only. */
enum mzr_acl_counter {
	MZR_ACL_CNT_NO_POLICY = 0, /* VPC without a policy: passed */
	MZR_ACL_CNT_NOT_IP,	   /* ARP (not subject to the ACL): passed */
	MZR_ACL_CNT_CT_PASS,	   /* packet of a tracked connection */
	MZR_ACL_CNT_RELATED,	   /* ICMP error about a tracked connection */
	MZR_ACL_CNT_ALLOW,	   /* new flow allowed (entry created) */
	MZR_ACL_CNT_DENY,	   /* dropped by a rule or the default */
	MZR_ACL_CNT_REVALIDATED,   /* tracked flow still allowed by new rules */
	MZR_ACL_CNT_REVOKED,	   /* tracked flow no longer allowed */
	MZR_ACL_CNT_FRAGMENT,	   /* IPv4 fragments, first or later */
	MZR_ACL_CNT_FRAG_FOLLOW,   /* later fragment: its first's verdict */
	MZR_ACL_CNT_FRAG_UNKNOWN,  /* later fragment, no verdict known and a
				    * port rule could match: dropped */
	__MZR_ACL_CNT_MAX,
};

#endif /* MZR_ACL_H */
