// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-nat, packet by packet, on the real core loaded by libmizar
 * (tests/pkt/core_env.c: this host, 192.168.1.1, is a divider of VPC B,
 * whose network 10.2.1.0/24 is bounced by H3). The NF's two programs are
 * chained into the divider and external hooks as mizar-nat attaches them,
 * rules are written into its maps, and frames go through the transit
 * program (BPF_PROG_TEST_RUN). Outside hosts are underlay neighbours that
 * are no Mizar hosts (OUT: resolved; OUT_COLD: not); OUT is one (an
 * endpoint's host): SNAT never reaches it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include <mizar/nf.h>

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"
#include "nat.h"

#define DROP(r) (MZR_CNT_DROP_BASE + (r))
#define EP IP4(10, 2, 1, 7)	/* VPC B endpoint behind bouncer H3 */
#define EP_NORULE IP4(10, 2, 2, 7) /* VPC B, no SNAT rule */

#define OUT H7
#define OUT_COLD IP4(192, 168, 1, 98)

static const uint8_t MAC_GW[6] = { 0x02, 0, 10, 2, 1, 1 };
static const uint8_t MAC_OUT[6] = { 0x02, 0xbb, 0, 0, 0, 0x07 };

static struct core_env env;
static int fd_snat, fd_dnat, fd_out, fd_in, fd_stats, fd_cfg;

static struct mzr_nf *loaded[2]; /* closed at the end (LeakSanitizer) */
static int n_loaded;

/* Load one program of the NAT object and chain it as `mizar-nat attach`
 * does; its maps are pinned so that both programs share them. */
static void load(const char *prog, enum mzr_hook hook, const char *name)
{
	MZR_OPTS(mzr_nf_open_opts, o, .prog_name = prog);
	struct bpf_object *obj;
	struct bpf_map *map;
	struct mzr_nf *nf;
	int err;

	nf = mzr_nf__open_file(NAT_BPF_OBJECT, &o);
	if (!nf)
		test_die_err(NAT_BPF_OBJECT, errno);
	obj = mzr_nf__bpf_object(nf);
	bpf_object__for_each_map(map, obj) {
		char path[256];

		if (strncmp(bpf_map__name(map), "nat_", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%s", env.pin_root,
			 bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err)
			test_die_err("bpf_map__set_pin_path", err);
	}
	err = mzr_nf__load(nf, env.host);
	if (err)
		test_die_err("mzr_nf__load", err);
	err = mzr_host__nf_insert(env.host, name, nf, hook, MZR_NF_POS_END);
	if (err)
		test_die_err("mzr_host__nf_insert", err);
	loaded[n_loaded++] = nf;
	fd_snat = bpf_object__find_map_fd_by_name(obj, NAT_SNAT_MAP);
	fd_dnat = bpf_object__find_map_fd_by_name(obj, NAT_DNAT_MAP);
	fd_out = bpf_object__find_map_fd_by_name(obj, NAT_CT_OUT_MAP);
	fd_in = bpf_object__find_map_fd_by_name(obj, NAT_CT_IN_MAP);
	fd_stats = bpf_object__find_map_fd_by_name(obj, NAT_STATS_MAP);
	fd_cfg = bpf_object__find_map_fd_by_name(obj, NAT_CFG_MAP);
	if (fd_snat < 0 || fd_dnat < 0 || fd_out < 0 || fd_in < 0 ||
	    fd_stats < 0 || fd_cfg < 0)
		test_die_err("NAT maps", ENOENT);
	/* The fds stay valid: the handle keeps the object open. */
}

static void rules(void)
{
	struct nat_snat_key sk = { .prefixlen = 32 + 24,
				   .vni = htonl(VNI_B),
				   .addr = htonl(IP4(10, 2, 1, 0)) };
	struct nat_snat_val sv = { .to = htonl(US),
				   .prefix = htonl(IP4(10, 2, 1, 0)),
				   .plen = 24, .vni = VNI_B };
	struct nat_dnat_key dk = { .ext_ip = htonl(US), .ext_port = htons(8080),
				   .proto = 6 };
	struct nat_dnat_val dv = { .vni = VNI_B, .ip = htonl(EP),
				   .port = htons(80) };

	if (bpf_map_update_elem(fd_snat, &sk, &sv, BPF_ANY) ||
	    bpf_map_update_elem(fd_dnat, &dk, &dv, BPF_ANY))
		test_die_err("NAT rules", errno);
}

static uint64_t nat_counter(uint32_t idx)
{
	return fixture_counter(fd_stats, idx);
}

/* Run @in through the transit program on the underlay. */
static int run(const struct pkt *in, struct pkt *out)
{
	return fixture_xdp_run(env.transit_fd, env.ul0, in, out);
}

/* @got must be @want byte for byte, with valid checksums. */
static void expect_frame(const char *what, int verdict, int want_verdict,
			 const struct pkt *got, const struct pkt *want)
{
	char why[128] = "";
	bool same = got->len == want->len &&
		    !memcmp(got->data, want->data, got->len);
	bool sums = pkt_checksums_ok(got->data, got->len, why, sizeof(why));

	CHECK(verdict == want_verdict && same && sums, "%s (%s%s%s)", what,
	      fixture_verdict_name(verdict), sums ? "" : ", checksums: ",
	      sums ? "" : why);
	if (!same)
		fixture_hexdiff(want->data, want->len, got->data, got->len);
}

/* A tunnel frame from bouncer H3 carrying @inner of VPC B. */
static void from_h3(struct pkt *p, const struct pkt *inner)
{
	struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H3, .src = H3,
				.dst = US, .sport = 51000, .vni = VNI_B,
				.rts = H3 };

	build_encap(p, &o, inner);
}

/* What this divider sends to bouncer H3 for plain @inner it injected. */
static void to_h3(struct pkt *p, const struct inner_spec *s)
{
	struct inner_spec routed = *s;
	struct outer_spec o = { .dmac = MAC_H3, .smac = MAC_US, .src = US,
				.dst = H3, .ttl = 63, .vni = VNI_B, .rts = US,
				.flags = MZR_F_ROUTED };
	struct pkt inner;

	o.sport = flow_sport(s);
	routed.ttl = 63;
	build_inner(&inner, &routed);
	build_encap(p, &o, &inner);
}

/* The translated port of the connection (VPC B, @ep:@eport -> @rem:@rport). */
static uint16_t nat_port(uint32_t ep, uint16_t eport, uint32_t rem,
			 uint16_t rport, uint8_t proto)
{
	struct nat_ct_out_key k = { .vni = VNI_B, .ep_ip = htonl(ep),
				    .remote_ip = htonl(rem),
				    .ep_port = htons(eport),
				    .remote_port = htons(rport),
				    .proto = proto };
	struct nat_ct_out_val v;

	if (bpf_map_lookup_elem(fd_out, &k, &v))
		return 0;
	return ntohs(v.nat_port);
}

static void snat_udp(void)
{
	struct inner_spec s = { .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				.dst = OUT, .sport = 40000, .dport = 53,
				.payload = 24 };
	struct inner_spec w;
	struct pkt inner, in, got, want;
	uint64_t new0 = nat_counter(NAT_C_SNAT_NEW);
	uint16_t port;
	int v;

	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 40000, OUT, 53, 17);
	CHECK(port >= NAT_PORT_MIN, "snat: a new UDP connection gets a port "
	      "of the pool (%u)", port);
	CHECK(nat_counter(NAT_C_SNAT_NEW) == new0 + 1,
	      "snat: counted as a new connection");
	w = s;
	w.dmac = MAC_OUT;
	w.smac = MAC_US;
	w.src = US;
	w.sport = port;
	w.ttl = 63;
	build_inner(&want, &w);
	expect_frame("snat: an endpoint's UDP to an outside host leaves "
		     "decapsulated from this host's address and the new port, "
		     "TTL - 1, to the FIB's next hop", v, XDP_TX, &got, &want);

	v = run(&in, &got);
	expect_frame("snat: the next packet of the connection keeps its port",
		     v, XDP_TX, &got, &want);
	CHECK(nat_counter(NAT_C_SNAT_NEW) == new0 + 1,
	      "snat: no second connection for it");

	/* The reply, plain on the underlay. */
	w = (struct inner_spec){ .dmac = MAC_US, .smac = MAC_OUT, .src = OUT,
				 .dst = US, .sport = 53, .dport = port,
				 .payload = 24 };
	build_inner(&in, &w);
	v = run(&in, &got);
	w.dst = EP;
	w.dport = 40000;
	to_h3(&want, &w);
	expect_frame("snat: the reply is restored to the endpoint, injected "
		     "into VPC B and routed to its bouncer", v, XDP_TX, &got,
		     &want);
}

