// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-lb through the real core (BPF_PROG_TEST_RUN on the pinned agent
 * and transit programs, the NF attached by the mizar-lb tool itself): the
 * client's packets to a VIP leave towards the backend with the inner
 * destination rewritten, replies reach the client from the VIP, byte for
 * byte against frames built from scratch (so the incremental checksum
 * updates equal full recomputations), for remote and same-host backends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>

#include "lb.h"
#include "mizar_lb_bpf.skel.h"
#include "fixture.h"
#include "nf_env.h"

#define US IP4(192, 168, 1, 1)
#define H2 IP4(192, 168, 1, 2) /* the network's bouncer, hosts B1, B2 */
#define VNI 100
#define C IP4(10, 0, 1, 2) /* client, here */
#define B1 IP4(10, 0, 1, 3) /* backend on H2 */
#define B2 IP4(10, 0, 1, 4) /* backend on H2 */
#define B3 IP4(10, 0, 1, 5) /* backend here */
#define VIP1 IP4(10, 99, 0, 1) /* tcp 80 -> B1:8080 */
#define VIP2 IP4(10, 99, 0, 2) /* udp 53 -> B3 (port 53) */
#define VIP3 IP4(10, 99, 0, 3) /* tcp 443 -> B1, B2:8443, B3 */
#define ENCAP MZR_ENCAP_LEN

static const uint8_t MAC_US[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
static const uint8_t MAC_H2[6] = { 0x02, 0xbb, 0, 0, 0, 0x02 };
static const uint8_t MAC_C[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x02 };
static const uint8_t MAC_B1[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x03 };
static const uint8_t MAC_B2[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x04 };
static const uint8_t MAC_B3[6] = { 0x0e, 0, 0, 0x01, 0x01, 0x05 };
static const uint8_t MAC_GW[6] = { 0x02, 0, 10, 0, 1, 1 };

static struct nf_env env;
static int agent_fd, transit_fd, stats_fd, rings_fd, core_stats_fd;
static unsigned int ul0, vec, veb;
static int failures, checks;

/* mizar-lb on this test's pin root; exits on failure. */
static void lb(const char *args)
{
	if (nf_env_tool(&env, MZR_LB_TOOL, "%s", args)) {
		fprintf(stderr, "setup failed: mizar-lb %s\n", args);
		exit(1);
	}
}

static void setup(void)
{
	nf_env_setup(&env, VNI, IP4(10, 0, 1, 0), 24, H2);
	ul0 = env.ul0;
	vec = nf_env_veth("ve-c", "c0");
	veb = nf_env_veth("ve-b", "b0");
	nf_env_ep(&env, VNI, C, MAC_C, US, "ve-c");
	nf_env_ep(&env, VNI, B3, MAC_B3, US, "ve-b");
	nf_env_ep(&env, VNI, B1, MAC_B1, H2, NULL);
	nf_env_ep(&env, VNI, B2, MAC_B2, H2, NULL);

	/* The NF as an operator sets it up. */
	lb("attach >/dev/null");
	lb("vip add vni 100 vip 10.99.0.1 port 80 proto tcp backends "
	   "10.0.1.3:8080");
	lb("vip add vni 100 vip 10.99.0.2 port 53 proto udp backends "
	   "10.0.1.5");
	lb("vip add vni 100 vip 10.99.0.3 port 443 proto tcp backends "
	   "10.0.1.3,10.0.1.4:8443,10.0.1.5");

	agent_fd = env.agent_fd;
	transit_fd = env.transit_fd;
	core_stats_fd = env.stats_fd;
	stats_fd = nf_env_pinned(&env, "nfcfg/lb/lb_stats");
	rings_fd = nf_env_pinned(&env, "nfcfg/lb/lb_rings");
}

/* ---- Frames ------------------------------------------------------------- */

struct flow {
	const uint8_t *dmac, *smac;
	uint32_t src, dst;
	uint16_t sport, dport;
	int proto; /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t tcp_flags;
	bool udp_nocsum;
};

static struct flow mk(const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		      uint32_t dst, uint16_t sport, uint16_t dport, int proto,
		      uint8_t tcp_flags)
{
	struct flow f = { .dmac = dmac,
			  .smac = smac,
			  .src = src,
			  .dst = dst,
			  .sport = sport,
			  .dport = dport,
			  .proto = proto,
			  .tcp_flags = tcp_flags };

	return f;
}

static void build(struct pkt *p, const struct flow *f)
{
	pkt_init(p);
	pkt_eth(p, f->dmac, f->smac, 0);
	pkt_ipv4(p, f->src, f->dst, 0,
		 &(struct pkt_ipv4_opts){ .id = 0x1234, .frag_off = 0x4000 });
	if (f->proto == IPPROTO_TCP)
		pkt_tcp(p, f->sport, f->dport, 1000,
			f->tcp_flags & PKT_TCP_ACK ? 77 : 0, f->tcp_flags);
	else if (f->udp_nocsum)
		pkt_udp_nocsum(p, f->sport, f->dport);
	else
		pkt_udp(p, f->sport, f->dport);
	pkt_payload_pattern(p, 37); /* odd length: checksum padding */
	pkt_finish(p);
}

/* A tunnel frame from H2 to this host carrying @inner. */
static void tunnel_from_h2(struct pkt *p, const struct pkt *inner)
{
	pkt_init(p);
	pkt_eth(p, MAC_US, MAC_H2, 0);
	pkt_ipv4(p, H2, US, 0, &(struct pkt_ipv4_opts){ .frag_off = 0x4000 });
	pkt_udp_nocsum(p, 50000, PKT_GENEVE_PORT);
	pkt_geneve(p, VNI, 0);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_RTS, H2);
	pkt_geneve_opt_u32(p, MZR_OPT_CLASS, MZR_OPT_FLAGS, 0);
	pkt_payload(p, inner->data, inner->len);
	pkt_finish(p);
}

