/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One host's back-plane: loading the core XDP programs, pinning their
 * state, attaching them, and the VPC / network / endpoint objects they
 * serve.
 *
 * Lifecycle, as libbpf's: mzr_host__open() (nothing in the kernel yet; set
 * sizes) -> mzr_host__load() (programs verified, maps created and pinned
 * under the pin root) -> mzr_host__attach() -> ... -> mzr_host__close().
 * mzr_host__open_pinned() reopens state another process created.
 * Closing a handle never disturbs traffic; mzr_host__reset() tears down.
 *
 * All functions return 0 or a negative errno; those returning a pointer
 * return NULL and set errno. Each failure logs one line (mzr_set_print()).
 * Addresses (struct in_addr) are in network byte order; VNIs in host order.
 */
#ifndef MIZAR_HOST_H
#define MIZAR_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <mizar/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default pin root; MIZAR_PIN_ROOT in the environment overrides it. */
#define MZR_DEFAULT_PIN_ROOT "/sys/fs/bpf/mizar"

#define MZR_MAX_BOUNCERS_PER_NET 8
#define MZR_MAX_DIVIDERS_PER_VPC 8

struct mzr_host;

struct mzr_host_opts {
	size_t sz;
	/* Directory on a bpffs holding this host's state; NULL: the default
	 * (MIZAR_PIN_ROOT, then MZR_DEFAULT_PIN_ROOT). */
	const char *pin_root;
	/* Capacity of the endpoint table (0: 65536). */
	uint32_t max_endpoints;
	/* Capacity of the learned direct-path cache (0: 65536). */
	uint32_t max_direct;
	size_t : 0;
};
#define mzr_host_opts__last_field max_direct

/**
 * @brief Prepare a back-plane without touching the kernel.
 * @param opts may be NULL.
 * @return a handle, or NULL with errno set (-EINVAL: bad opts).
 */
MZR_API struct mzr_host *mzr_host__open(const struct mzr_host_opts *opts);

/**
 * @brief Load the core programs and create the maps, pinned under the pin
 * root (PIN_ROOT/maps/NAME, PIN_ROOT/progs/NAME; the directory is created).
 * The hook continuations are installed in mzr_progs.
 * @return 0; -EEXIST: the pin root already holds a back-plane (use
 * mzr_host__open_pinned()); -ENOTSUP: the pin root is not on a bpffs (a
 * default root under /sys/fs/bpf gets a bpffs mounted there); -EALREADY:
 * this handle is loaded; other -errno from the kernel (nothing is left
 * pinned then).
 */
MZR_API int mzr_host__load(struct mzr_host *host);

/**
 * @brief Reopen a back-plane loaded by any process under @p opts->pin_root.
 * @return a loaded handle, or NULL with errno -ENOENT when nothing is
 * pinned there.
 */
MZR_API struct mzr_host *
mzr_host__open_pinned(const struct mzr_host_opts *opts);

enum mzr_xdp_mode {
	MZR_XDP_MODE_AUTO = 0, /* native, falling back to generic */
	MZR_XDP_MODE_NATIVE,
	MZR_XDP_MODE_GENERIC,
};

struct mzr_attach_opts {
	size_t sz;
	/* This host's underlay IPv4; 0: the interface's primary address. */
	struct in_addr ip;
	enum mzr_xdp_mode mode;
	size_t : 0;
};
#define mzr_attach_opts__last_field mode

/**
 * @brief Attach the transit program to the underlay interface @p ifname
 * and record it as this host's underlay (address, ifindex, MAC, MTU and
 * XDP mode in mzr_host).
 *
 * The attachment is a netlink one (bpf_xdp_attach), owned by the
 * interface, not by this process: it survives the process. So is the tc
 * ingress filter (clsact, created when absent) of the core's program
 * mzr_neigh, attached first, which sends frames whose underlay neighbour
 * is unresolved on their way. Calling it again with the same interface is
 * a no-op; with another interface the transit moves there. Also sets
 * net.ipv4.ip_forward=1 in the current netns (bpf_fib_lookup needs it).
 * @param opts may be NULL (AUTO mode, the interface's primary IPv4).
 * @return 0; -ENODEV: no such interface; -EADDRNOTAVAIL: no IPv4 address
 * and none given; -EBUSY: another XDP program is attached there, or
 * another tc program holds our filter's slot; -EINVAL: bad opts or handle
 * not loaded. On error nothing is left attached.
 */
MZR_API int mzr_host__attach(struct mzr_host *host, const char *ifname,
			     const struct mzr_attach_opts *opts);

/** @brief Which XDP mode the transit program is attached in, or 0. */
MZR_API enum mzr_xdp_mode mzr_host__xdp_mode(const struct mzr_host *host);

/**
 * @brief Detach every program this back-plane attached (underlay and
 * endpoint veths) and remove everything pinned under the pin root (NF
 * chains included). Works from the pins, so an unloaded handle from
 * mzr_host__open() tears down state another process left, even half-built
 * state; nothing pinned is not an error. The handle stays valid but
 * unloaded.
 */
