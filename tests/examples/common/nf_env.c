// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The example NFs' packet-test world; see nf_env.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/host.h>

#include "fixture.h"
#include "nf_env.h"
#include "testenv.h"

unsigned int nf_env_veth(const char *host_side, const char *ep_side)
{
	test_sh("ip link add %s type veth peer name %s && ip link set %s up "
		  "&& ip link set %s up", host_side, ep_side, ep_side,
		  host_side);
	return if_nametoindex(host_side);
}

void nf_env_ep(struct nf_env *e, uint32_t vni, uint32_t ip,
	       const uint8_t mac[6], uint32_t host, const char *ifname)
{
	struct mzr_ep_spec s = { .vni = vni, .ip = test_in4(ip),
				 .host = test_in4(host), .ifname = ifname };

	memcpy(s.mac, mac, 6);
	test_api(mzr_ep__create(e->host, &s), "mzr_ep__create");
}

int nf_env_pinned(const struct nf_env *e, const char *rel)
{
	return test_pinned_fd("%s/%s", e->pin_root, rel);
}

void nf_env_setup(struct nf_env *e, uint32_t vni, uint32_t net,
		  unsigned int plen, uint32_t bouncer)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = e->pin_root);
	struct in_addr b = test_in4(bouncer);

	test_require_root();
	test_private_netns();
	test_bpffs_mount(e->pin_root);
	e->ul0 = test_underlay();
	test_underlay_neigh(bouncer);

	e->host = mzr_host__open(&o);
	if (!e->host)
		test_api(-errno, "mzr_host__open");
	test_api(mzr_host__load(e->host), "mzr_host__load");
	test_api(mzr_host__attach(e->host, "ul0", NULL), "mzr_host__attach");
	test_api(mzr_vpc__create(e->host, vni, NULL, 0), "mzr_vpc__create");
	test_api(mzr_net__create(e->host, vni, test_in4(net), plen, &b, 1, NULL),
	    "mzr_net__create");
	e->agent_fd = nf_env_pinned(e, "progs/mzr_agent");
	e->transit_fd = nf_env_pinned(e, "progs/mzr_transit");
	e->stats_fd = nf_env_pinned(e, "maps/mzr_stats");
}

int nf_env_tool(const struct nf_env *e, const char *tool, const char *fmt,
		...)
{
	char cmd[1024];
	va_list ap;
	int n, rc;

	n = snprintf(cmd, sizeof(cmd), "%s -r %s ", tool, e->pin_root);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
