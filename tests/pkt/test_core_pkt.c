// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The core back-plane, packet by packet: each fixture feeds one frame to
 * the real transit agent or transit program (BPF_PROG_TEST_RUN), loaded and
 * configured through libmizar's API as an agent does, and states the
 * verdict, the exact output frame and the counter that must move.
 */
#include <arpa/inet.h>
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

#define MAX_FIX 256
#define DROP(r) (MZR_CNT_DROP_BASE + (r))

static struct core_env env;
static struct fixture *tab;
static size_t n_tab;

static struct fixture *fx(const char *desc, int verdict, int counter,
			  uint32_t ifindex)
{
	struct fixture *f;

	if (n_tab == MAX_FIX) {
		fprintf(stderr, "too many fixtures\n");
		exit(1);
	}
	f = &tab[n_tab++];
	memset(f, 0, sizeof(*f));
	f->desc = desc;
	f->verdict = verdict;
	f->counter = counter;
	f->ingress_ifindex = ifindex;
	return f;
}

/* Expect the input back unchanged. */
static void same_out(struct fixture *f)
{
	f->check_out = true;
	pkt_copy(&f->out, &f->in);
}

/* ---- Transit agent ------------------------------------------------------ */

/* The payload that makes @s one byte too big for the 1500-byte underlay
 * once encapsulated. */
static size_t too_big_payload(const struct inner_spec *s)
{
	struct inner_spec bare = *s;
	struct pkt tmp;

	bare.payload = 0;
	build_inner(&tmp, &bare);
	return 1500 - (MZR_ENCAP_LEN - 14) - tmp.len + 1;
}

/* What the agent answers EP1's too-big frame @in with: the gateway of A1
 * (10.1.1.1, MAC_GW_A1) to EP1, ICMP type 3 code 4 with next-hop MTU
 * @mtu, quoting @in's IPv4 header and the first 8 bytes of its payload. */
static void frag_needed_out(struct pkt *out, const struct pkt *in,
			    uint16_t mtu)
{
	struct pkt_ipv4_opts o = { .tos = 0xc0, .frag_off = 0x4000 };
	size_t hl = (size_t)(in->data[14] & 0xf) * 4;

	pkt_init(out);
	pkt_eth(out, MAC_EP1, MAC_GW_A1, PKT_ETH_P_IPV4);
	pkt_ipv4(out, IP4(10, 1, 1, 1), IP4(10, 1, 1, 10), 1, &o);
	pkt_icmp(out, 3, 4, mtu);
	pkt_payload(out, in->data + 14, hl + 8);
	pkt_finish(out);
}

static struct fixture *fx_frag_needed(const char *desc,
				      const struct inner_spec *s)
{
	struct fixture *f = fx(desc, XDP_TX, MZR_CNT_AGENT_FRAG_NEEDED,
			       env.ep1h);

	f->has_counter2 = true;
	f->counter2 = DROP(MZR_DROP_TOO_BIG);
	build_inner(&f->in, s);
	f->check_out = true;
	frag_needed_out(&f->out, &f->in, 1500 - MZR_ENCAP_LEN);
	return f;
}

/* Path MTU discovery: too-big IPv4 with DF is answered with ICMP
 * Fragmentation Needed (RFC 1191), next-hop MTU 1500 - 66 = 1434. */
