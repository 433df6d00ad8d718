// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-acl at the real core's hooks: the back-plane loaded through
 * libmizar in a private netns, the NF attached with its own tool, and
 * frames run through the core's agent (what EP1 sends) and transit
 * (tunnel frames for EP1) programs with BPF_PROG_TEST_RUN. The table reads
 * as the policy's specification: first match in ascending prio, the
 * default otherwise, replies of allowed flows pass, ARP is never judged,
 * and a changed policy re-judges tracked flows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>

#include "acl.h"
#include "fixture.h"
#include "nf_env.h"
#include "testenv.h"
#include "pktbuild.h"

#define VNI 100
#define US IP4(192, 168, 1, 1)
#define H2 IP4(192, 168, 1, 2) /* the network's bouncer */
#define H5 IP4(192, 168, 1, 5) /* EP3's host */
#define EP1 IP4(10, 1, 1, 10)  /* here, on ep1h */
#define EP2 IP4(10, 1, 1, 11)  /* here, on ep2h */
#define EP3 IP4(10, 1, 1, 20)  /* on H5 */

static const uint8_t MAC_US[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
static const uint8_t MAC_H5[6] = { 0x02, 0xbb, 0, 0, 0, 0x05 };
static const uint8_t MAC_EP1[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x0a };
static const uint8_t MAC_EP2[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x0b };
static const uint8_t MAC_EP3[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x14 };
static const uint8_t MAC_GW[6] = { 0x02, 0, 10, 1, 1, 1 };
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC_ZERO[6] = { 0 };

static struct nf_env env;
static int acl_stats_fd, acl_hits_fd;
static unsigned int ep1h;
static int failures;

/* mizar-acl on this test's pin root; exits on failure. */
static void acl(const char *args)
{
	if (nf_env_tool(&env, MZR_ACL_TOOL, "%s", args)) {
		fprintf(stderr, "FAILED: mizar-acl %s\n", args);
		exit(1);
	}
}

static void setup(void)
{
	nf_env_setup(&env, VNI, IP4(10, 1, 1, 0), 24, H2);
	test_underlay_neigh(H5);
	ep1h = nf_env_veth("ep1h", "ep1p");
	nf_env_veth("ep2h", "ep2p");
	nf_env_ep(&env, VNI, EP1, MAC_EP1, US, "ep1h");
	nf_env_ep(&env, VNI, EP2, MAC_EP2, US, "ep2h");
	nf_env_ep(&env, VNI, EP3, MAC_EP3, H5, NULL);
	acl("attach");
	acl_stats_fd = nf_env_pinned(&env, "nfcfg/acl/acl_stats");
	acl_hits_fd = nf_env_pinned(&env, "nfcfg/acl/acl_hits");
}

/* ---- Frames --------------------------------------------------------------- */

enum hook { AGENT, DELIVER }; /* sent by EP1 / arriving for EP1 */

struct flow {
	uint8_t proto; /* IPPROTO_TCP, UDP, ICMP */
	uint16_t sport, dport; /* ICMP: type in sport, id in dport */
	uint16_t frag_off;
	uint16_t id;	/* IPv4 identification */
	size_t l4_len;	/* a first fragment's bytes after IPv4; 0: whole */
};

/* Cut @p's IPv4 datagram to @l4_len bytes after its header (a tiny first
 * fragment), fixing tot_len and the header checksum. */
static void shorten_ipv4(struct pkt *p, size_t l4_len)
{
	uint8_t *ip = p->data + 14;
	uint16_t v;

	pkt_truncate(p, 14 + 20 + l4_len);
	v = htons((uint16_t)(20 + l4_len));
	memcpy(ip + 2, &v, 2);
	memset(ip + 10, 0, 2);
	v = htons(pkt_csum_fold(pkt_csum_add(0, ip, 20)) ^ 0xffff);
	memcpy(ip + 10, &v, 2);
}

/* An IPv4 frame between EP1 and @peer. */
static void inner(struct pkt *p, enum hook h, uint32_t peer,
		  const uint8_t *peer_mac, const struct flow *f)
{
	struct pkt_ipv4_opts o = { .frag_off = f->frag_off, .id = f->id };
	uint32_t src = h == AGENT ? EP1 : peer, dst = h == AGENT ? peer : EP1;

	pkt_init(p);
	if (h == AGENT)
		pkt_eth(p, MAC_GW, MAC_EP1, PKT_ETH_P_IPV4);
	else
		pkt_eth(p, MAC_EP1, peer_mac, PKT_ETH_P_IPV4);
	pkt_ipv4(p, src, dst, f->proto, &o);
	if (f->frag_off & 0x1fff)
		pkt_payload_pattern(p, 64);
	else if (f->proto == IPPROTO_TCP)
		pkt_tcp(p, f->sport, f->dport, 1, 0, PKT_TCP_SYN);
	else if (f->proto == IPPROTO_UDP)
		pkt_udp(p, f->sport, f->dport);
	else
		pkt_icmp_echo(p, (uint8_t)f->sport, f->dport, 1);
	if (!(f->frag_off & 0x1fff))
		pkt_payload_pattern(p, 32);
	pkt_finish(p);
	if (f->l4_len)
		shorten_ipv4(p, f->l4_len);
}

/* The tunnel frame H5 sends this host for @in. */
static void tunnel(struct pkt *p, const struct pkt *in)
{
	struct pkt_ipv4_opts o = { .frag_off = 0x4000 };

	pkt_init(p);
	pkt_eth(p, MAC_US, MAC_H5, PKT_ETH_P_IPV4);
	pkt_ipv4(p, H5, US, IPPROTO_UDP, &o);
	pkt_udp_nocsum(p, 50000, PKT_GENEVE_PORT);
	pkt_geneve(p, VNI, 0);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_RTS, H5);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_FLAGS, MZR_F_DIRECT);
	pkt_payload(p, in->data, in->len);
	pkt_finish(p);
}

