// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The transit in tc (mzr_neigh on the underlay of a host attached in tc
 * mode, bpf-core/transit_tc.h), skb by skb through BPF_PROG_TEST_RUN
 * (SCHED_CLS): the same walk as the XDP transit's fixtures
 * (test_core_pkt.c), the same trust rules. Where outputs differ it is in
 * how the frame leaves: a forwarded frame keeps its Ethernet header (the
 * kernel's neighbour output writes it), a delivered one keeps the outer
 * Ethernet header rewritten to the endpoint's MAC and the inner source.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <mizar/abi.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"

#define MAX_FIX 64
#define DROP(r) (MZR_CNT_DROP_BASE + (r))

static struct core_env env;
static struct fixture_pkt tab[MAX_FIX];
static size_t n_tab;

static struct fixture_pkt *fx(const char *desc, int verdict, int counter)
{
	struct fixture_pkt *f;

	if (n_tab == MAX_FIX) {
		fprintf(stderr, "too many fixtures\n");
		exit(1);
	}
	f = &tab[n_tab++];
	memset(f, 0, sizeof(*f));
	f->desc = desc;
	f->verdict = verdict;
	f->counter = counter;
	f->ingress_ifindex = env.ul0;
	f->tc = true;
	return f;
}

static void same_out(struct fixture_pkt *f)
{
	f->check_out = true;
	pkt_copy(&f->out, &f->in);
}

/* What the tc transit sends on for a frame from @from (outer source
 * @src) to @next: tunnel_fwd() with the input's Ethernet header. */
static void tc_fwd(struct pkt *p, uint32_t from, uint32_t src, uint32_t next,
		   uint32_t vni, uint32_t flags, uint8_t ttl, uint32_t rts,
		   const struct pkt *inner)
{
	struct outer_spec o = { .dmac = MAC_US, .smac = host_mac(from),
				.src = src, .dst = next, .ttl = ttl,
				.sport = 51000, .vni = vni, .rts = rts,
				.flags = flags };

	build_encap(p, &o, inner);
}

static void set_tc_transit(bool on)
{
	int fd = core_env_map_fd(&env, "mzr_host");
	struct mzr_host_cfg cfg;
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &cfg)) {
		perror("mzr_host");
		exit(1);
	}
	if (on)
		cfg.flags |= MZR_HOST_F_TC_TRANSIT;
	else
		cfg.flags &= ~MZR_HOST_F_TC_TRANSIT;
	if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY)) {
		perror("mzr_host");
		exit(1);
	}
}

