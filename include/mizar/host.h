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
 * pinned then, and a pin root this call created is removed). Pins go to
 * PIN_ROOT/mzr-init-tmp-PID first and are renamed into place under the
 * pin root lock (mzr_host__lock()), so that of two concurrent loads one
 * succeeds and the other, -EEXIST, touches none of its pins.
 */
MZR_API int mzr_host__load(struct mzr_host *host);

/**
 * @brief Reopen a back-plane loaded by any process under @p opts->pin_root.
 * Nothing is re-verified; every pinned core map is checked to have the
 * type, key size and value size this library's programs use.
 * @param opts may be NULL (the default pin root).
 * @return a loaded handle, or NULL with errno set: ENOENT, nothing is
 * pinned there; EPROTO, a pinned map has another layout (pinned by another
 * libmizar version: reset it, then load); EINVAL, bad opts; other errno
 * from the kernel.
 */
MZR_API struct mzr_host *
mzr_host__open_pinned(const struct mzr_host_opts *opts);

enum mzr_xdp_mode {
	MZR_XDP_MODE_AUTO = 0, /* native, falling back to generic */
	MZR_XDP_MODE_NATIVE,
	MZR_XDP_MODE_GENERIC,
	/* Through libxdp's multi-program dispatcher (sharing the interface
	 * with other XDP programs), where an extension program can run the
	 * core's tail calls; otherwise as AUTO (see mzr_host__attach()). */
	MZR_XDP_MODE_DISPATCHER,
	/* No XDP: the transit runs in tc (clsact ingress) on the underlay,
	 * which keeps tunnel GSO super-packets whole where XDP would cut
	 * them (a veth underlay); the XDP transit comes back while a
	 * transit hook has an NF chain (docs/architecture.md). */
	MZR_XDP_MODE_TC,
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
 * By default the attachment is a netlink one (bpf_xdp_attach), owned by
 * the interface, not by this process: it survives the process. So is the
 * tc ingress filter (clsact, created when absent) of the core's program
 * mzr_neigh, attached first, which sends frames whose underlay neighbour
 * is unresolved on their way. Calling it again with the same interface is
 * a no-op; with another interface the transit moves there.
 *
 * MZR_XDP_MODE_DISPATCHER attaches through libxdp's multi-program
 * dispatcher (the transit program as an freplace extension; libxdp pins
 * the link under <bpffs>/xdp, so it survives the process too) when the
 * kernel lets an extension program tail-call through mzr_progs, and
 * otherwise falls back to AUTO with one MZR_INFO line saying why (on
 * Linux >= 6.17 it never can: see docs/architecture.md, "Sharing the
 * interface"); mzr_host__xdp_mode() tells which happened.
 *
 * MZR_XDP_MODE_TC attaches no XDP transit: mzr_neigh on the underlay's
 * tc ingress is the transit (veth underlays keep GSO super-packets);
 * the XDP transit is attached (AUTO) while a bouncer, divider, deliver
 * or external chain is non-empty, now or when one is published later,
 * and detached after the last one goes.
 *
 * Also sets conf/<ifname>/forwarding=1 (bpf_fib_lookup() reads it on the
 * underlay; the global net.ipv4.ip_forward is left alone) and, for NICs
 * without XDP metadata, accept_local=1, rp_filter=0, send_redirects=0 on
 * the underlay (see docs/host-api.md).
 * @param opts may be NULL (AUTO mode, the interface's primary IPv4).
 * @return 0; -ENODEV: no such interface; -EADDRNOTAVAIL: no IPv4 address
 * and none given; -EBUSY: another XDP program is attached there, or
 * another tc program holds our filter's slot; -EINVAL: bad opts or handle
 * not loaded. On error nothing is left attached.
 */
MZR_API int mzr_host__attach(struct mzr_host *host, const char *ifname,
			     const struct mzr_attach_opts *opts);

/**
 * @brief How the transit program is attached.
 * @return MZR_XDP_MODE_NATIVE or MZR_XDP_MODE_GENERIC (a plain netlink
 * attachment), MZR_XDP_MODE_DISPATCHER (under libxdp's dispatcher),
 * MZR_XDP_MODE_TC (the transit runs in tc: attached in MZR_XDP_MODE_TC
 * and no NF chain needs the XDP transit now), or 0
 * (MZR_XDP_MODE_AUTO) when not attached, or @p host is NULL or not loaded.
 */
MZR_API enum mzr_xdp_mode mzr_host__xdp_mode(const struct mzr_host *host);

/**
 * @brief Detach every program this back-plane attached (underlay, plain
 * or under the dispatcher, and endpoint veths) and remove what libmizar
 * and its NF tools pinned under the pin root (PIN_ROOT/maps, progs, nf,
 * nf_maps, nf_shared, nfcfg, and an interrupted load's mzr-init-tmp-PID),
 * then the pin root itself when nothing else
 * is left in it. Anything else there (the kernel's maps.debug and
 * progs.debug at the root of a bpffs mount, others' pins) stays and is
 * not an error. Works from the pins, so an unloaded handle from
 * mzr_host__open() tears down state another process left, even
 * half-built state; nothing pinned is not an error. Every step is tried
 * even when one fails. The handle stays valid but unloaded.
 * @return 0; the first error otherwise (each logged): e.g. -EBUSY when a
 * program of ours is held on an interface by someone's bpf_link;
 * -ENOTSUP when a directory of ours is not on a bpffs; -EINVAL: @p host
 * is NULL.
 */
MZR_API int mzr_host__reset(struct mzr_host *host);

/**
 * @brief Take the pin root's writer lock, to make several calls one step
 * (e.g. "reopen what is pinned, else load", then attach). Every function
 * of this library that writes under a pin root or into its maps takes it
 * by itself, for its whole check-then-write sequence, so that concurrent
 * writers (processes, or threads with their own handles) never interleave.
 * It is an flock() on the pin root directory; calls nest within one
 * thread (also through other handles of the same pin root path); other
 * threads and processes wait. On a handle that is not loaded the pin root
 * is created when missing (on a bpffs), and removed again by the
 * outermost mzr_host__unlock() if it is still empty then.
 * @return 0; -EINVAL: @p host is NULL; -ENOENT: a loaded handle's pin
 * root is gone (reset); -ENOTSUP: not on a bpffs; other -errno.
 */
MZR_API int mzr_host__lock(struct mzr_host *host);

/**
 * @brief Release what mzr_host__lock() took (once per successful call).
 * Does nothing when the calling thread does not hold the lock.
 */
MZR_API void mzr_host__unlock(struct mzr_host *host);

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

/**
 * @brief Fill @p info about this host's back-plane (counts walk the
 * tables; info->mode as mzr_host__xdp_mode()).
 * @return 0; -EINVAL: @p host not loaded or @p info NULL; other -errno
 * from the kernel.
 */
MZR_API int mzr_host__info(const struct mzr_host *host,
			   struct mzr_host_info *info);

/* ---- Trust: known peers and the protected underlay -------------------- */

/*
 * The transit program believes Mizar Geneve only from a *known peer*, a
 * Mizar host this host knows (docs/security.md): this host itself, every
 * address named as a VPC's divider, a network's bouncer or an endpoint's
 * host (counted references, kept by the object calls), and the peers added
 * here explicitly (a cluster gives every host its node list). The external
 * path (NAT) never sends to a known peer nor into a protected prefix.
 */

#define MZR_PEER_EXPLICIT 0x1 /* added with mzr_host__peer_add() */
#define MZR_PEER_SELF 0x2     /* this host's underlay address */

struct mzr_peer_info {
	struct in_addr ip;
	uint32_t refs;	/* dividers, bouncers, endpoint hosts naming it */
	uint32_t flags;	/* MZR_PEER_* */
};

/**
 * @brief Add @p n explicit peers (underlay addresses of Mizar hosts), all
 * or none.
 * @return 0; -EINVAL: handle not loaded, @p ips NULL, a bad address (0,
 * broadcast, multicast, loopback) or one listed twice; -EEXIST: an address
 * is an explicit peer already; -ENOSPC: peer table full (MZR_MAX_PEERS).
 * Nothing changes on error.
 */
MZR_API int mzr_host__peer_add_batch(struct mzr_host *host,
				     const struct in_addr *ips, size_t n);

/**
 * @brief Remove @p n explicit peers, all or none. An address also named by
 * an object (or this host's own) stays known, without the explicit mark.
 * @return 0; -EINVAL: as for mzr_host__peer_add_batch(); -ENOENT: an
 * address is not an explicit peer. Nothing changes on error.
 */
MZR_API int mzr_host__peer_delete_batch(struct mzr_host *host,
					const struct in_addr *ips, size_t n);

/** @brief mzr_host__peer_add_batch() of one address. */
MZR_API int mzr_host__peer_add(struct mzr_host *host, struct in_addr ip);

/** @brief mzr_host__peer_delete_batch() of one address. */
MZR_API int mzr_host__peer_delete(struct mzr_host *host, struct in_addr ip);

/**
 * @brief Call @p cb for each known peer (explicit or named by an object),
 * in address order.
 * @return 0 after the last; the first non-zero return of @p cb, which
 * stops the walk; -EINVAL: @p cb NULL or handle not loaded; other -errno
 * from the kernel.
 */
MZR_API int mzr_host__peer_for_each(const struct mzr_host *host,
				    int (*cb)(const struct mzr_peer_info *info,
					      void *ctx),
				    void *ctx);

struct mzr_protect_info {
	struct in_addr prefix;
	unsigned int prefixlen;
};

/**
 * @brief Protect underlay prefix @p prefix/@p len: the external path (NAT
 * output, any NF using mzr_underlay_check()) never sends into it. None by
 * default.
 * @return 0; -EINVAL: handle not loaded, @p len > 32 or host bits set;
 * -EEXIST: already protected; -ENOSPC: table full (MZR_MAX_PROTECT).
 */
MZR_API int mzr_host__protect_add(struct mzr_host *host,
				  struct in_addr prefix, unsigned int len);

/**
 * @brief Stop protecting @p prefix/@p len.
 * @return 0; -EINVAL: as for mzr_host__protect_add(); -ENOENT: not
 * protected.
 */
MZR_API int mzr_host__protect_delete(struct mzr_host *host,
				     struct in_addr prefix, unsigned int len);

/**
 * @brief Call @p cb for each protected prefix, in (address, length) order.
 * @return as mzr_host__peer_for_each().
 */
MZR_API int
mzr_host__protect_for_each(const struct mzr_host *host,
			   int (*cb)(const struct mzr_protect_info *info,
				     void *ctx),
			   void *ctx);

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

struct mzr_vpc_opts {
	size_t sz;
	/* The VPC's dividers (underlay addresses), at most
	 * MZR_MAX_DIVIDERS_PER_VPC; NULL/0: none yet. */
	const struct in_addr *dividers;
	unsigned int n_dividers;
	size_t : 0;
};
#define mzr_vpc_opts__last_field n_dividers

/**
 * @brief Create VPC @p vni as mzr_vpc__create(), with options (NULL: no
 * dividers yet); later releases add fields here, not parameters.
 * @return as mzr_vpc__create(), and -EINVAL: bad opts (@p opts->sz
 * smaller than a size_t, or non-zero bytes past the fields this
 * libmizar knows).
 */
MZR_API int mzr_vpc__create_opts(struct mzr_host *host, uint32_t vni,
				 const struct mzr_vpc_opts *opts);

/**
 * @brief Replace VPC @p vni's dividers (@p n_dividers may be 0).
 * @return 0; -ERANGE: bad VNI; -ENOENT: no such VPC; -E2BIG: more than
 * MZR_MAX_DIVIDERS_PER_VPC; -EINVAL: bad address or handle not loaded.
 * The table is unchanged on error.
 */
MZR_API int mzr_vpc__update(struct mzr_host *host, uint32_t vni,
			    const struct in_addr *dividers,
			    unsigned int n_dividers);

/**
 * @brief Delete VPC @p vni. -ENOENT: no such VPC; -ENOTEMPTY: it still
 * has networks.
 */
MZR_API int mzr_vpc__delete(struct mzr_host *host, uint32_t vni);

/**
 * @brief Read VPC @p vni into @p info.
 * @return 0; -ERANGE: bad VNI; -ENOENT: no such VPC; -EINVAL: @p info
 * NULL or handle not loaded.
 */
MZR_API int mzr_vpc__get(const struct mzr_host *host, uint32_t vni,
			 struct mzr_vpc_info *info);

/**
 * @brief Call @p cb for each VPC, in VNI order.
 * @return 0 after the last; the first non-zero return of @p cb, which
 * stops the walk; -EINVAL: @p cb NULL or handle not loaded; other -errno
 * from the kernel.
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

/**
 * @brief Replace a network's bouncers (its gateway stays).
 * @return 0; -ERANGE: bad VNI; -ENOENT: no such network (exact prefix);
 * -EDESTADDRREQ: no bouncer; -E2BIG: more than MZR_MAX_BOUNCERS_PER_NET;
 * -EINVAL: bad prefix or address, or handle not loaded. Unchanged on
 * error.
 */
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

/**
 * @brief Read the network of exactly @p prefix/@p prefixlen (no
 * longest-prefix match) into @p info.
 * @return 0; -ERANGE: bad VNI; -ENOENT: no such network; -EINVAL: bad
 * prefix, @p info NULL or handle not loaded.
 */
MZR_API int mzr_net__get(const struct mzr_host *host, uint32_t vni,
			 struct in_addr prefix, unsigned int prefixlen,
			 struct mzr_net_info *info);

/**
 * @brief Call @p cb for each network (of VPC @p vni, or all when 0).
 * @return 0 after the last; the first non-zero return of @p cb, which
 * stops the walk; -EINVAL: @p cb NULL or handle not loaded; other -errno
 * from the kernel. An unknown VNI walks nothing.
 */
MZR_API int mzr_net__for_each(const struct mzr_host *host, uint32_t vni,
			      int (*cb)(const struct mzr_net_info *info,
					void *ctx),
			      void *ctx);

/* ---- Endpoints -------------------------------------------------------- */

#define MZR_EP_BYPASS_DECAP (1U << 0) /* deliver tunnel packets as is */
/* In mzr_ep_info.flags only: a scaled endpoint (several hosts: read them
 * with mzr_ep__get_hosts()). Never in mzr_ep_spec.flags. */
#define MZR_EP_SCALED (1U << 1)

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
 * hosted here: the transit agent is attached to that interface, and
 * @p spec->host must be this host's underlay address (the one given to
 * mzr_host__attach(), which must have been called).
 * The agent is the tc ingress filter mzr_neigh (as on the underlay),
 * which keeps the endpoint's GSO and checksum offload: the endpoint needs
 * no offload changes. While an NF chain sits at a hook an agent path
 * meets (agent-egress, bouncer, divider, deliver), the XDP agent is also
 * attached with bpf_xdp_attach (native, falling back to generic; generic
 * when the host was attached in generic mode on request; never through
 * the dispatcher); chain changes switch every local endpoint
 * (docs/nf-guide.md). Sets conf/<ifname>/forwarding=1 (for
 * bpf_fib_lookup() with the veth as ingress device, as NFs do).
 *
 * Frames for the endpoint are XDP_REDIRECTed into @p spec->ifname and come
 * out of its veth peer (the endpoint's side). The kernel drops them there
 * unless that peer runs an XDP program (any, e.g. one returning XDP_PASS)
 * or has GRO enabled (`ethtool -K PEER gro on`): either gives the veth the
 * NAPI context redirected frames need. Whoever creates the endpoint's veth
 * must do one of the two; GRO also aggregates the MTU-sized frames for
 * the endpoint's TCP. When the peer is in this netns and has neither, or
 * has GRO off, one MZR_WARN line says so (the call still succeeds); a
 * peer in another netns (the usual case) cannot be checked.
 * @return 0; -ERANGE: bad VNI; -EINVAL: bad address, MAC or flags, a
 * local endpoint whose host is not this host's underlay address, or this
 * host not attached yet;
 * -ENOENT: no such VPC; -EADDRNOTAVAIL: outside every network of the VPC
 * (or its network or broadcast address); -EADDRINUSE: the network's
 * gateway address; -EEXIST: endpoint exists; -ENODEV: no such interface;
 * -EBUSY: the interface already serves an endpoint, has another tc
 * program in our filter's slot, or (XDP agent needed) runs another XDP
 * program; -ENOSPC: table
 * full. On error nothing is left behind.
 */
MZR_API int mzr_ep__create(struct mzr_host *host,
			   const struct mzr_ep_spec *spec);

struct mzr_ep_opts {
	size_t sz;
	/* A scaled endpoint: the underlay addresses of its hosts, 1 to
	 * MZR_MAX_EP_HOSTS (<mizar/abi.h>), distinct. Each flow meets one
	 * of them, chosen by rendezvous hashing of the symmetric flow
	 * hash (docs/architecture.md, "Scaled endpoints"). NULL/0: the
	 * spec's host alone. */
	const struct in_addr *hosts;
	unsigned int n_hosts;
	/* The caller's sizeof(struct mzr_ep_spec), so that the spec can
	 * grow (as mzr_ep_batch_opts' spec_sz). 0: this library's. */
	size_t spec_sz;
	size_t : 0;
};
#define mzr_ep_opts__last_field spec_sz

/**
 * @brief Create an endpoint as mzr_ep__create(), with options. With
 * @p opts->hosts, @p spec->host may be 0: this host when
 * @p spec->ifname is set, else the list's first; otherwise it must be in
 * the list. A host holding one of the copies creates it with
 * @p spec->ifname (its own address in the list); bouncers without it.
 * @return as mzr_ep__create(), and: -EINVAL: bad opts, a bad or repeated
 * host, @p spec->host not in the list; -E2BIG: more than
 * MZR_MAX_EP_HOSTS hosts; -ENOSPC: the scaled endpoint table is full.
 */
MZR_API int mzr_ep__create_opts(struct mzr_host *host,
				const struct mzr_ep_spec *spec,
				const struct mzr_ep_opts *opts);

/**
 * @brief Replace endpoint (@p vni, @p ip)'s hosts (one: an ordinary
 * endpoint again). Only the flows of a removed host move (to the
 * remaining hosts); an added host takes its share of the flows.
 * An endpoint hosted here must keep this host in the list.
 * @return 0; -ERANGE: bad VNI; -ENOENT: unknown endpoint; -EINVAL: bad,
 * repeated or no host, this host missing for a local endpoint, handle
 * not loaded; -E2BIG: more than MZR_MAX_EP_HOSTS; -ENOSPC: scaled
 * endpoint table full. Unchanged on error.
 */
MZR_API int mzr_ep__set_hosts(struct mzr_host *host, uint32_t vni,
			      struct in_addr ip, const struct in_addr *hosts,
			      unsigned int n_hosts);

/**
 * @brief Read endpoint (@p vni, @p ip)'s hosts: its host, or a scaled
 * endpoint's list, into @p hosts (room for *@p n_hosts; on return, the
 * number of hosts).
 * @return 0; -ERANGE: bad VNI; -ENOENT: unknown endpoint; -EINVAL: NULL
 * argument or handle not loaded; -ENOSPC: too little room (*@p n_hosts
 * says how much is needed).
 */
MZR_API int mzr_ep__get_hosts(const struct mzr_host *host, uint32_t vni,
			      struct in_addr ip, struct in_addr *hosts,
			      unsigned int *n_hosts);

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

struct mzr_ep_batch_opts {
	size_t sz;
	/* The caller's sizeof(struct mzr_ep_spec): the stride of the specs
	 * array, so that the spec can grow. 0: this library's. A size
	 * larger than this library's must leave the unknown tail of every
	 * spec zero; a smaller one is refused. */
	size_t spec_sz;
	size_t : 0;
};
#define mzr_ep_batch_opts__last_field spec_sz

/**
 * @brief Create @p n remote endpoints as mzr_ep__create_batch(), @p specs
 * being an array of @p opts->spec_sz-byte elements, each a
 * struct mzr_ep_spec (see docs/abi-policy.md).
 * @return as mzr_ep__create_batch(), and -EINVAL: bad opts, a spec_sz
 * smaller than struct mzr_ep_spec, a spec with non-zero bytes past the
 * fields this libmizar knows (*@p failed_idx: its index); -ENOMEM.
 */
MZR_API int mzr_ep__create_batch_opts(struct mzr_host *host, const void *specs,
				      size_t n, size_t *failed_idx,
				      const struct mzr_ep_batch_opts *opts);

/**
 * @brief Delete an endpoint (for a local one, detaching its agent and its
 * tc filter; the clsact qdisc stays).
 * A detach that fails is logged and the entry deleted all the same (the
 * agent, left behind, finds no endpoint and drops).
 * @return 0; -ERANGE: bad VNI; -ENOENT: unknown endpoint; -EINVAL: handle
 * not loaded; other -errno when the kernel refuses the deletion.
 */
MZR_API int mzr_ep__delete(struct mzr_host *host, uint32_t vni,
			   struct in_addr ip);

/**
 * @brief Read an endpoint into @p info.
 * @return 0; -ERANGE: bad VNI; -ENOENT: unknown endpoint; -EINVAL:
 * @p info NULL or handle not loaded.
 */
MZR_API int mzr_ep__get(const struct mzr_host *host, uint32_t vni,
			struct in_addr ip, struct mzr_ep_info *info);

/**
 * @brief Call @p cb for each endpoint (of VPC @p vni, or all when 0).
 * @return 0 after the last; the first non-zero return of @p cb, which
 * stops the walk; -EINVAL: @p cb NULL or handle not loaded; other -errno
 * from the kernel. An unknown VNI walks nothing.
 */
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

/* ---- Size-carrying getters (docs/abi-policy.md) ----------------------- */

/*
 * As bpf_obj_get_info_by_fd(): @p info_len holds the caller's
 * sizeof(*info); the library writes min(that, its own) bytes, zeroes the
 * caller's bytes past its own, and stores in @p info_len the size it
 * filled, so that an *_info struct can grow without overrunning an older
 * caller's. Errors as the plain getter, and -EINVAL: @p info or
 * @p info_len NULL.
 */

/** @brief mzr_host__info() into a caller-sized @p info. */
MZR_API int mzr_host__get_info(const struct mzr_host *host,
			       struct mzr_host_info *info, size_t *info_len);

/** @brief mzr_vpc__get() into a caller-sized @p info. */
MZR_API int mzr_vpc__get_info(const struct mzr_host *host, uint32_t vni,
			      struct mzr_vpc_info *info, size_t *info_len);

/** @brief mzr_net__get() into a caller-sized @p info. */
MZR_API int mzr_net__get_info(const struct mzr_host *host, uint32_t vni,
			      struct in_addr prefix, unsigned int prefixlen,
			      struct mzr_net_info *info, size_t *info_len);

/** @brief mzr_ep__get() into a caller-sized @p info. */
MZR_API int mzr_ep__get_info(const struct mzr_host *host, uint32_t vni,
			     struct in_addr ip, struct mzr_ep_info *info,
			     size_t *info_len);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_HOST_H */