static void snat_tcp_icmp(void)
{
	struct inner_spec s = { .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				.dst = OUT, .proto = 6, .sport = 41000,
				.dport = 443 };
	struct inner_spec w;
	struct pkt inner, in, got, want;
	uint16_t port;
	int v;

	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 41000, OUT, 443, 6);
	w = s;
	w.dmac = MAC_OUT;
	w.smac = MAC_US;
	w.src = US;
	w.sport = port;
	w.ttl = 63;
	build_inner(&want, &w);
	expect_frame("snat: a TCP SYN leaves translated, TCP checksum valid",
		     v, XDP_TX, &got, &want);

	/* ICMP echo: the id (7 in build_inner) is the port. */
	s = (struct inner_spec){ .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				 .dst = OUT, .proto = 1 };
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 7, OUT, 0, 1);
	CHECK(port >= NAT_PORT_MIN, "snat: a ping gets an echo id of the "
	      "pool (%u)", port);
	{
		char why[128] = "";
		const uint8_t *ip = got.data + 14, *icmp = ip + 20;
		bool ok = v == XDP_TX && got.len >= 14 + 20 + 8 &&
			  !memcmp(ip + 12, &(uint32_t){ htonl(US) }, 4) &&
			  icmp[0] == 8 && (icmp[4] << 8 | icmp[5]) == port &&
			  pkt_checksums_ok(got.data, got.len, why, sizeof(why));

		CHECK(ok, "snat: the echo request leaves from this host with "
		      "the new id, ICMP checksum valid %s", why);
	}
}

