// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Count every frame under MZR_CNT_TRANSIT_PASS in a per-CPU stats map laid
 * out like the core's, then pass it: lets the fixture runner's counter check
 * be tested against a real map. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <mizar/abi.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __MZR_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} mzr_stats SEC(".maps");

SEC("xdp")
int xdp_count_pass(struct xdp_md *ctx)
{
	__u32 key = MZR_CNT_TRANSIT_PASS;
	__u64 *cnt = bpf_map_lookup_elem(&mzr_stats, &key);

	if (cnt)
		*cnt += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
