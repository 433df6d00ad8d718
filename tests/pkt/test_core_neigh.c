// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unresolved underlay neighbours (docs/architecture.md, "Underlay next
 * hop"): the XDP programs pass the finished frame up with struct
 * mzr_neigh_meta in its XDP metadata, and the core's tc ingress program
 * (mzr_neigh) sends it out of the underlay with bpf_redirect_neigh().
 *
 * 1. BPF_PROG_TEST_RUN of the agent and the transit program: verdict,
 *    counter, the metadata and the frame behind it, byte for byte.
 * 2. The tc program alone (BPF_PROG_TEST_RUN, SCHED_CLS): a frame without
 *    our metadata is left alone. (The kernel's skb test run cannot carry
 *    XDP metadata, hence 3.)
 * 3. Live, on the test's veths: a frame enters the agent's veth (and a
 *    tunnel frame the underlay) while the next hop is unresolved; the
 *    kernel must ARP for it on the underlay, and once answered the frame
 *    must leave the underlay addressed to the answered MAC, exactly the
 *    bytes the XDP program built.
 * 4. Attachment: the library puts the tc filter on the underlay and each
 *    local endpoint's veth, removes it with the endpoint and at reset, and
 *    leaves nothing behind when an endpoint cannot be created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>
#include <mizar/host.h>
#include "shared.h"

#include "core_env.h"
#include "fixture.h"
#include "testenv.h"

/* Where the library attaches mzr_neigh (libmizar/netdev.h). */
#define TC_HANDLE 0x4d5a
#define TC_PRIO 1

static const uint8_t MAC_H99[6] = { 0x02, 0xbb, 0, 0, 0, 0x63 };

static struct core_env env;
static uint32_t prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "prog info: %s\n", strerror(errno));
		exit(1);
	}
	return info.id;
}

/* Program id of the tc ingress filter at our slot of @ifindex, 0: none. */
static uint32_t tc_prog_at(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = TC_HANDLE, .priority = TC_PRIO);

	return bpf_tc_query(&hook, &q) ? 0 : q.prog_id;
}

static uint32_t xdp_prog_at(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	return q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id :
							q.skb_prog_id;
}

static bool has_clsact(const char *dev)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "tc qdisc show dev %s | grep -q clsact", dev);
	return system(cmd) == 0;
}

/* ---- 1. The XDP hand-off ------------------------------------------------ */

/* Run @prog_fd on @in, and check: XDP_PASS, @counter +1, metadata (magic,
 * ul0, next hop H99) in front of exactly @want. */
