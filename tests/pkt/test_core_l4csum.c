// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The XDP agent's L4 checksum (bpf-core/l4csum.h), frame by frame through
 * the real agent (BPF_PROG_TEST_RUN). A partial frame (checksum offload on
 * in the endpoint: the field holds the folded pseudo-header sum) leaves
 * with its full checksum, at every length the sum reads differently; a
 * complete frame leaves untouched, a UDP checksum of 0 stays 0. The agent
 * sums every frame whatever its field holds (mzr_l4_csum_fill(): an NF
 * at the agent-egress hook may have edited it), so a wrong checksum
 * leaves right; mzr_l4_csum_fill_fresh(), which would keep it wrong, is
 * not on the agent's path yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include <mizar/abi.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"

#define MAX_FIX 640

static struct core_env env;
static struct fixture_pkt *tab;
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
	f->ingress_ifindex = env.ep1h;
	f->check_out = true;
	return f;
}

/* EP1's @proto frame with @l4_len bytes of TCP or UDP to 10.1.1.20. */
static struct inner_spec spec(uint8_t proto, size_t l4_len)
{
	struct inner_spec s = from_ep1(IP4(10, 1, 1, 20));

	s.proto = proto;
	s.sport = 40000;
	s.dport = proto == 6 ? 443 : 5201;
	s.payload = l4_len - (proto == 6 ? 20 : 8);
	return s;
}

/* Partial in, complete out, tunnelled to a bouncer. */
static void partial_encap(const char *desc, uint8_t proto, size_t l4_len)
{
	struct inner_spec s = spec(proto, l4_len);
	struct fixture_pkt *f = fx(desc, XDP_REDIRECT, MZR_CNT_AGENT_ENCAP);

	build_inner(&f->in, &s);
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
	pkt_l4_partial(&f->in, 14);
}

/* Partial in, complete out, hairpinned to EP2 on this host: frames too
 * big for the 1500-byte underlay once encapsulated. */
static void partial_local(const char *desc, uint8_t proto, size_t l4_len)
{
	struct inner_spec s = spec(proto, l4_len);
	struct fixture_pkt *f = fx(desc, XDP_REDIRECT, MZR_CNT_AGENT_LOCAL);

	s.dst = IP4(10, 1, 1, 11);
	build_inner(&f->in, &s);
	pkt_l4_partial(&f->in, 14);
	s.dmac = MAC_EP2;
	build_inner(&f->out, &s);
}

/* The frame of @s with its checksum as built (complete), or corrupted
 * when @corrupt, tunnelled with the right checksum. */
static void complete_encap(const char *desc, const struct inner_spec *s,
			   bool corrupt)
{
	struct fixture_pkt *f = fx(desc, XDP_REDIRECT, MZR_CNT_AGENT_ENCAP);
	size_t cs = 14 + 20 + (s->proto == 6 ? 16 : 6);

	build_inner(&f->in, s);
	agent_out(&f->out, &f->in, s, a1_bouncer(flow_hash(s)), 0);
	if (corrupt)
		f->in.data[cs + 1] ^= 0x01;
}

/* Payload bytes that make the complete checksum of @s equal its folded
 * pseudo-header sum: the one complete frame the agent cannot tell from a
 * partial one (it recomputes it, to the same value). */
static void pseudo_lookalike(struct pkt *p, const struct inner_spec *s)
{
	struct pkt partial;
	size_t cs = 14 + 20 + (s->proto == 6 ? 16 : 6);
	size_t w;

	build_inner(p, s);
	w = p->len - 2; /* the last word of an even payload */
	for (uint32_t x = 0; x <= 0xffff; x++) {
		p->data[w] = x >> 8;
		p->data[w + 1] = x & 0xff;
		pkt_finish(p);
		pkt_copy(&partial, p);
		pkt_l4_partial(&partial, 14);
		if (!memcmp(p->data + cs, partial.data + cs, 2))
			return;
	}
	fprintf(stderr, "no payload word makes a look-alike\n");
	exit(1);
}