static void frag_needed_fixtures(void)
{
	struct inner_spec s;
	struct fixture *f;

	s = from_ep1(IP4(10, 1, 1, 20));
	s.proto = 6;
	s.sport = 33333;
	s.dport = 80;
	s.frag_off = 0x4000;
	s.payload = too_big_payload(&s);
	fx_frag_needed("agent: too-big TCP with DF is answered by the gateway "
		       "with ICMP frag needed, mtu 1434, quoting IP + 8 bytes "
		       "(and counted too_big)", &s);

	s.payload--;
	f = fx("agent: TCP with DF that exactly fills the underlay MTU once "
	       "encapsulated is sent", XDP_REDIRECT, MZR_CNT_AGENT_ENCAP,
	       env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.frag_off = 0x4000;
	s.ihl = 15;
	s.payload = too_big_payload(&s) + 300; /* odd length, and more */
	fx_frag_needed("agent: too-big UDP with DF and 40 bytes of IP options "
		       "(ihl 15): the whole 60-byte header is quoted, odd "
		       "frame length", &s);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.proto = 1;
	s.frag_off = 0x4000;
	s.payload = too_big_payload(&s);
	fx_frag_needed("agent: a too-big ICMP echo request with DF (ping -M "
		       "do) is answered with frag needed", &s);

	/* An ICMP error with DF (type 3: build it, then patch the type). */
	f = fx("agent: a too-big ICMP error with DF is only dropped (no "
	       "error about an error)",
	       XDP_DROP, DROP(MZR_DROP_TOO_BIG), env.ep1h);
	build_inner(&f->in, &s);
	f->in.data[14 + 20] = 3;
	pkt_finish(&f->in);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.frag_off = 0x4000 | 185; /* DF with an offset: not a first part */
	s.payload = too_big_payload(&s);
	f = fx("agent: a too-big later fragment (offset != 0) with DF is "
	       "only dropped", XDP_DROP, DROP(MZR_DROP_TOO_BIG), env.ep1h);
	build_inner(&f->in, &s);

	s = from_ep1(IP4(224, 0, 0, 9));
	s.frag_off = 0x4000;
	s.payload = too_big_payload(&s);
	f = fx("agent: a too-big multicast datagram with DF is only dropped "
	       "(RFC 1812: no ICMP error about it)",
	       XDP_DROP, DROP(MZR_DROP_TOO_BIG), env.ep1h);
	build_inner(&f->in, &s);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.frag_off = 0x4000;
	s.payload = too_big_payload(&s);
	f = fx("agent: a too-big frame with DF whose IPv4 header is bad "
	       "(ihl 4) is dropped malformed by the parser",
	       XDP_DROP, DROP(MZR_DROP_MALFORMED), env.ep1h);
	build_inner(&f->in, &s);
	f->in.data[14] = 0x44;
}

static void agent_fixtures(void)
{
	struct inner_spec s;
	struct pkt inner;
	struct fixture *f;

	s = from_ep1(IP4(10, 1, 1, 20));
	f = fx("agent: an endpoint's UDP to a remote endpoint is tunnelled to "
	       "a bouncer of its network chosen by the flow hash",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.proto = 6;
	s.sport = 33333;
	s.dport = 80;
	f = fx("agent: TCP is tunnelled the same way, source port from the "
	       "flow", XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	/* Checksum offload pending in the endpoint (CHECKSUM_PARTIAL): the
	 * TCP checksum field holds only the pseudo-header sum. XDP keeps no
	 * such state, so the agent computes the whole checksum. */
	s = from_ep1(IP4(10, 1, 1, 20));
	s.proto = 6;
	s.sport = 33333;
	s.dport = 80;
	s.payload = 1200;
	f = fx("agent: a TCP segment whose checksum is only the pseudo-header "
	       "sum (offload pending) leaves with its full checksum",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
	pkt_l4_partial(&f->in, 14);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.payload = 513;
	f = fx("agent: a UDP datagram with only the pseudo-header sum leaves "
	       "with its full checksum (odd length, over one 512-byte chunk)",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
	pkt_l4_partial(&f->in, 14);

	/* An IP payload longer than its UDP datagram (bytes past the UDP
	 * length): the checksum covers the datagram only, as sent. */
	s = from_ep1(IP4(10, 1, 1, 20));
	s.payload = 100;
	f = fx("agent: UDP bytes past the datagram's length are not summed: "
	       "a right checksum stays right",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	{
		uint8_t *ip = f->in.data + 14;
		uint16_t tot = (uint16_t)(ip[2] << 8 | ip[3]) + 4;
		uint16_t c;

		memset(f->in.data + f->in.len, 0xee, 4);
		f->in.len += 4;
		ip[2] = tot >> 8;
		ip[3] = tot & 0xff;
		ip[10] = ip[11] = 0;
		c = ~pkt_csum_fold(pkt_csum_add(0, ip, 20));
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	/* Every length of the last chunk's tail (0 to 511 bytes), the
	 * padding of the longest ones included (UDP: 8 + payload); every
	 * tail below 64 (the sum reads its words and last bytes in place). */
	for (size_t t = 0; t < 512; t += 1) {
		if (t % 32 && t < 500 && t >= 64)
			continue;
		s = from_ep1(IP4(10, 1, 1, 20));
		s.payload = 512 + t - 8;
		f = fx("agent: UDP checksums are right for every tail length "
		       "(512 + 0..511 bytes)",
		       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
		build_inner(&f->in, &s);
		f->check_out = true;
		agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
		pkt_l4_partial(&f->in, 14);
	}

	s = from_ep1(IP4(10, 1, 1, 60));
	f = fx("agent: a fresh learned entry sends straight to the "
	       "destination's host, flagged DIRECT",
	       XDP_REDIRECT, MZR_CNT_AGENT_DIRECT, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, H6, MZR_F_DIRECT);

	s = from_ep1(IP4(10, 1, 3, 60));
	f = fx("agent: a learned host of another network is no shortcut: "
	       "the packet goes to the own network's bouncer (then a divider)",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	s = from_ep1(IP4(10, 1, 1, 61));
	f = fx("agent: a learned entry older than 30 s is ignored (bouncer)",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	f = fx("agent: an ARP request is tunnelled unchanged to a bouncer",
	       XDP_REDIRECT, MZR_CNT_AGENT_ARP, env.ep1h);
	build_arp(&f->in, 1, MAC_EP1, IP4(10, 1, 1, 10), IP4(10, 1, 1, 20));
	f->check_out = true;
	{
		uint32_t h = arp_hash(IP4(10, 1, 1, 10), IP4(10, 1, 1, 20));
		struct outer_spec o = { .dmac = host_mac(a1_bouncer(h)),
					.smac = MAC_US, .src = US,
					.dst = a1_bouncer(h),
					.sport = (uint16_t)(MZR_SPORT_MIN |
							    (h & 0x3fff)),
					.vni = VNI_A, .rts = US };

		build_encap(&f->out, &o, &f->in);
	}

	f = fx("agent: an ARP reply from an endpoint is dropped (the "
	       "back-plane answers ARP)",
	       XDP_DROP, DROP(MZR_DROP_ARP), env.ep1h);
	build_arp(&f->in, 2, MAC_EP1, IP4(10, 1, 1, 10), IP4(10, 1, 1, 20));

	s = from_ep1(IP4(10, 1, 1, 20));
	s.src = IP4(10, 1, 1, 99);
	f = fx("agent: an endpoint sending from another IP is dropped "
	       "(spoofed)", XDP_DROP, DROP(MZR_DROP_SPOOFED), env.ep1h);
	build_inner(&f->in, &s);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.smac = MAC_EP2;
	f = fx("agent: an endpoint sending from another MAC is dropped "
	       "(spoofed)", XDP_DROP, DROP(MZR_DROP_SPOOFED), env.ep1h);
	build_inner(&f->in, &s);

	f = fx("agent: an ARP request claiming another IP is dropped "
	       "(spoofed)", XDP_DROP, DROP(MZR_DROP_SPOOFED), env.ep1h);
	build_arp(&f->in, 1, MAC_EP1, IP4(10, 1, 1, 11), IP4(10, 1, 1, 20));

	s = from_ep1(IP4(10, 1, 1, 11));
	s.dmac = MAC_EP2;
	s.dmac = MAC_GW_A1;
	f = fx("agent: traffic between two endpoints of this host is "
	       "hairpinned with the destination's MAC, never tunnelled",
	       XDP_REDIRECT, MZR_CNT_AGENT_LOCAL, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	f = fx("agent: a frame neither IPv4 nor ARP (IPv6) is dropped",
	       XDP_DROP, DROP(MZR_DROP_NOT_IPV4), env.ep1h);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_GW_A1, MAC_EP1, 0x86dd);
	pkt_payload_pattern(&f->in, 60);
	pkt_finish(&f->in);

	s = from_ep1(IP4(10, 1, 1, 20));
	f = fx("agent: a frame on an interface with no endpoint is dropped",
	       XDP_DROP, DROP(MZR_DROP_UNKNOWN_EP), env.noeph);
	build_inner(&f->in, &s);

	f = fx("agent: a truncated IPv4 header is dropped", XDP_DROP,
	       DROP(MZR_DROP_MALFORMED), env.ep1h);
	build_inner(&f->in, &s);
	pkt_truncate(&f->in, 14 + 12);

	f = fx("agent: a truncated UDP header is dropped", XDP_DROP,
	       DROP(MZR_DROP_MALFORMED), env.ep1h);
	build_inner(&f->in, &s);
	pkt_truncate(&f->in, 14 + 20 + 4);

	s = from_ep1(IP4(10, 1, 1, 20));
	/* Outer IPv4 = frame + 52 bytes; the underlay MTU is 1500. */
	s.payload = 1500 - (MZR_ENCAP_LEN - 14) - (14 + 20 + 8) + 1;
	f = fx("agent: a frame without DF that would exceed the underlay "
	       "MTU once encapsulated is dropped (too_big; the agent does not "
	       "fragment)",
	       XDP_DROP, DROP(MZR_DROP_TOO_BIG), env.ep1h);
	build_inner(&f->in, &s);

	s.payload--;
	f = fx("agent: a frame that exactly fills the underlay MTU once "
	       "encapsulated is sent", XDP_REDIRECT, MZR_CNT_AGENT_ENCAP,
	       env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	frag_needed_fixtures();

	s = from_ep1(IP4(10, 1, 1, 20));
	s.ihl = 7;
	f = fx("agent: IPv4 with options is tunnelled intact", XDP_REDIRECT,
	       MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.frag_off = 0x2000 | 0; /* first fragment: MF */
	f = fx("agent: a first fragment is hashed without ports (all "
	       "fragments take one path)",
	       XDP_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	/* Bouncer's neighbour unresolved (XDP_PASS with XDP metadata for
	 * the tc program): test_core_neigh.c. */

	s = (struct inner_spec){ .dmac = MAC_GW_A2, .smac = MAC_EP4,
				 .src = IP4(10, 1, 2, 10),
				 .dst = IP4(10, 1, 1, 20), .sport = 999,
				 .dport = 443, .payload = 16 };
	f = fx("agent: when this host is the network's bouncer the frame is "
	       "bounced here, straight to the destination's host",
	       XDP_REDIRECT, MZR_CNT_BOUNCER_FWD, env.ep4h);
	build_inner(&f->in, &s);
	f->check_out = true;
	{
		struct outer_spec o = { .dmac = MAC_H5, .smac = MAC_US,
					.src = US, .dst = H5, .ttl = 63,
					.sport = flow_sport(&s),
					.vni = VNI_A, .rts = US };

		build_encap(&f->out, &o, &f->in);
	}

	f = fx("agent: ARP for the gateway, this host being the bouncer: "
	       "answered right back to the endpoint",
	       XDP_REDIRECT, MZR_CNT_BOUNCER_ARP, env.ep4h);
	build_arp(&f->in, 1, MAC_EP4, IP4(10, 1, 2, 10), IP4(10, 1, 2, 1));
	f->check_out = true;
	pkt_init(&f->out);
	pkt_eth(&f->out, MAC_EP4, MAC_GW_A2, PKT_ETH_P_ARP);
	pkt_arp(&f->out, 2, MAC_GW_A2, IP4(10, 1, 2, 1), MAC_EP4,
		IP4(10, 1, 2, 10));
	pkt_finish(&f->out);
	(void)inner;
}

/* ---- Transit ------------------------------------------------------------ */

static void transit_fixtures(void)
{
	struct inner_spec s;
	struct pkt inner, tmp;
	struct fixture *f;
	uint32_t ul0 = env.ul0;
	long off;

	/* -- Not ours: the kernel gets it unchanged. -- */
	f = fx("transit: non-IP traffic on the underlay goes to the kernel",
	       XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	build_arp(&f->in, 1, MAC_H2, H2, US);
	same_out(f);

	f = fx("transit: UDP to another port (VXLAN 4789) goes to the kernel",
	       XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp(&f->in, 5555, 4789);
	pkt_payload_pattern(&f->in, 40);
	pkt_finish(&f->in);
	same_out(f);

	s = remote(IP4(10, 1, 1, 11));
	build_inner(&inner, &s);
	f = fx("transit: Geneve without Mizar's option class belongs to "
	       "another user: kernel", XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, &(struct pkt_ipv4_opts){
					     .frag_off = 0x4000 });
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, 0x0102, 0x01, 0xdeadbeef);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);
	same_out(f);

	f = fx("transit: Geneve with no options at all goes to the kernel",
	       XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);
	same_out(f);

	f = fx("transit: Mizar Geneve addressed to another host goes to the "
	       "kernel", XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H2,
					.src = H2, .dst = H3, .sport = 51000,
					.vni = VNI_A, .rts = H2 };

		build_encap(&f->in, &o, &inner);
	}
	same_out(f);

	f = fx("transit: Mizar Geneve for an unknown VNI goes to the kernel "
	       "(counted)", XDP_PASS, MZR_CNT_UNKNOWN_VNI, ul0);
	tunnel_in(&f->in, H2, 4242, 0, 64, &inner);
	same_out(f);

	/* The VPC is looked up after the inner frame is parsed (and only
	 * when no endpoint entry decides): an unknown VNI still goes to the
	 * kernel whatever it carries, a frame cut short included. */
	{
		static const uint8_t stub[10];
		struct pkt cut;

		pkt_init(&cut);
		pkt_payload(&cut, stub, sizeof(stub));
		f = fx("transit: an unknown VNI goes to the kernel even with "
		       "an inner frame cut short (counted)",
		       XDP_PASS, MZR_CNT_UNKNOWN_VNI, ul0);
		tunnel_in(&f->in, H2, 4242, 0, 64, &cut);
		same_out(f);
		f->out_malformed = true;
	}

	f = fx("transit: an outer header with IP options is not ours",
	       XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, &(struct pkt_ipv4_opts){ .ihl = 6 });
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_RTS, H2);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);
	same_out(f);

	f = fx("transit: an outer fragment is left to the kernel to "
	       "reassemble", XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17,
		 &(struct pkt_ipv4_opts){ .frag_off = 0x2000 });
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_RTS, H2);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);
	same_out(f);

	/* -- Delivery on the endpoint's host. -- */
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	f = fx("transit: a packet for an endpoint hosted here is "
	       "decapsulated and given the endpoint's MAC (and the sender "
	       "is learned)", XDP_REDIRECT, MZR_CNT_DELIVER, ul0);
	tunnel_in(&f->in, H5, VNI_A, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	s = remote(IP4(10, 1, 1, 11));
	build_inner(&inner, &s);
	f = fx("transit: VPC B's 10.1.1.11 gets VPC B's packet (same IP as "
	       "an endpoint of VPC A)", XDP_REDIRECT, MZR_CNT_DELIVER, ul0);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_B11;
	build_inner(&f->out, &s);

	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 2, 1, 7);
	s.ttl = 63;
	build_inner(&inner, &s);
	f = fx("transit: a packet a divider routed (from network 10.2.1.0/24) "
	       "is delivered, and its sender is not learned (no direct path "
	       "across networks)", XDP_REDIRECT, MZR_CNT_DELIVER, ul0);
	tunnel_in(&f->in, H3, VNI_B, MZR_F_ROUTED, 63, &inner);
	f->check_out = true;
	s.dmac = MAC_B11;
	build_inner(&f->out, &s);

	/* -- Trust (docs/security.md). -- */
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 24);
	build_inner(&inner, &s);
	f = fx("transit: Mizar Geneve from an underlay address that is no "
	       "known Mizar host (H7) is dropped (unknown_peer), never "
	       "delivered nor learned", XDP_DROP, DROP(MZR_DROP_UNKNOWN_PEER),
	       ul0);
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_REMOTE,
					.src = H7, .dst = US, .sport = 51000,
					.vni = VNI_A, .rts = H7 };

		build_encap(&f->in, &o, &inner);
	}

	s.src = IP4(10, 1, 1, 25);
	build_inner(&inner, &s);
	f = fx("transit: a frame whose RTS (H6) is not its outer source (H2) "
	       "is delivered but its RTS is not believed (learn_refused)",
	       XDP_REDIRECT, MZR_CNT_LEARN_REFUSED, ul0);
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H2,
					.src = H2, .dst = US, .sport = 51000,
					.vni = VNI_A, .rts = H6 };

		build_encap(&f->in, &o, &inner);
	}
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	s = remote(IP4(10, 1, 1, 12));
	build_inner(&inner, &s);
	f = fx("transit: VPC A traffic for an address only VPC B has here "
	       "never reaches VPC B's endpoint (goes to A's divider)",
	       XDP_TX, MZR_CNT_BOUNCER_TO_DIVIDER, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	tunnel_fwd(&f->out, H2, H4, VNI_A, 0, 63, &inner);

	s = remote(IP4(10, 1, 1, 30));
	build_inner(&inner, &s);
	f = fx("transit: a bypass-decap endpoint receives the tunnel packet "
	       "as is but addressed to its own MAC (its kernel drops any "
	       "other)", XDP_REDIRECT, MZR_CNT_DELIVER_BYPASS, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	same_out(f);
	memcpy(f->out.data, MAC_EP6, 6);

	s = remote(IP4(10, 1, 1, 11));
	s.ihl = 8;
	build_inner(&inner, &s);
	f = fx("transit: inner IPv4 with options is delivered intact",
	       XDP_REDIRECT, MZR_CNT_DELIVER, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	s = remote(IP4(10, 1, 1, 11));
	s.frag_off = 0x2000;
	build_inner(&inner, &s);
	f = fx("transit: an inner first fragment is delivered",
	       XDP_REDIRECT, MZR_CNT_DELIVER, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	s = remote(IP4(10, 1, 1, 20));
	s.frag_off = 185; /* a later fragment: no UDP header */
	build_inner(&inner, &s);
	f = fx("transit: an inner later fragment (no L4 header) is bounced "
	       "like the rest of its datagram", XDP_TX, MZR_CNT_BOUNCER_FWD,
	       ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	tunnel_fwd(&f->out, H2, H5, VNI_A, 0, 63, &inner);

	/* -- Bouncer ARP responder. -- */
	f = fx("transit: a bouncer answers ARP for a known endpoint, back to "
	       "the requester's host", XDP_TX, MZR_CNT_BOUNCER_ARP, ul0);
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
		  IP4(10, 1, 1, 20));
	tunnel_in(&f->in, H2, VNI_A, 0, 9, &inner);
	f->check_out = true;
	pkt_init(&tmp);
	pkt_eth(&tmp, MAC_REMOTE, MAC_EP3, PKT_ETH_P_ARP);
	pkt_arp(&tmp, 2, MAC_EP3, IP4(10, 1, 1, 20), MAC_REMOTE,
		IP4(10, 1, 1, 77));
	pkt_finish(&tmp);
	tunnel_fwd(&f->out, US, H2, VNI_A, 0, 64, &tmp);

	f = fx("transit: a bouncer answers ARP for its network's gateway "
	       "with the gateway MAC", XDP_TX, MZR_CNT_BOUNCER_ARP, ul0);
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
		  IP4(10, 1, 1, 1));
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	pkt_init(&tmp);
	pkt_eth(&tmp, MAC_REMOTE, MAC_GW_A1, PKT_ETH_P_ARP);
	pkt_arp(&tmp, 2, MAC_GW_A1, IP4(10, 1, 1, 1), MAC_REMOTE,
		IP4(10, 1, 1, 77));
	pkt_finish(&tmp);
	tunnel_fwd(&f->out, US, H2, VNI_A, 0, 64, &tmp);

	f = fx("transit: an ARP request is answered to the host it came from "
	       "(outer source H2), not to the host its RTS claims (H6)",
	       XDP_TX, MZR_CNT_BOUNCER_ARP, ul0);
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
		  IP4(10, 1, 1, 20));
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H2,
					.src = H2, .dst = US, .sport = 51000,
					.vni = VNI_A, .rts = H6 };

		build_encap(&f->in, &o, &inner);
	}
	f->check_out = true;
	pkt_init(&tmp);
	pkt_eth(&tmp, MAC_REMOTE, MAC_EP3, PKT_ETH_P_ARP);
	pkt_arp(&tmp, 2, MAC_EP3, IP4(10, 1, 1, 20), MAC_REMOTE,
		IP4(10, 1, 1, 77));
	pkt_finish(&tmp);
	tunnel_fwd(&f->out, US, H2, VNI_A, 0, 64, &tmp);

	f = fx("transit: ARP for an address nobody has is dropped "
	       "(no_endpoint)", XDP_DROP, DROP(MZR_DROP_NO_ENDPOINT), ul0);
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
		  IP4(10, 1, 1, 99));
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);

	/* -- Bouncer forwarding. -- */
	s = remote(IP4(10, 1, 1, 20));
	build_inner(&inner, &s);
	f = fx("transit: a bouncer rewrites the outer header to the "
	       "endpoint's host, TTL - 1, and sends it back out",
	       XDP_TX, MZR_CNT_BOUNCER_FWD, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	tunnel_fwd(&f->out, H2, H5, VNI_A, 0, 63, &inner);

	f = fx("transit: a bouncer keeps the DIRECT flag and RTS as they are",
	       XDP_TX, MZR_CNT_BOUNCER_FWD, ul0);
	tunnel_in(&f->in, H6, VNI_A, MZR_F_DIRECT, 20, &inner);
	f->check_out = true;
	tunnel_fwd(&f->out, H6, H5, VNI_A, MZR_F_DIRECT, 19, &inner);

	f = fx("transit: outer TTL 1 on a forwarding hop is dropped",
	       XDP_DROP, DROP(MZR_DROP_TTL_EXPIRED), ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 1, &inner);

	/* Endpoint's host neighbour unresolved (XDP_PASS with XDP metadata
	 * for the tc program): test_core_neigh.c. */

	s = remote(IP4(10, 1, 1, 99));
	build_inner(&inner, &s);
	f = fx("transit: a bouncer without the endpoint sends it to a divider "
	       "of the VPC", XDP_TX, MZR_CNT_BOUNCER_TO_DIVIDER, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	tunnel_fwd(&f->out, H2, H4, VNI_A, 0, 63, &inner);

	s = remote(IP4(10, 1, 1, 98));
	build_inner(&inner, &s);
	f = fx("transit: a stale direct-path packet is re-sent to a bouncer "
	       "of the destination's network, DIRECT cleared",
	       XDP_TX, MZR_CNT_STALE_DIRECT, ul0);
	tunnel_in(&f->in, H6, VNI_A, MZR_F_DIRECT, 64, &inner);
	f->check_out = true;
	tunnel_fwd(&f->out, H6, a1_bouncer(flow_hash(&s)), VNI_A, 0, 63,
		   &inner);

	/* -- Divider. -- */
	s = remote(IP4(10, 2, 1, 7));
	s.src = IP4(10, 1, 1, 77);
	build_inner(&inner, &s);
	f = fx("transit: a divider routes to a bouncer of the destination "
	       "network, flags it ROUTED and decrements the inner TTL",
	       XDP_TX, MZR_CNT_DIVIDER_FWD, ul0);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);
	f->check_out = true;
	s.ttl = 63;
	build_inner(&tmp, &s);
	tunnel_fwd(&f->out, H2, H3, VNI_B, MZR_F_ROUTED, 63, &tmp);

	s = remote(IP4(10, 2, 1, 7));
	s.ttl = 1;
	build_inner(&inner, &s);
	f = fx("transit: a divider drops an inner TTL of 1 (ttl_expired)",
	       XDP_DROP, DROP(MZR_DROP_TTL_EXPIRED), ul0);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);

	s = remote(IP4(10, 2, 1, 7));
	build_inner(&inner, &s);
	f = fx("transit: a packet a divider already routed, for an unknown "
	       "endpoint, dies here (no bouncer/divider ping-pong)",
	       XDP_DROP, DROP(MZR_DROP_NO_ENDPOINT), ul0);
	tunnel_in(&f->in, H3, VNI_B, MZR_F_ROUTED, 64, &inner);

	s = remote(IP4(10, 9, 9, 9));
	build_inner(&inner, &s);
	f = fx("transit: a divider with no network for the destination "
	       "drops it (no_route)", XDP_DROP, DROP(MZR_DROP_NO_ROUTE), ul0);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);

	s = remote(IP4(10, 2, 2, 99));
	build_inner(&inner, &s);
	f = fx("transit: a divider that is itself the destination network's "
	       "bouncer and lacks the endpoint drops it (no_endpoint)",
	       XDP_DROP, DROP(MZR_DROP_NO_ENDPOINT), ul0);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);

	s = remote(IP4(10, 2, 1, 7));
	build_inner(&inner, &s);
	f = fx("transit: a divider cannot mark a packet with no FLAGS "
	       "option: dropped (bad_option)",
	       XDP_DROP, DROP(MZR_DROP_BAD_OPTION), ul0);
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H2,
					.src = H2, .dst = US, .sport = 51000,
					.vni = VNI_B, .rts = H2,
					.no_flags_opt = true };

		build_encap(&f->in, &o, &inner);
	}

	s = remote(IP4(10, 1, 1, 99));
	build_inner(&inner, &s);
	f = fx("transit: a VPC with no divider drops what it cannot deliver "
	       "(no_route)", XDP_DROP, DROP(MZR_DROP_NO_ROUTE), ul0);
	tunnel_in(&f->in, H2, VNI_C, 0, 64, &inner);

	/* -- Bad input. -- */
	s = remote(IP4(10, 1, 1, 11));
	build_inner(&inner, &s);
	f = fx("transit: VNI 0 with Mizar options is dropped (bad_vni)",
	       XDP_DROP, DROP(MZR_DROP_BAD_VNI), ul0);
	tunnel_in(&f->in, H2, 0, 0, 64, &inner);

	f = fx("transit: Geneve version 1 cannot be parsed, so is not known "
	       "to be ours: kernel, unchanged", XDP_PASS, MZR_CNT_TRANSIT_PASS,
	       ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	off = pkt_layer_off(&f->in, PKT_L_GENEVE, 0);
	f->in.data[off] = (uint8_t)(0x40 | (f->in.data[off] & 0x3f));
	same_out(f);

	f = fx("transit: another user's Geneve whose option runs past the "
	       "option area (no Mizar option) is not ours: kernel, unchanged",
	       XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, 0x0102, 0x01, 0xdeadbeef);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);
	off = pkt_layer_off(&f->in, PKT_L_GENEVE, 0);
	f->in.data[off + 8 + 3] = 5; /* claims 20 bytes of an 8-byte area */
	same_out(f);

	f = fx("transit: another user's Geneve whose option area runs past "
	       "the frame (no Mizar option in it) is not ours: kernel",
	       XDP_PASS, MZR_CNT_TRANSIT_PASS, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, 0x0102, 0x01, 0xdeadbeef);
	pkt_geneve_opt_u32(&f->in, 0x0102, 0x02, 0xdeadbeef);
	pkt_finish(&f->in);
	pkt_truncate(&f->in, 50 + 12); /* inside the second option */
	same_out(f);
	f->out_malformed = true;

	f = fx("transit: a Mizar option whose own length runs past the "
	       "option area is dropped (bad_option: its class says it is "
	       "ours)", XDP_DROP, DROP(MZR_DROP_BAD_OPTION), ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	off = pkt_layer_off(&f->in, PKT_L_GENEVE, 0);
	f->in.data[off + 8 + 3] = 9; /* RTS, the first option: 40 bytes */

	f = fx("transit: a Mizar control packet (Geneve O bit) is not "
	       "forwarded nor delivered: kernel, unchanged (counted "
	       "geneve_oam)", XDP_PASS, MZR_CNT_GENEVE_OAM, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	off = pkt_layer_off(&f->in, PKT_L_GENEVE, 0);
	f->in.data[off + 1] |= 0x80;
	same_out(f);

	s = remote(IP4(10, 1, 1, 20));
	build_inner(&tmp, &s);
	f = fx("transit: a Mizar control packet (O bit) for a remote endpoint "
	       "is not bounced either: kernel, unchanged",
	       XDP_PASS, MZR_CNT_GENEVE_OAM, ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &tmp);
	off = pkt_layer_off(&f->in, PKT_L_GENEVE, 0);
	f->in.data[off + 1] |= 0x80;
	same_out(f);
	s = remote(IP4(10, 1, 1, 11));

	f = fx("transit: an option longer than the option area is dropped "
	       "(bad_option)", XDP_DROP, DROP(MZR_DROP_BAD_OPTION), ul0);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	off = pkt_layer_off(&f->in, PKT_L_GENEVE, 0);
	f->in.data[off + 8 + 8 + 3] = 5; /* FLAGS option claims 20 bytes */

	f = fx("transit: an unknown critical option of Mizar's class is "
	       "dropped (crit_option)", XDP_DROP, DROP(MZR_DROP_CRIT_OPTION),
	       ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_RTS, H2);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, 0x85, 1);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);

	f = fx("transit: an unknown critical option of another class in a "
	       "Mizar packet is dropped (crit_option)",
	       XDP_DROP, DROP(MZR_DROP_CRIT_OPTION), ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt_u32(&f->in, 0x0102, 0x80, 1);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_RTS, H2);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_FLAGS, 0);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);

	f = fx("transit: unknown non-critical options (any class, any "
	       "position, any length) are skipped", XDP_REDIRECT,
	       MZR_CNT_DELIVER, ul0);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp_nocsum(&f->in, 5000, 6081);
	pkt_geneve(&f->in, VNI_A, 0);
	pkt_geneve_opt(&f->in, 0x0102, 0x05,
		       (const uint8_t[12]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 12);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_FLAGS, 0);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, 0x07, 0x12345678);
	pkt_geneve_opt(&f->in, 0xffff, 0x7f, NULL, 0);
	pkt_geneve_opt_u32(&f->in, MZR_OPT_CLASS, MZR_OPT_RTS, H2);
	pkt_payload(&f->in, inner.data, inner.len);
	pkt_finish(&f->in);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	f = fx("transit: an inner frame neither IPv4 nor ARP is dropped "
	       "(not_ipv4)", XDP_DROP, DROP(MZR_DROP_NOT_IPV4), ul0);
	pkt_init(&tmp);
	pkt_eth(&tmp, MAC_EP2, MAC_REMOTE, 0x86dd);
	pkt_payload_pattern(&tmp, 48);
	pkt_finish(&tmp);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &tmp);

	/* Truncation at every header boundary. */
	tunnel_in(&tmp, H2, VNI_A, 0, 64, &inner);
	{
		static const struct {
			const char *desc;
			size_t len;
			int verdict;
		} cut[] = {
			{ "transit: a frame cut inside the outer IPv4 header "
			  "is not ours (kernel)", 14 + 12, XDP_PASS },
			{ "transit: a frame cut inside the outer UDP header is "
			  "not ours (kernel)", 34 + 4, XDP_PASS },
			{ "transit: a frame cut inside the Geneve header is "
			  "not known to be ours (kernel)", 42 + 5, XDP_PASS },
			{ "transit: a frame cut inside the first option's "
			  "header is not known to be ours (kernel)", 50 + 2,
			  XDP_PASS },
			{ "transit: a frame cut inside the Geneve options, "
			  "after a Mizar option, is dropped (malformed)",
			  50 + 10, XDP_DROP },
			{ "transit: a frame cut inside the inner Ethernet "
			  "header is dropped (malformed)", 66 + 8, XDP_DROP },
			{ "transit: a frame cut inside the inner IPv4 header "
			  "is dropped (malformed)", 80 + 16, XDP_DROP },
			{ "transit: a frame cut inside the inner UDP header is "
			  "dropped (malformed)", 100 + 6, XDP_DROP },
		};

		for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
			f = fx(cut[i].desc, cut[i].verdict,
			       cut[i].verdict == XDP_PASS ?
				       MZR_CNT_TRANSIT_PASS :
				       DROP(MZR_DROP_MALFORMED),
			       ul0);
			pkt_copy(&f->in, &tmp);
			pkt_truncate(&f->in, cut[i].len);
			if (cut[i].verdict == XDP_PASS) {
				same_out(f);
				f->out_malformed = true;
			}
		}
	}
}