MZR_API int mzr_host__reset(struct mzr_host *host);

/**
 * @brief Release the handle. Pinned state and attached programs stay, so
 * traffic is not disturbed.
 */
MZR_API void mzr_host__close(struct mzr_host *host);

/** @brief The pin root this handle uses. */
MZR_API const char *mzr_host__pin_root(const struct mzr_host *host);

/**
 * @brief File descriptor of core map @p name (e.g. "mzr_eps", "mzr_progs";
 * see docs/architecture.md), owned by the handle: do not close it.
 * For loaders that bind other BPF objects to the core's maps, and tools.
 * @return the fd; -ENOENT: no such core map; -EINVAL: handle not loaded.
 */
MZR_API int mzr_host__map_fd(const struct mzr_host *host, const char *name);

struct mzr_host_info {
	struct in_addr ip;	 /* underlay address, 0 before attach */
	unsigned int ifindex;	 /* underlay interface, 0 before attach */
	char ifname[16];
	unsigned int mtu;
	enum mzr_xdp_mode mode;
	uint32_t max_endpoints;
	uint32_t n_endpoints;
	uint32_t n_local_endpoints;
	uint32_t n_networks;
	uint32_t n_vpcs;
};

/** @brief Fill @p info about this host's back-plane (counts walk the
 * tables). */
MZR_API int mzr_host__info(const struct mzr_host *host,
			   struct mzr_host_info *info);

/* ---- VPCs ------------------------------------------------------------- */

struct mzr_vpc_info {
	uint32_t vni;
	unsigned int n_dividers;
	struct in_addr dividers[MZR_MAX_DIVIDERS_PER_VPC];
};

/**
 * @brief Create VPC @p vni with its dividers (may be none yet).
 * @return 0; -ERANGE: VNI not in 1..16777215; -EEXIST: VPC exists;
 * -E2BIG: too many dividers; -ENOSPC: VPC table full.
 */
MZR_API int mzr_vpc__create(struct mzr_host *host, uint32_t vni,
			    const struct in_addr *dividers,
			    unsigned int n_dividers);

/** @brief Replace VPC @p vni's dividers. -ENOENT: no such VPC. */
MZR_API int mzr_vpc__update(struct mzr_host *host, uint32_t vni,
			    const struct in_addr *dividers,
			    unsigned int n_dividers);

/**
 * @brief Delete VPC @p vni. -ENOENT: no such VPC; -ENOTEMPTY: it still
 * has networks.
 */
MZR_API int mzr_vpc__delete(struct mzr_host *host, uint32_t vni);

/** @brief Read VPC @p vni. -ENOENT: no such VPC. */
MZR_API int mzr_vpc__get(const struct mzr_host *host, uint32_t vni,
			 struct mzr_vpc_info *info);

/**
 * @brief Call @p cb for each VPC, in VNI order. A non-zero return from
 * @p cb stops the walk and is returned.
 */
MZR_API int mzr_vpc__for_each(const struct mzr_host *host,
			      int (*cb)(const struct mzr_vpc_info *info,
					void *ctx),
			      void *ctx);

/* ---- Networks --------------------------------------------------------- */

struct mzr_net_info {
	uint32_t vni;
	struct in_addr prefix;
	unsigned int prefixlen;
	struct in_addr gw;
	unsigned char gw_mac[6];
	unsigned int n_bouncers;
	struct in_addr bouncers[MZR_MAX_BOUNCERS_PER_NET];
};

struct mzr_net_opts {
	size_t sz;
	/* Gateway address; 0: the first host address of the prefix. */
	struct in_addr gw;
	size_t : 0;
};
#define mzr_net_opts__last_field gw

/**
 * @brief Create network @p prefix/@p prefixlen in VPC @p vni.
 * @return 0; -ERANGE: bad VNI; -EINVAL: bad prefix (host bits set, length
 * over 30) or gateway outside it; -ENOENT: no such VPC; -EEXIST: network
 * exists; -EADDRINUSE: overlaps another network of the VPC; -E2BIG: too
 * many bouncers; -EDESTADDRREQ: no bouncer; -ENOSPC: table full.
 */
MZR_API int mzr_net__create(struct mzr_host *host, uint32_t vni,
			    struct in_addr prefix, unsigned int prefixlen,
			    const struct in_addr *bouncers,
			    unsigned int n_bouncers,
			    const struct mzr_net_opts *opts);

/** @brief Replace a network's bouncers. -ENOENT: no such network. */
MZR_API int mzr_net__update(struct mzr_host *host, uint32_t vni,
			    struct in_addr prefix, unsigned int prefixlen,
			    const struct in_addr *bouncers,
			    unsigned int n_bouncers);

/**
 * @brief Delete a network. -ENOENT: no such network; -ENOTEMPTY: this host
 * still holds endpoints in it.
 */
MZR_API int mzr_net__delete(struct mzr_host *host, uint32_t vni,
			    struct in_addr prefix, unsigned int prefixlen);

/** @brief Read a network. -ENOENT: no such network. */
MZR_API int mzr_net__get(const struct mzr_host *host, uint32_t vni,
			 struct in_addr prefix, unsigned int prefixlen,
			 struct mzr_net_info *info);