struct result {
	int verdict;
	struct pkt out;
};

static void run(int prog_fd, unsigned int ifindex, const struct pkt *in,
		struct result *r)
{
	r->verdict = fixture_xdp_run(prog_fd, ifindex, in, &r->out);
}

static void check(bool ok, const char *desc, const char *why)
{
	checks++;
	if (ok) {
		printf("ok: %s\n", desc);
		return;
	}
	failures++;
	printf("FAILED: %s: %s\n", desc, why);
}

/*
 * @desc: the output must have verdict @verdict and carry @want from
 * @out_off on (the inner frame after @skip bytes of it), byte for byte,
 * with every checksum of the output valid.
 */
static void expect(const char *desc, const struct result *r, int verdict,
		   size_t out_off, const struct pkt *want, size_t skip)
{
	char why[256];

	if (r->verdict != verdict) {
		snprintf(why, sizeof(why), "verdict %d, expected %d",
			 r->verdict, verdict);
		check(false, desc, why);
		return;
	}
	if (r->out.len != out_off + want->len ||
	    memcmp(r->out.data + out_off + skip, want->data + skip,
		   want->len - skip)) {
		check(false, desc, "output differs");
		if (r->out.len >= out_off)
			fixture_hexdiff(want->data + skip, want->len - skip,
					r->out.data + out_off + skip,
					r->out.len - out_off - skip);
		return;
	}
	if (!pkt_checksums_ok(r->out.data, r->out.len, why, sizeof(why))) {
		check(false, desc, why);
		return;
	}
	check(true, desc, NULL);
}

/* ---- Fixtures ----------------------------------------------------------- */

