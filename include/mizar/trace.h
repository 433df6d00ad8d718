/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet trace and drop monitor: switch the core's trace points on with
 * kernel-side filters, receive each traced packet with its hook, verdict
 * and drop reason, and write them as pcapng (one interface block per
 * device and hook, the decision in each packet's comment).
 */
#ifndef MIZAR_TRACE_H
#define MIZAR_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include <mizar/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mzr_host;
struct mzr_trace;

/* Trace options; zeroed fields mean "any" / the default. */
struct mzr_trace_opts {
	size_t sz;		/* sizeof(struct mzr_trace_opts) */
	uint32_t vni;		/* only this VNI */
	struct in_addr addr;	/* inner source or destination in addr/plen */
	unsigned int plen;	/* 0: any address */
	uint16_t port;		/* inner source or destination port */
	uint8_t proto;		/* IPPROTO_TCP, _UDP, _ICMP */
	bool drops;		/* only packets the core drops */
	bool entries;		/* also each program's entry (verdict "rx") */
	uint32_t snaplen;	/* bytes per packet (default 256, max 9216) */
	uint32_t rate;		/* events per second per CPU (default 10000) */
};

/* One traced packet. */
struct mzr_trace_event {
	uint64_t ts_ns;		/* CLOCK_REALTIME, nanoseconds */
	uint64_t suppressed;	/* events the rate cap dropped on its CPU */
	uint32_t ifindex;	/* device the packet arrived on */
	uint32_t pkt_len;
	uint32_t cap_len;	/* bytes at @data */
	uint32_t vni;		/* 0: unknown */
	struct in_addr host;	/* underlay IP of the host that traced it */
	int reason;		/* enum mzr_drop_reason, or -1 */
	unsigned int hook;	/* see mzr_trace_hook_name() */
	bool entry;		/* a program's entry (else its exit) */
	unsigned int verdict;	/* XDP action at exit */
	const void *data;	/* the packet's first cap_len bytes */
	/* Appended (callbacks read the prefix they know): the outer source
	 * of the Geneve frame the transit received, i.e. the sending host,
	 * also once decapsulated (deliver); 0 at the agent or unknown. */
	struct in_addr outer_src;
};

/* The flow of a traced packet (inner flow for Geneve frames). */
struct mzr_trace_flow {
	bool ip;		/* IPv4 found (else the rest is zero) */
	bool tunnel;		/* a Geneve frame: outer_* are set */
	uint8_t proto;
	struct in_addr saddr, daddr;
	uint16_t sport, dport;	/* host order; 0 when not TCP/UDP */
	struct in_addr outer_saddr, outer_daddr;
	uint32_t vni;		/* from the Geneve header; 0 otherwise */
};

/**
 * @brief Called for each event; a non-zero return stops mzr_trace__poll().
 */
typedef int (*mzr_trace_cb)(void *ctx, const struct mzr_trace_event *ev);

/**
 * @brief Switch tracing on for @p host with @p opts' filters.
 * Only one trace runs per back-plane: a second start takes over (the
 * first one's filters are replaced; a warning is logged).
 * @param host a loaded host handle
 * @param opts filters, or NULL for everything
 * @param cb called from mzr_trace__poll() for each event
 * @return the trace, or NULL with errno set: EINVAL (bad options or
 *	   handle), ENOENT (the core predates tracing: host reset, init),
 *	   ENOMEM, or the perf buffer's errno.
 */
MZR_API struct mzr_trace *mzr_trace__start(struct mzr_host *host,
					   const struct mzr_trace_opts *opts,
					   mzr_trace_cb cb, void *ctx);

/**
 * @brief Wait up to @p timeout_ms for events and deliver them.
 * @return events delivered (>= 0), or -errno (-EINTR on a signal).
 */
MZR_API int mzr_trace__poll(struct mzr_trace *t, int timeout_ms);

/** @brief Events the kernel suppressed (rate cap) since the start. */
MZR_API uint64_t mzr_trace__suppressed(const struct mzr_trace *t);

/** @brief Events lost because the perf buffer was full. */
MZR_API uint64_t mzr_trace__lost(const struct mzr_trace *t);

/** @brief Switch tracing off and free @p t (NULL is fine). */
MZR_API void mzr_trace__stop(struct mzr_trace *t);

/**
 * @brief Name of a trace hook: "agent-egress", "bouncer", "divider",
 * "deliver", "external" (enum mzr_hook), "transit", "agent" (a program
 * without a hook); "?" otherwise.
 */
MZR_API const char *mzr_trace_hook_name(unsigned int hook);

/** @brief Name of an event's verdict: "rx" at entry, else "aborted",
 * "drop", "pass", "tx", "redirect". */
MZR_API const char *mzr_trace_verdict_name(const struct mzr_trace_event *ev);

/**
 * @brief Parse @p ev's packet: Ethernet, IPv4, Geneve, inner IPv4, ports.
 * @return 0, or -EINVAL when @p ev or @p flow is NULL.
 */
MZR_API int mzr_trace__flow(const struct mzr_trace_event *ev,
			    struct mzr_trace_flow *flow);

/* ---- pcapng writer --------------------------------------------------- */

struct mzr_trace_pcapng;

/**
 * @brief Start a pcapng section on @p f (the Section Header Block).
 * @return the writer, or NULL with errno (ENOMEM, EIO).
 */
MZR_API struct mzr_trace_pcapng *mzr_trace__pcapng_open(FILE *f);

/**
 * @brief Append @p ev as an Enhanced Packet Block, after an Interface
 * Description Block the first time its (device, hook) appears. The
 * comment reads "hook=H verdict=V vni=N host=IP [reason=R] [outer=IP]"
 * (outer: the event's outer_src).
 * @return 0, or -EIO / -ENOMEM / -EINVAL.
 */
MZR_API int mzr_trace__pcapng_write(struct mzr_trace_pcapng *w,
				    const struct mzr_trace_event *ev);

/** @brief Flush and free the writer (the FILE stays open). */
MZR_API int mzr_trace__pcapng_close(struct mzr_trace_pcapng *w);

/**
 * @brief The comment mzr_trace__pcapng_write() attaches to @p ev, in
 * @p buf of @p size bytes. @return @p buf.
 */
MZR_API const char *mzr_trace__comment(const struct mzr_trace_event *ev,
				       char *buf, size_t size);

/* ---- Per-VPC and per-endpoint traffic ------------------------------- */

/* Packets and bytes of a VPC or local endpoint on this host: tx sent by
 * endpoints into the overlay (before encapsulation), rx delivered to them
 * (after decapsulation), Ethernet frames included. */
struct mzr_traffic {
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_packets, rx_bytes;
};

/**
 * @brief Traffic of VPC @p vni on this host (zeros if none yet).
 * @return 0, or -EINVAL (handle), -errno of the map read.
 */
MZR_API int mzr_host__vpc_traffic(struct mzr_host *host, uint32_t vni,
				  struct mzr_traffic *out);

/**
 * @brief Traffic of local endpoint (@p vni, @p ip) (zeros if none yet).
 * @return 0, or -EINVAL (handle), -errno of the map read.
 */
MZR_API int mzr_host__ep_traffic(struct mzr_host *host, uint32_t vni,
				 struct in_addr ip, struct mzr_traffic *out);

/* One VPC's or endpoint's traffic, as listed by mzr_host__traffic_list. */
struct mzr_traffic_entry {
	uint32_t vni;
	struct in_addr ip;	/* INADDR_ANY for a VPC */
	struct mzr_traffic t;
};

/**
 * @brief Every VPC (@p endpoints false) or local endpoint with traffic,
 * at most @p n into @p out.
 * @return entries written, or -EINVAL / -ENOMEM / -errno.
 */
MZR_API int mzr_host__traffic_list(struct mzr_host *host, bool endpoints,
				   struct mzr_traffic_entry *out, size_t n);

/**
 * @brief Switch the per-VPC and per-endpoint counters of this host (off
 * by default: they cost an endpoint lookup and two per-CPU hash updates
 * per packet an endpoint sends or receives).
 * @param on 1 on, 0 off, -1 only query
 * @return 1 on, 0 off, or -EINVAL / -errno.
 */
MZR_API int mzr_host__traffic_counting(struct mzr_host *host, int on);

/* ---- Drops by reason per VPC and per endpoint ------------------------ */

/*
 * Drops are counted per VPC and per local endpoint with the traffic
 * counters (mzr_host__traffic_counting()), and only where the drop belongs
 * to a VPC or endpoint this host verified: the endpoint whose veth sent
 * the packet, or the VPC (and, at delivery, the local endpoint) the
 * transit's route found. A drop before that (an unknown peer, a malformed
 * frame) is counted host-wide only (mzr_host__counters()).
 */

/**
 * @brief Drops by reason of VPC @p vni (@p ip INADDR_ANY) or of local
 * endpoint (@p vni, @p ip) on this host: @p out[r] for each drop reason
 * r < @p n (enum mzr_drop_reason; mzr_drop_reason_name() names it).
 * @return 0, or -EINVAL (handle, @p out), -ENOENT (a back-plane loaded
 * by an older build: no such counters until host reset and init),
 * -ENOMEM, -errno of the map read.
 */
MZR_API int mzr_host__drops(struct mzr_host *host, uint32_t vni,
			    struct in_addr ip, uint64_t *out, size_t n);

/* One VPC's (ip INADDR_ANY) or local endpoint's count of one reason. */
struct mzr_drop_entry {
	uint32_t vni;
	struct in_addr ip;
	uint32_t reason;	/* enum mzr_drop_reason */
	uint64_t packets;
};

/**
 * @brief Every non-zero (VPC or endpoint, reason) drop count, at most
 * @p n into @p out, in no particular order.
 * @return entries written, or -EINVAL / -ENOENT / -ENOMEM / -errno as
 * mzr_host__drops().
 */
MZR_API int mzr_host__drops_list(struct mzr_host *host,
				 struct mzr_drop_entry *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_TRACE_H */
