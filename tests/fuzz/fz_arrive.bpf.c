// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attached to the far end of every veth of the fuzzer's topology: counts
 * each frame that arrives there by the interface it arrived on, then drops
 * it. In live-frames mode this shows where a redirected or transmitted
 * frame really went. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define FZ_MAX_IF 256

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FZ_MAX_IF);
	__type(key, __u32);
	__type(value, __u64);
} fz_arrivals SEC(".maps");

SEC("xdp")
int fz_arrive(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u64 *cnt;

	if (key >= FZ_MAX_IF)
		key = 0;
	cnt = bpf_map_lookup_elem(&fz_arrivals, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
