/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Library-private state: the host handle (struct mzr_host), the indices
 * of the core's maps and programs, and what core_obj.c, peers.c,
 * agent_mode.c and transit_mode.c give every other file.
 *
 * Layers, callee first: a file calls only files on lines above its own
 * (and log.c). scripts/lib-layers.sh checks there is no circle;
 * docs/architecture.md, "The library's files", says what each file does.
 *   addr.c (addr.h), core_obj.c (here)          no other library call
 *   netdev.c (netdev.h), pinroot_ns.c, ep_dev.c  interfaces, no handle
 *   pins.c (pins.h) <- lock.c (internal.h)       the pin root
 *   peers.c, agent_mode.c <- transit_mode.c      (here)
 *   objects.c (objects.h) <- ep.c (ep.h) <- ep_batch.c
 *   dispatcher.c (dispatcher.h) <- attach.c, host.c
 *   nf_object.c <- registry.c <- publish.c <- chain.c (nf_priv.h)
 *   stats.c, tables.c, trace.c, vpc_peering.c, info.c
 */
#ifndef MZR_HOST_PRIV_H
#define MZR_HOST_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>

#include <mizar/host.h>
#include <mizar/vpc_peering.h>

#include "internal.h"
#include "addr.h"
#include "netdev.h"
#include "shared.h"

/*
 * The public limits size the arrays of the *_info structs; the core's
 * limits size the map values the datapath reads. They must be one number.
 */
_Static_assert(MZR_MAX_DIVIDERS_PER_VPC == MZR_MAX_DIVIDERS,
	       "public divider limit differs from the VPC map value's");
_Static_assert(MZR_MAX_BOUNCERS_PER_NET == MZR_MAX_BOUNCERS,
	       "public bouncer limit differs from the network map value's");
/* mzr_ep__get_hosts() copies the scaled endpoint's map value out. */
_Static_assert(sizeof(((struct mzr_ep_hosts_val *)0)->hosts) ==
		       MZR_MAX_EP_HOSTS * sizeof(__be32),
	       "public host limit differs from the ep hosts map value's");
/* A peering writes a route for each prefix of either side: one peering at
 * its limit must fit the route map. */
_Static_assert(2 * MZR_MAX_PEERING_PREFIXES <= MZR_MAX_VPC_PEER_ROUTES,
	       "one peering's routes overflow mzr_vpc_peers");
/* mzr_host_info.ifname holds what if_indextoname() writes. */
_Static_assert(sizeof(((struct mzr_host_info *)0)->ifname) == IFNAMSIZ,
	       "mzr_host_info.ifname is not IFNAMSIZ long");
/* MZR_MAX_PEERS and MZR_MAX_PROTECT size mzr_peers and mzr_protect
 * directly (<mizar/bpf/peers.h>): one number by construction. */

/* The core maps, in the order of mzri_map_names[]. */
enum mzri_map {
	MZRI_MAP_HOST,
	MZRI_MAP_VPCS,
	MZRI_MAP_NETS,
	MZRI_MAP_EPS,
	MZRI_MAP_LOCAL,
	MZRI_MAP_DIRECT,
	MZRI_MAP_STATS,
	MZRI_MAP_PROGS,
	MZRI_MAP_CHAIN_CFG,
	MZRI_MAP_CTX,
	MZRI_MAP_MISSED,
	MZRI_MAP_PEERS,
	MZRI_MAP_PROTECT,
	MZRI_MAP_NH,
	MZRI_MAP_EP_HOSTS,
	MZRI_MAP_VPC_PEERS,
	MZRI_MAP_TRACE_CFG,	/* trace.c */
	MZRI_MAP_TRACE_PCPU,
	MZRI_MAP_TRACE_EVENTS,
	MZRI_MAP_VPC_CTR,
	MZRI_MAP_EP_CTR,
	MZRI_MAP__N,
};

enum mzri_prog {
	MZRI_PROG_TRANSIT,
	MZRI_PROG_AGENT,
	MZRI_PROG_CONT_AGENT_EGRESS,
	MZRI_PROG_CONT_BOUNCER,
	MZRI_PROG_CONT_DIVIDER,
	MZRI_PROG_CONT_DELIVER,
	MZRI_PROG_CONT_EXTERNAL,
	MZRI_PROG_NEIGH,	/* tc ingress: unresolved-neighbour hand-off */
	MZRI_PROG__N,
};

/* ---- The core object (core_obj.c) ------------------------------------ */

extern const char *const mzri_map_names[MZRI_MAP__N];
extern const char *const mzri_prog_names[MZRI_PROG__N];

/* Open (not load) the embedded core object's skeleton; NULL, errno set. */
struct mzr_core_bpf;
struct mzr_core_bpf *mzri_core_open(void);

/*
 * Bits of mzr_host_cfg.flags owned by userspace: the XDP mode the transit
 * program actually runs in, and whether the operator asked for generic
 * mode (endpoint veths then use it too). The data plane ignores them.
 */
