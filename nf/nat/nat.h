/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mizar-nat's maps, shared by its BPF programs and its tool: SNAT rules
 * (VPC source prefix -> an address of this host), DNAT rules (address:port
 * of this host -> endpoint:port) and the connection table, one entry per
 * direction, that both kinds of translation fill.
 */
#ifndef MZR_NAT_H
#define MZR_NAT_H

#include <linux/types.h>

/* Pinned at PIN_ROOT/nfcfg/nat/<name>. Not "mzr_"-prefixed: those names
 * are the maps shared with the core. */
#define NAT_SNAT_MAP "nat_snat"
#define NAT_DNAT_MAP "nat_dnat"
#define NAT_CT_OUT_MAP "nat_ct_out"
#define NAT_CT_IN_MAP "nat_ct_in"
#define NAT_STATS_MAP "nat_stats"
#define NAT_CFG_MAP "nat_cfg"

#define NAT_MAX_SNAT 1024
#define NAT_MAX_DNAT 4096
#define NAT_MAX_CONN 65536	/* connections (entries per direction) */

/*
 * Translated source ports (and ICMP echo ids) come from this range, above
 * the kernel's default ephemeral range (32768-60999) so that they do not
 * collide with this host's own connections. A port is unique per remote
 * address and port: the range bounds the connections to one remote
 * service, not the total.
 */
#define NAT_PORT_MIN 61000
#define NAT_PORT_MAX 65535
#define NAT_PORT_TRIES 32	/* ports probed before giving up */

/*
 * Default idle timeouts (seconds) after which a connection is over: dead
 * for packets from outside, a new connection for the endpoint's next
 * packet, and its port free for reuse.
 */
#define NAT_TO_TCP 7440		/* established, as the kernel's conntrack */
#define NAT_TO_TCP_CLOSE 60	/* FIN both ways */
#define NAT_TO_TCP_RST 10
#define NAT_TO_UDP 180
#define NAT_TO_ICMP 30
#define NAT_TO_MAX_SEC 2592000	/* 30 days: the largest one settable */

/* The timeouts an operator may set (`mizar-nat timeout KIND SECONDS`). */
enum nat_timeout_kind {
	NAT_TK_TCP = 0,
	NAT_TK_TCP_CLOSE,
	NAT_TK_TCP_RST,
	NAT_TK_UDP,
	NAT_TK_ICMP,
	__NAT_TK_MAX,
};

/* nat_cfg: ARRAY of one; a timeout of 0 is the default above. */
struct nat_cfg {
	__u32 timeout_sec[__NAT_TK_MAX];
	__u32 pad[3];
};

/* nat_snat: LPM trie keyed by (VNI, source prefix). */
struct nat_snat_key {
	__u32 prefixlen;	/* 32 + prefix length */
	__be32 vni;		/* network order so that the trie matches it */
	__be32 addr;
};

struct nat_snat_val {
	__be32 to;		/* this host's address the VPC is seen from */
	__be32 prefix;		/* the rule as configured, for show */
	__u32 plen;
	__u32 vni;
};

/* nat_dnat: (address of this host, port, protocol) -> endpoint. The VPC is
 * in the value: an outside packet carries none. */
struct nat_dnat_key {
	__be32 ext_ip;
	__be16 ext_port;
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

struct nat_dnat_val {
	__u32 vni;
	__be32 ip;
	__be16 port;
	__u16 pad;
};

#define NAT_KIND_SNAT 1
#define NAT_KIND_DNAT 2

/* TCP state bits, recorded by the direction that saw them. */
#define NAT_ST_FIN 0x01
#define NAT_ST_RST 0x02

/*
 * nat_ct_out: a connection as the endpoint's packets carry it (VPC side).
 * ICMP echo: sport is the endpoint's echo id, dport 0.
 */
struct nat_ct_out_key {
	__u32 vni;
	__be32 ep_ip;
	__be32 remote_ip;
	__be16 ep_port;
	__be16 remote_port;
	__u8 proto;
	__u8 pad[3];
};

struct nat_ct_out_val {
	__be32 nat_ip;		/* source the outside sees */
	__be16 nat_port;
	__u8 kind;		/* NAT_KIND_* */
	__u8 state;		/* NAT_ST_* seen from the endpoint */
	__u64 seen_ns;		/* last packet, bpf_ktime_get_ns() */
};

/*
 * nat_ct_in: the same connection as outside packets carry it.
 * ICMP echo reply: remote_port 0, nat_port the translated id.
 */
struct nat_ct_in_key {
	__be32 remote_ip;
	__be32 nat_ip;
	__be16 remote_port;
	__be16 nat_port;
	__u8 proto;
	__u8 pad[3];
};

struct nat_ct_in_val {
	__u32 vni;
	__be32 ep_ip;
	__be16 ep_port;
	__u8 kind;
	__u8 state;		/* NAT_ST_* seen from outside */
	__u64 seen_ns;
};

/* nat_stats: PERCPU_ARRAY of __u64, by enum nat_counter. */
enum nat_counter {
	NAT_C_SNAT_NEW = 0,	/* SNAT connections created */
	NAT_C_SNAT_OUT,		/* endpoint -> outside, source translated */
	NAT_C_SNAT_IN,		/* replies, destination restored */
	NAT_C_DNAT_NEW,		/* DNAT connections created */
	NAT_C_DNAT_IN,		/* outside -> endpoint, destination changed */
	NAT_C_DNAT_OUT,		/* endpoint replies, source restored */
	NAT_C_TX,		/* sent out by the NF (FIB hit) */
	NAT_C_KERNEL,		/* handed to the kernel to route (no neighbour,
				 * local destination, too big, ...) */
	NAT_C_NO_RULE,		/* leaving the VPC untranslated (no rule, not
				 * TCP/UDP/echo): the core drops it, no_route */
	NAT_C_FRAGMENT,		/* fragments: not translated */
	NAT_C_NO_PORT,		/* dropped: no free port for a new connection */
	NAT_C_TTL,		/* dropped: TTL expired */
	NAT_C_ERROR,		/* dropped: could not rewrite or send */
	NAT_C_EXPIRED,		/* dropped: from outside, for a connection
				 * idle past its timeout */
	NAT_C_ICMP_IN,		/* ICMP errors from outside about a
				 * connection, translated to its endpoint */
	NAT_C_ICMP_OUT,		/* ICMP errors of an endpoint about a
				 * connection, translated to go out */
	__NAT_C_MAX,
};

#endif /* MZR_NAT_H */