static void transit_fixtures(void)
{
	struct inner_spec s;
	struct pkt inner, tmp;
	struct fixture_pkt *f;

	/* -- Not ours. -- */
	f = fx("tc transit: UDP to another port (VXLAN 4789) goes to the "
	       "kernel", TC_ACT_UNSPEC, MZR_CNT_TRANSIT_PASS);
	pkt_init(&f->in);
	pkt_eth(&f->in, MAC_US, MAC_H2, PKT_ETH_P_IPV4);
	pkt_ipv4(&f->in, H2, US, 17, NULL);
	pkt_udp(&f->in, 5555, 4789);
	pkt_payload_pattern(&f->in, 40);
	pkt_finish(&f->in);
	same_out(f);

	s = remote(IP4(10, 1, 1, 11));
	build_inner(&inner, &s);
	f = fx("tc transit: Mizar Geneve for an unknown VNI goes to the "
	       "kernel (counted)", TC_ACT_UNSPEC, MZR_CNT_UNKNOWN_VNI);
	tunnel_in(&f->in, H2, 4242, 0, 64, &inner);
	same_out(f);

	f = fx("tc transit: VNI 0 with Mizar options is dropped (bad_vni)",
	       TC_ACT_SHOT, DROP(MZR_DROP_BAD_VNI));
	tunnel_in(&f->in, H2, 0, 0, 64, &inner);

	/* -- Delivery. -- */
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 20);
	build_inner(&inner, &s);
	f = fx("tc transit: a packet for an endpoint hosted here is "
	       "decapsulated and given the endpoint's MAC (and the sender "
	       "is learned)", TC_ACT_REDIRECT, MZR_CNT_DELIVER);
	tunnel_in(&f->in, H5, VNI_A, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	/* A GSO super-packet decapsulated whole: BPF_PROG_TEST_RUN cannot
	 * make a TCP GSO skb (its gso_size alone makes bpf_skb_adjust_room
	 * refuse), so tests/e2e/offloads.sh checks it end to end. */

	s = remote(IP4(10, 1, 1, 11));
	build_inner(&inner, &s);
	f = fx("tc transit: VPC B's 10.1.1.11 gets VPC B's packet (same IP "
	       "as an endpoint of VPC A)", TC_ACT_REDIRECT, MZR_CNT_DELIVER);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);
	f->check_out = true;
	s.dmac = MAC_B11;
	build_inner(&f->out, &s);

	s = remote(IP4(10, 1, 1, 30));
	build_inner(&inner, &s);
	f = fx("tc transit: a bypass-decap endpoint receives the tunnel "
	       "packet as is, addressed to its own MAC", TC_ACT_REDIRECT,
	       MZR_CNT_DELIVER_BYPASS);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	same_out(f);
	memcpy(f->out.data, MAC_EP6, 6);

	/* -- Trust (docs/security.md). -- */
	s = remote(IP4(10, 1, 1, 11));
	s.src = IP4(10, 1, 1, 24);
	build_inner(&inner, &s);
	f = fx("tc transit: Mizar Geneve from an underlay address that is "
	       "no known Mizar host (H7) is dropped (unknown_peer), never "
	       "delivered nor learned", TC_ACT_SHOT,
	       DROP(MZR_DROP_UNKNOWN_PEER));
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_REMOTE,
					.src = H7, .dst = US, .sport = 51000,
					.vni = VNI_A, .rts = H7 };

		build_encap(&f->in, &o, &inner);
	}

	s.src = IP4(10, 1, 1, 25);
	build_inner(&inner, &s);
	f = fx("tc transit: a frame whose RTS (H6) is not its outer source "
	       "(H2) is delivered but its RTS is not believed "
	       "(learn_refused)", TC_ACT_REDIRECT, MZR_CNT_LEARN_REFUSED);
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
	f = fx("tc transit: VPC A traffic for an address only VPC B has here "
	       "never reaches VPC B's endpoint (goes to A's divider)",
	       TC_ACT_REDIRECT, MZR_CNT_BOUNCER_TO_DIVIDER);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	tc_fwd(&f->out, H2, H2, H4, VNI_A, 0, 63, H2, &inner);

	/* -- Bouncer. -- */
	s = remote(IP4(10, 1, 1, 20));
	build_inner(&inner, &s);
	f = fx("tc transit: a bouncer rewrites the outer header to the "
	       "endpoint's host, TTL - 1, and sends it on", TC_ACT_REDIRECT,
	       MZR_CNT_BOUNCER_FWD);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	f->check_out = true;
	tc_fwd(&f->out, H2, H2, H5, VNI_A, 0, 63, H2, &inner);

	f = fx("tc transit: outer TTL 1 on a forwarding hop is dropped",
	       TC_ACT_SHOT, DROP(MZR_DROP_TTL_EXPIRED));
	tunnel_in(&f->in, H2, VNI_A, 0, 1, &inner);

	s = remote(IP4(10, 1, 1, 98));
	build_inner(&inner, &s);
	f = fx("tc transit: a stale direct-path packet is re-sent to a "
	       "bouncer of the destination's network, DIRECT cleared",
	       TC_ACT_REDIRECT, MZR_CNT_STALE_DIRECT);
	tunnel_in(&f->in, H6, VNI_A, MZR_F_DIRECT, 64, &inner);
	f->check_out = true;
	tc_fwd(&f->out, H6, H6, a1_bouncer(flow_hash(&s)), VNI_A, 0, 63, H6,
	       &inner);

	f = fx("tc transit: a bouncer answers ARP for a known endpoint, back "
	       "to the host the request came from (not its RTS, H6)",
	       TC_ACT_REDIRECT, MZR_CNT_BOUNCER_ARP);
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
		  IP4(10, 1, 1, 20));
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H2,
					.src = H2, .dst = US, .sport = 51000,
					.ttl = 9, .vni = VNI_A, .rts = H6 };

		build_encap(&f->in, &o, &inner);
	}
	f->check_out = true;
	pkt_init(&tmp);
	pkt_eth(&tmp, MAC_REMOTE, MAC_EP3, PKT_ETH_P_ARP);
	pkt_arp(&tmp, 2, MAC_EP3, IP4(10, 1, 1, 20), MAC_REMOTE,
		IP4(10, 1, 1, 77));
	pkt_finish(&tmp);
	tc_fwd(&f->out, H2, US, H2, VNI_A, 0, 64, US, &tmp);

	f = fx("tc transit: ARP for an address nobody has is dropped "
	       "(no_endpoint)", TC_ACT_SHOT, DROP(MZR_DROP_NO_ENDPOINT));
	build_arp(&inner, 1, MAC_REMOTE, IP4(10, 1, 1, 77),
		  IP4(10, 1, 1, 99));
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);

	/* -- Divider. -- */
	s = remote(IP4(10, 2, 1, 7));
	s.src = IP4(10, 1, 1, 77);
	build_inner(&inner, &s);
	f = fx("tc transit: a divider routes to a bouncer of the destination "
	       "network, flags it ROUTED and decrements the inner TTL",
	       TC_ACT_REDIRECT, MZR_CNT_DIVIDER_FWD);
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);
	f->check_out = true;
	s.ttl = 63;
	build_inner(&tmp, &s);
	tc_fwd(&f->out, H2, H2, H3, VNI_B, MZR_F_ROUTED, 63, H2, &tmp);

	s = remote(IP4(10, 2, 1, 7));
	s.ttl = 1;
	build_inner(&inner, &s);
	f = fx("tc transit: a divider drops an inner TTL of 1 (ttl_expired)",
	       TC_ACT_SHOT, DROP(MZR_DROP_TTL_EXPIRED));
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);

	s = remote(IP4(10, 2, 1, 7));
	build_inner(&inner, &s);
	f = fx("tc transit: a packet a divider already routed, for an "
	       "unknown endpoint, dies here (no bouncer/divider ping-pong)",
	       TC_ACT_SHOT, DROP(MZR_DROP_NO_ENDPOINT));
	tunnel_in(&f->in, H3, VNI_B, MZR_F_ROUTED, 64, &inner);

	s = remote(IP4(10, 9, 9, 9));
	build_inner(&inner, &s);
	f = fx("tc transit: a divider with no network for the destination "
	       "drops it (no_route)", TC_ACT_SHOT, DROP(MZR_DROP_NO_ROUTE));
	tunnel_in(&f->in, H2, VNI_B, 0, 64, &inner);
}

