// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-ratelimit inside the real back-plane: the core loaded through
 * libmizar, the NF attached and configured by its own tool, frames run
 * through the transit agent of an endpoint with BPF_PROG_TEST_RUN.
 *
 * Within its burst an endpoint's frames leave exactly as without the NF;
 * beyond it they are dropped and counted (drop reason "nf", and the
 * bucket's own counters); the bucket refills with time and on a new
 * configuration; other endpoints and ARP are never metered; `del` lifts
 * the cap; and CPUs racing on one bucket never let more through than it
 * holds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>

#include "fixture.h"
#include "pktbuild.h"
#include "testenv.h"
#include "nf_env.h"
#include "ratelimit.h"

#define VNI 100
#define EP_A IP4(10, 0, 1, 2)	/* the capped endpoint, on epah */
#define EP_C IP4(10, 0, 1, 4)	/* never capped, on epch */
#define EP_B IP4(10, 0, 1, 3)	/* remote: reached through the bouncer */
#define US IP4(192, 168, 1, 1)
#define BOUNCER IP4(192, 168, 1, 2)
#define FRAME 1000		/* bytes per test frame */

static const uint8_t MAC_A[6] = { 0x0e, 0x64, 10, 0, 1, 2 };
static const uint8_t MAC_C[6] = { 0x0e, 0x64, 10, 0, 1, 4 };
static const uint8_t MAC_GW[6] = { 0x02, 0x00, 10, 0, 1, 1 };

static struct nf_env env;
static int agent_fd, stats_fd, buckets_fd;
static unsigned int epah, epch;
/* mizar-ratelimit on this test's pin root; returns its exit status. */
static int tool(const char *args)
{
	return nf_env_tool(&env, MZR_RATELIMIT_TOOL, "%s", args);
}

static void setup(void)
{
	nf_env_setup(&env, VNI, IP4(10, 0, 1, 0), 24, BOUNCER);
	epah = nf_env_veth("epah", "epap");
	epch = nf_env_veth("epch", "epcp");
	nf_env_ep(&env, VNI, EP_A, MAC_A, US, "epah");
	nf_env_ep(&env, VNI, EP_C, MAC_C, US, "epch");
	agent_fd = env.agent_fd;
	stats_fd = env.stats_fd;
}

/* A FRAME-byte UDP frame from endpoint @src (MAC @mac) to EP_B. */
static void udp_frame(struct pkt *p, uint32_t src, const uint8_t *mac)
{
	pkt_init(p);
	pkt_eth(p, MAC_GW, mac, 0x0800);
	pkt_ipv4(p, src, EP_B, 17, NULL);
	pkt_udp(p, 40000, 5201);
	pkt_payload_pattern(p, FRAME - 14 - 20 - 8);
	pkt_finish(p);
}

/* Run @in through the agent on @ifindex: verdict, output in @out. */
static int run(const struct pkt *in, unsigned int ifindex, struct pkt *out)
{
	return fixture_xdp_run(agent_fd, ifindex, in, out);
}

static struct mzr_rl_bucket bucket(uint32_t src)
{
	struct mzr_rl_key k = { .vni = VNI, .ip = htonl(src) };
	struct mzr_rl_bucket b = {};

	if (bpf_map_lookup_elem_flags(buckets_fd, &k, &b, BPF_F_LOCK))
		printf("  (no bucket for %08x: %s)\n", src, strerror(errno));
	return b;
}

static uint64_t drops_nf(void)
{
	return fixture_counter(stats_fd, MZR_CNT_DROP_BASE + MZR_DROP_NF);
}

static struct fixture_pkt fx_pass(const char *desc, const struct pkt *in,
			     unsigned int ifindex, const struct pkt *want)
{
	struct fixture_pkt f = { .desc = desc, .verdict = XDP_REDIRECT,
			     .check_out = true, .counter = -1,
			     .ingress_ifindex = ifindex };

	pkt_copy(&f.in, in);
	pkt_copy(&f.out, want);
	return f;
}

static struct fixture_pkt fx_drop(const char *desc, const struct pkt *in,
			      unsigned int ifindex)
{
	struct fixture_pkt f = { .desc = desc, .verdict = XDP_DROP,
			     .counter = MZR_CNT_DROP_BASE + MZR_DROP_NF,
			     .ingress_ifindex = ifindex };

	pkt_copy(&f.in, in);
	return f;
}

/* ---- Racing CPUs ------------------------------------------------------- */

#define RACE_THREADS 4
#define RACE_FRAMES 3000
#define RACE_BURST 100000 /* 100 frames */

struct racer {
	pthread_t t;
	int cpu;
	const struct pkt *in;
	unsigned int passed, dropped;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	cpu_set_t set;
	int i, v;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (i = 0; i < RACE_FRAMES; i++) {
		v = run(r->in, epah, NULL);
		if (v == XDP_REDIRECT)
			r->passed++;
		else if (v == XDP_DROP)
			r->dropped++;
	}
	return NULL;
}

int main(void)
{
	struct pkt a, c, out0, outc, arp, got;
	struct mzr_rl_bucket b;
	struct racer racers[RACE_THREADS];
	unsigned int passed = 0, dropped = 0;
	struct fixture_pkt f;
	char path[256], cmd[128];
	uint64_t d0;
	long ncpu;
	int i, v;

	setup();
	udp_frame(&a, EP_A, MAC_A);
	udp_frame(&c, EP_C, MAC_C);
	pkt_init(&arp);
	pkt_eth(&arp, (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		MAC_A, 0x0806);
	pkt_arp(&arp, 1, MAC_A, EP_A, (const uint8_t[6]){ 0 }, EP_B);
	pkt_finish(&arp);

	/* What the agent emits without the NF: the reference output. */
	v = run(&a, epah, &out0);
	CHECK(v == XDP_REDIRECT, "without the NF a's frame is encapsulated "
				 "to the bouncer (%s, %zu bytes)",
	      fixture_verdict_name(v), out0.len);
	run(&a, epah, &got);
	CHECK(got.len == out0.len && !memcmp(got.data, out0.data, got.len),
	      "the agent's output is the same on every run");
	run(&c, epch, &outc);

	CHECK(tool("set vni 100 ip 10.0.1.2 rate 1mbit 2>/dev/null") != 0,
	      "set before attach fails");
	CHECK(tool("attach >/dev/null") == 0, "mizar-ratelimit attach");
	snprintf(path, sizeof(path), "%s/nfcfg/ratelimit/%s", env.pin_root,
		 MZR_RL_MAP);
	buckets_fd = bpf_obj_get(path);
	CHECK(buckets_fd >= 0, "bucket map pinned at %s", path);
	if (buckets_fd < 0)
		return 1;

	f = fx_pass("an endpoint without a cap passes untouched", &a, epah,
		   &out0);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);

	/* 1000 bytes/s; 2500 bytes of burst: two frames, not three. */
	CHECK(tool("set vni 100 ip 10.0.1.2 rate 8kbit burst 2500") == 0,
	      "set vni 100 ip 10.0.1.2 rate 8kbit burst 2500");
	d0 = drops_nf();
	f = fx_pass("1st frame within the burst leaves exactly as without "
		   "the NF", &a, epah, &out0);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);
	f = fx_pass("2nd frame within the burst, same", &a, epah, &out0);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);
	f = fx_drop("3rd frame, beyond the burst: dropped, counted 'nf'", &a,
		    epah);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);
	b = bucket(EP_A);
	CHECK(b.pass_pkts == 2 && b.pass_bytes == 2 * FRAME &&
		      b.drop_pkts == 1 && b.drop_bytes == FRAME,
	      "bucket counters: passed %llu/%llu, dropped %llu/%llu",
	      (unsigned long long)b.pass_pkts,
	      (unsigned long long)b.pass_bytes,
	      (unsigned long long)b.drop_pkts,
	      (unsigned long long)b.drop_bytes);

	f = fx_pass("endpoint c (no cap) is not affected", &c, epch, &outc);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);
	v = run(&arp, epah, &got);
	CHECK(v == XDP_REDIRECT,
	      "a's ARP request is not metered, bucket empty or not (%s)",
	      fixture_verdict_name(v));
	CHECK(bucket(EP_A).drop_pkts == 1 && bucket(EP_A).pass_pkts == 2,
	      "nor counted in the bucket");

	/* 500 bytes left; 600 ms at 1000 bytes/s makes 1100. */
	usleep(600000);
	f = fx_pass("after 600 ms the bucket has refilled enough for one more "
		   "frame", &a, epah, &out0);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);
	f = fx_drop("and not for two", &a, epah);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);

	CHECK(tool("set vni 100 ip 10.0.1.2 rate 8kbit burst 3000") == 0,
	      "set again (burst 3000)");
	for (i = 0; i < 3; i++) {
		f = fx_pass("a new configuration starts with a full bucket", &a,
			   epah, &out0);
		CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s (%d/3)",
		      f.desc, i + 1);
	}
	f = fx_drop("until it is spent", &a, epah);
	CHECK(!fixture_pkt_run(agent_fd, stats_fd, &f), "%s", f.desc);
	b = bucket(EP_A);
	CHECK(b.pass_pkts == 6 && b.drop_pkts == 3 && b.burst == 3000 &&
		      b.rate_bits == 8000,
	      "counters kept across set: passed %llu, dropped %llu",
	      (unsigned long long)b.pass_pkts,
	      (unsigned long long)b.drop_pkts);
	CHECK(drops_nf() - d0 == 3, "drop reason 'nf' counted 3 drops");
	CHECK(tool(">/dev/null show") == 0 && tool(">/dev/null -j show") == 0,
	      "show and show -j succeed");

	CHECK(tool("del vni 100 ip 10.0.1.2") == 0, "del vni 100 ip 10.0.1.2");
	for (i = 0; i < 10; i++) {
		v = run(&a, epah, &got);
		if (v != XDP_REDIRECT || got.len != out0.len ||
		    memcmp(got.data, out0.data, got.len))
			break;
	}
	CHECK(i == 10, "after del, 10 frames in a row leave untouched");
	CHECK(tool("del vni 100 ip 10.0.1.2 2>/dev/null") != 0,
	      "del of a missing cap fails");

	/* CPUs racing on one bucket: exactly its burst gets through. The
	 * rate (1 byte/s) adds nothing in the time the race takes. */
	snprintf(cmd, sizeof(cmd), "set vni 100 ip 10.0.1.2 rate 8bit burst %d",
		 RACE_BURST);
	CHECK(tool(cmd) == 0, "%s", cmd);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (i = 0; i < RACE_THREADS; i++) {
		racers[i] = (struct racer){ .cpu = (int)(i % ncpu), .in = &a };
		pthread_create(&racers[i].t, NULL, race, &racers[i]);
	}
	for (i = 0; i < RACE_THREADS; i++) {
		pthread_join(racers[i].t, NULL);
		passed += racers[i].passed;
		dropped += racers[i].dropped;
	}
	b = bucket(EP_A);
	CHECK(passed == RACE_BURST / FRAME &&
		      passed + dropped == RACE_THREADS * RACE_FRAMES,
	      "%d threads on %ld CPUs, %d frames: %u passed (the burst holds "
	      "%d), %u dropped",
	      RACE_THREADS, ncpu, RACE_THREADS * RACE_FRAMES, passed,
	      RACE_BURST / FRAME, dropped);
	CHECK(b.pass_pkts == passed && b.drop_pkts == dropped,
	      "bucket counters agree: %llu passed, %llu dropped",
	      (unsigned long long)b.pass_pkts,
	      (unsigned long long)b.drop_pkts);

	CHECK(tool("detach >/dev/null") == 0, "detach");
	v = run(&a, epah, &got);
	CHECK(v == XDP_REDIRECT && got.len == out0.len &&
		      !memcmp(got.data, out0.data, got.len),
	      "after detach a's frames leave untouched");

	close(buckets_fd);
	mzr_host__close(env.host); /* the netns and the bpffs go with us */
	return test_report();
}