static void fixtures(void)
{
	static const size_t tcp_lens[] = { 20, 21, 22, 23, 32, 40, 52, 63,
					   64, 65, 67, 127, 128, 255, 256,
					   257, 511, 512, 513, 515, 1023,
					   1024, 1027, 1400 };
	static const size_t local_lens[] = { 1501, 1537, 1800, 2001 };
	struct inner_spec s;
	struct fixture_pkt *f;

	/* (a) Every UDP length up to 300 bytes (blocks of 64, 32/16/8/4
	 * bytes, 1-3 byte tails) and around one 512-byte chunk. */
	for (size_t len = 8; len <= 600; len++) {
		if (len > 300 && (len < 440 || len > 580) && len % 16 != 3)
			continue;
		partial_encap("partial UDP: leaves with its full checksum "
			      "(every length to 300, around 512)", 17, len);
	}
	for (size_t i = 0; i < sizeof(tcp_lens) / sizeof(tcp_lens[0]); i++)
		partial_encap("partial TCP: leaves with its full checksum "
			      "(bare ACK, odd lengths, 1-3 byte tails, around "
			      "512 and 1024, 1400)", 6, tcp_lens[i]);
	partial_encap("partial UDP of 1400 bytes: full checksum", 17, 1400);
	for (size_t i = 0; i < sizeof(local_lens) / sizeof(local_lens[0]);
	     i++) {
		partial_local("partial TCP over 1500 bytes, to a local "
			      "endpoint: full checksum", 6, local_lens[i]);
		partial_local("partial UDP over 1500 bytes, to a local "
			      "endpoint: full checksum", 17, local_lens[i]);
	}

	/* (b) Complete frames leave as they came. */
	for (size_t len = 20; len <= 1020; len += 333) {
		s = spec(6, len);
		complete_encap("complete TCP: left as it is", &s, false);
		s = spec(17, len);
		complete_encap("complete UDP: left as it is", &s, false);
	}

	/* (c) A wrong checksum leaves right: the agent cannot tell an NF's
	 * edit of a partial frame from a corrupt complete one. */
	for (size_t len = 20; len <= 1020; len += 333) {
		s = spec(6, len);
		complete_encap("complete TCP with a wrong checksum: leaves "
			       "with the right one", &s, true);
		s = spec(17, len);
		complete_encap("complete UDP with a wrong checksum: leaves "
			       "with the right one", &s, true);
	}

	/* (d) UDP without a checksum (0) stays without. */
	for (size_t len = 8; len <= 1008; len += 250) {
		s = spec(17, len);
		f = fx("UDP with checksum 0 (none): stays 0", XDP_REDIRECT,
		       MZR_CNT_AGENT_ENCAP);
		build_inner(&f->in, &s);
		f->in.data[14 + 20 + 6] = 0;
		f->in.data[14 + 20 + 7] = 0;
		agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
	}

	/* A complete frame whose checksum equals the pseudo sum is summed
	 * again, to the same value. */
	s = spec(17, 8 + 30);
	f = fx("complete UDP whose checksum equals the pseudo-header sum: "
	       "left as it is (recomputed to the same value)", XDP_REDIRECT,
	       MZR_CNT_AGENT_ENCAP);
	pseudo_lookalike(&f->in, &s);
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
	s = spec(6, 20 + 40);
	f = fx("complete TCP whose checksum equals the pseudo-header sum: "
	       "left as it is (recomputed to the same value)", XDP_REDIRECT,
	       MZR_CNT_AGENT_ENCAP);
	pseudo_lookalike(&f->in, &s);
	agent_out(&f->out, &f->in, &s, a1_bouncer(flow_hash(&s)), 0);
}

int main(void)
{
	int fails;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	tab = calloc(MAX_FIX, sizeof(*tab));
	if (!tab)
		return 1;
	fixtures();
	fails = fixture_pkt_run_table(env.agent_fd, env.stats_fd, tab, n_tab);
	printf("%zu fixtures, %d failures\n", n_tab, fails);
	free(tab);
	return fails ? 1 : 0;
}
