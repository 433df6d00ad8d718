// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Cost breakdown of the core's walks (bench_core -b): each program runs a
 * prefix of the bouncer's or the agent's walk, built from the same inline
 * steps as bpf-core (transit.h, agent.h), then ends like the floor (MAC
 * swap + XDP_TX). Their differences are what each stage costs. The micro
 * programs add one primitive (a counter, a clock, a FIB lookup, ...) to
 * the floor. bench_core points this object's maps at the loaded core's
 * (bpf_map__reuse_fd), so every lookup sees the real configuration.
 */
#include "transit.h"

MZR_DEFINE_WALK_OPTIONS(mzr_core_walk_options, struct xdp_md)

/* Keep @v computed: the compiler may not drop the stage that made it. */
#define bs_use(v) asm volatile("" : : "r"(v))

static __always_inline int bs_done(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/* ---- The bouncer's walk -------------------------------------------------- */

/* Outer Ethernet, IPv4, UDP and the Geneve header, no options. */
static __always_inline struct mzr_genevehdr *bs_outer(struct xdp_md *xdp,
						       void **end)
{
	struct mzr_host_cfg *host = mzr_host_cfg();
	struct mzr_cursor c;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct udphdr *udp;
	struct mzr_genevehdr *g;

	if (!host)
		return 0;
	mzr_cursor_init(&c, xdp);
	if (mzr_parse_ethhdr(&c, &eth) != ETH_P_IP ||
	    mzr_parse_iphdr(&c, &iph) != IPPROTO_UDP || iph->ihl != 5 ||
	    mzr_ipv4_is_fragment(iph) || iph->daddr != host->ip ||
	    mzr_parse_udphdr(&c, &udp) != MZR_GENEVE_PORT)
		return 0;
	g = c.pos;
	if ((void *)(g + 1) > c.end ||
	    mzr_geneve_version(g) != MZR_GENEVE_VERSION)
		return 0;
	*end = c.end;
	return g;
}

SEC("xdp")
int bs_t_outer(struct xdp_md *xdp)
{
	void *end;

	if (!bs_outer(xdp, &end))
		return XDP_ABORTED;
	return bs_done(xdp);
}

/* ... and the Geneve options (the agent's layout: two compares). */
SEC("xdp")
int bs_t_options(struct xdp_md *xdp)
{
	struct mzr_genevehdr *g;
	struct mzr_pkt p = {};
	void *end;

	g = bs_outer(xdp, &end);
	if (!g || !mzr_std_options(g, end, &p))
		return XDP_ABORTED;
	bs_use(p.rts);
	return bs_done(xdp);
}

/* The option walk alone (a global function): any other layout. */
SEC("xdp")
int bs_m_option_walk(struct xdp_md *xdp)
{
	int r = mzr_core_walk_options(xdp);

	bs_use(r);
	return bs_done(xdp);
}

/* mzr_transit_parse(): outer, options, inner frame. */
SEC("xdp")
int bs_t_parse(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_pkt p;

	host = mzr_host_cfg();
	if (!host || !host->ip)
		return XDP_ABORTED;
	if (mzr_transit_parse(xdp, host, &p) != MZR_GO)
		return XDP_ABORTED;
	bs_use(p.daddr);
	return bs_done(xdp);
}

/* ... and mzr_transit_route(): the endpoint lookup, the plan. */
SEC("xdp")
int bs_t_route(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_plan plan;
	struct mzr_pkt p;

	host = mzr_host_cfg();
	if (!host || !host->ip)
		return XDP_ABORTED;
	if (mzr_transit_parse(xdp, host, &p) != MZR_GO ||
	    mzr_transit_route(host, &p, &plan) != MZR_GO)
		return XDP_ABORTED;
	bs_use(plan.next);
	return bs_done(xdp);
}

/* ... and the hook point with an empty chain. */
SEC("xdp")
int bs_t_hook(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_plan plan;
	struct mzr_pkt p;

	host = mzr_host_cfg();
	if (!host || !host->ip)
		return XDP_ABORTED;
	if (mzr_transit_parse(xdp, host, &p) != MZR_GO ||
	    mzr_transit_route(host, &p, &plan) != MZR_GO)
		return XDP_ABORTED;
	if (plan.hook != MZR_HOOK_NONE &&
	    mzr_hook(xdp, plan.hook, mzr_hook_role(&plan), &p, &plan) !=
		    MZR_GO)
		return XDP_ABORTED;
	bs_use(plan.next);
	return bs_done(xdp);
}

/* ... and the next hop (mzr_fib_next_hop(): the cache). */
SEC("xdp")
int bs_t_nexthop(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_next_hop nh;
	struct mzr_plan plan;
	struct mzr_pkt p;

	host = mzr_host_cfg();
	if (!host || !host->ip)
		return XDP_ABORTED;
	if (mzr_transit_parse(xdp, host, &p) != MZR_GO ||
	    mzr_transit_route(host, &p, &plan) != MZR_GO)
		return XDP_ABORTED;
	if (plan.hook != MZR_HOOK_NONE &&
	    mzr_hook(xdp, plan.hook, mzr_hook_role(&plan), &p, &plan) !=
		    MZR_GO)
		return XDP_ABORTED;
	if (mzr_fib_next_hop(xdp, host, plan.next, &nh) !=
	    BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_ABORTED;
	bs_use(nh.ifindex);
	return bs_done(xdp);
}

/* ---- The agent's walk ---------------------------------------------------- */

/* mzr_agent_parse(): the local endpoint, the frame. */
SEC("xdp")
int bs_a_parse(struct xdp_md *xdp)
{
	struct mzr_local_val *local = mzr_agent_local(xdp);
	struct mzr_pkt p;

	if (!local || mzr_agent_parse(xdp, local, &p) != MZR_GO)
		return XDP_ABORTED;
	bs_use(p.daddr);
	return bs_done(xdp);
}

/* ... admission and the agent-egress hook point (empty chain). */
SEC("xdp")
int bs_a_hook(struct xdp_md *xdp)
{
	struct mzr_local_val *local = mzr_agent_local(xdp);
	struct mzr_pkt p;

	if (!local || mzr_agent_parse(xdp, local, &p) != MZR_GO ||
	    mzr_agent_admit(local, &p, xdp->ingress_ifindex) != MZR_GO ||
	    mzr_hook(xdp, MZR_HOOK_AGENT_EGRESS, MZR_ROLE_AGENT, &p, 0) !=
		    MZR_GO)
		return XDP_ABORTED;
	bs_use(p.daddr);
	return bs_done(xdp);
}

/* ... the route: host, network, endpoint and direct-path lookups, the
 * flow hash and the bouncer (as mzr_agent_after_hook() up to the encap). */
static __always_inline int bs_agent_route(struct xdp_md *xdp,
					  struct mzr_host_cfg **hostp,
					  __be32 *next, struct mzr_pkt *pp)
{
	struct mzr_local_val *local = mzr_agent_local(xdp);
	struct mzr_ep_key k = {};
	struct mzr_host_cfg *host;
	struct mzr_direct_val *d;
	struct mzr_net_val *net;
	struct mzr_ep_val *ep;
	__u32 reason = 0, hash;
	struct mzr_pkt p;

	if (!local || mzr_agent_parse(xdp, local, &p) != MZR_GO ||
	    mzr_agent_admit(local, &p, xdp->ingress_ifindex) != MZR_GO ||
	    mzr_hook(xdp, MZR_HOOK_AGENT_EGRESS, MZR_ROLE_AGENT, &p, 0) !=
		    MZR_GO)
		return -1;
	host = mzr_host_cfg();
	if (!host || !host->ip)
		return -1;
	net = mzr_net_lookup(local->vni, local->ip);
	if (!net)
		return -1;
	k.vni = p.vni;
	k.ip = p.daddr;
	ep = bpf_map_lookup_elem(&mzr_eps, &k);
	if (ep && (ep->flags & MZR_EP_F_LOCAL))
		return -1;
	hash = mzr_pkt_hash(&p);
	d = mzr_net_contains(net, p.daddr) ?
		    bpf_map_lookup_elem(&mzr_direct, &k) : NULL;
	if (d && mzr_direct_fresh(d, host))
		*next = d->host;
	else
		*next = mzr_pick_bouncer(net, hash, &reason);
	*hostp = host;
	*pp = p;
	return *next ? 0 : -1;
}

SEC("xdp")
int bs_a_route(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_pkt p;
	__be32 next;

	if (bs_agent_route(xdp, &host, &next, &p))
		return XDP_ABORTED;
	bs_use(next);
	return bs_done(xdp);
}

/* ... and the next hop. */
SEC("xdp")
int bs_a_nexthop(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_next_hop nh;
	struct mzr_pkt p;
	__be32 next;

	if (bs_agent_route(xdp, &host, &next, &p) ||
	    mzr_fib_next_hop(xdp, host, next, &nh) !=
		    BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_ABORTED;
	bs_use(nh.ifindex);
	return bs_done(xdp);
}

/* ... and the endpoint's L4 checksum, completed (l4csum.h,
 * mzr_l4_csum_fill(): the whole sum, partial frame or not). The frame is
 * restored by the wrapper each time, so the sum is redone each time. */
SEC("xdp")
int bs_a_csum(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host;
	struct mzr_next_hop nh;
	struct mzr_pkt p;
	__be32 next;

	if (bs_agent_route(xdp, &host, &next, &p) ||
	    mzr_fib_next_hop(xdp, host, next, &nh) !=
		    BPF_FIB_LKUP_RET_SUCCESS ||
	    mzr_l4_csum_fill(xdp, &p))
		return XDP_ABORTED;
	bs_use(nh.ifindex);
	return bs_done(xdp);
}

/* The L4 checksum alone on an endpoint's frame (Ethernet, IPv4, TCP or
 * UDP): what mzr_core_l4_csum() costs without the walk around it, as the
 * agent calls it (the whole sum, fresh = 0). */
SEC("xdp")
int bs_m_l4csum(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);

	if ((void *)(iph + 1) > end)
		return XDP_ABORTED;
	if (mzr_core_l4_csum(xdp, sizeof(struct ethhdr),
			     sizeof(struct ethhdr) + iph->ihl * 4,
			     iph->protocol))
		return XDP_ABORTED;
	return bs_done(xdp);
}

/* ---- One primitive on top of the floor ----------------------------------- */

/* A per-CPU counter (mzr_stats): what each mzr_count() costs. */
SEC("xdp")
int bs_m_counter(struct xdp_md *xdp)
{
	mzr_count(MZR_CNT_TRANSIT_RX);
	return bs_done(xdp);
}

SEC("xdp")
int bs_m_ktime(struct xdp_md *xdp)
{
	bs_use(bpf_ktime_get_ns());
	return bs_done(xdp);
}

SEC("xdp")
int bs_m_ktime_coarse(struct xdp_md *xdp)
{
	bs_use(bpf_ktime_get_coarse_ns());
	return bs_done(xdp);
}

SEC("xdp")
int bs_m_jiffies(struct xdp_md *xdp)
{
	bs_use(bpf_jiffies64());
	return bs_done(xdp);
}

/* The next hop of the bench's bouncer destination (H5), three ways. */
#define BS_NEXT bpf_htonl(0xc0a80105) /* 192.168.1.5 */

static __always_inline int bs_fib(struct xdp_md *xdp, __u32 flags)
{
	struct mzr_host_cfg *host = mzr_host_cfg();
	struct bpf_fib_lookup f = {};
	int rc;

	if (!host)
		return XDP_ABORTED;
	f.family = AF_INET;
	f.l4_protocol = IPPROTO_UDP;
	f.ipv4_src = host->ip;
	f.ipv4_dst = BS_NEXT;
	f.ifindex = host->ifindex;
	rc = bpf_fib_lookup(xdp, &f, sizeof(f), flags);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_ABORTED;
	return bs_done(xdp);
}

SEC("xdp")
int bs_m_fib_output(struct xdp_md *xdp)
{
	return bs_fib(xdp, BPF_FIB_LOOKUP_OUTPUT);
}

SEC("xdp")
int bs_m_fib_direct(struct xdp_md *xdp)
{
	return bs_fib(xdp, BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_DIRECT);
}

SEC("xdp")
int bs_m_nh_cache(struct xdp_md *xdp)
{
	struct mzr_host_cfg *host = mzr_host_cfg();
	struct mzr_next_hop nh;

	if (!host ||
	    mzr_fib_next_hop(xdp, host, BS_NEXT, &nh) !=
		    BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_ABORTED;
	bs_use(nh.ifindex);
	return bs_done(xdp);
}

/* One endpoint-table lookup (the hot entry of the bouncer run). */
SEC("xdp")
int bs_m_ep_lookup(struct xdp_md *xdp)
{
	struct mzr_ep_val *ep = mzr_ep_lookup(100, bpf_htonl(0x0a010114));

	if (!ep)
		return XDP_ABORTED;
	bs_use(ep->host);
	return bs_done(xdp);
}

/* An empty hook's check (mzr_chain_active()). */
SEC("xdp")
int bs_m_chain_check(struct xdp_md *xdp)
{
	__u32 bank;

	if (mzr_chain_active(MZR_HOOK_BOUNCER, &bank))
		return XDP_ABORTED;
	return bs_done(xdp);
}

char _license[] SEC("license") = "GPL";