static void snat_refused(void)
{
	struct inner_spec s = { .dmac = MAC_GW, .smac = MAC_REMOTE,
				.src = EP_NORULE, .dst = OUT, .sport = 40000,
				.dport = 53 };
	struct pkt inner, in, got;
	uint64_t nr = fixture_counter(env.stats_fd, DROP(MZR_DROP_NO_ROUTE));
	uint64_t ttl = fixture_counter(env.stats_fd,
				       DROP(MZR_DROP_TTL_EXPIRED));
	uint64_t kern = nat_counter(NAT_C_KERNEL);
	int v;

	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_DROP &&
		      fixture_counter(env.stats_fd,
				      DROP(MZR_DROP_NO_ROUTE)) == nr + 1,
	      "snat: a source without a rule is dropped by the core as "
	      "no_route (%s)", fixture_verdict_name(v));

	s.src = EP;
	s.frag_off = 0x2000; /* first fragment */
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_DROP &&
		      fixture_counter(env.stats_fd,
				      DROP(MZR_DROP_NO_ROUTE)) == nr + 2,
	      "snat: a fragment is not translated (no_route) (%s)",
	      fixture_verdict_name(v));

	s.frag_off = 0;
	s.ttl = 1;
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_DROP &&
		      fixture_counter(env.stats_fd,
				      DROP(MZR_DROP_TTL_EXPIRED)) == ttl + 1,
	      "snat: inner TTL 1 is dropped as ttl_expired (%s)",
	      fixture_verdict_name(v));

	/* OUT_COLD has no neighbour entry: the kernel routes it. */
	s.ttl = 0;
	s.dst = OUT_COLD;
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_PASS && nat_counter(NAT_C_KERNEL) == kern + 1 &&
		      got.len > 14 && !memcmp(got.data, MAC_US, 6) &&
		      !memcmp(got.data + 14 + 12, &(uint32_t){ htonl(US) }, 4),
	      "snat: next hop unresolved: the translated frame goes to this "
	      "host's kernel, addressed to its MAC (%s)",
	      fixture_verdict_name(v));
}