/* A client connection to VIP1 (one remote backend with its own port). */
static void test_remote_backend(void)
{
	struct flow f =
		mk(MAC_GW, MAC_C, C, VIP1, 40000, 80, IPPROTO_TCP, PKT_TCP_SYN);
	struct flow fb = f, rep = mk(MAC_C, MAC_B1, B1, C, 8080, 40000,
				     IPPROTO_TCP, PKT_TCP_SYN | PKT_TCP_ACK);
	struct flow rep_vip = rep;
	struct pkt in, want, tun;
	struct result r;
	uint64_t new0 = fixture_counter(stats_fd, LB_CNT_NEW_CONN);
	uint64_t hit0 = fixture_counter(stats_fd, LB_CNT_CONN_HIT);
	uint64_t rep0 = fixture_counter(stats_fd, LB_CNT_REPLY);
	uint32_t outer_dst;

	fb.dst = B1;
	fb.dport = 8080;
	build(&in, &f);
	build(&want, &fb);
	run(agent_fd, vec, &in, &r);
	expect("a SYN to VIP1:80 leaves encapsulated with the inner "
	       "destination "
	       "rewritten to B1:8080, checksums as if built for B1",
	       &r, XDP_REDIRECT, ENCAP, &want, 0);
	memcpy(&outer_dst, r.out.data + 30, 4);
	check(ntohl(outer_dst) == H2,
	      "the rewritten packet is routed to the backend's bouncer (H2)",
	      "outer destination is not H2");
	check(fixture_counter(stats_fd, LB_CNT_NEW_CONN) == new0 + 1,
	      "the connection was placed by the Maglev table (new_conn + 1)",
	      "new_conn did not grow by one");

	f.tcp_flags = fb.tcp_flags = PKT_TCP_ACK;
	build(&in, &f);
	build(&want, &fb);
	run(agent_fd, vec, &in, &r);
	expect("the connection's next segment goes to the same backend", &r,
	       XDP_REDIRECT, ENCAP, &want, 0);
	check(fixture_counter(stats_fd, LB_CNT_CONN_HIT) == hit0 + 1,
	      "it was found in the connection table (conn_hit + 1)",
	      "conn_hit did not grow by one");

	/* B1's SYN-ACK arrives from H2 and is delivered here. */
	build(&in, &rep);
	tunnel_from_h2(&tun, &in);
	rep_vip.src = VIP1;
	rep_vip.sport = 80;
	build(&want, &rep_vip);
	run(transit_fd, ul0, &tun, &r);
	/* The core sets the destination MAC and leaves the source. */
	expect("B1's SYN-ACK reaches the client from VIP1:80, decapsulated", &r,
	       XDP_REDIRECT, 0, &want, 0);
	check(fixture_counter(stats_fd, LB_CNT_REPLY) == rep0 + 1,
	      "the reply was rewritten at deliver (reply + 1)",
	      "reply did not grow by one");

	/* A packet from B1 to the client that is not of the connection
	 * (another port) is left alone. */
	rep.dport = 40001;
	build(&in, &rep);
	tunnel_from_h2(&tun, &in);
	run(transit_fd, ul0, &tun, &r);
	expect("B1's traffic outside balanced connections is delivered "
	       "unchanged",
	       &r, XDP_REDIRECT, 0, &in, 0);
}

/* UDP to VIP2, whose only backend lives on this host. */
static void test_local_backend(void)
{
	struct flow f = mk(MAC_GW, MAC_C, C, VIP2, 5000, 53, IPPROTO_UDP, 0);
	struct flow fb = f,
		    rep = mk(MAC_C, MAC_B3, B3, C, 53, 5000, IPPROTO_UDP, 0);
	struct flow rep_vip = rep;
	struct pkt in, want;
	struct result r;
	uint64_t loc0 = fixture_counter(stats_fd, LB_CNT_REPLY_LOCAL);
	uint64_t rep0;

	fb.dst = B3;
	fb.dmac = MAC_B3; /* the core's local hairpin sets it */
	build(&in, &f);
	build(&want, &fb);
	run(agent_fd, vec, &in, &r);
	expect("UDP to VIP2:53 is hairpinned to B3 on this host, port kept", &r,
	       XDP_REDIRECT, 0, &want, 0);

	rep_vip.src = VIP2;
	build(&in, &rep);
	build(&want, &rep_vip);
	rep0 = fixture_counter(stats_fd, LB_CNT_REPLY);
	run(agent_fd, veb, &in, &r);
	expect("B3's answer reaches the client from VIP2:53 (rewritten at "
	       "the deliver hook the core runs on same-host hairpins)",
	       &r, XDP_REDIRECT, 0, &want, 0);
	check(fixture_counter(stats_fd, LB_CNT_REPLY_LOCAL) == loc0 + 1,
	      "lb_deliver saw the hairpin (no outer headers): reply_local + 1",
	      "reply_local did not grow by one");
	check(fixture_counter(stats_fd, LB_CNT_REPLY) == rep0,
	      "and did not count it as a remote reply",
	      "reply grew on a same-host hairpin");

	/* UDP without checksum: still none after the rewrite. */
	f.sport = fb.sport = 5001;
	f.udp_nocsum = fb.udp_nocsum = true;
	build(&in, &f);
	build(&want, &fb);
	run(agent_fd, vec, &in, &r);
	expect("a UDP datagram without checksum keeps checksum 0", &r,
	       XDP_REDIRECT, 0, &want, 0);
}