/* EP1's "port unreachable" about a UDP datagram EP3 sent it. */
static void icmp_unreach(struct pkt *p, uint16_t qsport, uint16_t qdport)
{
	uint8_t b[8 + 20 + 8] = { 3, 3 };
	struct pkt quoted;
	uint16_t csum;

	inner(&quoted, DELIVER, EP3, MAC_EP3,
	      &(struct flow){ .proto = IPPROTO_UDP, .sport = qsport,
			      .dport = qdport });
	memcpy(b + 8, quoted.data + 14, 28);
	csum = htons(pkt_csum_fold(pkt_csum_add(0, b, sizeof(b))) ^ 0xffff);
	memcpy(b + 2, &csum, 2);
	pkt_init(p);
	pkt_eth(p, MAC_GW, MAC_EP1, PKT_ETH_P_IPV4);
	pkt_ipv4(p, EP1, EP3, IPPROTO_ICMP, NULL);
	pkt_payload(p, b, sizeof(b));
	pkt_finish(p);
}

static int run(enum hook h, const struct pkt *frame)
{
	struct pkt t;

	if (h == AGENT)
		return fixture_xdp_run(env.agent_fd, ep1h, frame, NULL);
	tunnel(&t, frame);
	return fixture_xdp_run(env.transit_fd, 0, &t, NULL);
}

static uint64_t acl_counter(uint32_t idx)
{
	return fixture_counter(acl_stats_fd, idx);
}

