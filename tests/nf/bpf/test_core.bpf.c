// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A stand-in for the core at one hook, to test chain mechanics alone: the
 * entry fills the context and runs the hook's chain; the continuation
 * records the context the chain left and ends with XDP_TX, the frame as
 * the chain left it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <mizar/bpf/nf.h>

/* test_knobs: 0 hook; 1 context version + 1, 2 context length + 1 (to
 * play an older or newer core; 0: no override). */
#define KNOB_HOOK 0
#define KNOB_VERSION 1
#define KNOB_LEN 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} test_knobs SEC(".maps");

/* The context as the continuation saw it; version 0 until it runs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mzr_ctx);
} test_result SEC(".maps");

static __always_inline __u32 knob(__u32 k)
{
	__u32 *v = bpf_map_lookup_elem(&test_knobs, &k);

	return v ? *v : 0;
}

static __always_inline int finish(struct mzr_ctx *ctx)
{
	__u32 zero = 0;

	bpf_map_update_elem(&test_result, &zero, ctx, BPF_ANY);
	return XDP_TX;
}

SEC("xdp")
int test_entry(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_ctx_raw();
	__u32 hook = knob(KNOB_HOOK), version = knob(KNOB_VERSION);
	__u32 len = knob(KNOB_LEN);
	int ret;

	if (!ctx || hook >= __MZR_HOOK_MAX)
		return XDP_ABORTED;
	mzr_ctx_reset(ctx, MZR_ROLE_AGENT, hook);
	ctx->vni = 42;
	ctx->saddr = bpf_htonl(0x0a000001);
	ctx->daddr = bpf_htonl(0x0a000002);
	ctx->proto = 17;
	if (version)
		ctx->version = version - 1;
	if (len)
		ctx->len = len - 1;
	ret = mzr_chain_enter(xdp, ctx, hook);
	if (ret != MZR_CHAIN_EMPTY)
		return ret;
	return finish(ctx);
}

SEC("xdp")
int test_cont(struct xdp_md *xdp)
{
	struct mzr_ctx *ctx = mzr_ctx_raw();

	if (!ctx)
		return XDP_ABORTED;
	return finish(ctx);
}

char _license[] SEC("license") = "GPL";
