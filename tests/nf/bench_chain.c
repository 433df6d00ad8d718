// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-packet cost of an NF hook and of each pass-through NF in its chain,
 * as ratios to a floor program measured in the same run (DESIGN.md §7).
 *
 * Every configuration runs under the benchmarks' wrapper (bench_wrap of
 * tools/bench/bench_core.bpf.c), which restores the 64-byte frame from a
 * template on each iteration and tail-calls the program under test:
 *   floor      MAC swap + XDP_TX
 *   hook+N     a stand-in core hook (context filled, chain of N
 *              pass-through NFs, continuation doing MAC swap + XDP_TX)
 *   mizar-lb   the stand-in hook parsing the frame into the context (as
 *              the core's agent-egress hook does) with one pass-through
 *              NF, then with mizar-lb's lb_egress (one VIP, 10 backends,
 *              a 64-byte TCP frame): a packet of a known connection (ACK)
 *              and a new connection (SYN: placed afresh every time).
 *              "mizar-lb alone" is its chain less the pass-through
 *              chain, plus the floor: the NF as if it ran by itself.
 * The verdict of each measured run must be XDP_TX.
 *
 * Usage: bench_nf_chain [-n REPEAT] [-m MAX_NFS] [-j] [-l LB_OBJECT] (root)
 *   -l  another build of mizar-lb's object (before/after in one run)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "bench_wrap.h"
#include "lb.h"
#include "host_priv.h"
#include "pktbuild.h"
#include "testenv.h"

#define TMPL_LEN 64
#define BENCH_HOOK MZR_HOOK_AGENT_EGRESS
#define ROUNDS 5

static const char *obj_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s.bpf.o", NF_OBJ_DIR, name);
	return buf;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	if (!p) {
		fprintf(stderr, "no program %s\n", name);
		exit(1);
	}
	return bpf_program__fd(p);
}

/* Mean ns per packet of the wrapper with @target_fd, over ROUNDS runs
 * (the minimum: the least disturbed by the shared machine). */
static double measure(int wrap_fd, int target_map, int target_fd,
		      const struct pkt *frame, unsigned int repeat)
{
	unsigned char out[256];
	double best = 0;
	__u32 zero = 0;
	int r;

	if (bpf_map_update_elem(target_map, &zero, &target_fd, BPF_ANY)) {
		fprintf(stderr, "bench_target: %s\n", strerror(errno));
		exit(1);
	}
	for (r = 0; r < ROUNDS; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame->data,
			    .data_size_in = frame->len, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = repeat);

		if (bpf_prog_test_run_opts(wrap_fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			exit(1);
		}
		if (o.retval != XDP_TX) {
			fprintf(stderr, "measured run ended with verdict %u, "
				"not XDP_TX: the benchmark is broken\n",
				o.retval);
			exit(1);
		}
		if (!r || o.duration < best)
			best = o.duration;
	}
	return best;
}

/* ---- mizar-lb ------------------------------------------------------------ */

#define LB_VIP IP4(10, 99, 0, 1)
#define LB_CLIENT IP4(10, 0, 0, 1)
#define LB_BACKENDS 10
#define LB_NEW_FLOWS 50000 /* < LB_MAX_CONNS: no eviction */

static const char *lb_obj = LB_OBJ;

struct lb_times {
	double pass, hit, new_flow, new_cold, other;
};