static uint64_t hits(uint32_t prio)
{
	struct mzr_acl_hit_key k = { .vni = VNI, .prio = prio };
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[512] = {}, sum = 0;

	if (ncpu > 512 || bpf_map_lookup_elem(acl_hits_fd, &k, v))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

/* ---- The specification ---------------------------------------------------- */

struct step {
	const char *desc;
	enum hook hook;
	uint32_t peer;		/* EP3 (remote) or EP2 (same host) */
	struct flow flow;
	int verdict;		/* XDP_REDIRECT (delivered / sent) or XDP_DROP */
	int counter;		/* enum mzr_acl_counter that must grow, or -1 */
};

#define TCP(s, d) { .proto = IPPROTO_TCP, .sport = s, .dport = d }
#define UDP(s, d) { .proto = IPPROTO_UDP, .sport = s, .dport = d }
#define ECHO(id) { .proto = IPPROTO_ICMP, .sport = 8, .dport = id }
#define ECHOREPLY(id) { .proto = IPPROTO_ICMP, .sport = 0, .dport = id }

/* The policy these steps judge against (vni 100, default deny). */
static const char *const policy[] = {
	"rule add vni 100 prio 40 src 10.1.1.20 proto icmp action allow",
	"rule add vni 100 prio 10 src 10.1.1.20/32 dst 10.1.1.10 proto tcp dport 80 action allow",
	"rule add vni 100 prio 30 proto udp action allow",
	"rule add vni 100 prio 20 proto udp dport 5000-5010 action deny",
	"default vni 100 deny",
};

static const struct step steps[] = {
	{ "EP3 opens tcp/80 on EP1: prio 10 allows it", DELIVER, EP3,
	  TCP(4000, 80), XDP_REDIRECT, MZR_ACL_CNT_ALLOW },
	{ "EP1's reply on that connection passes as tracked", AGENT, EP3,
	  TCP(80, 4000), XDP_REDIRECT, MZR_ACL_CNT_CT_PASS },
	{ "EP3's next segment passes as tracked", DELIVER, EP3,
	  TCP(4000, 80), XDP_REDIRECT, MZR_ACL_CNT_CT_PASS },
	{ "EP1 opening tcp to EP3 matches nothing: default deny", AGENT,
	  EP3, TCP(81, 4000), XDP_DROP, MZR_ACL_CNT_DENY },
	{ "EP3 to EP1 tcp/81 matches nothing: default deny", DELIVER, EP3,
	  TCP(4000, 81), XDP_DROP, MZR_ACL_CNT_DENY },
	{ "udp/5005 hits prio 20 (deny) before prio 30 (allow udp)",
	  DELIVER, EP3, UDP(1234, 5005), XDP_DROP, MZR_ACL_CNT_DENY },
	{ "udp/5011 is outside prio 20's range: prio 30 allows", DELIVER,
	  EP3, UDP(1234, 5011), XDP_REDIRECT, MZR_ACL_CNT_ALLOW },
	{ "EP1's udp reply passes as tracked", AGENT, EP3, UDP(5011, 1234),
	  XDP_REDIRECT, MZR_ACL_CNT_CT_PASS },
	{ "EP3 pings EP1: prio 40 allows", DELIVER, EP3, ECHO(7),
	  XDP_REDIRECT, MZR_ACL_CNT_ALLOW },
	{ "EP1's echo reply (same id) passes as tracked", AGENT, EP3,
	  ECHOREPLY(7), XDP_REDIRECT, MZR_ACL_CNT_CT_PASS },
	{ "EP1 pinging EP3 with that id is no reply: default deny", AGENT,
	  EP3, ECHO(7), XDP_DROP, MZR_ACL_CNT_DENY },
	{ "an echo reply nobody asked for: default deny", AGENT, EP3,
	  ECHOREPLY(8), XDP_DROP, MZR_ACL_CNT_DENY },
	{ "EP1 to EP2 on this host: denied at agent-egress, default deny",
	  AGENT, EP2, TCP(1, 2), XDP_DROP, MZR_ACL_CNT_DENY },
	{ "a later udp fragment whose first fragment was never seen: prio "
	  "20 (a port range) could decide it, so it is dropped (fragment)",
	  DELIVER, EP3, { .proto = IPPROTO_UDP, .frag_off = 0x0010, .id = 41 }, XDP_DROP,
	  MZR_ACL_CNT_FRAG_UNKNOWN },
};

/*
 * Fragments under default allow with udp/5353 denied: a datagram's first
 * fragment is judged by its real ports, its later fragments (no ports)
 * follow that verdict, and one whose first fragment was not seen is
 * dropped when a port rule could have decided it.
 */
#define FIRST 0x2000 /* more fragments, offset 0 */
#define LATER 0x00b9 /* offset 1480, last */
#define FRAG(p, s, d, off, i)                                                  \
	{ .proto = p, .sport = s, .dport = d, .frag_off = off, .id = i }

static const char *const frag_policy[] = {
	"default vni 100 allow",
	"rule add vni 100 prio 10 proto udp dport 5353 action deny",
};

static const struct step frag_steps[] = {
	{ "the first fragment of a datagram to udp/5353 is judged by its "
	  "port: denied", DELIVER, EP3,
	  FRAG(IPPROTO_UDP, 1234, 5353, FIRST, 100), XDP_DROP,
	  MZR_ACL_CNT_DENY },
	{ "its later fragment follows it: dropped", DELIVER, EP3,
	  FRAG(IPPROTO_UDP, 0, 0, LATER, 100), XDP_DROP,
	  MZR_ACL_CNT_FRAG_FOLLOW },
	{ "the first fragment of a datagram to udp/6000 is allowed",
	  DELIVER, EP3, FRAG(IPPROTO_UDP, 1234, 6000, FIRST, 101),
	  XDP_REDIRECT, MZR_ACL_CNT_ALLOW },
	{ "its later fragment follows it: delivered", DELIVER, EP3,
	  FRAG(IPPROTO_UDP, 0, 0, LATER, 101), XDP_REDIRECT,
	  MZR_ACL_CNT_FRAG_FOLLOW },
	{ "EP1 sending the first fragment of a datagram to udp/5353: "
	  "denied at agent-egress", AGENT, EP3,
	  FRAG(IPPROTO_UDP, 1234, 5353, FIRST, 102), XDP_DROP,
	  MZR_ACL_CNT_DENY },
	{ "and its later fragment follows it", AGENT, EP3,
	  FRAG(IPPROTO_UDP, 0, 0, LATER, 102), XDP_DROP,
	  MZR_ACL_CNT_FRAG_FOLLOW },
	{ "a later tcp fragment without its first: no rule could look at "
	  "its port, the default (allow) decides", DELIVER, EP3,
	  FRAG(IPPROTO_TCP, 0, 0, LATER, 103), XDP_REDIRECT,
	  MZR_ACL_CNT_FRAGMENT },
};

/* Orphan later fragments and tiny first fragments: named drop. */
static const struct step frag_drops[] = {
	{ "a later udp fragment arriving before (or without) its first: "
	  "dropped (fragment)", DELIVER, EP3,
	  FRAG(IPPROTO_UDP, 0, 0, LATER, 104), XDP_DROP,
	  MZR_ACL_CNT_FRAG_UNKNOWN },
	{ "a first udp fragment too short to hold the ports: dropped "
	  "(fragment)", DELIVER, EP3,
	  { .proto = IPPROTO_UDP, .sport = 1234, .dport = 5353,
	    .frag_off = FIRST, .id = 105, .l4_len = 2 }, XDP_DROP, -1 },
};

static void check(const char *desc, int got, int want, int counter,
		  uint64_t before)
{
	uint64_t after = counter >= 0 ? acl_counter(counter) : 0;
	bool ok = got == want && (counter < 0 || after == before + 1);

	printf("%s: %s (%s", ok ? "ok" : "FAILED", desc,
	       fixture_verdict_name(got));
	if (got != want)
		printf(", want %s", fixture_verdict_name(want));
	if (counter >= 0 && after != before + 1)
		printf(", counter %d moved by %lld", counter,
		       (long long)(after - before));
	printf(")\n");
	failures += !ok;
}

static void run_step(const struct step *s)
{
	const uint8_t *mac = s->peer == EP2 ? MAC_EP2 : MAC_EP3;
	uint64_t before = s->counter >= 0 ? acl_counter(s->counter) : 0;
	struct pkt p;

	inner(&p, s->hook, s->peer, mac, &s->flow);
	check(s->desc, run(s->hook, &p), s->verdict, s->counter, before);
}

static void expect_eq(const char *desc, uint64_t got, uint64_t want)
{
	printf("%s: %s (%llu)\n", got == want ? "ok" : "FAILED", desc,
	       (unsigned long long)got);
	if (got != want) {
		printf("  want %llu\n", (unsigned long long)want);
		failures++;
	}
}

int main(void)
{
	uint32_t nf_drop = MZR_CNT_DROP_BASE + MZR_DROP_NF;
	uint64_t drops0, before;
	struct pkt p;
	unsigned int i;

	setup();

	/* Without a policy for the VPC, the NF passes everything. */
	inner(&p, AGENT, EP3, MAC_EP3, &(struct flow)UDP(1000, 53));
	before = acl_counter(MZR_ACL_CNT_NO_POLICY);
	check("no policy: EP1's udp to EP3 is sent", run(AGENT, &p),
	      XDP_REDIRECT, MZR_ACL_CNT_NO_POLICY, before);
	inner(&p, DELIVER, EP3, MAC_EP3, &(struct flow)TCP(1, 2));
	before = acl_counter(MZR_ACL_CNT_NO_POLICY);
	check("no policy: EP3's tcp to EP1 is delivered", run(DELIVER, &p),
	      XDP_REDIRECT, MZR_ACL_CNT_NO_POLICY, before);

	for (i = 0; i < sizeof(policy) / sizeof(policy[0]); i++)
		acl(policy[i]);

	drops0 = fixture_counter(env.stats_fd, nf_drop);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		run_step(&steps[i]);
	expect_eq("every deny counted under the core's drop reason nf",
		  fixture_counter(env.stats_fd, nf_drop) - drops0, 6);
	expect_eq("hits of prio 10", hits(10), 1);
	expect_eq("hits of prio 20", hits(20), 1);
	expect_eq("hits of prio 30", hits(30), 1);
	expect_eq("hits of prio 40", hits(40), 1);
	expect_eq("hits of the default", hits(MZR_ACL_HIT_DEFAULT), 5);

	/* Same host, allowed: the core runs both hooks on the hairpin. The
	 * packet is judged at agent-egress (a rule hit, a tracked entry),
	 * then its deliver-side check hits that entry: judged once. */
	inner(&p, AGENT, EP2, MAC_EP2, &(struct flow)UDP(1234, 6001));
	{
		uint64_t allow0 = acl_counter(MZR_ACL_CNT_ALLOW);
		uint64_t ct0 = acl_counter(MZR_ACL_CNT_CT_PASS);
		uint64_t h30 = hits(30);

		before = acl_counter(MZR_ACL_CNT_ALLOW);
		check("EP1 to EP2 udp on this host: prio 30 allows, hairpinned",
		      run(AGENT, &p), XDP_REDIRECT, MZR_ACL_CNT_ALLOW, before);
		expect_eq("judged by the rules once (allowed + 1)",
			  acl_counter(MZR_ACL_CNT_ALLOW) - allow0, 1);
		expect_eq("its deliver-side check hit the entry (ct_pass + 1)",
			  acl_counter(MZR_ACL_CNT_CT_PASS) - ct0, 1);
		expect_eq("one hit of prio 30", hits(30) - h30, 1);
	}

	/* ARP is not subject to the ACL. */
	pkt_init(&p);
	pkt_eth(&p, MAC_BCAST, MAC_EP1, PKT_ETH_P_ARP);
	pkt_arp(&p, 1, MAC_EP1, EP1, MAC_ZERO, EP3);
	pkt_finish(&p);
	before = acl_counter(MZR_ACL_CNT_NOT_IP);
	{
		int v = run(AGENT, &p);

		check("ARP from EP1 is not judged (the core handles it)",
		      v == XDP_DROP ? XDP_DROP : XDP_REDIRECT, XDP_REDIRECT,
		      MZR_ACL_CNT_NOT_IP, before);
	}

	/* An ICMP error about a tracked flow passes (path MTU, port
	 * unreachable); about an unknown one it is judged as any packet. */
	icmp_unreach(&p, 1234, 5011);
	before = acl_counter(MZR_ACL_CNT_RELATED);
	check("EP1's port unreachable about EP3's tracked udp passes",
	      run(AGENT, &p), XDP_REDIRECT, MZR_ACL_CNT_RELATED, before);
	icmp_unreach(&p, 1234, 6000);
	before = acl_counter(MZR_ACL_CNT_DENY);
	check("a port unreachable about an untracked flow: default deny",
	      run(AGENT, &p), XDP_DROP, MZR_ACL_CNT_DENY, before);

	/* A new policy re-judges tracked flows at their next packet, by
	 * their first packet: the udp flow loses its rule, tcp keeps its. */
	acl("rule del vni 100 prio 30");
	inner(&p, AGENT, EP3, MAC_EP3, &(struct flow)UDP(5011, 1234));
	before = acl_counter(MZR_ACL_CNT_REVOKED);
	check("after prio 30 is deleted, EP1's udp reply is dropped",
	      run(AGENT, &p), XDP_DROP, MZR_ACL_CNT_REVOKED, before);
	inner(&p, AGENT, EP3, MAC_EP3, &(struct flow)TCP(80, 4000));
	before = acl_counter(MZR_ACL_CNT_REVALIDATED);
	check("the tcp connection prio 10 allowed goes on", run(AGENT, &p),
	      XDP_REDIRECT, MZR_ACL_CNT_REVALIDATED, before);
	before = acl_counter(MZR_ACL_CNT_CT_PASS);
	check("and is tracked under the new policy", run(AGENT, &p),
	      XDP_REDIRECT, MZR_ACL_CNT_CT_PASS, before);

	/* Rules deleted and default allow: no policy left at all. */
	acl("rule del vni 100 prio 10");
	acl("rule del vni 100 prio 20");
	acl("rule del vni 100 prio 40");
	inner(&p, AGENT, EP3, MAC_EP3, &(struct flow)TCP(81, 4000));
	before = acl_counter(MZR_ACL_CNT_DENY);
	check("only the default is left: deny", run(AGENT, &p), XDP_DROP,
	      MZR_ACL_CNT_DENY, before);
	acl("default vni 100 allow");
	before = acl_counter(MZR_ACL_CNT_NO_POLICY);
	check("default allow with no rule: no policy, sent", run(AGENT, &p),
	      XDP_REDIRECT, MZR_ACL_CNT_NO_POLICY, before);

	for (i = 0; i < sizeof(frag_policy) / sizeof(frag_policy[0]); i++)
		acl(frag_policy[i]);
	for (i = 0; i < sizeof(frag_steps) / sizeof(frag_steps[0]); i++)
		run_step(&frag_steps[i]);
	for (i = 0; i < sizeof(frag_drops) / sizeof(frag_drops[0]); i++) {
		uint32_t frag_drop = MZR_CNT_DROP_BASE + MZR_DROP_FRAGMENT;
		uint64_t d0 = fixture_counter(env.stats_fd, frag_drop);

		run_step(&frag_drops[i]);
		expect_eq("counted under the core's drop reason fragment",
			  fixture_counter(env.stats_fd, frag_drop) - d0, 1);
	}

	acl("detach");
	mzr_host__close(env.host);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