/* ---- Checks beyond the frames ------------------------------------------- */

static int check_learned(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 1, 1, 20)) };
	struct mzr_direct_val v;

	if (bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
		printf("FAIL: delivery did not learn 10.1.1.20 -> its host\n");
		return 1;
	}
	if (v.host != htonl(H5) || mono_ns() - v.updated_ns > 60000000000ULL) {
		printf("FAIL: learned 10.1.1.20 -> %08x (want H5), age %llu\n",
		       ntohl(v.host),
		       (unsigned long long)(mono_ns() - v.updated_ns));
		return 1;
	}
	printf("ok: delivery learned (VPC A, 10.1.1.20) -> 192.168.1.5\n");

	/* Routed between networks: never a direct path (the divider and its
	 * hook stay on the way). */
	k.vni = VNI_B;
	k.ip = htonl(IP4(10, 2, 1, 7));
	if (!bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
		printf("FAIL: delivery of a ROUTED packet learned (VPC B, "
		       "10.2.1.7) -> %08x\n", ntohl(v.host));
		return 1;
	}
	printf("ok: delivery of a ROUTED packet learned nothing\n");

	/* Unknown peer, RTS not the outer source: nothing learned. */
	k.vni = VNI_A;
	for (uint32_t ip = IP4(10, 1, 1, 24); ip <= IP4(10, 1, 1, 25); ip++) {
		k.ip = htonl(ip);
		if (!bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
			printf("FAIL: learned (VPC A, %08x) -> %08x from an "
			       "untrusted frame\n", ip, ntohl(v.host));
			return 1;
		}
	}
	printf("ok: frames from an unknown peer or with a foreign RTS "
	       "taught nothing\n");
	return 0;
}

