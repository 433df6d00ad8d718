// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Counters: per-CPU sums and the names operators see for every counter
 * and drop reason (hook names: mzr_hook_name() in nf.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core.h"

static const char *const counter_names[__MZR_CNT_ROLE_MAX] = {
	[MZR_CNT_AGENT_RX] = "agent_rx",
	[MZR_CNT_AGENT_ENCAP] = "agent_encap",
	[MZR_CNT_AGENT_DIRECT] = "agent_direct",
	[MZR_CNT_AGENT_LOCAL] = "agent_local",
	[MZR_CNT_AGENT_ARP] = "agent_arp",
	[MZR_CNT_AGENT_KERNEL] = "agent_kernel",
	[MZR_CNT_TRANSIT_RX] = "transit_rx",
	[MZR_CNT_TRANSIT_PASS] = "transit_pass",
	[MZR_CNT_UNKNOWN_VNI] = "unknown_vni",
	[MZR_CNT_DELIVER] = "deliver",
	[MZR_CNT_DELIVER_BYPASS] = "deliver_bypass",
	[MZR_CNT_LEARNED] = "learned",
	[MZR_CNT_BOUNCER_FWD] = "bouncer_fwd",
	[MZR_CNT_BOUNCER_ARP] = "bouncer_arp",
	[MZR_CNT_BOUNCER_TO_DIVIDER] = "bouncer_to_divider",
	[MZR_CNT_DIVIDER_FWD] = "divider_fwd",
	[MZR_CNT_STALE_DIRECT] = "stale_direct",
	[MZR_CNT_KERNEL_FWD] = "kernel_fwd",
	[MZR_CNT_NF_RUN] = "nf_run",
	[MZR_CNT_EXTERNAL] = "external",
	[MZR_CNT_HOOK_AGENT_EGRESS] = "hook_agent_egress",
	[MZR_CNT_HOOK_BOUNCER] = "hook_bouncer",
	[MZR_CNT_HOOK_DIVIDER] = "hook_divider",
	[MZR_CNT_HOOK_DELIVER] = "hook_deliver",
	[MZR_CNT_GENEVE_OAM] = "geneve_oam",
	[MZR_CNT_AGENT_FRAG_NEEDED] = "agent_frag_needed",
};

/* Which role a counter belongs to, for grouped reports. */
static const char *const counter_roles[__MZR_CNT_ROLE_MAX] = {
	[MZR_CNT_AGENT_RX] = "agent",
	[MZR_CNT_AGENT_ENCAP] = "agent",
	[MZR_CNT_AGENT_DIRECT] = "agent",
	[MZR_CNT_AGENT_LOCAL] = "agent",
	[MZR_CNT_AGENT_ARP] = "agent",
	[MZR_CNT_AGENT_KERNEL] = "agent",
	[MZR_CNT_TRANSIT_RX] = "transit",
	[MZR_CNT_TRANSIT_PASS] = "transit",
	[MZR_CNT_UNKNOWN_VNI] = "transit",
	[MZR_CNT_DELIVER] = "host",
	[MZR_CNT_DELIVER_BYPASS] = "host",
	[MZR_CNT_LEARNED] = "host",
	[MZR_CNT_BOUNCER_FWD] = "bouncer",
	[MZR_CNT_BOUNCER_ARP] = "bouncer",
	[MZR_CNT_BOUNCER_TO_DIVIDER] = "bouncer",
	[MZR_CNT_DIVIDER_FWD] = "divider",
	[MZR_CNT_STALE_DIRECT] = "transit",
	[MZR_CNT_KERNEL_FWD] = "transit",
	[MZR_CNT_NF_RUN] = "nf",
	[MZR_CNT_EXTERNAL] = "external",
	/* A hook's packets under the role that runs it (the external
	 * hook's counter is "external" above). */
	[MZR_CNT_HOOK_AGENT_EGRESS] = "agent",
	[MZR_CNT_HOOK_BOUNCER] = "bouncer",
	[MZR_CNT_HOOK_DIVIDER] = "divider",
	[MZR_CNT_HOOK_DELIVER] = "host",
	[MZR_CNT_GENEVE_OAM] = "transit",
	[MZR_CNT_AGENT_FRAG_NEEDED] = "agent",
};

_Static_assert(MZR_CNT_HOOK(MZR_HOOK_AGENT_EGRESS) == MZR_CNT_HOOK_AGENT_EGRESS &&
		       MZR_CNT_HOOK(MZR_HOOK_BOUNCER) == MZR_CNT_HOOK_BOUNCER &&
		       MZR_CNT_HOOK(MZR_HOOK_DIVIDER) == MZR_CNT_HOOK_DIVIDER &&
		       MZR_CNT_HOOK(MZR_HOOK_DELIVER) == MZR_CNT_HOOK_DELIVER &&
		       MZR_CNT_HOOK(MZR_HOOK_EXTERNAL) == MZR_CNT_EXTERNAL,
	       "hook counters follow enum mzr_hook");

static const char *const drop_names[__MZR_DROP_MAX] = {
	[MZR_DROP_NONE] = "none",
	[MZR_DROP_MALFORMED] = "malformed",
	[MZR_DROP_GENEVE_VERSION] = "geneve_version",
	[MZR_DROP_BAD_OPTION] = "bad_option",
	[MZR_DROP_CRIT_OPTION] = "crit_option",
	[MZR_DROP_BAD_VNI] = "bad_vni",
	[MZR_DROP_NOT_IPV4] = "not_ipv4",
	[MZR_DROP_SPOOFED] = "spoofed",
	[MZR_DROP_NO_ROUTE] = "no_route",
	[MZR_DROP_NO_ENDPOINT] = "no_endpoint",
	[MZR_DROP_TTL_EXPIRED] = "ttl_expired",
	[MZR_DROP_TOO_BIG] = "too_big",
	[MZR_DROP_FIB] = "fib",
	[MZR_DROP_ENCAP] = "encap",
	[MZR_DROP_NO_BOUNCER] = "no_bouncer",
	[MZR_DROP_UNKNOWN_EP] = "unknown_ep",
	[MZR_DROP_MISSED_TAIL_CALL] = "missed_tail_call",
	[MZR_DROP_NF] = "nf",
	[MZR_DROP_NF_ABI] = "nf_abi",
	[MZR_DROP_ARP] = "arp",
};

/* "drop_<reason>" for the drop slots of mzr_stats. */
static const char *const drop_counter_names[__MZR_DROP_MAX] = {
#define D(e, s) [e] = "drop_" s
	D(MZR_DROP_NONE, "none"),
	D(MZR_DROP_MALFORMED, "malformed"),
	D(MZR_DROP_GENEVE_VERSION, "geneve_version"),
	D(MZR_DROP_BAD_OPTION, "bad_option"),
	D(MZR_DROP_CRIT_OPTION, "crit_option"),
	D(MZR_DROP_BAD_VNI, "bad_vni"),
	D(MZR_DROP_NOT_IPV4, "not_ipv4"),
	D(MZR_DROP_SPOOFED, "spoofed"),
	D(MZR_DROP_NO_ROUTE, "no_route"),
	D(MZR_DROP_NO_ENDPOINT, "no_endpoint"),
	D(MZR_DROP_TTL_EXPIRED, "ttl_expired"),
	D(MZR_DROP_TOO_BIG, "too_big"),
	D(MZR_DROP_FIB, "fib"),
	D(MZR_DROP_ENCAP, "encap"),
	D(MZR_DROP_NO_BOUNCER, "no_bouncer"),
	D(MZR_DROP_UNKNOWN_EP, "unknown_ep"),
	D(MZR_DROP_MISSED_TAIL_CALL, "missed_tail_call"),
	D(MZR_DROP_NF, "nf"),
	D(MZR_DROP_NF_ABI, "nf_abi"),
	D(MZR_DROP_ARP, "arp"),
#undef D
};

_Static_assert(__MZR_DROP_MAX <= __MZR_CNT_MAX - MZR_CNT_DROP_BASE,
	       "drop reasons overflow the stats map");
_Static_assert(__MZR_CNT_ROLE_MAX <= MZR_CNT_DROP_BASE,
	       "role counters overflow into the drop slots");

const char *mzr_counter_name(unsigned int idx)
{
	if (idx < __MZR_CNT_ROLE_MAX)
		return counter_names[idx];
	if (idx >= MZR_CNT_DROP_BASE && idx - MZR_CNT_DROP_BASE < __MZR_DROP_MAX)
		return drop_counter_names[idx - MZR_CNT_DROP_BASE];
	return NULL;
}

const char *mzr_counter_role(unsigned int idx)
{
	if (idx < __MZR_CNT_ROLE_MAX)
		return counter_roles[idx];
	if (idx >= MZR_CNT_DROP_BASE && idx - MZR_CNT_DROP_BASE < __MZR_DROP_MAX)
		return "drop";
	return NULL;
}

const char *mzr_drop_reason_name(unsigned int reason)
{
	return reason < __MZR_DROP_MAX ? drop_names[reason] : NULL;
}

/* Sum @n per-CPU u64 slots of array map @fd into @out. */
static int percpu_sum(int fd, uint64_t *out, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 i;
	int c;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue; /* past the map's end: stays 0 */
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

static int percpu_zero(int fd, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 i;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &i, vals, BPF_ANY))
			err = -errno;
	free(vals);
	return err;
}