/* Which backend the table of VIP3 gives the flow, read from the table
 * the data path uses. */
static uint32_t vip3_backend(const struct flow *f, uint16_t *port)
{
	struct lb_flow k = { .vni = VNI,
			     .saddr = htonl(f->src),
			     .daddr = htonl(f->dst),
			     .sport = htons(f->sport),
			     .dport = htons(f->dport),
			     .proto = (uint8_t)f->proto };
	uint32_t idx = 2, id, slot = lb_flow_slot(&k);
	struct lb_addr a = {};
	int fd;

	/* VIP3 was the third VIP added: table slot 2. */
	if (bpf_map_lookup_elem(rings_fd, &idx, &id))
		return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	bpf_map_lookup_elem(fd, &slot, &a);
	close(fd);
	*port = ntohs(a.port);
	return ntohl(a.ip);
}

static void test_maglev_pick(void)
{
	bool seen[3] = {};
	char desc[160];

	for (uint16_t sport = 41000; sport < 41024; sport++) {
		struct flow f = mk(MAC_GW, MAC_C, C, VIP3, sport, 443,
				   IPPROTO_TCP, PKT_TCP_SYN);
		struct flow fb = f;
		struct pkt in, want;
		struct result r;
		uint16_t port = 0;
		uint32_t be = vip3_backend(&f, &port);

		fb.dst = be;
		fb.dport = port;
		if (be == B3)
			fb.dmac = MAC_B3;
		seen[be == B1 ? 0 : be == B2 ? 1 : 2] = true;
		build(&in, &f);
		build(&want, &fb);
		run(agent_fd, vec, &in, &r);
		snprintf(desc, sizeof(desc),
			 "VIP3 flow from port %u goes to the table's backend "
			 "10.0.1.%u:%u",
			 sport, be & 0xff, port);
		expect(desc, &r, XDP_REDIRECT, be == B3 ? 0 : ENCAP, &want, 0);
	}
	check(seen[0] && seen[1] && seen[2],
	      "24 flows of one client reach all three backends of VIP3",
	      "a backend got no flow");
}

/* The lb_conns key of @f as the data path builds it. */
static struct lb_flow conn_key(const struct flow *f)
{
	struct lb_flow k;

	memset(&k, 0, sizeof(k));
	k.vni = VNI;
	k.saddr = htonl(f->src);
	k.daddr = htonl(f->dst);
	k.sport = htons(f->sport);
	k.dport = htons(f->dport);
	k.proto = (uint8_t)f->proto;
	return k;
}

/* A slot holding @k on @be, its check as the data path computes it for
 * a backend @check_be (another than @be: a slot torn between writers). */
static struct lb_conn conn_slot(const struct lb_flow *k, uint32_t be,
				uint16_t port, uint32_t check_be,
				uint16_t check_port, uint32_t ref)
{
	struct lb_conn c;
	struct lb_addr cb = { .ip = htonl(check_be), .port = htons(check_port) };

	memset(&c, 0, sizeof(c));
	c.flow = *k;
	c.be.ip = htonl(be);
	c.be.port = htons(port);
	c.check = lb_conn_check(lb_flow_hash(k), &cb);
	c.ref = ref;
	return c;
}