static uint64_t missed(uint32_t idx)
{
	return fixture_counter(env.missed_fd, idx);
}

static void set_u32(int fd, uint32_t k, uint32_t v)
{
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
		perror("map update");
		exit(1);
	}
}

/* Hooks: an empty slot in a non-empty chain is a counted drop; a chain
 * whose only "NF" is the continuation itself behaves as no chain. */
static int hook_checks(void)
{
	static struct fixture f;
	struct inner_spec s = remote(IP4(10, 1, 1, 11));
	struct pkt inner;
	uint32_t slot = MZR_PROG_NF(0, MZR_HOOK_DELIVER, 0);
	uint64_t before;
	int fails = 0;

	s.src = IP4(10, 1, 1, 21);
	build_inner(&inner, &s);
	memset(&f, 0, sizeof(f));
	f.ingress_ifindex = env.ul0;
	tunnel_in(&f.in, H2, VNI_A, 0, 64, &inner);

	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_BANK, 0);
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_LEN(0, MZR_HOOK_DELIVER), 1);
	f.desc = "hooks: a deliver chain whose NF slot is empty drops the "
		 "packet as a missed tail call";
	f.verdict = XDP_DROP;
	f.counter = DROP(MZR_DROP_MISSED_TAIL_CALL);
	before = missed(MZR_MISSED_IDX(MZR_HOOK_DELIVER, 0));
	fails += fixture_run(env.transit_fd, env.stats_fd, &f) != 0;
	if (missed(MZR_MISSED_IDX(MZR_HOOK_DELIVER, 0)) != before + 1) {
		printf("FAIL: mzr_missed[deliver, 0] did not grow\n");
		fails++;
	}

	if (bpf_map_update_elem(env.progs_fd, &slot,
				&env.cont_fd[MZR_HOOK_DELIVER], BPF_ANY)) {
		perror("mzr_progs");
		exit(1);
	}
	f.desc = "hooks: through a deliver chain and its continuation the "
		 "packet is delivered exactly as without a chain";
	f.verdict = XDP_REDIRECT;
	f.counter = MZR_CNT_DELIVER;
	f.check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f.out, &s);
	fails += fixture_run(env.transit_fd, env.stats_fd, &f) != 0;

	/* Flip to bank 1 (empty): the chain is gone atomically. */
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_BANK, 1);
	f.desc = "hooks: after flipping to an empty bank the packet takes "
		 "the inline path";
	fails += fixture_run(env.transit_fd, env.stats_fd, &f) != 0;
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_BANK, 0);
	set_u32(env.chain_cfg_fd, MZR_CHAIN_CFG_LEN(0, MZR_HOOK_DELIVER), 0);
	printf("%s: hook checks\n", fails ? "FAIL" : "ok");
	return fails;
}

