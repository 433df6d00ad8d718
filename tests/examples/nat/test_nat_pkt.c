// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-nat, packet by packet, on the real core loaded by libmizar
 * (tests/pkt/core_env.c: this host, 192.168.1.1, is a divider of VPC B,
 * whose network 10.2.1.0/24 is bounced by H3). The NF's two programs are
 * chained into the divider and external hooks as mizar-nat attaches them,
 * rules are written into its maps, and frames go through the transit
 * program (BPF_PROG_TEST_RUN). Outside hosts are underlay neighbours
 * (H5: resolved; H99: not).
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

static const uint8_t MAC_GW[6] = { 0x02, 0, 10, 2, 1, 1 };

static struct core_env env;
static int fd_snat, fd_dnat, fd_out, fd_in, fd_stats;
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
	if (fd_snat < 0 || fd_dnat < 0 || fd_out < 0 || fd_in < 0 ||
	    fd_stats < 0)
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
				.dst = H5, .sport = 40000, .dport = 53,
				.payload = 24 };
	struct inner_spec w;
	struct pkt inner, in, got, want;
	uint64_t new0 = nat_counter(NAT_C_SNAT_NEW);
	uint16_t port;
	int v;

	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 40000, H5, 53, 17);
	CHECK(port >= NAT_PORT_MIN, "snat: a new UDP connection gets a port "
	      "of the pool (%u)", port);
	CHECK(nat_counter(NAT_C_SNAT_NEW) == new0 + 1,
	      "snat: counted as a new connection");
	w = s;
	w.dmac = MAC_H5;
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
	w = (struct inner_spec){ .dmac = MAC_US, .smac = MAC_H5, .src = H5,
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
				.dst = H5, .proto = 6, .sport = 41000,
				.dport = 443 };
	struct inner_spec w;
	struct pkt inner, in, got, want;
	uint16_t port;
	int v;

	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 41000, H5, 443, 6);
	w = s;
	w.dmac = MAC_H5;
	w.smac = MAC_US;
	w.src = US;
	w.sport = port;
	w.ttl = 63;
	build_inner(&want, &w);
	expect_frame("snat: a TCP SYN leaves translated, TCP checksum valid",
		     v, XDP_TX, &got, &want);

	/* ICMP echo: the id (7 in build_inner) is the port. */
	s = (struct inner_spec){ .dmac = MAC_GW, .smac = MAC_REMOTE, .src = EP,
				 .dst = H5, .proto = 1 };
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	port = nat_port(EP, 7, H5, 0, 1);
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
				.src = EP_NORULE, .dst = H5, .sport = 40000,
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

	/* H99 has no neighbour entry: the kernel routes it. */
	s.ttl = 0;
	s.dst = H99;
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

static void dnat(void)
{
	struct inner_spec s = { .dmac = MAC_US, .smac = MAC_H5, .src = H5,
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
				 .dst = H5, .proto = 6, .sport = 80,
				 .dport = 33333 };
	build_inner(&inner, &s);
	from_h3(&in, &inner);
	v = run(&in, &got);
	w = s;
	w.dmac = MAC_H5;
	w.smac = MAC_US;
	w.src = US;
	w.sport = 8080;
	w.ttl = 63;
	build_inner(&want, &w);
	expect_frame("dnat: the endpoint's reply leaves from this host's "
		     "port 8080", v, XDP_TX, &got, &want);

	s = (struct inner_spec){ .dmac = MAC_US, .smac = MAC_H5, .src = H5,
				 .dst = US, .sport = 5555, .dport = 9999,
				 .payload = 8 };
	build_inner(&in, &s);
	v = run(&in, &got);
	expect_frame("external: traffic for this host without a rule goes "
		     "to its kernel unchanged", v, XDP_PASS, &got, &in);
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
	dnat();
	for (int i = 0; i < n_loaded; i++)
		mzr_nf__close(loaded[i]);
	return test_report();
}