/* The external path never reaches the underlay's Mizar hosts nor a
 * prefix the operator protects (docs/security.md, rule 4). */
static void snat_to_underlay(void)
{
	struct inner_spec s = { .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				.dst = H5, .sport = 40001, .dport = 6081,
				.payload = 24 };
	struct pkt inner, in, got;
	uint64_t d0 = fixture_counter(env.stats_fd,
				      DROP(MZR_DROP_TO_UNDERLAY));
	int v;

	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_DROP && fixture_counter(env.stats_fd,
					       DROP(MZR_DROP_TO_UNDERLAY)) ==
				       d0 + 1,
	      "snat: UDP to a known peer's port 6081 (H5, an endpoint's "
	      "host) is dropped as to_underlay (%s)", fixture_verdict_name(v));

	test_api(mzr_host__protect_add(env.host, test_in4(IP4(192, 168, 1, 96)),
				       30),
		 "mzr_host__protect_add");
	s.dst = OUT_COLD;
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_DROP && fixture_counter(env.stats_fd,
					       DROP(MZR_DROP_TO_UNDERLAY)) ==
				       d0 + 2,
	      "snat: an outside host inside a protected prefix "
	      "(192.168.1.96/30) is dropped as to_underlay (%s)",
	      fixture_verdict_name(v));
	test_api(mzr_host__protect_delete(env.host,
					  test_in4(IP4(192, 168, 1, 96)), 30),
		 "mzr_host__protect_delete");
	v = run(&in, &got);
	CHECK(v == XDP_PASS, "snat: once unprotected it leaves again (%s)",
	      fixture_verdict_name(v));
}

static void dnat(void)
{
	struct inner_spec s = { .dmac = MAC_US, .smac = MAC_OUT, .src = OUT,
				.dst = US, .proto = 6, .sport = 33333,
				.dport = 8080 };
	struct inner_spec w;
	struct pkt inner, in, got, want;
	int v;

	build_inner(&in, &s);
	v = run(&in, &got);
	w = s;
	w.dst = EP;
	w.dport = 80;
	to_h3(&want, &w);
	expect_frame("dnat: a connection to this host's port 8080 is "
		     "forwarded to endpoint 10.2.1.7:80 in VPC B", v, XDP_TX,
		     &got, &want);

	s = (struct inner_spec){ .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				 .dst = OUT, .proto = 6, .sport = 80,
				 .dport = 33333 };
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	w = s;
	w.dmac = MAC_OUT;
	w.smac = MAC_US;
	w.src = US;
	w.sport = 8080;
	w.ttl = 63;
	build_inner(&want, &w);
	expect_frame("dnat: the endpoint's reply leaves from this host's "
		     "port 8080", v, XDP_TX, &got, &want);

	s = (struct inner_spec){ .dmac = MAC_US, .smac = MAC_OUT, .src = OUT,
				 .dst = US, .sport = 5555, .dport = 9999,
				 .payload = 8 };
	build_inner(&in, &s);
	v = run(&in, &got);
	expect_frame("external: traffic for this host without a rule goes "
		     "to its kernel unchanged", v, XDP_PASS, &got, &in);
}

/* ---- ICMP errors ---------------------------------------------------------- */