/* ---- Symmetry: an oracle independent of the hash function ---------------
 *
 * The fixtures above compute the expected UDP source port and bouncer with
 * the core's own hash (core_env.c includes bpf-core/hash.h). Here nothing
 * is computed: each flow is sent both ways through the real programs and
 * the two outputs must agree (same outer source port, same bouncer), with
 * the source port in the ephemeral range 49152-65535 (RFC 6335).
 */

struct sym_flow {
	uint8_t proto;
	uint16_t sport, dport;
	uint16_t frag_off;
	uint8_t ihl;
};

#define N_SYM 40

static void sym_flows(struct sym_flow *fl)
{
	uint32_t x = 0x2545f491;

	/* The flows of the agent fixtures... */
	fl[0] = (struct sym_flow){ 17, 40000, 5201, 0, 0 };
	fl[1] = (struct sym_flow){ 6, 33333, 80, 0, 0 };
	fl[2] = (struct sym_flow){ 17, 40000, 5201, 0x2000, 0 };
	fl[3] = (struct sym_flow){ 17, 40000, 5201, 0, 7 };
	fl[4] = (struct sym_flow){ 6, 999, 443, 0, 0 };
	fl[5] = (struct sym_flow){ 17, 7777, 8080, 0, 0 };
	/* ...and more, TCP and UDP, ports from a fixed LCG. */
	for (int i = 6; i < N_SYM; i++) {
		x = x * 1103515245u + 12345u;
		fl[i].proto = (x >> 16) & 1 ? 6 : 17;
		x = x * 1103515245u + 12345u;
		fl[i].sport = (uint16_t)(1 + (x >> 8) % 65535);
		x = x * 1103515245u + 12345u;
		fl[i].dport = (uint16_t)(1 + (x >> 8) % 65535);
		fl[i].frag_off = 0;
		fl[i].ihl = 0;
	}
}

