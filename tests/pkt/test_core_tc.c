// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The transit agent in tc (mzr_neigh on an endpoint veth without the XDP
 * agent), skb by skb: each fixture runs one frame through the real
 * program with BPF_PROG_TEST_RUN (SCHED_CLS) on an endpoint's host-side
 * veth, and states the verdict, the exact output frame and the counters
 * that must move. The XDP agent's fixtures (test_core_pkt.c) and these
 * share the decisions (mzr_agent_decide): where the outputs differ, it
 * is in how the frame leaves (neighbour output) and in GSO.
 */
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
static struct fixture tab[MAX_FIX];
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
	f->tc = true;
	return f;
}

static void counter2(struct fixture *f, int c)
{
	f->has_counter2 = true;
	f->counter2 = c;
}

/* What the tc agent emits for @in (built from @s, sent by @src_host's
 * endpoint) to @next: the outer Ethernet addresses are placeholders (this
 * host's MAC) that the kernel's neighbour output rewrites. */
static void tc_out(struct pkt *out, const struct pkt *in,
		   const struct inner_spec *s, uint32_t next, uint32_t flags)
{
	struct outer_spec o = { .dmac = MAC_US, .smac = MAC_US, .src = US,
				.dst = next, .sport = flow_sport(s),
				.vni = VNI_A, .rts = US, .flags = flags };

	build_encap(out, &o, in);
}

/* The gateway of A1's ICMP Fragmentation Needed (next-hop MTU 1434) for
 * EP1's frame @in, quoting its IPv4 header and @l4 bytes after it. */
static void frag_needed_out(struct pkt *out, const struct pkt *in,
			    size_t l4)
{
	struct pkt_ipv4_opts o = { .tos = 0xc0, .frag_off = 0x4000 };
	size_t hl = (size_t)(in->data[14] & 0xf) * 4;

	pkt_init(out);
	pkt_eth(out, MAC_EP1, MAC_GW_A1, PKT_ETH_P_IPV4);
	pkt_ipv4(out, IP4(10, 1, 1, 1), IP4(10, 1, 1, 10), 1, &o);
	pkt_icmp(out, 3, 4, 1500 - MZR_ENCAP_LEN);
	pkt_payload(out, in->data + 14, hl + l4);
	pkt_finish(out);
}

static struct inner_spec tcp_from_ep1(uint32_t dst, size_t payload)
{
	struct inner_spec s = from_ep1(dst);

	s.proto = 6;
	s.sport = 33333;
	s.dport = 80;
	s.frag_off = 0x4000; /* DF, as TCP sends */
	s.payload = payload;
	return s;
}