static void xdp_handoff(const char *what, int prog_fd, unsigned int ifindex,
			const struct pkt *in, const struct pkt *want,
			int counter)
{
	uint8_t out[PKT_MAX + FIXTURE_HEADROOM];
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ifindex };
	struct mzr_neigh_meta m;
	uint64_t before, after, fib0, fib1;
	char why[256] = "";
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
		    .ctx_size_out = sizeof(ctx), .repeat = 1);
	uint32_t metalen;
	int err;

	before = fixture_counter(env.stats_fd, counter);
	fib0 = fixture_counter(env.stats_fd,
			       MZR_CNT_DROP_BASE + MZR_DROP_FIB);
	err = bpf_prog_test_run_opts(prog_fd, &o);
	after = fixture_counter(env.stats_fd, counter);
	fib1 = fixture_counter(env.stats_fd,
			       MZR_CNT_DROP_BASE + MZR_DROP_FIB);
	if (err) {
		CHECK(false, "%s: BPF_PROG_TEST_RUN: %s", what,
		      strerror(errno));
		return;
	}
	CHECK(o.retval == XDP_PASS, "%s: verdict %s (want XDP_PASS)", what,
	      fixture_verdict_name((int)o.retval));
	CHECK(after - before == 1 && fib1 == fib0,
	      "%s: counter %d +%llu (want +1), fib drops +%llu (want 0)",
	      what, counter, (unsigned long long)(after - before),
	      (unsigned long long)(fib1 - fib0));
	/* data_out starts at data_meta; ctx_out.data is the metadata's
	 * length. */
	metalen = ctx.data;
	CHECK(metalen == sizeof(m) && o.data_size_out >= metalen,
	      "%s: %u bytes of XDP metadata (want %zu)", what, metalen,
	      sizeof(m));
	if (metalen != sizeof(m) || o.data_size_out < metalen)
		return;
	memcpy(&m, out, sizeof(m));
	CHECK(m.magic == MZR_NEIGH_META_MAGIC && m.ifindex == env.ul0 &&
		      m.nh == htonl(H99),
	      "%s: metadata magic 0x%08x ifindex %u next hop %s (want "
	      "0x%08x, ul0 = %u, 192.168.1.99)",
	      what, m.magic, m.ifindex, inet_ntoa(*(struct in_addr *)&m.nh),
	      MZR_NEIGH_META_MAGIC, env.ul0);
	if (o.data_size_out - metalen == want->len &&
	    !memcmp(out + metalen, want->data, want->len) &&
	    pkt_checksums_ok(out + metalen, want->len, why, sizeof(why))) {
		CHECK(true, "%s: frame as expected (%zu bytes)", what,
		      want->len);
		return;
	}
	CHECK(false, "%s: frame differs %s", what, why);
	fixture_hexdiff(want->data, want->len, out + metalen,
			o.data_size_out - metalen);
}

/* EP7 (10.1.3.10 on ep5h, network A3 whose bouncer H99 is unresolved). */
static struct inner_spec from_ep7(void)
{
	return (struct inner_spec){ .dmac = MAC_GW_A2, .smac = MAC_EP7,
				    .src = IP4(10, 1, 3, 10),
				    .dst = IP4(10, 1, 1, 20), .sport = 1234,
				    .dport = 53, .payload = 20 };
}

/* What the agent builds for @in to H99: Ethernet from the endpoint to the
 * veth until the neighbour subsystem writes the real one (@dmac, @smac). */
static void agent_to_h99(struct pkt *out, const struct pkt *in,
			 const uint8_t *dmac, const uint8_t *smac)
{
	struct inner_spec s = from_ep7();
	struct outer_spec o = { .dmac = dmac, .smac = smac, .src = US,
				.dst = H99, .sport = flow_sport(&s),
				.vni = VNI_A, .rts = US };

	build_encap(out, &o, in);
}

/* A tunnel frame from H2 for 10.1.1.40 (hosted on H99), as this host, its
 * bouncer, forwards it: TTL - 1, the outer source still H2's. */
static void transit_in(struct pkt *in, struct pkt *inner)
{
	struct inner_spec s = remote(IP4(10, 1, 1, 40));

	build_inner(inner, &s);
	tunnel_in(in, H2, VNI_A, 0, 64, inner);
}

static void transit_to_h99(struct pkt *out, const struct pkt *inner,
			   const uint8_t *dmac, const uint8_t *smac)
{
	struct outer_spec o = { .dmac = dmac, .smac = smac, .src = H2,
				.dst = H99, .ttl = 63, .sport = 51000,
				.vni = VNI_A, .rts = H2 };

	build_encap(out, &o, inner);
}

static void xdp_checks(void)
{
	struct inner_spec s = from_ep7();
	struct pkt in, inner, want;

	build_inner(&in, &s);
	agent_to_h99(&want, &in, MAC_VETH5, MAC_EP7);
	xdp_handoff("agent, bouncer's neighbour unresolved", env.agent_fd,
		    env.ep5h, &in, &want, MZR_CNT_AGENT_KERNEL);

	transit_in(&in, &inner);
	transit_to_h99(&want, &inner, MAC_US, MAC_H2);
	xdp_handoff("transit, endpoint's host neighbour unresolved",
		    env.transit_fd, env.ul0, &in, &want, MZR_CNT_KERNEL_FWD);
}

