/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The world the example NFs' packet tests share: a private netns and
 * bpffs; an underlay veth ul0 (this host, 192.168.1.1, MAC
 * 02:aa:00:00:00:01) whose neighbours 192.168.1.N are permanent (MAC
 * 02:bb:00:00:00:N), so that the core's output is deterministic; the
 * back-plane loaded and attached through libmizar with one VPC and one
 * network; endpoint veths; the NF's own tool run on the test's pin root.
 * Every set-up step that fails exits 1 saying which (77 when not root).
 */
#ifndef MZR_TEST_NF_ENV_H
#define MZR_TEST_NF_ENV_H

#include <stdint.h>

#include "pktbuild.h"

#define NF_ENV_US IP4(192, 168, 1, 1)

struct mzr_host;

struct nf_env {
	char pin_root[64];
	struct mzr_host *host;
	int agent_fd, transit_fd;	/* the core's pinned programs */
	int stats_fd;			/* the core's mzr_stats */
	unsigned int ul0;
};

/* The back-plane with VPC @vni and its network @net/@plen bounced by
 * @bouncer (a neighbour on the underlay). */
void nf_env_setup(struct nf_env *e, uint32_t vni, uint32_t net,
		  unsigned int plen, uint32_t bouncer);

/* A veth pair, both ends up; the ifindex of @host_side. */
unsigned int nf_env_veth(const char *host_side, const char *ep_side);

/* Endpoint @ip of VPC @vni on underlay host @host (@ifname: its veth
 * here, NULL when remote). */
void nf_env_ep(struct nf_env *e, uint32_t vni, uint32_t ip,
	       const uint8_t mac[6], uint32_t host, const char *ifname);

/* Fd of the object pinned at PIN_ROOT/@rel; exits when absent. */
int nf_env_pinned(const struct nf_env *e, const char *rel);

/* `@tool -r PIN_ROOT ARGS` through the shell; its exit status. */
int nf_env_tool(const struct nf_env *e, const char *tool, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

#endif
