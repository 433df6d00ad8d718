/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet trace and drop monitor in the core: each program's entry and
 * exit emit a perf event carrying the packet and a small header (hook,
 * verdict, drop reason, VNI, host, ifindex) when `mizarctl trace` or
 * `monitor` has switched tracing on. Filters run here, so filtered-out
 * packets cost no copy; a per-CPU rate cap bounds what tracing can take
 * from forwarding and counts what it suppressed. Off, each trace point
 * costs one load of a global (mzr_obs_flags: direct value access, no
 * helper call, no NULL check) and a not-taken branch.
 *
 * Built with -DMZR_NO_TRACE, every trace point compiles to nothing:
 * bench_core -O measures tracing off against that build.
 */
#ifndef MZR_CORE_TRACE_H
#define MZR_CORE_TRACE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "trace_shared.h"
#include <mizar/bpf/trace.h>

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MZR_OBS_MAX_VPCS);
	__type(key, __u32);
	__type(value, struct mzr_obs_ctr);
} mzr_vpc_ctr SEC(".maps");

/* Local endpoints only (their traffic is what this host sees). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MZR_MAX_LOCAL_EPS);
	__type(key, struct mzr_ep_key);
	__type(value, struct mzr_obs_ctr);
} mzr_ep_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MZR_OBS_MAX_DROP_KEYS);
	__type(key, struct mzr_obs_drop_key);
	__type(value, __u64);
} mzr_obs_drops SEC(".maps");

/*
 * The switches of mzr_trace_cfg.flags (MZR_TRACE_F_ON, MZR_OBS_F_COUNT),
 * copied here by the library after it wrote the configuration: a global
 * in its own data section (map MZR_OBS_FLAGS_MAP), read by direct value
 * access, so that a trace point with tracing off is a load and a branch
 * (a map lookup was a dozen instructions, twice per packet at least).
 */
__u32 mzr_obs_flags SEC(".data.mzr_obs") = 0;

static __always_inline __u32 mzr_obs_flags_now(void)
{
	return *(volatile __u32 *)&mzr_obs_flags;
}

/* The configuration when one of @bits is on in both the switch and the
 * map (the map is written first, then the switch), else NULL. */
static __always_inline struct mzr_trace_cfg *mzr_obs_cfg(__u32 bits)
{
	__u32 zero = 0;
	struct mzr_trace_cfg *cfg;

	if (__builtin_expect(!(mzr_obs_flags_now() & bits), 1))
		return 0;
	cfg = bpf_map_lookup_elem(&mzr_trace_cfg, &zero);
	if (cfg && (cfg->flags & bits))
		return cfg;
	return 0;
}

/* The configuration when tracing or the traffic counters are on, else
 * NULL. Counters are opt-in per host (MZR_OBS_F_COUNT): they cost more
 * than 5% of the floor. */
static __always_inline struct mzr_trace_cfg *mzr_obs_on(void)
{
	return mzr_obs_cfg(MZR_TRACE_F_ON | MZR_OBS_F_COUNT);
}

/* The configuration when tracing is on, else NULL. */
static __always_inline struct mzr_trace_cfg *mzr_trace_on(void)
{
	return mzr_obs_cfg(MZR_TRACE_F_ON);
}

#ifdef MZR_NO_TRACE
/* The build without trace points: the baseline of bench_core -O. */
static __always_inline void mzr_trace_note_hook(__u32 hook, __u32 vni,
						__be32 ip)
{
}

static __always_inline void mzr_trace_note_drop(__u32 reason)
{
}

static __always_inline void mzr_trace_enter(struct xdp_md *xdp,
					    __u32 base_hook)
{
}

static __always_inline int mzr_trace_exit(struct xdp_md *xdp,
					  __u32 base_hook, int verdict)
{
	return verdict;
}

static __always_inline void mzr_trace_tc_enter(struct __sk_buff *skb)
{
}

static __always_inline int mzr_trace_tc(struct __sk_buff *skb, __u32 hook,
					int ret)
{
	return ret;
}
#else /* !MZR_NO_TRACE */

static __always_inline struct mzr_trace_pcpu *mzr_trace_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mzr_trace_pcpu, &zero);
}

/* A hook point reached (hooks.h) in VPC @vni, towards inner destination
 * @ip: the exit event names it, a drop after it counts there. A global
 * function, as the other trace points' work (below). */