/*
 * An ICMP error @type/@code/@rest from @src to @dst (TTL @ttl) between
 * @smac and @dmac, quoting @qlen bytes of the IPv4 datagram in frame @q.
 */
static void build_icmp_err(struct pkt *p, const uint8_t *dmac,
			   const uint8_t *smac, uint32_t src, uint32_t dst,
			   uint8_t ttl, uint8_t type, uint8_t code,
			   uint32_t rest, const struct pkt *q, size_t qlen)
{
	struct pkt_ipv4_opts o = { .ttl = ttl };

	pkt_init(p);
	pkt_eth(p, dmac, smac, PKT_ETH_P_IPV4);
	pkt_ipv4(p, src, dst, 1, &o);
	pkt_icmp(p, type, code, rest);
	pkt_payload(p, q->data + 14, qlen);
	pkt_finish(p);
}

/* A datagram as quoted: UDP or TCP @src:@sport -> @dst:@dport, TTL 60,
 * 24 bytes of payload, checksums complete. */
static void quoted(struct pkt *q, uint8_t proto, uint32_t src, uint16_t sport,
		   uint32_t dst, uint16_t dport)
{
	struct pkt_ipv4_opts o = { .ttl = 60, .frag_off = 0x4000 };

	pkt_init(q);
	pkt_eth(q, MAC_ZERO, MAC_ZERO, PKT_ETH_P_IPV4);
	pkt_ipv4(q, src, dst, proto, &o);
	if (proto == 6)
		pkt_tcp(q, sport, dport, 1000, 2000, PKT_TCP_ACK);
	else if (proto == 17)
		pkt_udp(q, sport, dport);
	else
		pkt_icmp_echo(q, sport ? 8 : 0, sport ? sport : dport, 1);
	pkt_payload_pattern(q, 24);
	pkt_finish(q);
}

/* What this divider sends bouncer H3 for @inner it injected into VPC B
 * (already routed: TTL - 1), the outer source port from @flow. */
static void to_h3_pkt(struct pkt *p, const struct pkt *inner,
		      const struct inner_spec *flow)
{
	struct outer_spec o = { .dmac = MAC_H3, .smac = MAC_US, .src = US,
				.dst = H3, .ttl = 63, .vni = VNI_B, .rts = US,
				.flags = MZR_F_ROUTED };

	o.sport = flow_sport(flow);
	build_encap(p, &o, inner);
}

