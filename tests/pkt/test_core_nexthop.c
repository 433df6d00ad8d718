// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The next-hop cache (bpf-core/fib.h, mzr_nh): a forwarded packet's
 * underlay next hop comes from the cache once bpf_fib_lookup() has
 * resolved it; an entry past its age is looked up again, so a changed
 * neighbour MAC or route is followed; an unresolved neighbour is never
 * cached (the tc hand-off stays); a host attach empties the cache.
 * Ageing is simulated by rewriting an entry's timestamp, not by waiting
 * (tests/e2e/nexthop_change.sh shows it in real time).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

/* As bpf-core/fib.h's struct mzr_nh_val. */
struct nh_val {
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t ifindex;
	uint64_t checked;
};

static const uint8_t MAC_H5_NEW[6] = { 0x02, 0xcc, 0, 0, 0, 0x05 };

static struct core_env env;
static int nh_fd;

/* The bouncer forwards a frame for EP3 (on H5); returns the verdict and
 * copies the output's destination MAC to @dmac. */
static int bounce(uint8_t dmac[6])
{
	struct inner_spec s = remote(IP4(10, 1, 1, 20));
	uint8_t out[PKT_MAX + FIXTURE_HEADROOM];
	struct xdp_md ctx = { .ingress_ifindex = env.ul0 };
	struct pkt inner, in;

	build_inner(&inner, &s);
	tunnel_in(&in, H2, VNI_A, 0, 64, &inner);
	ctx.data_end = (uint32_t)in.len;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in.data,
		    .data_size_in = (uint32_t)in.len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(env.transit_fd, &o)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		exit(1);
	}
	memcpy(dmac, out, 6);
	return (int)o.retval;
}

static bool cached(uint32_t ip, struct nh_val *v)
{
	uint32_t k = htonl(ip);

	return !bpf_map_lookup_elem(nh_fd, &k, v);
}

/* Make the entry of @ip look older than its age. */
static void age_out(uint32_t ip)
{
	uint32_t k = htonl(ip);
	struct nh_val v;

	if (bpf_map_lookup_elem(nh_fd, &k, &v))
		return;
	v.checked = 0;
	if (bpf_map_update_elem(nh_fd, &k, &v, BPF_EXIST)) {
		fprintf(stderr, "mzr_nh: %s\n", strerror(errno));
		exit(1);
	}
}

static void cache_checks(void)
{
	uint8_t dmac[6];
	struct nh_val v;
	int verdict;

	verdict = bounce(dmac);
	CHECK(verdict == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "bouncer: EP3's frame leaves for H5's MAC (verdict %d)",
	      verdict);
	CHECK(cached(H5, &v) && !memcmp(v.dmac, MAC_H5, 6) &&
		      !memcmp(v.smac, MAC_US, 6) && v.ifindex == env.ul0 &&
		      v.checked,
	      "cache: H5's next hop (its MAC, ours, ul0) is cached");

	/* H5's MAC changes; once the entry has aged, the next packet
	 * follows the kernel's neighbour table. */
	test_sh("ip neigh replace 192.168.1.5 lladdr 02:cc:00:00:00:05 "
		"dev ul0 nud permanent");
	age_out(H5);
	verdict = bounce(dmac);
	CHECK(verdict == XDP_TX && !memcmp(dmac, MAC_H5_NEW, 6),
	      "neighbour change: after the age, the frame goes to H5's new "
	      "MAC");
	CHECK(cached(H5, &v) && !memcmp(v.dmac, MAC_H5_NEW, 6) &&
		      v.checked,
	      "cache: the re-validated entry holds the new MAC");

	/* A route to H5 through H6: the next hop becomes H6's MAC. */
	test_sh("ip route replace 192.168.1.5/32 via 192.168.1.6 dev ul0");
	age_out(H5);
	verdict = bounce(dmac);
	CHECK(verdict == XDP_TX && !memcmp(dmac, MAC_H6, 6),
	      "route change: after the age, the frame goes to the new "
	      "gateway H6");
	test_sh("ip route del 192.168.1.5/32 via 192.168.1.6 dev ul0");
	test_underlay_neigh(H5);
	age_out(H5);
	verdict = bounce(dmac);
	CHECK(verdict == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "restored: the frame goes to H5's MAC again");

	/* An unresolved neighbour is never cached: the tc hand-off stays. */
	CHECK(!cached(H99, &v), "cache: no entry for unresolved H99");
}

static void attach_flushes(void)
{
	struct nh_val v;
	uint8_t dmac[6];
	int err;

	bounce(dmac);
	CHECK(cached(H5, &v), "cache: H5 cached before the re-attach");
	err = mzr_host__attach(env.host, "ul0", NULL);
	CHECK(!err && !cached(H5, &v),
	      "host attach empties the next-hop cache (%d)", err);
	CHECK(bounce(dmac) == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "after the attach, the bouncer resolves H5 again");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	nh_fd = core_env_map_fd(&env, "mzr_nh");
	cache_checks();
	attach_flushes();
	return test_report();
}