__noinline int mzr_trace_note_hook_on(__u32 hook, __u32 vni, __u32 ip)
{
	struct mzr_trace_pcpu *st;

	if (!mzr_obs_on())
		return 0;
	st = mzr_trace_state();
	if (st) {
		st->hook = hook + 1;
		st->vni = vni;
		st->ip = ip;
	}
	return 0;
}

static __always_inline void mzr_trace_note_hook(__u32 hook, __u32 vni,
						__be32 ip)
{
	if (__builtin_expect(mzr_obs_flags_now() &
			     (MZR_TRACE_F_ON | MZR_OBS_F_COUNT), 0))
		mzr_trace_note_hook_on(hook, vni, ip);
}

/* A counted drop (stats.h): the exit event carries its reason, the
 * per-VPC/endpoint drop counters count it. */
__noinline int mzr_trace_note_drop_on(__u32 reason)
{
	struct mzr_trace_pcpu *st;

	if (!mzr_obs_on())
		return 0;
	st = mzr_trace_state();
	if (st)
		st->reason = reason + 1;
	return 0;
}

/* Unconditional: a drop path may pay a call (it ends the packet), and one
 * call with the reason in a register lets the compiler fold every drop
 * site into one block, where a flag test at each of the ~60 sites grew
 * the programs' main bodies by ~430 instructions amid their hot code. */
static __always_inline void mzr_trace_note_drop(__u32 reason)
{
	mzr_trace_note_drop_on(reason);
}

/* IPv4 at @ip: addresses, protocol, ports. 0, or -1 when not IPv4. */
static __always_inline int mzr_trace_parse_ip(void *ip, void *end,
					      struct mzr_trace_flow *f)
{
	struct iphdr *iph = ip;
	__u16 *ports;

	if ((void *)(iph + 1) > end || iph->version != 4)
		return -1;
	f->saddr = iph->saddr;
	f->daddr = iph->daddr;
	f->proto = iph->protocol;
	f->sport = 0;
	f->dport = 0;
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return 0;
	ports = ip + iph->ihl * 4;
	if ((void *)(ports + 2) > end)
		return 0;
	f->sport = ports[0];
	f->dport = ports[1];
	return 0;
}

/* The outer IPv4 source of a Geneve frame at @data, else 0: at the
 * transit's entry, the host that sent it (an event after decapsulation
 * still names it). */
static __always_inline __be32 mzr_trace_outer_src(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *udp;

	if ((void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    iph->version != 4 || iph->protocol != IPPROTO_UDP)
		return 0;
	udp = (void *)iph + iph->ihl * 4;
	if ((void *)(udp + 1) > end ||
	    udp->dest != bpf_htons(MZR_GENEVE_PORT))
		return 0;
	return iph->saddr;
}

/* The inner flow of a Geneve frame, or the flow of a plain frame. */
static __always_inline int mzr_trace_parse(void *data, void *end,
					   struct mzr_trace_flow *f)
{
	struct ethhdr *eth = data;
	__u8 *gnv;
	void *inner;

	f->vni = 0;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	if (mzr_trace_parse_ip(eth + 1, end, f))
		return -1;
	if (f->proto != IPPROTO_UDP || f->dport != bpf_htons(MZR_GENEVE_PORT))
		return 0;
	gnv = (void *)(eth + 1) + ((struct iphdr *)(eth + 1))->ihl * 4 +
	      sizeof(struct udphdr);
	if ((void *)(gnv + 8) > end)
		return 0;
	f->vni = ((__u32)gnv[4] << 16) | ((__u32)gnv[5] << 8) | gnv[6];
	inner = gnv + 8 + (gnv[0] & 0x3f) * 4;
	eth = inner;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	mzr_trace_parse_ip(eth + 1, end, f);
	return 0;
}

/* Emit one event for @ctx (an xdp_md or a __sk_buff: the perf output
 * copies from either) at @point, unless filtered or over the cap. */
static __always_inline void mzr_trace_emit(void *ctx, void *data, void *end,
					   __u64 len, __u32 ifindex,
					   struct mzr_trace_cfg *cfg,
					   __u32 base_hook, __u32 point,
					   __u32 verdict)
{
	struct mzr_trace_flow f = {};
	struct mzr_trace_pcpu *st = mzr_trace_state();
	struct mzr_host_cfg *host;
	__u64 now;
	int perr;

	if (!st)
		return;
	if ((cfg->flags & MZR_TRACE_F_DROPS) &&
	    (point != MZR_TRACE_AT_EXIT || verdict != XDP_DROP))
		return;
	perr = mzr_trace_parse(data, end, &f);
	if (st->hook && st->vni)
		f.vni = st->vni;
	if (!f.vni && base_hook == MZR_TRACE_HOOK_AGENT) {
		/* Dropped before a hook: the sending endpoint's VPC. */
		struct mzr_local_val *local;

		local = bpf_map_lookup_elem(&mzr_local, &ifindex);
		if (local)
			f.vni = local->vni;
	}
	if (!mzr_trace_match(cfg, &f, perr))
		return;
	now = bpf_ktime_get_ns();
	if (!mzr_trace_take(st, cfg, now))
		return;
	host = mzr_host_cfg();
	st->meta.vni = f.vni;
	st->meta.host = host ? host->ip : 0;
	st->meta.reason = point == MZR_TRACE_AT_EXIT && verdict == XDP_DROP ?
				  st->reason : 0;
	st->meta.hook = st->hook ? st->hook - 1 : base_hook;
	st->meta.point = point;
	st->meta.verdict = verdict;
	mzr_trace_output(ctx, st, cfg, now, len, ifindex);
}

static __always_inline void mzr_trace_emit_xdp(struct xdp_md *xdp,
					       struct mzr_trace_cfg *cfg,
					       __u32 base_hook, __u32 point,
					       __u32 verdict)
{
	void *data = (void *)(long)xdp->data;
	void *end = (void *)(long)xdp->data_end;

	mzr_trace_emit(xdp, data, end, end - data, xdp->ingress_ifindex, cfg,
		       base_hook, point, verdict);
}

static __always_inline void mzr_obs_add(void *map, const void *key,
					__u32 dir, __u64 len)
{
	struct mzr_obs_ctr *c = bpf_map_lookup_elem(map, key), zero = {};

	if (!c) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(map, key);
		if (!c)
			return;
	}
	if (dir > MZR_OBS_RX)
		return;
	c->pkts[dir]++;
	c->bytes[dir] += len;
}