static void icmp_errors(void)
{
	uint16_t port = nat_port(EP, 40000, OUT, 53, 17);
	uint16_t tport = nat_port(EP, 41000, OUT, 443, 6);
	uint16_t echo_id = nat_port(EP, 7, OUT, 0, 1);
	struct inner_spec icmp_flow = { .src = OUT, .dst = EP, .proto = 1 };
	struct pkt q, in, got, want, inner;
	uint64_t c0;
	int v;

	CHECK(port && tport && echo_id,
	      "icmp: the udp, tcp and echo connections of the tests above "
	      "exist (%u, %u, %u)", port, tport, echo_id);

	/* A router on the way says the UDP datagram is too big. */
	quoted(&q, 17, US, port, OUT, 53);
	build_icmp_err(&in, MAC_US, MAC_OUT, OUT, US, 64, 3, 4, 1300, &q,
		       q.len - 14);
	quoted(&q, 17, EP, 40000, OUT, 53);
	build_icmp_err(&inner, MAC_US, MAC_OUT, OUT, EP, 63, 3, 4, 1300, &q,
		       q.len - 14);
	to_h3_pkt(&want, &inner, &icmp_flow);
	c0 = nat_counter(NAT_C_ICMP_IN);
	v = run(&in, &got);
	expect_frame("icmp: fragmentation needed (MTU 1300) about a UDP "
		     "connection goes to its endpoint: to 10.2.1.7, quoting "
		     "the datagram as the endpoint sent it (source, port, "
		     "quoted IPv4 and UDP checksums, ICMP checksum), "
		     "injected into VPC B", v, XDP_TX, &got, &want);
	CHECK(nat_counter(NAT_C_ICMP_IN) == c0 + 1,
	      "icmp: counted icmp_err_in");

	/* A TCP segment quoted whole (its checksum too), host unreachable. */
	quoted(&q, 6, US, tport, OUT, 443);
	build_icmp_err(&in, MAC_US, MAC_OUT, OUT, US, 64, 3, 1, 0, &q,
		       q.len - 14);
	quoted(&q, 6, EP, 41000, OUT, 443);
	build_icmp_err(&inner, MAC_US, MAC_OUT, OUT, EP, 63, 3, 1, 0, &q,
		       q.len - 14);
	to_h3_pkt(&want, &inner, &icmp_flow);
	v = run(&in, &got);
	expect_frame("icmp: host unreachable quoting a whole TCP segment: "
		     "the quoted TCP checksum follows its address and port",
		     v, XDP_TX, &got, &want);

	/* Time exceeded about a ping: the quoted echo id is restored. */
	quoted(&q, 1, US, echo_id, OUT, 0);
	build_icmp_err(&in, MAC_US, MAC_OUT, OUT, US, 64, 11, 0, 0, &q, 28);
	quoted(&q, 1, EP, 7, OUT, 0);
	build_icmp_err(&inner, MAC_US, MAC_OUT, OUT, EP, 63, 11, 0, 0, &q, 28);
	to_h3_pkt(&want, &inner, &icmp_flow);
	v = run(&in, &got);
	expect_frame("icmp: time exceeded about a ping (header + 8 bytes "
		     "quoted): the echo id and echo checksum are restored", v,
		     XDP_TX, &got, &want);

	/* The endpoint says "port unreachable" about the outside's reply. */
	quoted(&q, 17, OUT, 53, EP, 40000);
	build_icmp_err(&inner, MAC_GW, MAC_REMOTE, EP, OUT, 64, 3, 3, 0, &q,
		       q.len - 14);
	from_h3(&in, &inner);
	quoted(&q, 17, OUT, 53, US, port);
	build_icmp_err(&want, MAC_OUT, MAC_US, US, OUT, 63, 3, 3, 0, &q,
		       q.len - 14);
	c0 = nat_counter(NAT_C_ICMP_OUT);
	v = run(&in, &got);
	expect_frame("icmp: the endpoint's port unreachable about a reply "
		     "leaves from this host, quoting the datagram as the "
		     "outside host sent it", v, XDP_TX, &got, &want);
	CHECK(nat_counter(NAT_C_ICMP_OUT) == c0 + 1,
	      "icmp: counted icmp_err_out");

	/* About no connection: the host's kernel's business. */
	quoted(&q, 17, US, 5555, OUT, 53);
	build_icmp_err(&in, MAC_US, MAC_OUT, OUT, US, 64, 3, 4, 1300, &q,
		       q.len - 14);
	v = run(&in, &got);
	expect_frame("icmp: an error about no connection goes to this "
		     "host's kernel unchanged", v, XDP_PASS, &got, &in);
}

/* ---- Timeouts ------------------------------------------------------------- */

/* Make both halves of connection (VPC B, @ep:@eport -> @rem:@rport) look
 * idle for @secs. */
static void age(uint32_t ep, uint16_t eport, uint32_t rem, uint16_t rport,
		uint8_t proto, uint64_t secs)
{
	struct nat_ct_out_key ok = { .vni = VNI_B, .ep_ip = htonl(ep),
				     .remote_ip = htonl(rem),
				     .ep_port = htons(eport),
				     .remote_port = htons(rport),
				     .proto = proto };
	struct nat_ct_in_key ik = {};
	struct nat_ct_out_val ov;
	struct nat_ct_in_val iv;
	uint64_t then = mono_ns() - secs * 1000000000ULL;

	if (bpf_map_lookup_elem(fd_out, &ok, &ov))
		test_die_err("age: no such connection", ENOENT);
	ik.remote_ip = ok.remote_ip;
	ik.nat_ip = ov.nat_ip;
	ik.remote_port = ok.remote_port;
	ik.nat_port = ov.nat_port;
	ik.proto = proto;
	if (bpf_map_lookup_elem(fd_in, &ik, &iv))
		test_die_err("age: no ingress entry", ENOENT);
	ov.seen_ns = then;
	iv.seen_ns = then;
	if (bpf_map_update_elem(fd_out, &ok, &ov, BPF_EXIST) ||
	    bpf_map_update_elem(fd_in, &ik, &iv, BPF_EXIST))
		test_die_err("age", errno);
}