/* @f (to VIP3) must leave for backend @be:@port. */
static void expect_vip3(const char *desc, const struct flow *f, uint32_t be,
			uint16_t port)
{
	struct flow fb = *f;
	struct pkt in, want;
	struct result r;

	fb.dst = be;
	fb.dport = port;
	if (be == B3)
		fb.dmac = MAC_B3;
	build(&in, f);
	build(&want, &fb);
	run(agent_fd, vec, &in, &r);
	expect(desc, &r, XDP_REDIRECT, be == B3 ? 0 : ENCAP, &want, 0);
}

/*
 * lb_conns is written by all CPUs without a lock (lb.h): a slot whose
 * check does not match its backend (torn between two writers) must read
 * as empty, never send the flow elsewhere; a full set gives up the slot
 * not used since its last eviction, whatever the hash would pick.
 */
static void test_conn_slots(void)
{
	struct flow f = mk(MAC_GW, MAC_C, C, VIP3, 42000, 443, IPPROTO_TCP,
			   PKT_TCP_ACK);
	struct flow x = f, y = f;
	struct lb_flow k = conn_key(&f), kx, ky;
	uint32_t h = lb_flow_hash(&k), idx = lb_conn_set_of(h), hb = h >> 31;
	int fd = nf_env_pinned(&env, "nfcfg/lb/lb_conns");
	uint64_t new0, ev0, hit0;
	struct lb_conn_set set;
	uint16_t port = 0, oport;
	uint32_t be = vip3_backend(&f, &port), other;

	/* A backend of VIP3 the table does not give this flow. */
	other = be == B1 ? B2 : B1;
	oport = other == B2 ? 8443 : 443;

	memset(&set, 0, sizeof(set));
	set.way[0] = conn_slot(&k, other, oport, be, port, 0);
	bpf_map_update_elem(fd, &idx, &set, BPF_ANY);
	new0 = fixture_counter(stats_fd, LB_CNT_NEW_CONN);
	expect_vip3("a torn slot (its check for another backend) is no "
		    "connection: the flow goes where the table says",
		    &f, be, port);
	check(fixture_counter(stats_fd, LB_CNT_NEW_CONN) == new0 + 1,
	      "and was placed afresh (new_conn + 1)",
	      "new_conn did not grow by one");

	set.way[0] = conn_slot(&k, other, oport, other, oport, 0);
	bpf_map_update_elem(fd, &idx, &set, BPF_ANY);
	hit0 = fixture_counter(stats_fd, LB_CNT_CONN_HIT);
	expect_vip3("a whole slot keeps its flow on its backend, not the "
		    "table's", &f, other, oport);
	check(fixture_counter(stats_fd, LB_CNT_CONN_HIT) == hit0 + 1 &&
		      !bpf_map_lookup_elem(fd, &idx, &set) &&
		      set.way[0].ref == 1,
	      "found in the table (conn_hit + 1), the slot marked used",
	      "no hit, or ref not set");

	/* Full set: the slot the hash bit picks was used (ref 1), the
	 * other not: the new flow takes the unused one. */
	x.sport = 42001;
	y.sport = 42002;
	kx = conn_key(&x);
	ky = conn_key(&y);
	memset(&set, 0, sizeof(set));
	set.way[hb] = conn_slot(&kx, B1, 443, B1, 443, 1);
	set.way[!hb] = conn_slot(&ky, B1, 443, B1, 443, 0);
	bpf_map_update_elem(fd, &idx, &set, BPF_ANY);
	ev0 = fixture_counter(stats_fd, LB_CNT_CONN_EVICTED);
	f.tcp_flags = PKT_TCP_SYN;
	expect_vip3("a SYN into a full set is placed by the table", &f, be,
		    port);
	check(!bpf_map_lookup_elem(fd, &idx, &set) &&
		      !memcmp(&set.way[!hb].flow, &k, sizeof(k)) &&
		      !memcmp(&set.way[hb].flow, &kx, sizeof(kx)) &&
		      set.way[hb].ref == 0 &&
		      fixture_counter(stats_fd, LB_CNT_CONN_EVICTED) == ev0 + 1,
	      "it took the slot not used since (conn_evicted + 1); the used "
	      "one stays, to be used again before the next eviction",
	      "wrong slot given up, ref kept, or no conn_evicted");
	memset(&set, 0, sizeof(set));
	bpf_map_update_elem(fd, &idx, &set, BPF_ANY);
	close(fd);
}