/* Run @in through @prog; verdict, outer destination and UDP source port
 * of the tunnel frame it emits. */
static int sym_run(int prog, uint32_t ifindex, const struct pkt *in,
		   uint32_t *dst, uint16_t *sport)
{
	uint8_t buf[PKT_MAX + FIXTURE_HEADROOM];
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .data_out = buf,
		    .data_size_out = sizeof(buf), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o) || o.data_size_out < 42) {
		perror("BPF_PROG_TEST_RUN");
		return -1;
	}
	*dst = (uint32_t)buf[30] << 24 | (uint32_t)buf[31] << 16 |
	       (uint32_t)buf[32] << 8 | buf[33];
	*sport = (uint16_t)(buf[34] << 8 | buf[35]);
	return (int)o.retval;
}

static struct inner_spec sym_spec(const struct sym_flow *fl, uint32_t src,
				  const uint8_t *smac, uint32_t dst, bool rev)
{
	struct inner_spec s = { .dmac = MAC_GW_A1, .smac = smac, .src = src,
				.dst = dst, .proto = fl->proto,
				.sport = rev ? fl->dport : fl->sport,
				.dport = rev ? fl->sport : fl->dport,
				.frag_off = fl->frag_off, .ihl = fl->ihl,
				.payload = 20 };
	return s;
}