/* ---- 2. The tc program on its own --------------------------------------- */

static void tc_unit_checks(int neigh_fd)
{
	struct inner_spec s = from_ep1(IP4(10, 1, 1, 20));
	struct pkt in;
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	int err;

	build_inner(&in, &s);
	o.data_in = in.data;
	o.data_size_in = (uint32_t)in.len;
	err = bpf_prog_test_run_opts(neigh_fd, &o);
	CHECK(!err && (int)o.retval == TC_ACT_UNSPEC,
	      "tc: a frame without our metadata is left alone (retval %d, "
	      "want TC_ACT_UNSPEC %d)%s%s",
	      (int)o.retval, TC_ACT_UNSPEC, err ? ": " : "",
	      err ? strerror(errno) : "");
}

/* ---- 3. Live: the kernel resolves the neighbour ------------------------- */

static int raw_socket(unsigned int ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "packet socket: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static void raw_send(int fd, unsigned int ifindex, const struct pkt *p)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = (int)ifindex,
				   .sll_halen = 6 };

	memcpy(sll.sll_addr, p->data, 6);
	if (sendto(fd, p->data, p->len, 0, (struct sockaddr *)&sll,
		   sizeof(sll)) != (ssize_t)p->len) {
		fprintf(stderr, "sendto: %s\n", strerror(errno));
		exit(1);
	}
}

/* Next frame received (not sent) on @fd for which @match is true, within
 * 3 s; its length, or 0. */
static size_t raw_wait(int fd, uint8_t *buf, size_t cap,
		       bool (*match)(const uint8_t *, size_t))
{
	struct timespec t0, t;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_ll from;
	socklen_t flen;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 3)
			return 0;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		flen = sizeof(from);
		n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&from, &flen);
		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (match(buf, (size_t)n))
			return (size_t)n;
	}
}

static bool is_arp_for_h99(const uint8_t *b, size_t n)
{
	uint32_t tpa;

	if (n < 42 || b[12] != 0x08 || b[13] != 0x06 || b[21] != 1)
		return false;
	memcpy(&tpa, b + 38, 4);
	return tpa == htonl(H99);
}

static bool is_ipv4_to_h99(const uint8_t *b, size_t n)
{
	uint32_t dst;

	if (n < 34 || b[12] != 0x08 || b[13] != 0x00)
		return false;
	memcpy(&dst, b + 30, 4);
	return dst == htonl(H99);
}

/*
 * Feed @in into @tx_if (through @tx_fd); the underlay (seen from ul1,
 * @rx_fd) must carry an ARP request for H99; we answer it; then @want must
 * come out, addressed to MAC_H99 from ul0.
 */
static void live(const char *what, int tx_fd, unsigned int tx_if,
		 const struct pkt *in, int rx_fd, const struct pkt *want,
		 int counter)
{
	unsigned int ul1 = test_ifindex("ul1");
	uint8_t buf[PKT_MAX];
	struct pkt reply;
	uint64_t before, fib0;
	char why[256] = "";
	size_t n;

	test_sh("ip neigh del 192.168.1.99 dev ul0 2>/dev/null; true");
	before = fixture_counter(env.stats_fd, counter);
	fib0 = fixture_counter(env.stats_fd,
			       MZR_CNT_DROP_BASE + MZR_DROP_FIB);
	raw_send(tx_fd, tx_if, in);
	n = raw_wait(rx_fd, buf, sizeof(buf), is_arp_for_h99);
	CHECK(n > 0, "%s: the kernel asks for 192.168.1.99 on the underlay",
	      what);
	if (!n)
		return;
	CHECK(fixture_counter(env.stats_fd, counter) - before == 1,
	      "%s: counter %d moved by one", what, counter);

	pkt_init(&reply);
	pkt_eth(&reply, MAC_US, MAC_H99, PKT_ETH_P_ARP);
	pkt_arp(&reply, 2, MAC_H99, H99, MAC_US, US);
	pkt_finish(&reply);
	raw_send(rx_fd, ul1, &reply);

	n = raw_wait(rx_fd, buf, sizeof(buf), is_ipv4_to_h99);
	if (n == want->len && !memcmp(buf, want->data, n) &&
	    pkt_checksums_ok(buf, n, why, sizeof(why))) {
		CHECK(true, "%s: once resolved, the frame leaves the "
			    "underlay for 02:bb:00:00:00:63 as built (%zu "
			    "bytes)", what, n);
	} else {
		CHECK(false, "%s: the frame on the underlay (%zu bytes) is "
			     "not the one expected %s", what, n, why);
		if (n)
			fixture_hexdiff(want->data, want->len, buf, n);
	}
	CHECK(fixture_counter(env.stats_fd, MZR_CNT_DROP_BASE +
					   MZR_DROP_FIB) == fib0,
	      "%s: no fib drop", what);
	test_sh("ip neigh del 192.168.1.99 dev ul0 2>/dev/null; true");
}