/* Learning follows the same rules as in XDP: from a delivered frame whose
 * RTS is its outer source, never from an unknown peer or a foreign RTS. */
static int check_learned(void)
{
	struct mzr_ep_key k = { .vni = VNI_A, .ip = htonl(IP4(10, 1, 1, 20)) };
	struct mzr_direct_val v;

	if (bpf_map_lookup_elem(env.direct_fd, &k, &v) || v.host != htonl(H5) ||
	    mono_ns() - v.updated_ns > 60000000000ULL) {
		printf("FAIL: tc delivery did not learn 10.1.1.20 -> H5\n");
		return 1;
	}
	printf("ok: tc delivery learned (VPC A, 10.1.1.20) -> 192.168.1.5\n");
	for (uint32_t ip = IP4(10, 1, 1, 24); ip <= IP4(10, 1, 1, 25); ip++) {
		k.ip = htonl(ip);
		if (!bpf_map_lookup_elem(env.direct_fd, &k, &v)) {
			printf("FAIL: tc transit learned (VPC A, %08x) from an "
			       "unknown peer or a foreign RTS\n", ip);
			return 1;
		}
	}
	printf("ok: nothing learned from an unknown peer or a foreign RTS\n");
	return 0;
}

int main(void)
{
	struct fixture_pkt *f;
	struct inner_spec s;
	struct pkt inner;
	int fd, fails;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	fd = core_env_prog_fd(&env, "mzr_neigh");
	set_tc_transit(true);
	transit_fixtures();
	fails = fixture_pkt_run_table(fd, env.stats_fd, tab, n_tab);
	fails += check_learned();

	/* With the XDP transit attached (flag clear) the tc program leaves
	 * the underlay's frames alone: XDP has handled them already. */
	set_tc_transit(false);
	n_tab = 0;
	s = remote(IP4(10, 1, 1, 20));
	build_inner(&inner, &s);
	f = fx("tc program, XDP transit: a tunnel frame on the underlay is "
	       "left alone (the XDP transit's)", TC_ACT_UNSPEC, -1);
	tunnel_in(&f->in, H2, VNI_A, 0, 64, &inner);
	same_out(f);
	fails += fixture_pkt_run_table(fd, env.stats_fd, tab, n_tab);
	printf("tc transit fixtures: %d failures\n", fails);
	return fails ? 1 : 0;
}