static void ep_api(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "%s: %s\n", what, strerror(-err));
		exit(1);
	}
}

/* Swap EP1 (10.1.1.10, here on ep1h) and EP3 (10.1.1.20, on H5): EP3 here
 * on ep1h, EP1 remote on H5. Run last: the topology changes. */
static void swap_ep1_ep3(void)
{
	struct mzr_ep_spec ep3 = { .vni = VNI_A,
				   .ip = { htonl(IP4(10, 1, 1, 20)) },
				   .host = { htonl(US) }, .ifname = "ep1h" };
	struct mzr_ep_spec ep1 = { .vni = VNI_A,
				   .ip = { htonl(IP4(10, 1, 1, 10)) },
				   .host = { htonl(H5) } };
	struct mzr_ep_key k = { .vni = VNI_A };

	memcpy(ep3.mac, MAC_EP3, 6);
	memcpy(ep1.mac, MAC_EP1, 6);
	ep_api(mzr_ep__delete(env.host, VNI_A, ep1.ip), "delete 10.1.1.10");
	ep_api(mzr_ep__delete(env.host, VNI_A, ep3.ip), "delete 10.1.1.20");
	ep_api(mzr_ep__create(env.host, &ep3), "create 10.1.1.20 here");
	ep_api(mzr_ep__create(env.host, &ep1), "create 10.1.1.10 on H5");
	/* No learned path either way: both go through a bouncer. */
	k.ip = ep1.ip.s_addr;
	bpf_map_delete_elem(env.direct_fd, &k);
	k.ip = ep3.ip.s_addr;
	bpf_map_delete_elem(env.direct_fd, &k);
}

