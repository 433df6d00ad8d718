/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet trace's maps and event output, shared by the core
 * (bpf-core/trace.h) and NFs (mzr_nf_drop(xdp, ctx, reason) in
 * <mizar/bpf/nf.h>): the loader binds an NF's copies of these maps to the
 * core's, so an NF's drop reaches `mizarctl monitor` and `trace` with the
 * same filters and per-CPU rate cap as the core's events. An NF built
 * without them still loads (it emits nothing).
 */
#ifndef MIZAR_BPF_TRACE_H
#define MIZAR_BPF_TRACE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/trace_abi.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_trace_cfg);
} mzr_trace_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_trace_pcpu);
} mzr_trace_pcpu SEC(".maps");

/* max_entries 0: libbpf sizes it to the possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} mzr_trace_events SEC(".maps");

/* What the filters look at: the inner flow (or a plain frame's). */
struct mzr_trace_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 vni;
	__u8 proto;
};

/* 1 when @f passes @cfg's filters; @perr: the flow could not be parsed
 * (it passes only filters on the VNI). */
static __always_inline int mzr_trace_match(const struct mzr_trace_cfg *cfg,
					   const struct mzr_trace_flow *f,
					   int perr)
{
	if (cfg->vni && f->vni != cfg->vni)
		return 0;
	if (!cfg->mask && !cfg->proto && !cfg->port)
		return 1;
	if (perr)
		return 0;
	if (cfg->mask && (f->saddr & cfg->mask) != cfg->addr &&
	    (f->daddr & cfg->mask) != cfg->addr)
		return 0;
	if (cfg->proto && f->proto != cfg->proto)
		return 0;
	if (cfg->port && f->sport != cfg->port && f->dport != cfg->port)
		return 0;
	return 1;
}

/* The per-CPU rate cap: 1 when one more event fits in this second's
 * window of @cfg->rate, else 0 (counted as suppressed). */
static __always_inline int mzr_trace_take(struct mzr_trace_pcpu *st,
					  const struct mzr_trace_cfg *cfg,
					  __u64 now)
{
	__u64 rate = cfg->rate ? cfg->rate : MZR_TRACE_DEFAULT_RATE;

	if (now - st->win_start >= 1000000000ULL) {
		st->win_start = now;
		st->win_used = 0;
	}
	if (st->win_used >= rate) {
		st->suppressed++;
		return 0;
	}
	st->win_used++;
	return 1;
}

/* Emit the event st->meta, its hook, verdict, VNI, host, reason and
 * point already set, with the first bytes of @ctx's packet (@len long). */
static __always_inline void mzr_trace_output(void *ctx,
					     struct mzr_trace_pcpu *st,
					     const struct mzr_trace_cfg *cfg,
					     __u64 now, __u64 len,
					     __u32 ifindex)
{
	__u64 cap = cfg->snaplen;

	if (cap > MZR_TRACE_MAX_SNAPLEN)
		cap = MZR_TRACE_MAX_SNAPLEN;
	if (cap > len)
		cap = len;
	st->meta.ts_ns = now;
	st->meta.suppressed = st->suppressed;
	st->meta.ifindex = ifindex;
	st->meta.pkt_len = len;
	st->meta.cap_len = cap;
	st->meta.outer_src = st->outer_src;
	bpf_perf_event_output(ctx, &mzr_trace_events,
			      BPF_F_CURRENT_CPU | (cap << 32), &st->meta,
			      sizeof(st->meta));
}

#endif /* MIZAR_BPF_TRACE_H */