static void live_checks(void)
{
	struct inner_spec s = from_ep7();
	unsigned int ep5p = test_ifindex("ep5p"), ul1 = test_ifindex("ul1");
	struct pkt in, inner, want;
	int rx = raw_socket(ul1), tx = raw_socket(ep5p);

	/* The transit first: its frame arrives on the underlay itself. */
	transit_in(&in, &inner);
	transit_to_h99(&want, &inner, MAC_H99, MAC_US);
	live("live transit", rx, ul1, &in, rx, &want, MZR_CNT_KERNEL_FWD);

	/* The tc agent (the default: no NF chain) sends every frame through
	 * the kernel's neighbour output. */
	build_inner(&in, &s);
	agent_to_h99(&want, &in, MAC_H99, MAC_US);
	live("live tc agent", tx, ep5p, &in, rx, &want, MZR_CNT_AGENT_ENCAP);
	/* The XDP agent (attached while NF chains need it) hands the frame
	 * to the tc program. */
	if (bpf_xdp_attach(env.ep5h, env.agent_fd, XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "xdp attach ep5h: %s\n", strerror(errno));
		exit(1);
	}
	live("live XDP agent", tx, ep5p, &in, rx, &want, MZR_CNT_AGENT_KERNEL);
	bpf_xdp_detach(env.ep5h, XDP_FLAGS_DRV_MODE, NULL);
	close(rx);
	close(tx);
}

/* ---- 4. Attachment ------------------------------------------------------ */

/* A SCHED_CLS program that is not ours: r0 = -1; exit. */
static int foreign_tc_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0,
		  .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "other", "GPL",
			       insns, 2, NULL);

	if (fd < 0) {
		fprintf(stderr, "load foreign tc program: %s\n",
			strerror(errno));
		exit(1);
	}
	return fd;
}

static int ep_on_noeph(void)
{
	struct mzr_ep_spec spec = { .vni = VNI_A, .ip = test_in4(IP4(10, 1, 1, 50)),
				    .host = test_in4(US), .ifname = "noeph" };

	memcpy(spec.mac, MAC_REMOTE, 6);
	return mzr_ep__create(env.host, &spec);
}

static bool ep_exists(uint32_t ip)
{
	struct mzr_ep_info info;

	return !mzr_ep__get(env.host, VNI_A, test_in4(ip), &info);
}