static void lb_frame_to(struct pkt *f, uint8_t flags, uint16_t sport,
			uint16_t dport)
{
	pkt_init(f);
	pkt_eth(f, (uint8_t[]){ 2, 0, 0, 0, 0, 2 },
		(uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 0x0800);
	pkt_ipv4(f, LB_CLIENT, LB_VIP, 6, NULL);
	pkt_tcp(f, sport, dport, 1000, flags & PKT_TCP_ACK ? 1 : 0, flags);
	pkt_payload(f, "0123456789abcdefghij", TMPL_LEN - 54);
	pkt_finish(f);
}

static void lb_frame(struct pkt *f, uint8_t flags, uint16_t sport)
{
	lb_frame_to(f, flags, sport, 80);
}

/* Template @i of the wrapper; @n templates are used round robin. */
static void set_tmpl(int tmpl_fd, int cfg_fd, __u32 i, __u32 n,
		     const struct pkt *f)
{
	struct bench_tmpl t = { .len = (uint32_t)f->len };
	__u32 zero = 0;

	memcpy(t.b, f->data, f->len);
	if (f->len != TMPL_LEN ||
	    bpf_map_update_elem(tmpl_fd, &i, &t, BPF_ANY) ||
	    bpf_map_update_elem(cfg_fd, &zero, &n, BPF_ANY)) {
		fprintf(stderr, "template: %zu bytes\n", f->len);
		exit(1);
	}
}

/* One VIP (10.99.0.1:80/tcp) of VNI 100 with 10 backends in its table. */
static void lb_configure(struct mzr_nf *lb)
{
	struct bpf_object *o = mzr_nf__bpf_object(lb);
	int vips = bpf_object__find_map_fd_by_name(o, "lb_vips");
	int rings = bpf_object__find_map_fd_by_name(o, "lb_rings");
	struct lb_vip_key k = { .vni = 100, .vip = htonl(LB_VIP),
				.port = htons(80), .proto = 6 };
	struct lb_vip v = { .ring = 0, .n_backends = LB_BACKENDS };
	struct lb_addr a = { 0 };
	__u32 zero = 0, s;
	int ring, rev_fd, filter_fd;

	ring = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lb_ring", sizeof(__u32),
			      sizeof(struct lb_addr), LB_RING_SIZE, NULL);
	if (vips < 0 || rings < 0 || ring < 0) {
		fprintf(stderr, "mizar-lb maps: %s\n", strerror(errno));
		exit(1);
	}
	for (s = 0; s < LB_BACKENDS; s++) {
		v.backends[s].ip = htonl(IP4(10, 0, 1, 10 + s));
		v.backends[s].port = htons(8080);
		v.backends[s].weight = 1;
	}
	for (s = 0; s < LB_RING_SIZE; s++) {
		a.ip = v.backends[s % LB_BACKENDS].ip;
		a.port = v.backends[s % LB_BACKENDS].port;
		if (bpf_map_update_elem(ring, &s, &a, BPF_ANY))
			break;
	}
	if (s != LB_RING_SIZE ||
	    bpf_map_update_elem(rings, &zero, &ring, BPF_ANY) ||
	    bpf_map_update_elem(vips, &k, &v, BPF_ANY)) {
		fprintf(stderr, "mizar-lb config: %s\n", strerror(errno));
		exit(1);
	}
	close(ring);
	/* As the tool counts a VIP in (an older object has no filter). */
	filter_fd = bpf_object__find_map_fd_by_name(o, "lb_vip_filter");
	if (filter_fd >= 0) {
		__u32 fslot = lb_vip_slot(k.vni, k.vip, k.port, k.proto);
		__u32 one = 1;

		if (bpf_map_update_elem(filter_fd, &fslot, &one, BPF_ANY)) {
			fprintf(stderr, "lb_vip_filter: %s\n",
				strerror(errno));
			exit(1);
		}
	}
	/* As the tool records them (an older object has no such map). */
	rev_fd = bpf_object__find_map_fd_by_name(o, "lb_backends");
	for (s = 0; rev_fd >= 0 && s < LB_BACKENDS; s++) {
		struct lb_backend_key bk = { .vni = 100,
					     .ip = v.backends[s].ip,
					     .port = v.backends[s].port,
					     .proto = 6 };
		struct lb_rev r = { .n_vips = 1 };

		r.vips[0].ip = k.vip;
		r.vips[0].port = k.port;
		if (bpf_map_update_elem(rev_fd, &bk, &r, BPF_ANY)) {
			fprintf(stderr, "lb_backends: %s\n", strerror(errno));
			exit(1);
		}
	}
}