int mzr_host__counters(const struct mzr_host *h, uint64_t *out, size_t n)
{
	int err = mzri_check_loaded(h, "counters");

	if (err)
		return err;
	if (!out && n)
		return -EINVAL;
	return percpu_sum(mzri_fd(h, MZRI_MAP_STATS), out,
			  n < __MZR_CNT_MAX ? n : __MZR_CNT_MAX);
}

int mzr_host__missed(const struct mzr_host *h, uint64_t *out, size_t n)
{
	int err = mzri_check_loaded(h, "missed tail calls");

	if (err)
		return err;
	if (!out && n)
		return -EINVAL;
	return percpu_sum(mzri_fd(h, MZRI_MAP_MISSED), out,
			  n < MZR_MISSED_SIZE ? n : MZR_MISSED_SIZE);
}

int mzr_host__counters_reset(struct mzr_host *h)
{
	int err = mzri_check_loaded(h, "counters reset");

	if (!err)
		err = percpu_zero(mzri_fd(h, MZRI_MAP_STATS), __MZR_CNT_MAX);
	if (!err)
		err = percpu_zero(mzri_fd(h, MZRI_MAP_MISSED), MZR_MISSED_SIZE);
	if (err)
		mzr_warn("counters reset: %s\n", strerror(-err));
	return err;
}
