// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The bypass-decap example NF (examples/bypass-decap) on tunnel frames, as
 * a bypass-decap endpoint receives them: Mizar frames are decapsulated for
 * the endpoint's stack with the inner destination set to the endpoint's
 * MAC; other traffic passes untouched; bad tunnel frames are dropped.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/abi.h>

#include "fixture.h"
#include "pktbuild.h"
#include "testenv.h"

static const uint8_t EP[6] = { 0x0e, 0x64, 10, 0, 1, 5 };
static const uint8_t HOSTMAC[6] = { 0x02, 0xaa, 0, 0, 0, 1 };
static const uint8_t GW[6] = { 0x02, 0x00, 10, 0, 1, 1 };
static const uint8_t SRC[6] = { 0x0e, 0x64, 10, 0, 1, 2 };

static void inner(struct pkt *p, const uint8_t *dmac)
{
	pkt_eth(p, dmac, SRC, 0x0800);
	pkt_ipv4(p, IP4(10, 0, 1, 2), IP4(10, 0, 1, 5), 17, NULL);
	pkt_udp(p, 4000, 53);
	pkt_payload(p, "bypass", 6);
}

static void tunnel(struct pkt *p, uint32_t vni, uint8_t extra_type)
{
	uint32_t rts = htonl(IP4(172, 31, 0, 1)), flags = htonl(MZR_F_DIRECT);

	pkt_init(p);
	pkt_eth(p, EP, HOSTMAC, 0x0800);
	pkt_ipv4(p, IP4(172, 31, 0, 1), IP4(172, 31, 0, 2), 17,
		 &(struct pkt_ipv4_opts){ .frag_off = 0x4000 });
	pkt_udp_nocsum(p, 50000, MZR_GENEVE_PORT);
	pkt_geneve(p, vni, MZR_ETH_P_TEB);
	pkt_geneve_opt(p, MZR_OPT_CLASS, MZR_OPT_RTS, &rts, 4);
	if (extra_type)
		pkt_geneve_opt(p, 0x0200, extra_type, &rts, 4);
	pkt_geneve_opt(p, MZR_OPT_CLASS, MZR_OPT_FLAGS, &flags, 4);
	inner(p, GW);
	pkt_finish(p);
}

int main(void)
{
	struct bpf_object *obj;
	struct fixture_pkt f[5];
	int prog, failed;

	test_require_root();
	prog = test_load_prog(NF_OBJ_DIR "/nf_bypass_decap.bpf.o",
			      "bypass_decap", &obj);
	memset(f, 0, sizeof(f));

	f[0].desc = "a Mizar tunnel frame reaches the endpoint's stack "
		    "decapsulated, addressed to the endpoint's MAC";
	tunnel(&f[0].in, 100, 0);
	pkt_init(&f[0].out);
	inner(&f[0].out, EP);
	pkt_finish(&f[0].out);
	f[0].verdict = XDP_PASS;
	f[0].check_out = true;

	f[1].desc = "an unknown non-critical option of another class is "
		    "skipped";
	tunnel(&f[1].in, 100, 0x05);
	f[1].out = f[0].out;
	f[1].verdict = XDP_PASS;
	f[1].check_out = true;

	f[2].desc = "an unknown critical option drops the frame";
	tunnel(&f[2].in, 100, 0x85);
	f[2].verdict = XDP_DROP;

	f[3].desc = "VNI 0 with Mizar options is dropped";
	tunnel(&f[3].in, 0, 0);
	f[3].verdict = XDP_DROP;

	f[4].desc = "plain (non-tunnel) traffic passes untouched";
	pkt_init(&f[4].in);
	inner(&f[4].in, EP);
	pkt_finish(&f[4].in);
	f[4].out = f[4].in;
	f[4].verdict = XDP_PASS;
	f[4].check_out = true;

	for (int i = 0; i < 5; i++)
		f[i].counter = -1;
	failed = fixture_pkt_run_table(prog, -1, f, 5);
	bpf_object__close(obj);
	return failed ? 1 : 0;
}