static bool sport_ok(uint16_t sport)
{
	return sport >= 49152; /* and <= 65535 by type */
}

static int symmetry_checks(void)
{
	struct sym_flow fl[N_SYM];
	uint32_t fdst[N_SYM], rdst, d1, d2;
	uint16_t fsport[N_SYM], rsport, p1, p2;
	uint32_t seen_b2 = 0, seen_b3 = 0;
	struct pkt in, inner;
	int fails = 0, v;

	sym_flows(fl);

	/* Transit: a stale direct-path packet is re-sent to a bouncer of the
	 * destination's network; both directions of a flow between two
	 * addresses no table holds must meet the same one. */
	for (int i = 0; i < N_SYM; i++) {
		struct inner_spec s;

		s = sym_spec(&fl[i], IP4(10, 1, 1, 77), MAC_REMOTE,
			     IP4(10, 1, 1, 98), false);
		build_inner(&inner, &s);
		tunnel_in(&in, H6, VNI_A, MZR_F_DIRECT, 64, &inner);
		v = sym_run(env.transit_fd, env.ul0, &in, &d1, &p1);
		s = sym_spec(&fl[i], IP4(10, 1, 1, 98), MAC_REMOTE,
			     IP4(10, 1, 1, 77), true);
		build_inner(&inner, &s);
		tunnel_in(&in, H6, VNI_A, MZR_F_DIRECT, 64, &inner);
		if (v != XDP_TX ||
		    sym_run(env.transit_fd, env.ul0, &in, &d2, &p2) != XDP_TX ||
		    d1 != d2 || (d1 != H2 && d1 != H3)) {
			printf("FAIL: stale direct, flow %d (proto %u %u<->%u): "
			       "bouncers %08x / %08x\n", i, fl[i].proto,
			       fl[i].sport, fl[i].dport, d1, d2);
			fails++;
		}
	}

	/* Agent: EP1 -> EP3 here, then (endpoints swapped) EP3 -> EP1. The
	 * fixtures learned EP3's host: forget it, so that both directions
	 * go through a bouncer. */
	{
		struct mzr_ep_key k = { .vni = VNI_A,
					.ip = htonl(IP4(10, 1, 1, 20)) };

		bpf_map_delete_elem(env.direct_fd, &k);
	}
	for (int i = 0; i < N_SYM; i++) {
		struct inner_spec s = sym_spec(&fl[i], IP4(10, 1, 1, 10),
					       MAC_EP1, IP4(10, 1, 1, 20),
					       false);

		build_inner(&in, &s);
		v = sym_run(env.agent_fd, env.ep1h, &in, &fdst[i], &fsport[i]);
		if (v != XDP_REDIRECT || !sport_ok(fsport[i]) ||
		    (fdst[i] != H2 && fdst[i] != H3)) {
			printf("FAIL: agent, flow %d: verdict %d, bouncer %08x, "
			       "source port %u\n", i, v, fdst[i], fsport[i]);
			fails++;
		}
		seen_b2 += fdst[i] == H2;
		seen_b3 += fdst[i] == H3;
	}
	swap_ep1_ep3();
	for (int i = 0; i < N_SYM; i++) {
		struct inner_spec s = sym_spec(&fl[i], IP4(10, 1, 1, 20),
					       MAC_EP3, IP4(10, 1, 1, 10), true);

		build_inner(&in, &s);
		v = sym_run(env.agent_fd, env.ep1h, &in, &rdst, &rsport);
		if (v != XDP_REDIRECT || !sport_ok(rsport) ||
		    rdst != fdst[i] || rsport != fsport[i]) {
			printf("FAIL: agent, flow %d reversed (proto %u "
			       "%u<->%u): bouncer %08x port %u, forward %08x "
			       "port %u\n", i, fl[i].proto, fl[i].sport,
			       fl[i].dport, rdst, rsport, fdst[i], fsport[i]);
			fails++;
		}
	}
	/* The check must be able to fail: both bouncers were chosen. */
	if (!seen_b2 || !seen_b3) {
		printf("FAIL: symmetry flows all chose one bouncer (%u/%u)\n",
		       seen_b2, seen_b3);
		fails++;
	}
	printf("%s: %d flows, both directions: same bouncer and UDP source "
	       "port, port in 49152-65535 (agent); same bouncer (stale "
	       "direct)\n", fails ? "FAIL" : "ok", N_SYM);
	return fails;
}

/* On failure: every counter that moved, to tell which path was taken. */
static void dump_counters(void)
{
	printf("counters (enum mzr_counter; drops at %d + reason):\n",
	       MZR_CNT_DROP_BASE);
	for (uint32_t i = 0; i < __MZR_CNT_MAX; i++) {
		uint64_t v = fixture_counter(env.stats_fd, i);

		if (v)
			printf("    [%u] %llu\n", i, (unsigned long long)v);
	}
}

int main(void)
{
	size_t n_agent;
	int fails = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	tab = calloc(MAX_FIX, sizeof(*tab));
	if (!tab)
		return 1;

	agent_fixtures();
	n_agent = n_tab;
	fails += fixture_run_table(env.agent_fd, env.stats_fd, tab, n_agent);

	transit_fixtures();
	fails += fixture_run_table(env.transit_fd, env.stats_fd, tab + n_agent,
				   n_tab - n_agent);
	fails += check_learned();
	fails += hook_checks();
	fails += symmetry_checks(); /* last: swaps two endpoints */

	if (fails)
		dump_counters();
	printf("%zu fixtures in all, %d failures\n", n_tab + 4, fails);
	return fails ? 1 : 0;
}