/** @brief Call @p cb for each network (of VPC @p vni, or all when 0). */
MZR_API int mzr_net__for_each(const struct mzr_host *host, uint32_t vni,
			      int (*cb)(const struct mzr_net_info *info,
					void *ctx),
			      void *ctx);

/* ---- Endpoints -------------------------------------------------------- */

#define MZR_EP_BYPASS_DECAP (1U << 0) /* deliver tunnel packets as is */

struct mzr_ep_spec {
	uint32_t vni;
	struct in_addr ip;
	unsigned char mac[6];
	struct in_addr host;	 /* underlay address of its host */
	const char *ifname;	 /* host-side veth when hosted here, or NULL */
	uint32_t flags;		 /* MZR_EP_* */
};

struct mzr_ep_info {
	uint32_t vni;
	struct in_addr ip;
	unsigned char mac[6];
	struct in_addr host;
	unsigned int ifindex;	 /* non-zero when hosted here */
	uint32_t flags;
};

/**
 * @brief Create an endpoint. When @p spec->ifname is set the endpoint is
 * hosted here: the transit agent is attached to that interface.
 * The agent is attached with bpf_xdp_attach (native, falling back to
 * generic; generic when the host was attached in generic mode on request),
 * after the tc ingress filter of mzr_neigh (as for the underlay).
 * @return 0; -ERANGE: bad VNI; -EINVAL: bad address, MAC or flags;
 * -ENOENT: no such VPC; -EADDRNOTAVAIL: outside every network of the VPC
 * (or its network or broadcast address); -EADDRINUSE: the network's
 * gateway address; -EEXIST: endpoint exists; -ENODEV: no such interface;
 * -EBUSY: the interface already serves an endpoint, runs another XDP
 * program or has another tc program in our filter's slot; -ENOSPC: table
 * full. On error nothing is left behind.
 */
MZR_API int mzr_ep__create(struct mzr_host *host,
			   const struct mzr_ep_spec *spec);

/**
 * @brief Create @p n remote endpoints at once (no ifname allowed). Either
 * all are created or none: every spec is validated first (duplicates in
 * the table or in the batch included), then one bpf_map_update_batch();
 * should the kernel still refuse one (table full), what went in is
 * removed. Not atomic against a concurrent writer of the same keys.
 * @param failed_idx if not NULL, receives the index of the offending spec.
 * @return 0 or the first error, as mzr_ep__create().
 */
MZR_API int mzr_ep__create_batch(struct mzr_host *host,
				 const struct mzr_ep_spec *specs, size_t n,
				 size_t *failed_idx);

/** @brief Delete an endpoint (detaching its agent and its tc filter; the
 * clsact qdisc stays). -ENOENT: unknown. */
MZR_API int mzr_ep__delete(struct mzr_host *host, uint32_t vni,
			   struct in_addr ip);

/** @brief Read an endpoint. -ENOENT: unknown. */
MZR_API int mzr_ep__get(const struct mzr_host *host, uint32_t vni,
			struct in_addr ip, struct mzr_ep_info *info);

/** @brief Call @p cb for each endpoint (of VPC @p vni, or all when 0). */
MZR_API int mzr_ep__for_each(const struct mzr_host *host, uint32_t vni,
			     int (*cb)(const struct mzr_ep_info *info,
				       void *ctx),
			     void *ctx);

/* ---- Counters --------------------------------------------------------- */

/**
 * @brief Sum the per-CPU packet counters into @p out (indexed by enum
 * mzr_counter of <mizar/abi.h>; drops at MZR_CNT_DROP_BASE + reason).
 * @param n entries in @p out; at most __MZR_CNT_MAX are written.
 */
MZR_API int mzr_host__counters(const struct mzr_host *host, uint64_t *out,
			       size_t n);

/**
 * @brief Sum the per-CPU missed-tail-call counters into @p out, indexed by
 * MZR_MISSED_IDX(hook, pos) of <mizar/abi.h> (pos MZR_CHAIN_MAX: the core
 * continuation).
 * @param n entries in @p out; at most MZR_MISSED_SIZE are written.
 */
MZR_API int mzr_host__missed(const struct mzr_host *host, uint64_t *out,
			     size_t n);

/** @brief Zero every counter, missed tail calls included. */
MZR_API int mzr_host__counters_reset(struct mzr_host *host);

/**
 * @brief Name of counter @p idx (e.g. "bouncer_fwd"; drop slots are named
 * "drop_<reason>"), or NULL for an unused index.
 */
MZR_API const char *mzr_counter_name(unsigned int idx);

/**
 * @brief Role a counter belongs to: "agent", "transit", "host", "bouncer",
 * "divider", "nf", "external", or "drop" for drop slots; NULL if unused.
 */
MZR_API const char *mzr_counter_role(unsigned int idx);

/** @brief Name of drop reason @p reason (e.g. "ttl_expired"), or NULL. */
MZR_API const char *mzr_drop_reason_name(unsigned int reason);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_HOST_H */
