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
#include <unistd.h>

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

/* As bpf-core/fib.h's struct mzr_nh_l1 (one slot, per CPU). */
struct nh_l1 {
	uint32_t dst, host_ip, host_ifindex, ifindex;
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t checked;
};


static const uint8_t MAC_H5_NEW[6] = { 0x02, 0xcc, 0, 0, 0, 0x05 };
static const uint8_t MAC_BOGUS[6] = { 0x02, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb };

static struct core_env env;
static int nh_fd, l1_fd, n_cpus;

/* The bouncer forwards a frame for EP3 (on H5); returns the verdict and
 * copies the output's destination MAC to @dmac. */
static int bounce(uint8_t dmac[6])
{
	struct pkt in, out;
	int verdict;

	frame_build(&in, TUNNEL(.from = H2, .vni = VNI_A,
				.inner = FROM_REMOTE(.dst = EP3)));
	verdict = fixture_xdp_run(env.transit_fd, env.ul0, &in, &out);
	memcpy(dmac, out.data, 6);
	return verdict;
}

static bool cached(uint32_t ip, struct nh_val *v)
{
	uint32_t k = htonl(ip);

	return !bpf_map_lookup_elem(nh_fd, &k, v);
}

/* As bpf-core/fib.h's mzr_nh_l1_slot(). */
static uint32_t l1_slot(uint32_t ip)
{
	return (htonl(ip) * 0x9e3779b1U) >> 22;
}

/* @ip's slot of the per-CPU level 1 on every CPU (@v: n_cpus slots). */
static void l1_get(uint32_t ip, struct nh_l1 *v)
{
	uint32_t k = l1_slot(ip);

	if (bpf_map_lookup_elem(l1_fd, &k, v)) {
		fprintf(stderr, "mzr_nh_l1: %s\n", strerror(errno));
		exit(1);
	}
}

static void l1_set(uint32_t ip, const struct nh_l1 *v)
{
	uint32_t k = l1_slot(ip);

	if (bpf_map_update_elem(l1_fd, &k, v, BPF_EXIST)) {
		fprintf(stderr, "mzr_nh_l1: %s\n", strerror(errno));
		exit(1);
	}
}

/* Make the entry of @ip look older than its age. */
static void age_out(uint32_t ip)
{
	struct nh_l1 l1[n_cpus];
	uint32_t k = htonl(ip);
	struct nh_val v;

	/* Level 1 first: its slots are copies of the level 2 entry. */
	l1_get(ip, l1);
	for (int i = 0; i < n_cpus; i++)
		if (l1[i].dst == k)
			l1[i].checked -= 100000;
	l1_set(ip, l1);

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

/* The per-CPU level 1 in front of mzr_nh: used while its tags (the
 * destination, this host's underlay address and interface) match and it
 * is fresh; anything else goes to mzr_nh. The slots are doctored with a
 * MAC nobody has: a frame leaving for it took the slot. */
static void level1_checks(void)
{
	struct nh_l1 l1[n_cpus], save[n_cpus];
	uint32_t k = htonl(H5);
	uint8_t dmac[6];
	bool filled = false, used = false;

	bounce(dmac);
	l1_get(H5, save);
	for (int i = 0; i < n_cpus; i++)
		filled |= save[i].dst == k &&
			  !memcmp(save[i].dmac, MAC_H5, 6) &&
			  save[i].host_ifindex == env.ul0;
	CHECK(filled, "level 1: H5's next hop is in its slot after a bounce");

	/* "Fresh" is 1 s of jiffies; a kernel under emulation (the 6.1
	 * matrix in qemu TCG) can take that between two runs, so the slot is
	 * refilled and doctored up to three times. */
	for (int tries = 0; tries < 3; tries++) {
		if (tries) {
			bounce(dmac);
			l1_get(H5, save);
		}
		memcpy(l1, save, sizeof(l1));
		for (int i = 0; i < n_cpus; i++)
			memcpy(l1[i].dmac, MAC_BOGUS, 6);
		l1_set(H5, l1);
		used = bounce(dmac) == XDP_TX && !memcmp(dmac, MAC_BOGUS, 6);
		if (used)
			break;
	}
	CHECK(used, "level 1: a fresh slot is what the bouncer uses");

	/* Another destination's slot (a hash collision), this host's
	 * underlay as it was before an attach changed it, an aged slot:
	 * none is used, the frame goes to H5's real MAC. */
	for (int i = 0; i < n_cpus; i++)
		l1[i].dst = htonl(H6);
	l1_set(H5, l1);
	CHECK(bounce(dmac) == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "level 1: another destination's slot is not used");
	memcpy(l1, save, sizeof(l1));
	for (int i = 0; i < n_cpus; i++) {
		memcpy(l1[i].dmac, MAC_BOGUS, 6);
		l1[i].host_ip ^= htonl(1);
	}
	l1_set(H5, l1);
	CHECK(bounce(dmac) == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "level 1: a slot filled for another underlay address is not "
	      "used");
	memcpy(l1, save, sizeof(l1));
	for (int i = 0; i < n_cpus; i++) {
		memcpy(l1[i].dmac, MAC_BOGUS, 6);
		l1[i].host_ifindex ^= 1;
	}
	l1_set(H5, l1);
	CHECK(bounce(dmac) == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "level 1: a slot filled for another underlay interface is not "
	      "used");
	memcpy(l1, save, sizeof(l1));
	for (int i = 0; i < n_cpus; i++) {
		memcpy(l1[i].dmac, MAC_BOGUS, 6);
		l1[i].checked -= 100000;
	}
	l1_set(H5, l1);
	CHECK(bounce(dmac) == XDP_TX && !memcmp(dmac, MAC_H5, 6),
	      "level 1: an aged slot is not used");
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
	l1_fd = core_env_prog_map_fd(env.transit_fd, "mzr_nh_l1");
	n_cpus = core_env_ncpus();
	cache_checks();
	level1_checks();
	attach_flushes();
	return test_report();
}
