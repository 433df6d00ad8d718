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

static void vsh(const char *fmt, va_list ap)
{
	char cmd[1024];

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if (system(cmd)) {
		fprintf(stderr, "setup failed: %s\n", cmd);
		exit(1);
	}
}

void nf_env_sh(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsh(fmt, ap);
	va_end(ap);
}

static void api(int err, const char *what)
{
	char buf[128];

	if (!err)
		return;
	mzr_strerror(err, buf, sizeof(buf));
	fprintf(stderr, "setup failed: %s: %s\n", what, buf);
	exit(1);
}

static struct in_addr in4(uint32_t ip)
{
	return (struct in_addr){ .s_addr = htonl(ip) };
}

void nf_env_neigh(uint32_t ip)
{
	nf_env_sh("ip neigh replace 192.168.1.%u lladdr 02:bb:00:00:00:%02x "
		  "dev ul0 nud permanent", ip & 0xff, ip & 0xff);
}

unsigned int nf_env_veth(const char *host_side, const char *ep_side)
{
	nf_env_sh("ip link add %s type veth peer name %s && ip link set %s up "
		  "&& ip link set %s up", host_side, ep_side, ep_side,
		  host_side);
	return if_nametoindex(host_side);
}

void nf_env_ep(struct nf_env *e, uint32_t vni, uint32_t ip,
	       const uint8_t mac[6], uint32_t host, const char *ifname)
{
	struct mzr_ep_spec s = { .vni = vni, .ip = in4(ip),
				 .host = in4(host), .ifname = ifname };

	memcpy(s.mac, mac, 6);
	api(mzr_ep__create(e->host, &s), "mzr_ep__create");
}

int nf_env_pinned(const struct nf_env *e, const char *rel)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", e->pin_root, rel);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "setup failed: no pin %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	return fd;
}

void nf_env_setup(struct nf_env *e, uint32_t vni, uint32_t net,
		  unsigned int plen, uint32_t bouncer)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = e->pin_root);
	struct in_addr b = in4(bouncer);

	test_require_root();
	test_private_netns();
	test_bpffs_mount(e->pin_root);
	nf_env_sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
	nf_env_sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
	nf_env_sh("ip link add ul0 type veth peer name ul1");
	nf_env_sh("ip link set ul0 address 02:aa:00:00:00:01");
	nf_env_sh("ip addr add 192.168.1.1/24 dev ul0");
	nf_env_sh("ip link set ul1 up && ip link set ul0 up");
	nf_env_neigh(bouncer);
	e->ul0 = if_nametoindex("ul0");

	e->host = mzr_host__open(&o);
	if (!e->host)
		api(-errno, "mzr_host__open");
	api(mzr_host__load(e->host), "mzr_host__load");
	api(mzr_host__attach(e->host, "ul0", NULL), "mzr_host__attach");
	api(mzr_vpc__create(e->host, vni, NULL, 0), "mzr_vpc__create");
	api(mzr_net__create(e->host, vni, in4(net), plen, &b, 1, NULL),
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

int nf_env_run(int prog_fd, unsigned int ifindex, const struct pkt *in,
	       struct pkt *out)
{
	uint8_t buf[PKT_MAX + FIXTURE_HEADROOM];
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .data_out = buf,
		    .data_size_out = sizeof(buf), .repeat = 1);

	if (ifindex) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	if (out) {
		pkt_init(out);
		if (o.data_size_out > sizeof(out->data)) {
			fprintf(stderr, "output of %u bytes\n",
				o.data_size_out);
			exit(1);
		}
		memcpy(out->data, buf, o.data_size_out);
		out->len = o.data_size_out;
	}
	return (int)o.retval;
}
