/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `mizarctl apply` / `mizarctl dump`: one host's declared state (the
 * schema of docs/config-schema.md), the plan that turns the current state
 * into it, and the JSON reader/writer. The state model, the diff and the
 * JSON code are pure (no back-plane access: unit tested alone); reading
 * the back-plane and executing a plan live in apply_cmd.c.
 */
#ifndef MZCTL_APPLY_H
#define MZCTL_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/in.h>

#include <mizar/mizar.h>
#include <mizar/nf.h>

#define MZAP_SCHEMA_VERSION 1

struct mzap_vpc {
	uint32_t vni;
	unsigned int n_dividers;
	struct in_addr dividers[MZR_MAX_DIVIDERS_PER_VPC];
};

struct mzap_net {
	uint32_t vni;
	struct in_addr prefix;
	unsigned int prefixlen;
	struct in_addr gw; /* 0 in a file: the first host address */
	unsigned int n_bouncers;
	struct in_addr bouncers[MZR_MAX_BOUNCERS_PER_NET];
};

/* In mzap_ep.flags, never in the library's: dropped by mzap_skip_eps(). */
#define MZAP_EP_SKIPPED (1U << 31)

struct mzap_ep {
	uint32_t vni;
	struct in_addr ip;
	unsigned char mac[6];
	struct in_addr host; /* 0 in a file with dev: this host */
	char dev[IF_NAMESIZE]; /* "" for a remote endpoint */
	uint32_t flags; /* MZR_EP_* */
	/* A scaled endpoint's hosts ("hosts" in a file), sorted; 0: host
	 * alone. */
	unsigned int n_hosts;
	struct in_addr hosts[MZR_MAX_EP_HOSTS];
};

struct mzap_nf {
	char name[MZR_NF_NAME_MAX];
	char obj[4096]; /* object file path */
	char prog[64]; /* "" in a file: the object's only program */
	unsigned int hook; /* enum mzr_hook */
	int pos; /* -1: not given (the file order decides) */
};

/* A list of addresses or prefixes (peers, protect). */
struct mzap_cidr {
	struct in_addr addr;
	unsigned int len;
};

struct mzap_state {
	struct mzap_vpc *vpcs;
	size_t n_vpcs, cap_vpcs;
	struct mzap_net *nets;
	size_t n_nets, cap_nets;
	struct mzap_ep *eps;
	size_t n_eps, cap_eps;
	struct mzap_nf *nfs; /* in file (or chain) order */
	size_t n_nfs, cap_nfs;
	/* The trust lists: explicit peers (underlay addresses of Mizar
	 * hosts) and protected underlay prefixes, sorted. A file without the
	 * key leaves the list alone (has_* false): a forgotten key must not
	 * wipe the trust settings. Managed only by builds whose libmizar has
	 * the mzr_host__peer_* / mzr_host__protect_* calls. */
	struct in_addr *peers;
	size_t n_peers, cap_peers;
	struct mzap_cidr *protect;
	size_t n_protect, cap_protect;
	bool has_peers, has_protect;
};

void mzap_state_free(struct mzap_state *s);

/* Append a zeroed element; NULL on ENOMEM. */
struct mzap_vpc *mzap_add_vpc(struct mzap_state *s);
struct mzap_net *mzap_add_net(struct mzap_state *s);
struct mzap_ep *mzap_add_ep(struct mzap_state *s);
struct mzap_nf *mzap_add_nf(struct mzap_state *s);
struct in_addr *mzap_add_peer(struct mzap_state *s);
struct mzap_cidr *mzap_add_protect(struct mzap_state *s);

/*
 * Sort into canonical order (VPCs by VNI, networks by VNI/prefix,
 * endpoints by VNI/IP; NFs keep their order, stable by hook) and fill
 * the defaults of a declared state: a network's gw, a local endpoint's
 * host (@self, this host's underlay address). Then check it: duplicate
 * keys, networks of undeclared VPCs or overlapping ones, endpoints outside
 * every network, on a gateway address or sharing a dev, NF positions that
 * contradict the file order. Returns 0, or -EINVAL with one line in @err.
 */
int mzap_normalize(struct mzap_state *s, struct in_addr self, char *err,
		   size_t errlen);

/*
 * Leave some declared endpoints as they are on the host: drop @want's
 * endpoints flagged in @skip (indexed like want->eps) and @cur's
 * endpoints with the same keys, so that the plan neither creates nor
 * deletes them. Both normalized. Returns how many were dropped from @want.
 */
size_t mzap_skip_eps(struct mzap_state *want, struct mzap_state *cur,
		     const bool *skip);

/* ---- Plan ----------------------------------------------------------------- */

enum mzap_op_kind {
	MZAP_PEER_ADD, /* trust first: before objects naming hosts */
	MZAP_PROTECT_ADD,
	MZAP_EP_DEL,
	MZAP_NET_DEL,
	MZAP_VPC_DEL,
	MZAP_NF_DEL,
	MZAP_VPC_ADD,
	MZAP_VPC_SET,
	MZAP_NET_ADD,
	MZAP_NET_SET,
	MZAP_NF_ADD,
	MZAP_NF_REPLACE,
	MZAP_EP_ADD,
	MZAP_PEER_DEL, /* trust withdrawn last */
	MZAP_PROTECT_DEL,
};
#define MZAP_OP_KINDS (MZAP_PROTECT_DEL + 1)

struct mzap_op {
	enum mzap_op_kind kind;
	/* The object to create / delete / set to; for SET and REPLACE,
	 * @old is what it was (for the diff and for rolling back). */
	const void *obj;
	const void *old;
	int pos; /* NF_ADD: chain position */
};

struct mzap_plan {
	struct mzap_op *ops;
	size_t n, cap;
};

void mzap_plan_free(struct mzap_plan *p);

/*
 * The operations that turn @cur into @want (both normalized), in an order
 * under which the datapath never sees a dangling reference: endpoints,
 * then networks, then VPCs are deleted; NFs leave their chains; VPCs,
 * then networks are created or updated; NFs join their chains (before any
 * new endpoint can send through them); endpoints are created last.
 * A changed endpoint (or one whose network is re-created for a new gw) is
 * deleted and created again; a changed NF program is replaced in place
 * (atomically). Explicit peers and protected prefixes (when @want has
 * the lists) are added before everything and removed after everything.
 * The plan points into @cur and @want.
 * @return 0, or -ENOMEM.
 */
int mzap_diff(const struct mzap_state *cur, const struct mzap_state *want,
	      struct mzap_plan *plan);

/* One line describing @op ("+ ep vni 100 ip 10.0.1.2 ..."), no newline. */
void mzap_op_str(const struct mzap_op *op, char *buf, size_t len);

/* ---- JSON ----------------------------------------------------------------- */

/*
 * Parse a whole document into @s (appending). On error returns -EINVAL
 * (or -ENOMEM) with one line in @err naming the JSON path of the culprit
 * ("vpcs[0].networks[1].prefix: bad prefix '10.0.1.0/33'").
 */
int mzap_from_json(const char *text, struct mzap_state *s, char *err,
		   size_t errlen);

/* Write @s (normalized) as a document of the schema; 0 or -errno. */
int mzap_to_json(const struct mzap_state *s, struct in_addr self, FILE *f);

/* ---- Commands (apply_cmd.c) ------------------------------------------------ */

struct mzctl;
int mzctl_cmd_apply(struct mzctl *g, int argc, char **argv);
int mzctl_cmd_dump(struct mzctl *g, int argc, char **argv);

#endif /* MZCTL_APPLY_H */
