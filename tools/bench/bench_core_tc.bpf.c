// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_core's wrapper for the tc programs (bench_core_tc.c): the
 * SCHED_CLS twin of bench_wrap (bench_core.bpf.c). BPF_PROG_TEST_RUN with
 * `repeat` runs every iteration on the same skb, which the program under
 * test leaves encapsulated, decapsulated or rewritten, so each iteration
 * starts by putting the template back: the length with
 * bpf_skb_adjust_room() after the Ethernet header (at the head, so the
 * headroom an encapsulation took comes back and nothing reallocates), the
 * bytes with bpf_skb_store_bytes(). Then it tail-calls bench_tc_target[0].
 * The floor is the same wrapper tail-calling bench_tc_floor (MAC swap +
 * bpf_redirect() back out: the tc twin of XDP_TX).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bench_wrap.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_tmpl);
} bench_tc_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_tc_target SEC(".maps");

SEC("tc")
int bench_tc_wrap(struct __sk_buff *skb)
{
	struct bench_tmpl *t;
	__u32 zero = 0, want;
	long diff;

	t = bpf_map_lookup_elem(&bench_tc_tmpl, &zero);
	if (!t)
		return TC_ACT_SHOT;
	want = t->len;
	if (want < ETH_HLEN + 20 || want > BENCH_TMPL_MAX)
		return TC_ACT_SHOT;
	diff = (long)want - (long)skb->len;
	if (diff && bpf_skb_adjust_room(skb, (__s32)diff, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, t->b, want, 0))
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &bench_tc_target, 0);
	return TC_ACT_SHOT;
}

SEC("tc")
int bench_tc_floor(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return TC_ACT_SHOT;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return bpf_redirect(skb->ifindex, 0);
}

char _license[] SEC("license") = "GPL";