static void test_untouched(void)
{
	struct flow other =
		mk(MAC_GW, MAC_C, C, B1, 40000, 80, IPPROTO_TCP, PKT_TCP_SYN);
	struct flow port =
		mk(MAC_GW, MAC_C, C, VIP1, 40000, 81, IPPROTO_TCP, PKT_TCP_SYN);
	struct flow proto =
		mk(MAC_GW, MAC_C, C, VIP1, 40000, 80, IPPROTO_UDP, 0);
	struct pkt in;
	struct result r;
	uint64_t new0 = fixture_counter(stats_fd, LB_CNT_NEW_CONN);

	build(&in, &other);
	run(agent_fd, vec, &in, &r);
	expect("traffic to a backend's own address is not balanced", &r,
	       XDP_REDIRECT, ENCAP, &in, 0);
	build(&in, &port);
	run(agent_fd, vec, &in, &r);
	expect("the VIP on another port is not balanced", &r, XDP_REDIRECT,
	       ENCAP, &in, 0);
	build(&in, &proto);
	run(agent_fd, vec, &in, &r);
	expect("the VIP's port in another protocol is not balanced", &r,
	       XDP_REDIRECT, ENCAP, &in, 0);
	check(fixture_counter(stats_fd, LB_CNT_NEW_CONN) == new0,
	      "none of them made a connection", "new_conn grew");
}

/* A service of VNI 100 on tcp port 80 whose lb_vip_filter slot is VIP1's
 * (the filter counts services per slot, so such keys share one). */
static uint32_t vip1_slot_mate(void)
{
	uint32_t want = lb_vip_slot(VNI, htonl(VIP1), htons(80), IPPROTO_TCP);

	for (uint32_t a = 1; a < 65536; a++) {
		uint32_t ip = IP4(10, 98, 0, 0) | a;

		if (lb_vip_slot(VNI, htonl(ip), htons(80), IPPROTO_TCP) == want)
			return ip;
	}
	fprintf(stderr, "no address shares VIP1's filter slot\n");
	exit(1);
}

/* The VIP filter: a key that shares a VIP's slot is no VIP; a slot counts
 * its VIPs, so deleting one leaves the other balanced. */
static void test_vip_filter(void)
{
	uint32_t mate = vip1_slot_mate();
	struct flow f =
		mk(MAC_GW, MAC_C, C, mate, 43000, 80, IPPROTO_TCP, PKT_TCP_SYN);
	struct flow v1 =
		mk(MAC_GW, MAC_C, C, VIP1, 43000, 80, IPPROTO_TCP, PKT_TCP_SYN);
	struct flow v1b = v1;
	struct pkt in, want;
	struct result r;
	uint64_t new0 = fixture_counter(stats_fd, LB_CNT_NEW_CONN);
	char cmd[160], ipbuf[16];

	build(&in, &f);
	run(agent_fd, vec, &in, &r);
	expect("a SYN to an address sharing VIP1's filter slot, no VIP, is "
	       "not balanced",
	       &r, XDP_REDIRECT, ENCAP, &in, 0);
	check(fixture_counter(stats_fd, LB_CNT_NEW_CONN) == new0,
	      "and made no connection", "new_conn grew");

	inet_ntop(AF_INET, &(uint32_t){ htonl(mate) }, ipbuf, sizeof(ipbuf));
	snprintf(cmd, sizeof(cmd),
		 "vip add vni 100 vip %s port 80 proto tcp backends 10.0.1.4",
		 ipbuf);
	lb(cmd);
	snprintf(cmd, sizeof(cmd), "vip del vni 100 vip %s port 80 proto tcp",
		 ipbuf);
	lb(cmd);
	v1b.dst = B1;
	v1b.dport = 8080;
	build(&in, &v1);
	build(&want, &v1b);
	run(agent_fd, vec, &in, &r);
	expect("after a VIP sharing VIP1's slot came and went, a new "
	       "connection to VIP1 is still balanced (to B1:8080)",
	       &r, XDP_REDIRECT, ENCAP, &want, 0);
	check(fixture_counter(stats_fd, LB_CNT_NEW_CONN) == new0 + 1,
	      "placed by the Maglev table (new_conn + 1)",
	      "new_conn did not grow by one");
}