#define MZRI_CFG_F_DISPATCHER (1U << 27) /* under libxdp's dispatcher */
#define MZRI_CFG_F_NATIVE (1U << 28)
#define MZRI_CFG_F_GENERIC (1U << 29)
#define MZRI_CFG_F_WANT_GENERIC (1U << 30)
#define MZRI_CFG_F_TC (1U << 26) /* transit in tc (MZR_XDP_MODE_TC) */
#define MZRI_CFG_F_MODE_MASK                                                   \
	(MZRI_CFG_F_DISPATCHER | MZRI_CFG_F_NATIVE | MZRI_CFG_F_GENERIC |     \
	 MZRI_CFG_F_WANT_GENERIC | MZRI_CFG_F_TC | MZR_HOST_F_TC_TRANSIT)

struct mzr_host {
	char pin_root[PATH_MAX - 256];
	uint32_t max_endpoints;
	uint32_t max_direct;
	bool loaded;
	int map_fds[MZRI_MAP__N];
	int prog_fds[MZRI_PROG__N];
};

/* fd of a core map; the handle must be loaded. */
static inline int mzri_fd(const struct mzr_host *h, enum mzri_map m)
{
	return h->map_fds[m];
}

/* -EINVAL with a log line when @h is NULL or not loaded. */
int mzri_check_loaded(const struct mzr_host *h, const char *what);

/* A getter's or walker's first check: mzri_check_loaded(), then -EINVAL
 * (no log line) unless @arg_ok, its out-pointer or callback is usable. */
int mzri_check_loaded_arg(const struct mzr_host *h, const char *what,
			  bool arg_ok);

/* A map update/insert errno turned into the API's: hash full -> -ENOSPC. */
int mzri_map_err(int err);

/* Read mzr_host (zeroed when absent). */
int mzri_host_cfg(const struct mzr_host *h, struct mzr_host_cfg *cfg);

/* Whether @hook is one an agent path can meet (agent_mode.c). */
bool mzri_agent_hook(unsigned int hook);

/* Whether a live chain (the active bank) of a hook in the bit set @hooks
 * (1 << MZR_HOOK_*) is non-empty; false when unreadable. */
bool mzri_live_chains_in(const struct mzr_host *h, unsigned int hooks);

/* Whether the live chains need the XDP agent on local endpoints (an NF
 * chain at a hook an agent path meets); false when unreadable. */
bool mzri_agent_wants_xdp(const struct mzr_host *h);

/* Attach (@xdp) or detach the XDP agent on every local endpoint's veth;
 * the tc program stays. Tries them all; the first error. */
int mzri_agents_sync(const struct mzr_host *h, bool xdp);

/* transit_mode.c: a host attached in MZR_XDP_MODE_TC runs the XDP
 * transit while a transit hook (bouncer, divider, deliver, external) has
 * an NF chain, the tc one otherwise. mzri_transit_sync() switches
 * (nothing on a host attached in an XDP mode); 0 or -errno. */
bool mzri_transit_hook(unsigned int hook);
bool mzri_transit_wants_xdp(const struct mzr_host *h);
/* Whether @ifname's driver is veth (ETHTOOL_GDRVINFO). */
bool mzri_if_is_veth(const char *ifname);
int mzri_transit_sync(const struct mzr_host *h, bool xdp);

/* A copy of @fd that is closed on exec (every fd the library keeps). */
int mzri_dup_cloexec(int fd);

/* ---- Known peers (peers.c) ------------------------------------------- */

/*
 * One reference more on each of @ips (@counts[i] each; NULL: 1) in the
 * known-peer table: the objects naming a host (VPC dividers, network
 * bouncers, endpoint hosts) keep it known. All or none: -ENOSPC (logged)
 * when the table is full.
 */
int mzri_peers_ref_counts(struct mzr_host *h, const struct in_addr *ips,
			  const uint32_t *counts, size_t n);
int mzri_peers_ref(struct mzr_host *h, const struct in_addr *ips, size_t n);

/* Drop what mzri_peers_ref*() added; an entry with no reason left goes. */
void mzri_peers_unref_counts(struct mzr_host *h, const struct in_addr *ips,
			     const uint32_t *counts, size_t n);
void mzri_peers_unref(struct mzr_host *h, const struct in_addr *ips, size_t n);

/*
 * The distinct addresses among @n addresses found every @stride bytes
 * from @addrs, with how often each occurs (malloc'd arrays). Returns
 * their number or -ENOMEM.
 */
long mzri_peers_tally(const struct in_addr *addrs, size_t stride, size_t n,
		      struct in_addr **ips_out, uint32_t **counts_out);

/* This host's own address moves from @old_ip to @new_ip (0: none). */
int mzri_peer_self(struct mzr_host *h, __be32 old_ip, __be32 new_ip);

#endif /* MZR_HOST_PRIV_H */