static __always_inline void mzr_obs_drop_add(__u32 vni, __be32 ip,
					     __u32 reason)
{
	struct mzr_obs_drop_key k = { .vni = vni, .ip = ip, .reason = reason };
	__u64 *v = bpf_map_lookup_elem(&mzr_obs_drops, &k), one = 1;

	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&mzr_obs_drops, &k, &one, BPF_NOEXIST);
}

/* A transit drop before any hook point (the route's): the VNI of the
 * Geneve frame at @data when it came from this host or a known Mizar
 * host (the transit's first trust rule) and names a VPC of this host;
 * else 0. */
static __always_inline __u32 mzr_obs_transit_vni(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct mzr_host_cfg *host;
	struct iphdr *iph;
	struct udphdr *udp;
	__u8 *gnv;
	__u32 vni;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > end || iph->version != 4 ||
	    iph->protocol != IPPROTO_UDP)
		return 0;
	udp = (void *)iph + iph->ihl * 4;
	if ((void *)(udp + 1) > end ||
	    udp->dest != bpf_htons(MZR_GENEVE_PORT))
		return 0;
	gnv = (void *)(udp + 1);
	if ((void *)(gnv + 8) > end)
		return 0;
	vni = ((__u32)gnv[4] << 16) | ((__u32)gnv[5] << 8) | gnv[6];
	if (!vni || !bpf_map_lookup_elem(&mzr_vpcs, &vni))
		return 0;
	host = mzr_host_cfg();
	if (!host || (iph->saddr != host->ip && !mzr_peer_known(iph->saddr)))
		return 0;
	return vni;
}

/* A drop with its noted reason, where it belongs to a verified VPC or
 * endpoint (struct mzr_obs_drop_key): the agent's sending endpoint
 * (@local); else the VPC the route found at a hook point and, at the
 * deliver hook, the local endpoint it found; else the VPC of a frame a
 * known host sent (mzr_obs_transit_vni()). */
static __always_inline void mzr_obs_drop(struct mzr_trace_pcpu *st,
					 struct mzr_local_val *local,
					 void *data, void *end)
{
	__u32 reason, vni;

	if (!st->reason)
		return;
	reason = st->reason - 1;
	if (local) {
		mzr_obs_drop_add(local->vni, 0, reason);
		mzr_obs_drop_add(local->vni, local->ip, reason);
		return;
	}
	if (st->hook == MZR_HOOK_EXTERNAL + 1)
		return;
	if (st->hook && st->vni) {
		mzr_obs_drop_add(st->vni, 0, reason);
		if (st->hook == MZR_HOOK_DELIVER + 1 && st->ip)
			mzr_obs_drop_add(st->vni, st->ip, reason);
		return;
	}
	vni = mzr_obs_transit_vni(data, end);
	if (vni)
		mzr_obs_drop_add(vni, 0, reason);
}