static void test_no_backend(void)
{
	struct flow f =
		mk(MAC_GW, MAC_C, C, VIP1, 42000, 80, IPPROTO_TCP, PKT_TCP_SYN);
	struct pkt in;
	struct result r;
	uint64_t nb0 = fixture_counter(stats_fd, LB_CNT_NO_BACKEND);
	uint64_t d0 = fixture_counter(core_stats_fd, MZR_CNT_DROP_BASE + MZR_DROP_NF);

	lb("backend del vni 100 vip 10.99.0.1 port 80 proto tcp "
	   "backend 10.0.1.3:8080");
	build(&in, &f);
	run(agent_fd, vec, &in, &r);
	check(r.verdict == XDP_DROP,
	      "a new connection to a VIP without backend is dropped",
	      "not dropped");
	check(fixture_counter(stats_fd, LB_CNT_NO_BACKEND) == nb0 + 1 &&
		      fixture_counter(core_stats_fd, MZR_CNT_DROP_BASE + MZR_DROP_NF) ==
			      d0 + 1,
	      "counted as no_backend and as drop reason nf",
	      "counters did not grow by one");
	/* The established connection of test_remote_backend stays. */
	f.sport = 40000;
	f.tcp_flags = PKT_TCP_ACK;
	build(&in, &f);
	run(agent_fd, vec, &in, &r);
	check(r.verdict == XDP_REDIRECT,
	      "an established connection outlives its backend's removal",
	      "dropped");
}

/*
 * Kernels 5.15-6.1 accept an inner map into lb_rings only when its layout
 * as derived from BTF (bpf_map_meta_equal(): timer_off) equals the
 * template's, which libbpf creates from the object's declaration: the
 * tool's rings and that template must carry the same BTF key/value types.
 * (Later kernels compare BTF records instead, which hides a mismatch.)
 */
static void test_ring_matches_template(void)
{
	struct mizar_lb_bpf *skel = mizar_lb_bpf__open();
	struct bpf_map *tmpl = skel ? bpf_map__inner_map(skel->maps.lb_rings) :
				      NULL;
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), idx = 0, id = 0;
	int fd = -1;
	char why[160];

	if (!bpf_map_lookup_elem(rings_fd, &idx, &id))
		fd = bpf_map_get_fd_by_id(id);
	if (!tmpl || fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		check(false, "the installed Maglev table can be inspected",
		      strerror(errno));
		goto out;
	}
	snprintf(why, sizeof(why),
		 "template BTF key/value types %u/%u, ring's %u/%u",
		 bpf_map__btf_key_type_id(tmpl),
		 bpf_map__btf_value_type_id(tmpl), info.btf_key_type_id,
		 info.btf_value_type_id);
	check(bpf_map__btf_key_type_id(tmpl) == info.btf_key_type_id &&
		      bpf_map__btf_value_type_id(tmpl) ==
			      info.btf_value_type_id &&
		      bpf_map__key_size(tmpl) == info.key_size &&
		      bpf_map__value_size(tmpl) == info.value_size &&
		      bpf_map__max_entries(tmpl) == info.max_entries,
	      "a Maglev table is created as the lb_rings template is "
	      "(kernels 5.15-6.1 refuse any other)", why);
out:
	if (fd >= 0)
		close(fd);
	mizar_lb_bpf__destroy(skel);
}

/* The connections lb_conns holds: its slots that are not empty. */
static uint64_t conn_entries(void)
{
	int fd = nf_env_pinned(&env, "nfcfg/lb/lb_conns");
	struct lb_conn_set set;
	uint64_t n = 0;

	for (uint32_t i = 0; i < LB_CONN_SETS; i++)
		if (!bpf_map_lookup_elem(fd, &i, &set))
			for (int w = 0; w < LB_CONN_WAYS; w++)
				n += set.way[w].be.ip != 0;
	close(fd);
	return n;
}