static struct lb_times lb_bench(struct mzr_host *host, struct mzr_nf *pass,
				int wrap, int target, int tmpl_fd, int cfg_fd,
				int hook_l4, unsigned int repeat)
{
	MZR_OPTS(mzr_nf_open_opts, oo, .prog_name = "lb_egress");
	struct lb_times t;
	struct pkt syn, ack;
	struct mzr_nf *lb;

	lb_frame(&ack, PKT_TCP_ACK, 40000);
	lb = mzr_nf__open_file(lb_obj, &oo);
	if (!lb || mzr_nf__load(lb, host)) {
		fprintf(stderr, "cannot load mizar-lb (%s)\n", lb_obj);
		exit(1);
	}
	lb_configure(lb);

	mzr_host__nf_clear(host);
	if (mzr_host__nf_insert(host, "pass", pass, BENCH_HOOK,
				MZR_NF_POS_END)) {
		fprintf(stderr, "insert pass failed\n");
		exit(1);
	}
	set_tmpl(tmpl_fd, cfg_fd, 0, 1, &ack);
	t.pass = measure(wrap, target, hook_l4, &ack, repeat);

	mzr_host__nf_clear(host);
	if (mzr_host__nf_insert(host, "lb", lb, BENCH_HOOK, MZR_NF_POS_END)) {
		fprintf(stderr, "insert mizar-lb failed\n");
		exit(1);
	}
	/* New connections: SYNs of a client's ports round robin (a SYN is
	 * placed afresh even when its 5-tuple is known): 256 flows whose
	 * entries stay in the caches (the cost of placing a flow), then
	 * LB_NEW_FLOWS (entries and table slots mostly in DRAM). */
	for (__u32 i = 0; i < LB_NEW_FLOWS; i++) {
		lb_frame(&syn, PKT_TCP_SYN, (uint16_t)(1024 + i));
		set_tmpl(tmpl_fd, cfg_fd, i, i < 256 ? i + 1 : LB_NEW_FLOWS,
			 &syn);
		if (i == 255)
			t.new_flow = measure(wrap, target, hook_l4, &syn,
					     repeat);
	}
	t.new_cold = measure(wrap, target, hook_l4, &syn, repeat);
	/* Then the ACKs of one of them: every one a hit. */
	set_tmpl(tmpl_fd, cfg_fd, 0, 1, &ack);
	lb_frame(&ack, PKT_TCP_ACK, 1024);
	set_tmpl(tmpl_fd, cfg_fd, 0, 1, &ack);
	t.hit = measure(wrap, target, hook_l4, &ack, repeat);
	/* And traffic that is no VIP's (port 81): what every other packet
	 * of the endpoints pays for the NF. */
	lb_frame_to(&ack, PKT_TCP_ACK, 1024, 81);
	set_tmpl(tmpl_fd, cfg_fd, 0, 1, &ack);
	t.other = measure(wrap, target, hook_l4, &ack, repeat);
	mzr_host__nf_clear(host);
	mzr_nf__close(lb);
	return t;
}

