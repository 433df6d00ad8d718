/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet trace and drop monitor: the configuration mzr_trace__start()
 * writes and the event header the core, and an NF that drops, emit with
 * each traced packet (shared by bpf-core/trace.h, <mizar/bpf/trace.h>
 * and libmizar/trace.c). Installed for <mizar/bpf/trace.h>; not an API
 * of its own: it may grow only as the maps it describes can.
 */
#ifndef MIZAR_TRACE_ABI_H
#define MIZAR_TRACE_ABI_H

#include <linux/types.h>

/* Trace points: enum mzr_hook (0..4), then the programs' own entry and
 * exit points when no hook was reached. */
enum mzr_trace_hook {
	MZR_TRACE_HOOK_TRANSIT = 5,	/* underlay XDP program */
	MZR_TRACE_HOOK_AGENT = 6,	/* endpoint veth XDP program */
	__MZR_TRACE_HOOK_MAX,
};

/* mzr_trace_cfg.flags */
#define MZR_TRACE_F_ON (1U << 0)	/* emit events at all */
#define MZR_TRACE_F_DROPS (1U << 1)	/* only exits with XDP_DROP */
#define MZR_TRACE_F_ENTRY (1U << 2)	/* also program entries (rx) */
#define MZR_OBS_F_COUNT (1U << 3)	/* per-VPC/endpoint counters on */
/* The bits mzr_trace__start()/stop() own; the others are the host's. */
#define MZR_TRACE_F_MASK (MZR_TRACE_F_ON | MZR_TRACE_F_DROPS | MZR_TRACE_F_ENTRY)

/* mzr_trace_cfg: one entry; tracing off and counters off cost one load
 * and a not-taken branch per program run. */
struct mzr_trace_cfg {
	__u32 flags;
	__u32 vni;		/* 0: any */
	__be32 addr;		/* inner source or destination in addr/mask */
	__be32 mask;		/* 0: any address */
	__u16 port;		/* inner source or destination port; 0: any */
	__u8 proto;		/* inner IP protocol; 0: any */
	__u8 pad;
	__u32 snaplen;		/* bytes of each packet copied (0: headers) */
	__u32 rate;		/* events per second per CPU (0: default) */
};

#define MZR_TRACE_DEFAULT_RATE 10000
#define MZR_TRACE_DEFAULT_SNAPLEN 256
#define MZR_TRACE_MAX_SNAPLEN 9216

/* Event point */
#define MZR_TRACE_AT_ENTRY 0
#define MZR_TRACE_AT_EXIT 1

/* Header of each perf event; the packet's first cap_len bytes follow. */
struct mzr_trace_meta {
	__u64 ts_ns;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 suppressed;	/* this CPU's events dropped by the rate cap */
	__u32 ifindex;		/* device the packet arrived on */
	__u32 pkt_len;		/* the whole packet's length */
	__u32 cap_len;		/* bytes of it that follow */
	__u32 vni;		/* VNI the core decided on (0: unknown) */
	__be32 host;		/* this host's underlay IP */
	__u16 reason;		/* enum mzr_drop_reason + 1; 0: none */
	__u8 hook;		/* enum mzr_hook or enum mzr_trace_hook */
	__u8 point;		/* MZR_TRACE_AT_* */
	__u8 verdict;		/* XDP action */
	__u8 pad[3];
	__be32 outer_src;	/* underlay source of the frame the transit
				 * received (the sending host; kept after
				 * decapsulation); 0: none (older cores too) */
};

/* Per-CPU state: the rate cap's window, what the packet met so far, and
 * the event header being built (kept off the programs' stacks). */
struct mzr_trace_pcpu {
	__u64 win_start;
	__u64 win_used;
	__u64 suppressed;
	__u32 hook;		/* hook reached + 1; 0: none */
	__u32 vni;
	__u32 reason;		/* drop reason + 1; 0: none */
	__u32 len0;		/* length at program entry (counters) */
	__be32 ip;		/* the hook's inner destination (deliver:
				 * the local endpoint the route found) */
	__be32 outer_src;	/* the transit's frame's outer IPv4 source */
	struct mzr_trace_meta meta;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct mzr_trace_meta) == 48,
	       "the event header's size is shared with older libraries");
#endif

/* Per-VPC (key: VNI) and per-local-endpoint (struct mzr_ep_key) traffic:
 * [MZR_OBS_TX] sent by endpoints into the overlay, measured before
 * encapsulation; [MZR_OBS_RX] delivered to endpoints, after decapsulation.
 * Per CPU; userspace sums. */
#define MZR_OBS_TX 0
#define MZR_OBS_RX 1
struct mzr_obs_ctr {
	__u64 pkts[2];
	__u64 bytes[2];
};

#define MZR_OBS_MAX_VPCS 4096

/*
 * Drops by reason of a VPC (ip 0) or of a local endpoint, counted with the
 * traffic counters (MZR_OBS_F_COUNT) and only where the drop belongs to a
 * verified VPC or endpoint: the sending endpoint's veth at the agent, the
 * VPC and local endpoint the transit's route found at a hook point. Never
 * keyed by what a packet merely claims (docs/security.md): a drop before
 * the route is host-wide only. Per-CPU packet counts; an LRU bounds it.
 */
struct mzr_obs_drop_key {
	__u32 vni;
	__be32 ip;		/* 0: the VPC's count */
	__u32 reason;		/* enum mzr_drop_reason */
};

#define MZR_OBS_DROPS_MAP "mzr_obs_drops"
#define MZR_OBS_MAX_DROP_KEYS 16384
/* The global data map holding mzr_obs_flags (bpf-core/trace.h). */
#define MZR_OBS_FLAGS_MAP ".data.mzr_obs"
/* The maps an NF shares with the core to emit its drop events. */
#define MZR_TRACE_CFG_MAP "mzr_trace_cfg"
#define MZR_TRACE_PCPU_MAP "mzr_trace_pcpu"
#define MZR_TRACE_EVENTS_MAP "mzr_trace_events"


#endif /* MIZAR_TRACE_ABI_H */