/* Seconds since the ingress entry of the connection was stamped. */
static uint64_t in_idle(uint32_t ep, uint16_t eport, uint32_t rem,
			uint16_t rport, uint8_t proto)
{
	struct nat_ct_in_key ik = { .remote_ip = htonl(rem),
				    .nat_ip = htonl(US),
				    .remote_port = htons(rport),
				    .nat_port = htons(nat_port(ep, eport, rem,
							       rport, proto)),
				    .proto = proto };
	struct nat_ct_in_val iv;

	if (bpf_map_lookup_elem(fd_in, &ik, &iv))
		return 0;
	return (mono_ns() - iv.seen_ns) / 1000000000ULL;
}

static void set_timeout(enum nat_timeout_kind k, uint32_t sec)
{
	struct nat_cfg cfg = {};
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(fd_cfg, &zero, &cfg))
		test_die_err("nat_cfg", errno);
	cfg.timeout_sec[k] = sec;
	if (bpf_map_update_elem(fd_cfg, &zero, &cfg, BPF_ANY))
		test_die_err("nat_cfg", errno);
}

/* The outside host @rem:@rport sending to this host's @port (UDP, or a
 * TCP ACK): what nat_entry makes of it. */
static int from_outside(uint8_t proto, uint32_t rem, uint16_t rport,
			uint16_t port, struct pkt *got)
{
	struct inner_spec w = { .dmac = MAC_US, .smac = MAC_OUT, .src = rem,
				.dst = US, .proto = proto, .sport = rport,
				.dport = port, .payload = 8 };
	struct pkt in;

	build_inner(&in, &w);
	return run(&in, got);
}

/*
 * Timeouts are set short (UDP 30 s, TCP 60 s) so that entries can be
 * aged within the machine's uptime (the monotonic clock starts at boot).
 */