static void tc_fixtures(void)
{
	struct inner_spec s;
	struct fixture *f;

	s = from_ep1(IP4(10, 1, 1, 20));
	f = fx("tc agent: an endpoint's UDP to a remote endpoint is "
	       "tunnelled to a bouncer of its network chosen by the flow, "
	       "out through the kernel's neighbour output",
	       TC_ACT_REDIRECT, MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	tc_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	s = tcp_from_ep1(IP4(10, 1, 1, 20), 100);
	f = fx("tc agent: TCP is tunnelled the same way", TC_ACT_REDIRECT,
	       MZR_CNT_AGENT_ENCAP, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	tc_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);

	s = from_ep1(IP4(10, 1, 1, 60));
	f = fx("tc agent: a fresh learned entry sends straight to the "
	       "destination's host, flagged DIRECT",
	       TC_ACT_REDIRECT, MZR_CNT_AGENT_DIRECT, env.ep1h);
	build_inner(&f->in, &s);
	f->check_out = true;
	tc_out(&f->out, &f->in, &s, H6, MZR_F_DIRECT);

	f = fx("tc agent: an ARP request is tunnelled unchanged to a "
	       "bouncer (one more pass through the veth's ingress makes it "
	       "an IPv4 skb for the neighbour output)",
	       TC_ACT_REDIRECT, MZR_CNT_AGENT_ARP, env.ep1h);
	build_arp(&f->in, 1, MAC_EP1, IP4(10, 1, 1, 10), IP4(10, 1, 1, 20));
	f->check_out = true;
	{
		uint32_t h = arp_hash(IP4(10, 1, 1, 10), IP4(10, 1, 1, 20));
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_US,
					.src = US, .dst = a1_bouncer(h),
					.sport = (uint16_t)(MZR_SPORT_MIN |
							    (h & 0x3fff)),
					.vni = VNI_A, .rts = US };

		build_encap(&f->out, &o, &f->in);
	}

	/* A GSO super-packet is judged by its segments (gso_size plus
	 * headers), not its length: a 1000-byte skb that would be cut in
	 * 1448-byte segments does not fit. (BPF_PROG_TEST_RUN sets the
	 * segment size but cannot make a TCP GSO skb: __sk_buff has
	 * gso_size and gso_segs, no gso_type, and bpf_skb_adjust_room()
	 * refuses a GSO skb that is not TCP GSO with -ENOTSUPP, so one whose
	 * segments fit ends as drop_encap here. The whole super-packet's
	 * encapsulation is checked end to end instead: tests/e2e/offloads.sh.)
	 */
	s = tcp_from_ep1(IP4(10, 1, 1, 20), 946);
	f = fx("tc agent: a GSO skb whose segments would not fit the "
	       "underlay once encapsulated is answered with Fragmentation "
	       "Needed (quoting the TCP header whole)",
	       TC_ACT_REDIRECT, MZR_CNT_AGENT_FRAG_NEEDED, env.ep1h);
	counter2(f, DROP(MZR_DROP_TOO_BIG));
	f->gso_size = 1448;
	build_inner(&f->in, &s);
	f->check_out = true;
	frag_needed_out(&f->out, &f->in, 20);

	s = tcp_from_ep1(IP4(10, 1, 1, 20), 1500 - 52 - 54 + 1);
	f = fx("tc agent: a too-big TCP frame with DF is answered by the "
	       "gateway with ICMP Fragmentation Needed, next-hop MTU 1434",
	       TC_ACT_REDIRECT, MZR_CNT_AGENT_FRAG_NEEDED, env.ep1h);
	counter2(f, DROP(MZR_DROP_TOO_BIG));
	build_inner(&f->in, &s);
	f->check_out = true;
	frag_needed_out(&f->out, &f->in, 20);

	s = from_ep1(IP4(10, 1, 1, 20));
	s.src = IP4(10, 1, 1, 99);
	f = fx("tc agent: an endpoint sending from another IP is dropped "
	       "(spoofed)", TC_ACT_SHOT, DROP(MZR_DROP_SPOOFED), env.ep1h);
	build_inner(&f->in, &s);

	s = from_ep1(IP4(10, 1, 1, 20));
	f = fx("tc agent: a frame on a device that serves no endpoint is "
	       "left alone", TC_ACT_UNSPEC, -1, env.noeph);
	build_inner(&f->in, &s);
	f->check_out = true;
	pkt_copy(&f->out, &f->in);

	s = from_ep1(IP4(10, 1, 1, 11));
	s.dmac = MAC_GW_A1;
	f = fx("tc agent: traffic between two endpoints of one network on "
	       "this host is hairpinned with the destination's MAC, TTL "
	       "untouched", TC_ACT_REDIRECT, MZR_CNT_AGENT_LOCAL, env.ep1h);
	counter2(f, MZR_CNT_HOOK_DELIVER);
	build_inner(&f->in, &s);
	f->check_out = true;
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);

	s = from_ep1(IP4(10, 1, 2, 10));
	s.dmac = MAC_GW_A1;
	f = fx("tc agent: to an endpoint of another network on this host, "
	       "the hairpin is a routed hop: the divider hook and the TTL "
	       "decrement", TC_ACT_REDIRECT, MZR_CNT_AGENT_LOCAL, env.ep1h);
	counter2(f, MZR_CNT_HOOK_DIVIDER);
	build_inner(&f->in, &s);
	f->check_out = true;
	s.dmac = MAC_EP4;
	s.ttl = 63;
	build_inner(&f->out, &s);

	s = from_ep1(IP4(10, 1, 2, 10));
	s.dmac = MAC_GW_A1;
	s.ttl = 1;
	f = fx("tc agent: ... with TTL 1 it dies there (ttl_expired)",
	       TC_ACT_SHOT, DROP(MZR_DROP_TTL_EXPIRED), env.ep1h);
	build_inner(&f->in, &s);

	/* EP4's network (10.1.2.0/24) is bounced by this host. */
	s = from_ep1(IP4(10, 1, 2, 99));
	s.smac = MAC_EP4;
	s.src = IP4(10, 1, 2, 10);
	f = fx("tc agent: when this host is the bouncer, the transit's own "
	       "routing runs on the frame: an unknown destination goes to "
	       "the VPC's divider", TC_ACT_REDIRECT,
	       MZR_CNT_BOUNCER_TO_DIVIDER, env.ep4h);
	counter2(f, MZR_CNT_AGENT_ENCAP);
	build_inner(&f->in, &s);
	f->check_out = true;
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_US,
					.src = US, .dst = H4,
					.sport = flow_sport(&s),
					.vni = VNI_A, .rts = US };

		build_encap(&f->out, &o, &f->in);
	}
}

int main(void)
{
	int fd, fails;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	fd = core_env_prog_fd(&env, "mzr_neigh");
	tc_fixtures();
	fails = fixture_run_table(fd, env.stats_fd, tab, n_tab);
	printf("%zu fixtures, %d failures\n", n_tab, fails);
	return fails ? 1 : 0;
}