/* Count a packet that left: an endpoint's (agent, @len0 before
 * encapsulation) or one delivered to an endpoint (@data decapsulated);
 * or a drop (@verdict XDP_DROP) by its reason. */
static __always_inline void mzr_obs_count(struct mzr_trace_pcpu *st,
					  __u32 base_hook, __u32 ifindex,
					  void *data, void *end, __u32 verdict)
{
	struct mzr_local_val *local = 0;
	struct mzr_trace_flow f;
	struct mzr_ep_key k = {};
	int agent = base_hook == MZR_TRACE_HOOK_AGENT ||
		    base_hook == MZR_HOOK_AGENT_EGRESS;

	if (agent)
		local = bpf_map_lookup_elem(&mzr_local, &ifindex);
	if (verdict == XDP_DROP) {
		if (!agent || local)
			mzr_obs_drop(st, local, data, end);
		return;
	}
	if (verdict != XDP_TX && verdict != XDP_REDIRECT)
		return;
	if (agent) {
		if (!local)
			return;
		k.vni = local->vni;
		k.ip = local->ip;
		mzr_obs_add(&mzr_vpc_ctr, &k.vni, MZR_OBS_TX, st->len0);
		mzr_obs_add(&mzr_ep_ctr, &k, MZR_OBS_TX, st->len0);
		if (st->hook != MZR_HOOK_DELIVER + 1)
			return;
	} else if (st->hook != MZR_HOOK_DELIVER + 1) {
		return;
	}
	/* Delivered: the frame as the endpoint receives it; a hairpin in
	 * tc notes no VNI, it stays in the sender's VPC (k.vni). */
	if (mzr_trace_parse(data, end, &f) || f.vni)
		return;
	if (st->vni)
		k.vni = st->vni;
	if (!k.vni)
		return;
	k.ip = f.daddr;
	mzr_obs_add(&mzr_vpc_ctr, &k.vni, MZR_OBS_RX, end - data);
	mzr_obs_add(&mzr_ep_ctr, &k, MZR_OBS_RX, end - data);
}

/*
 * The trace points' work when tracing or counting is on, as global
 * functions: the verifier checks each once, and the programs keep only
 * the switch's test and a call on their hot path (inlined, this code
 * doubled their size).
 */

/* Program entry (transit, agent): forget the last packet's hook and
 * reason, note its length; emit an rx event when asked to. */
__noinline int mzr_trace_enter_on(struct xdp_md *xdp, __u32 base_hook)
{
	struct mzr_trace_cfg *cfg = mzr_obs_on();
	struct mzr_trace_pcpu *st;

	if (!cfg)
		return 0;
	st = mzr_trace_state();
	if (!st)
		return 0;
	st->hook = 0;
	st->vni = 0;
	st->ip = 0;
	st->reason = 0;
	st->len0 = xdp->data_end - xdp->data;
	st->outer_src = base_hook == MZR_TRACE_HOOK_TRANSIT ?
		mzr_trace_outer_src((void *)(long)xdp->data,
				    (void *)(long)xdp->data_end) : 0;
	if ((cfg->flags & (MZR_TRACE_F_ON | MZR_TRACE_F_ENTRY)) ==
	    (MZR_TRACE_F_ON | MZR_TRACE_F_ENTRY))
		mzr_trace_emit_xdp(xdp, cfg, base_hook, MZR_TRACE_AT_ENTRY,
				   XDP_PASS);
	return 0;
}

/* Program exit with its final verdict: the counting half and the trace
 * half are two functions, called one after the other, not one inside the
 * other. Each keeps a small frame: a continuation's own frame plus the
 * two halves in one function exceeded the 512 bytes of combined stack
 * that 6.1's verifier allows a call chain (it rounds each frame up to
 * 32 bytes). */
__noinline int mzr_obs_exit_on(struct xdp_md *xdp, __u32 base_hook,
			       __u32 verdict)
{
	struct mzr_trace_cfg *cfg = mzr_obs_cfg(MZR_OBS_F_COUNT);
	struct mzr_trace_pcpu *st;

	if (!cfg)
		return 0;
	st = mzr_trace_state();
	if (st)
		mzr_obs_count(st, base_hook, xdp->ingress_ifindex,
			      (void *)(long)xdp->data,
			      (void *)(long)xdp->data_end, verdict);
	return 0;
}