int main(int argc, char **argv)
{
	unsigned int repeat = 1000000, max_nfs = 8, i;
	struct bpf_object *wrap_obj, *obj;
	struct bench_tmpl tmpl = {};
	struct mzr_host host = {};
	struct mzr_nf *nf;
	struct pkt frame;
	int wrap, target, opt, tmpl_fd, hook;
	bool json = false;
	double floor_ns, t[MZR_CHAIN_MAX + 1];
	struct lb_times lbt;
	char root[128], name[32];
	__u32 zero = 0, slot;

	while ((opt = getopt(argc, argv, "n:m:jl:")) != -1) {
		if (opt == 'n')
			repeat = strtoul(optarg, NULL, 0);
		else if (opt == 'm')
			max_nfs = strtoul(optarg, NULL, 0);
		else if (opt == 'j')
			json = true;
		else if (opt == 'l')
			lb_obj = optarg;
		else {
			fprintf(stderr, "usage: %s [-n REPEAT] [-m MAX_NFS] "
				"[-j] [-l LB_OBJECT]\n", argv[0]);
			return 2;
		}
	}
	if (max_nfs > MZR_CHAIN_MAX - 1)
		max_nfs = MZR_CHAIN_MAX - 1;
	test_require_root();
	test_bpffs_mount(root);
	mzr_set_print(NULL);
	libbpf_set_print(NULL);

	wrap = test_load_prog(obj_path("nf_bench_wrap"), "bench_wrap",
			      &wrap_obj);
	target = test_map_fd(wrap_obj, "bench_target");
	tmpl_fd = test_map_fd(wrap_obj, "bench_tmpl");
	hook = test_load_prog(obj_path("nf_bench_hook"), "bench_hook", &obj);

	/* The stand-in core is the back-plane the NFs bind to. */
	snprintf(host.pin_root, sizeof(host.pin_root), "%s", root);
	host.loaded = true;
	for (i = 0; i < MZRI_MAP__N; i++)
		host.map_fds[i] = -1;
	host.map_fds[MZRI_MAP_PROGS] = test_map_fd(obj, MZR_MAP_PROGS);
	host.map_fds[MZRI_MAP_CHAIN_CFG] = test_map_fd(obj, MZR_MAP_CHAIN_CFG);
	host.map_fds[MZRI_MAP_CTX] = test_map_fd(obj, MZR_MAP_CTX);
	host.map_fds[MZRI_MAP_STATS] = test_map_fd(obj, MZR_MAP_STATS);
	host.map_fds[MZRI_MAP_MISSED] = test_map_fd(obj, MZR_MAP_MISSED);
	slot = MZR_PROG_CONT(BENCH_HOOK);
	i = prog_fd(obj, "bench_cont");
	bpf_map_update_elem(host.map_fds[MZRI_MAP_PROGS], &slot, &i, BPF_ANY);

	pkt_init(&frame);
	pkt_eth(&frame, (uint8_t[]){ 2, 0, 0, 0, 0, 2 },
		(uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 0x0800);
	pkt_ipv4(&frame, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 17, NULL);
	pkt_udp(&frame, 1234, 5678);
	pkt_payload(&frame, "0123456789abcdefghij", TMPL_LEN - 42);
	pkt_finish(&frame);
	tmpl.len = TMPL_LEN;
	memcpy(tmpl.b, frame.data, TMPL_LEN);
	if (frame.len != TMPL_LEN ||
	    bpf_map_update_elem(tmpl_fd, &zero, &tmpl, BPF_ANY)) {
		fprintf(stderr, "template: %zu bytes\n", frame.len);
		return 1;
	}

	nf = mzr_nf__open_file(obj_path("nf_bench_pass"), NULL);
	if (!nf || mzr_nf__load(nf, &host)) {
		fprintf(stderr, "cannot load the pass-through NF\n");
		return 1;
	}

	floor_ns = measure(wrap, target, prog_fd(wrap_obj, "bench_floor"), &frame,
			   repeat);
	for (i = 0; i <= max_nfs; i++) {
		if (i) {
			snprintf(name, sizeof(name), "pass%u", i);
			if (mzr_host__nf_insert(&host, name, nf, BENCH_HOOK,
						MZR_NF_POS_END)) {
				fprintf(stderr, "insert %s failed\n", name);
				return 1;
			}
		}
		t[i] = measure(wrap, target, hook,
			       &frame, repeat);
	}
	lbt = lb_bench(&host, nf, wrap, target, tmpl_fd,
		       test_map_fd(wrap_obj, "bench_cfg"),
		       prog_fd(obj, "bench_hook_l4"), repeat);
	set_tmpl(tmpl_fd, test_map_fd(wrap_obj, "bench_cfg"), 0, 1, &frame);
	/* The floor again: a drift between start and end shows here. */
	floor_ns = (floor_ns + measure(wrap, target,
				       prog_fd(wrap_obj, "bench_floor"), &frame,
				       repeat)) / 2;

	if (json) {
		printf("{\"repeat\":%u,\"floor_ns\":%.2f,\"chains\":[", repeat,
		       floor_ns);
		for (i = 0; i <= max_nfs; i++)
			printf("%s{\"nfs\":%u,\"ns\":%.2f,\"ratio\":%.3f,"
			       "\"per_nf_ratio\":%.3f}",
			       i ? "," : "", i, t[i], t[i] / floor_ns,
			       i ? (t[i] - t[0]) / i / floor_ns : 0.0);
		printf("],\"lb\":{\"pass_chain_ns\":%.2f,\"hit_ns\":%.2f,"
		       "\"new_ns\":%.2f,\"new_cold_ns\":%.2f,"
		       "\"alone_hit_ratio\":%.3f,\"alone_new_ratio\":%.3f,"
		       "\"alone_new_cold_ratio\":%.3f,\"other_ns\":%.2f,"
		       "\"alone_other_ratio\":%.3f}}\n", lbt.pass,
		       lbt.hit, lbt.new_flow, lbt.new_cold,
		       (lbt.hit - lbt.pass + floor_ns) / floor_ns,
		       (lbt.new_flow - lbt.pass + floor_ns) / floor_ns,
		       (lbt.new_cold - lbt.pass + floor_ns) / floor_ns,
		       lbt.other, (lbt.other - lbt.pass + floor_ns) / floor_ns);
	} else {
		printf("floor (wrapper + MAC swap + XDP_TX): %.1f ns/pkt = 1.00"
		       "\n", floor_ns);
		printf("%-28s %9s %8s %14s\n", "configuration", "ns/pkt",
		       "ratio", "vs previous");
		for (i = 0; i <= max_nfs; i++) {
			snprintf(name, sizeof(name), i ? "hook + %u NF%s" :
						      "empty hook", i,
				 i == 1 ? "" : "s");
			printf("%-28s %9.1f %8.2f %+14.2f\n", name, t[i],
			       t[i] / floor_ns,
			       i ? (t[i] - t[i - 1]) / floor_ns :
				   (t[0] - floor_ns) / floor_ns);
		}
		if (max_nfs)
			printf("mean cost of one pass-through NF: %.2f x floor"
			       "\n", (t[max_nfs] - t[0]) / max_nfs / floor_ns);
		printf("%-28s %9.1f %8.2f\n", "parsing hook + 1 pass NF",
		       lbt.pass, lbt.pass / floor_ns);
		printf("%-28s %9.1f %8.2f   alone: %.2f x floor\n",
		       "mizar-lb, known connection", lbt.hit,
		       lbt.hit / floor_ns,
		       (lbt.hit - lbt.pass + floor_ns) / floor_ns);
		printf("%-28s %9.1f %8.2f   alone: %.2f x floor\n",
		       "mizar-lb, new connection", lbt.new_flow,
		       lbt.new_flow / floor_ns,
		       (lbt.new_flow - lbt.pass + floor_ns) / floor_ns);
		printf("%-28s %9.1f %8.2f   alone: %.2f x floor (%u flows)\n",
		       "mizar-lb, new, cold tables", lbt.new_cold,
		       lbt.new_cold / floor_ns,
		       (lbt.new_cold - lbt.pass + floor_ns) / floor_ns,
		       LB_NEW_FLOWS);
		printf("%-28s %9.1f %8.2f   alone: %.2f x floor\n",
		       "mizar-lb, not a VIP's", lbt.other, lbt.other / floor_ns,
		       (lbt.other - lbt.pass + floor_ns) / floor_ns);
	}
	mzr_host__nf_clear(&host);
	mzr_nf__close(nf);
	bpf_object__close(obj);
	bpf_object__close(wrap_obj);
	return 0;
}