static void attach_checks(int neigh_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = env.noeph,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, fo, .handle = TC_HANDLE,
		    .priority = TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, fd_opts, .handle = TC_HANDLE,
		    .priority = TC_PRIO);
	unsigned int locals[] = { env.ep1h, env.ep2h, env.ep3h, env.ep4h,
				  env.ep5h, env.ep6h, env.ep7h };
	uint32_t id = prog_id_of(neigh_fd), fid;
	int other, err;
	bool all = true;

	CHECK(tc_prog_at(env.ul0) == id,
	      "attach: mzr_neigh on the underlay's tc ingress");
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++)
		all &= tc_prog_at(locals[i]) == id;
	CHECK(all, "attach: mzr_neigh on every local endpoint's veth");

	/* An endpoint whose veth already runs another XDP program. */
	if (bpf_xdp_attach(env.noeph, env.transit_fd, XDP_FLAGS_DRV_MODE,
			   NULL)) {
		fprintf(stderr, "xdp attach noeph: %s\n", strerror(errno));
		exit(1);
	}
	/* The tc agent does not need the XDP slot: accepted, with the tc
	 * program, and deleted again. */
	err = ep_on_noeph();
	CHECK(err == 0 && tc_prog_at(env.noeph) == id &&
		      has_clsact("noeph") && ep_exists(IP4(10, 1, 1, 50)),
	      "attach: an endpoint whose veth has a foreign XDP program gets "
	      "the tc agent (%d)", err);
	if (!err)
		mzr_ep__delete(env.host, VNI_A, test_in4(IP4(10, 1, 1, 50)));
	CHECK(!tc_prog_at(env.noeph) && !ep_exists(IP4(10, 1, 1, 50)),
	      "attach: deleting it leaves no tc filter, no entry");
	bpf_xdp_detach(env.noeph, XDP_FLAGS_DRV_MODE, NULL);

	/* An endpoint whose veth has another program in our tc slot. */
	other = foreign_tc_prog();
	fo.prog_fd = other;
	/* (the clsact qdisc stayed from the endpoint above) */
	err = bpf_tc_hook_create(&hook);
	if ((err && err != -EEXIST) || bpf_tc_attach(&hook, &fo)) {
		fprintf(stderr, "foreign tc attach: %s\n", strerror(errno));
		exit(1);
	}
	fid = fo.prog_id;
	err = ep_on_noeph();
	CHECK(err == -EBUSY && tc_prog_at(env.noeph) == fid &&
		      !xdp_prog_at(env.noeph) && !ep_exists(IP4(10, 1, 1, 50)),
	      "attach: an endpoint whose veth's tc slot is taken is refused "
	      "(%d, want -EBUSY), the other program untouched, no XDP, no "
	      "entry", err);
	bpf_tc_detach(&hook, &fd_opts);
	close(other);

	/* Now it works (clsact already there: it stays at delete). */
	err = ep_on_noeph();
	CHECK(!err && tc_prog_at(env.noeph) == id && !xdp_prog_at(env.noeph),
	      "attach: mzr_ep__create attaches the tc agent on noeph, no "
	      "XDP without NF chains (%d)", err);
	err = mzr_ep__delete(env.host, VNI_A, test_in4(IP4(10, 1, 1, 50)));
	CHECK(!err && !tc_prog_at(env.noeph) && !xdp_prog_at(env.noeph),
	      "attach: mzr_ep__delete removes both (%d)", err);

	err = mzr_ep__delete(env.host, VNI_A, test_in4(IP4(10, 1, 1, 10)));
	CHECK(!err && !tc_prog_at(env.ep1h) && !xdp_prog_at(env.ep1h),
	      "attach: deleting EP1 removes the tc filter and the agent "
	      "from ep1h (%d)", err);

	err = mzr_host__reset(env.host);
	all = !tc_prog_at(env.ul0) && !xdp_prog_at(env.ul0);
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++)
		all &= !tc_prog_at(locals[i]) && !xdp_prog_at(locals[i]);
	CHECK(!err && all,
	      "attach: host reset removes tc and XDP from the underlay and "
	      "every veth (%d)", err);
}

int main(void)
{
	int neigh_fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	core_env_setup(&env);
	neigh_fd = core_env_prog_fd(&env, "mzr_neigh");

	xdp_checks();
	tc_unit_checks(neigh_fd);
	live_checks();
	attach_checks(neigh_fd);

	return test_report();
}
