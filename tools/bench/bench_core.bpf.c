// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmarks' wrapper (DESIGN.md §7), for bench_core and
 * bench_nf_chain alike. BPF_PROG_TEST_RUN with `repeat`
 * does not restore the frame between iterations, so bench_wrap does: each
 * iteration it takes the next template of bench_tmpl (round robin over
 * bench_cfg.n_tmpl), moves the head back to the template's length, writes
 * the template's bytes, and tail-calls the program under test in
 * bench_target[0]. The floor is the same wrapper tail-calling bench_floor
 * (MAC swap + XDP_TX).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "bench_wrap.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_TMPL_SLOTS);
	__type(key, __u32);
	__type(value, struct bench_tmpl);
} bench_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_cfg);
} bench_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_target SEC(".maps");

SEC("xdp")
int bench_wrap(struct xdp_md *xdp)
{
	long len = (long)xdp->data_end - (long)xdp->data;
	struct bench_tmpl *t;
	struct bench_cfg *cfg;
	__u32 zero = 0, i = 0, *next, want;

	cfg = bpf_map_lookup_elem(&bench_cfg, &zero);
	next = bpf_map_lookup_elem(&bench_next, &zero);
	if (!cfg || !next)
		return XDP_ABORTED;
	if (cfg->n_tmpl > 1) {
		i = *next;
		*next = i + 1 >= cfg->n_tmpl ? 0 : i + 1;
	}
	t = bpf_map_lookup_elem(&bench_tmpl, &i);
	if (!t)
		return XDP_ABORTED;
	want = t->len;
	if (want < ETH_HLEN || want > BENCH_TMPL_MAX)
		return XDP_ABORTED;
	if (len != want && bpf_xdp_adjust_head(xdp, (int)(len - (long)want)))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(xdp, 0, t->b, want))
		return XDP_ABORTED;
	bpf_tail_call(xdp, &bench_target, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int bench_floor(struct xdp_md *xdp)
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

/* bench_pps: the receiving end of the veths, so that a transmitted frame
 * costs the same whatever path sent it. */
SEC("xdp")
int bench_sink(struct xdp_md *xdp)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