static uint64_t map_entries(const char *pin)
{
	int fd = nf_env_pinned(&env, pin);
	struct lb_flow k, *prev = NULL;
	uint64_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		n++;
		prev = &k;
	}
	close(fd);
	return n;
}

/* A new connection from @sport to @vip:80 placed on @be:@bport (remote,
 * on H2), then @be's SYN-ACK delivered here: it must reach the client
 * from the VIP. */
static void connect_and_reply(const char *what, uint32_t vip, uint32_t be,
			      uint16_t bport, const uint8_t *be_mac,
			      uint16_t sport)
{
	struct flow f = mk(MAC_GW, MAC_C, C, vip, sport, 80, IPPROTO_TCP,
			   PKT_TCP_SYN);
	struct flow fb = f, rep = mk(MAC_C, be_mac, be, C, bport, sport,
				     IPPROTO_TCP, PKT_TCP_SYN | PKT_TCP_ACK);
	struct flow rep_vip = rep;
	struct pkt in, want, tun;
	struct result r;
	char desc[160];

	fb.dst = be;
	fb.dport = bport;
	build(&in, &f);
	build(&want, &fb);
	run(agent_fd, vec, &in, &r);
	snprintf(desc, sizeof(desc), "%s: the SYN goes to the backend", what);
	expect(desc, &r, XDP_REDIRECT, ENCAP, &want, 0);
	build(&in, &rep);
	tunnel_from_h2(&tun, &in);
	rep_vip.src = vip;
	rep_vip.sport = 80;
	build(&want, &rep_vip);
	run(transit_fd, ul0, &tun, &r);
	snprintf(desc, sizeof(desc),
		 "%s: the backend's SYN-ACK reaches the client from the VIP",
		 what);
	expect(desc, &r, XDP_REDIRECT, 0, &want, 0);
}

/*
 * One write per new connection: a backend of one VIP (lb_backends lists
 * it) gets no lb_rconns entry, its replies find the connection through
 * lb_conns; a backend of more VIPs than lb_backends lists gets one.
 */
static void test_reply_entries(void)
{
	uint64_t c0 = conn_entries();
	uint64_t r0 = map_entries("nfcfg/lb/lb_rconns");
	char args[160];

	connect_and_reply("VIP1 (B1:8080 serves one VIP)", VIP1, B1, 8080,
			  MAC_B1, 40100);
	check(conn_entries() == c0 + 1 &&
		      map_entries("nfcfg/lb/lb_rconns") == r0,
	      "a new connection to a backend of one VIP writes one entry "
	      "(lb_conns), none in lb_rconns",
	      "lb_rconns grew, or lb_conns did not grow by one");

	/* B2:7000 behind LB_REV_VIPS + 1 VIPs. */
	for (int i = 0; i <= LB_REV_VIPS; i++) {
		snprintf(args, sizeof(args),
			 "vip add vni 100 vip 10.99.1.%d port 80 proto tcp "
			 "backends 10.0.1.4:7000", i + 1);
		lb(args);
	}
	r0 = map_entries("nfcfg/lb/lb_rconns");
	connect_and_reply("a VIP of B2:7000, a backend of 5 VIPs",
			  IP4(10, 99, 1, 1), B2, 7000, MAC_B2, 40200);
	check(map_entries("nfcfg/lb/lb_rconns") == r0 + 1,
	      "a backend of more VIPs than lb_backends lists gets the reply "
	      "direction in lb_rconns",
	      "lb_rconns did not grow by one");
}

int main(void)
{
	setup();
	test_ring_matches_template();
	test_remote_backend();
	test_local_backend();
	test_reply_entries();
	test_maglev_pick();
	test_conn_slots();
	test_untouched();
	test_vip_filter();
	test_no_backend();
	printf("%d of %d checks failed\n", failures, checks);
	return failures || !checks;
}