static void expiry(void)
{
	struct inner_spec s = { .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				.dst = OUT, .sport = 40100, .dport = 53,
				.payload = 8 };
	uint32_t nf_drop = DROP(MZR_DROP_NF);
	struct pkt inner, in, got, q;
	uint64_t exp0, drop0, new0;
	uint16_t port, tport;
	int v;

	if (mono_ns() < 70 * 1000000000ULL) {
		printf("SKIP: expiry needs 70 s of uptime to age entries\n");
		exit(77);
	}
	set_timeout(NAT_TK_UDP, 30);
	set_timeout(NAT_TK_TCP, 60);
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 40100, OUT, 53, 17);
	CHECK(v == XDP_TX && port, "expiry: a UDP connection (port %u)", port);
	v = from_outside(17, OUT, 53, port, &got);
	CHECK(v == XDP_TX, "expiry: within its timeout the reply reaches the "
	      "endpoint (%s)", fixture_verdict_name(v));

	age(EP, 40100, OUT, 53, 17, 25);
	v = from_outside(17, OUT, 53, port, &got);
	CHECK(v == XDP_TX && in_idle(EP, 40100, OUT, 53, 17) >= 25,
	      "expiry: idle 25 s of 30: still reaches it, and a packet from "
	      "outside does not keep an SNAT mapping alive (%s)",
	      fixture_verdict_name(v));

	age(EP, 40100, OUT, 53, 17, 31);
	exp0 = nat_counter(NAT_C_EXPIRED);
	drop0 = fixture_counter(env.stats_fd, nf_drop);
	v = from_outside(17, OUT, 53, port, &got);
	CHECK(v == XDP_DROP && nat_counter(NAT_C_EXPIRED) == exp0 + 1 &&
		      fixture_counter(env.stats_fd, nf_drop) == drop0 + 1,
	      "expiry: idle past its 30 s, the mapping is dead from outside: "
	      "dropped, counted drop_expired and under the core's reason nf "
	      "(%s)", fixture_verdict_name(v));

	quoted(&q, 17, US, port, OUT, 53);
	build_icmp_err(&in, MAC_US, MAC_OUT, OUT, US, 64, 3, 4, 1300, &q,
		       q.len - 14);
	exp0 = nat_counter(NAT_C_EXPIRED);
	v = run(&in, &got);
	CHECK(v == XDP_DROP && nat_counter(NAT_C_EXPIRED) == exp0 + 1,
	      "expiry: an ICMP error about the dead mapping is dropped too (%s)",
	      fixture_verdict_name(v));

	set_timeout(NAT_TK_UDP, 1000);
	v = from_outside(17, OUT, 53, port, &got);
	CHECK(v == XDP_TX, "expiry: with the UDP timeout set to 1000 s, idle "
	      "31 s is alive (%s)", fixture_verdict_name(v));
	set_timeout(NAT_TK_UDP, 30);

	/* The endpoint speaking again opens a new connection. */
	new0 = nat_counter(NAT_C_SNAT_NEW);
	from_h3(&in, &inner);
	v = run(&in, &got);
	CHECK(v == XDP_TX && nat_counter(NAT_C_SNAT_NEW) == new0 + 1,
	      "expiry: the endpoint's next packet starts a new connection "
	      "(%s)", fixture_verdict_name(v));
	port = nat_port(EP, 40100, OUT, 53, 17);
	v = from_outside(17, OUT, 53, port, &got);
	CHECK(v == XDP_TX, "expiry: whose replies reach it (%s)",
	      fixture_verdict_name(v));

	/* TCP has its own, longer timeout. */
	tport = nat_port(EP, 41000, OUT, 443, 6);
	age(EP, 41000, OUT, 443, 6, 45);
	v = from_outside(6, OUT, 443, tport, &got);
	CHECK(v == XDP_TX, "expiry: a TCP connection idle 45 s (past UDP's "
	      "30, within TCP's 60) is alive (%s)", fixture_verdict_name(v));
	age(EP, 41000, OUT, 443, 6, 61);
	exp0 = nat_counter(NAT_C_EXPIRED);
	v = from_outside(6, OUT, 443, tport, &got);
	CHECK(v == XDP_DROP && nat_counter(NAT_C_EXPIRED) == exp0 + 1,
	      "expiry: idle past 60 s it is dead from outside (%s)",
	      fixture_verdict_name(v));

	/* A DNAT connection past its timeout: its rule opens a new one. */
	age(EP, 80, OUT, 33333, 6, 61);
	new0 = nat_counter(NAT_C_DNAT_NEW);
	v = from_outside(6, OUT, 33333, 8080, &got);
	CHECK(v == XDP_TX && nat_counter(NAT_C_DNAT_NEW) == new0 + 1,
	      "expiry: a dead DNAT connection whose rule is still there is "
	      "opened again (%s)", fixture_verdict_name(v));
	set_timeout(NAT_TK_UDP, 0);
	set_timeout(NAT_TK_TCP, 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	load("nat_exit", MZR_HOOK_DIVIDER, "nat-divider");
	load("nat_entry", MZR_HOOK_EXTERNAL, "nat-external");
	rules();

	snat_udp();
	snat_tcp_icmp();
	snat_refused();
	snat_to_underlay();
	dnat();
	icmp_errors();
	expiry();
	for (int i = 0; i < n_loaded; i++)
		mzr_nf__close(loaded[i]);
	return test_report();
}