__noinline int mzr_trace_exit_on(struct xdp_md *xdp, __u32 base_hook,
				 __u32 verdict)
{
	struct mzr_trace_cfg *cfg = mzr_trace_on();

	if (cfg)
		mzr_trace_emit_xdp(xdp, cfg, base_hook, MZR_TRACE_AT_EXIT,
				   verdict);
	return 0;
}

/* The tc agent's or tc transit's entry. */
__noinline int mzr_trace_tc_enter_on(struct __sk_buff *skb)
{
	struct mzr_trace_pcpu *st;

	if (!mzr_obs_on())
		return 0;
	st = mzr_trace_state();
	if (!st)
		return 0;
	st->hook = 0;
	st->vni = 0;
	st->ip = 0;
	st->reason = 0;
	st->len0 = skb->len;
	/* Still unknown here whether this is the tc transit or agent: an
	 * endpoint's own Geneve frame names the endpoint, as its packet
	 * would. */
	st->outer_src = mzr_trace_outer_src((void *)(long)skb->data,
					    (void *)(long)skb->data_end);
	return 0;
}

/* The tc exit with tc action @ret (not TC_ACT_UNSPEC), reported as the
 * XDP verdict it stands for. */
__noinline int mzr_trace_tc_on(struct __sk_buff *skb, __u32 hook, int ret)
{
	struct mzr_trace_cfg *cfg = mzr_obs_on();
	struct mzr_trace_pcpu *st;
	__u32 verdict;

	if (!cfg)
		return 0;
	verdict = ret == TC_ACT_SHOT ? XDP_DROP :
		  ret == TC_ACT_REDIRECT ? XDP_REDIRECT :
		  ret == TC_ACT_OK ? XDP_PASS : XDP_ABORTED;
	st = mzr_trace_state();
	if (st && (cfg->flags & MZR_OBS_F_COUNT))
		mzr_obs_count(st, hook, skb->ifindex,
			      (void *)(long)skb->data,
			      (void *)(long)skb->data_end, verdict);
	if (cfg->flags & MZR_TRACE_F_ON)
		mzr_trace_emit(skb, (void *)(long)skb->data,
			       (void *)(long)skb->data_end, skb->len,
			       skb->ifindex, cfg, hook, MZR_TRACE_AT_EXIT,
			       verdict);
	return 0;
}

#define MZR_OBS_ANY (MZR_TRACE_F_ON | MZR_OBS_F_COUNT)

/* Program entry (transit, agent). */
static __always_inline void mzr_trace_enter(struct xdp_md *xdp,
					    __u32 base_hook)
{
	if (__builtin_expect(mzr_obs_flags_now() & MZR_OBS_ANY, 0))
		mzr_trace_enter_on(xdp, base_hook);
}

/* Program exit with its final verdict; returns @verdict. */
static __always_inline int mzr_trace_exit(struct xdp_md *xdp,
					  __u32 base_hook, int verdict)
{
	__u32 on = mzr_obs_flags_now();

	if (__builtin_expect(on & MZR_OBS_ANY, 0)) {
		if (on & MZR_OBS_F_COUNT)
			mzr_obs_exit_on(xdp, base_hook, verdict);
		if (on & MZR_TRACE_F_ON)
			mzr_trace_exit_on(xdp, base_hook, verdict);
	}
	return verdict;
}

/* The tc agent (agent_tc.h), entered with @skb: forget the last packet's
 * hook and reason, note its length. */
static __always_inline void mzr_trace_tc_enter(struct __sk_buff *skb)
{
	if (__builtin_expect(mzr_obs_flags_now() & MZR_OBS_ANY, 0))
		mzr_trace_tc_enter_on(skb);
}

/* The exit of the tc agent (@hook MZR_TRACE_HOOK_AGENT) or of the tc
 * transit (MZR_TRACE_HOOK_TRANSIT): @ret is its tc action; TC_ACT_UNSPEC
 * (not ours) is not traced. Verdicts are reported as XDP's. */
static __always_inline int mzr_trace_tc(struct __sk_buff *skb, __u32 hook,
					int ret)
{
	if (__builtin_expect(mzr_obs_flags_now() & MZR_OBS_ANY, 0) &&
	    ret != TC_ACT_UNSPEC)
		mzr_trace_tc_on(skb, hook, ret);
	return ret;
}

#endif /* MZR_NO_TRACE */

#endif /* MZR_CORE_TRACE_H */
