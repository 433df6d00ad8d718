// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test NF with state: counts its packets in its own map nf_state and in
 * nf_common, a map it declares shared by name (LIBBPF_PIN_BY_NAME). Built
 * twice (NF_ID 1 and 2): two objects declaring maps of the same names.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mizar/bpf/nf.h>

MZR_NF_DECLARE("test-state");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nf_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nf_common SEC(".maps");

static __always_inline void bump(void *map)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(map, &zero);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int nf_state_prog(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_nf_ctx();

	if (!ctx)
		return XDP_DROP;
	bump(&nf_state);
	bump(&nf_common);
	return mzr_nf_next(xdp, ctx);
}

char _license[] SEC("license") = "GPL";
