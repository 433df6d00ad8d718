// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * External oracle: what the agent and the transit emit, written to a pcap
 * and decoded by Wireshark's Geneve dissector (tshark), must read back as
 * Geneve v0, the right VNI, Mizar's option class and types, and the inner
 * frame the endpoint sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <mizar/abi.h>

#include "core_env.h"

struct emitted {
	const char *what;
	uint8_t data[PKT_MAX + 256];
	uint32_t len;
	/* Expected decode. */
	uint32_t vni;
	const char *inner_src, *inner_dst; /* IPv4, or NULL for ARP */
	const char *arp_tpa;
};

static struct core_env env;

static int run(int prog, uint32_t ifindex, const struct pkt *in,
	       struct emitted *e, int want)
{
	struct xdp_md ctx = { .data_end = (uint32_t)in->len,
			      .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
		    .data_size_in = (uint32_t)in->len, .data_out = e->data,
		    .data_size_out = sizeof(e->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o)) {
		perror("BPF_PROG_TEST_RUN");
		return -1;
	}
	if ((int)o.retval != want) {
		printf("FAIL: %s: verdict %u, want %d\n", e->what, o.retval,
		       want);
		return -1;
	}
	e->len = o.data_size_out;
	return 0;
}

static void put32le(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f); /* host order (x86: little endian) pcap */
}

static int write_pcap(const char *path, struct emitted *e, int n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	put32le(f, 0xa1b2c3d4);
	put32le(f, 0x00040002); /* version 2.4 (minor, major as u16s) */
	put32le(f, 0);
	put32le(f, 0);
	put32le(f, 65535);
	put32le(f, 1); /* LINKTYPE_ETHERNET */
	for (int i = 0; i < n; i++) {
		put32le(f, (uint32_t)i);
		put32le(f, 0);
		put32le(f, e[i].len);
		put32le(f, e[i].len);
		fwrite(e[i].data, e[i].len, 1, f);
	}
	return fclose(f);
}

int main(void)
{
	static struct emitted e[5];
	struct inner_spec s;
	char pcap[] = "/tmp/mzr-tshark-XXXXXX";
	char cmd[1024], line[1024];
	struct pkt in;
	int n = 0, fails = 0, fd;
	FILE *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (system("command -v tshark >/dev/null")) {
		printf("SKIP: tshark not installed\n");
		return 77;
	}
	core_env_setup(&env);

	s = (struct inner_spec){ .dmac = MAC_GW_A1, .smac = MAC_EP1,
				 .src = IP4(10, 1, 1, 10),
				 .dst = IP4(10, 1, 1, 20), .sport = 40000,
				 .dport = 5201, .payload = 32 };
	build_inner(&in, &s);
	e[n] = (struct emitted){ .what = "agent UDP to a bouncer",
				 .vni = VNI_A, .inner_src = "10.1.1.10",
				 .inner_dst = "10.1.1.20" };
	fails += run(env.agent_fd, env.ep1h, &in, &e[n++], XDP_REDIRECT) != 0;

	s.proto = 6;
	s.dst = IP4(10, 1, 1, 60);
	build_inner(&in, &s);
	e[n] = (struct emitted){ .what = "agent TCP on the direct path",
				 .vni = VNI_A, .inner_src = "10.1.1.10",
				 .inner_dst = "10.1.1.60" };
	fails += run(env.agent_fd, env.ep1h, &in, &e[n++], XDP_REDIRECT) != 0;

	build_arp(&in, 1, MAC_EP1, IP4(10, 1, 1, 10), IP4(10, 1, 1, 20));
	e[n] = (struct emitted){ .what = "agent ARP request", .vni = VNI_A,
				 .arp_tpa = "10.1.1.20" };
	fails += run(env.agent_fd, env.ep1h, &in, &e[n++], XDP_REDIRECT) != 0;

	/* A bouncer hop and a divider hop (options rewritten in place). */
	{
		struct outer_spec o = { .dmac = MAC_US, .smac = MAC_H2,
					.src = H2, .dst = US, .sport = 51000,
					.vni = VNI_A, .rts = H2 };
		struct pkt inner, tun;

		s = (struct inner_spec){ .dmac = MAC_GW_A1,
					 .smac = MAC_REMOTE,
					 .src = IP4(10, 1, 1, 77),
					 .dst = IP4(10, 1, 1, 20),
					 .sport = 1, .dport = 2,
					 .payload = 8 };
		build_inner(&inner, &s);
		build_encap(&tun, &o, &inner);
		e[n] = (struct emitted){ .what = "bouncer forward",
					 .vni = VNI_A,
					 .inner_src = "10.1.1.77",
					 .inner_dst = "10.1.1.20" };
		fails += run(env.transit_fd, env.ul0, &tun, &e[n++], XDP_TX) !=
			 0;

		s.dst = IP4(10, 2, 1, 7);
		build_inner(&inner, &s);
		o.vni = VNI_B;
		build_encap(&tun, &o, &inner);
		e[n] = (struct emitted){ .what = "divider forward",
					 .vni = VNI_B,
					 .inner_src = "10.1.1.77",
					 .inner_dst = "10.2.1.7" };
		fails += run(env.transit_fd, env.ul0, &tun, &e[n++], XDP_TX) !=
			 0;
	}
	if (fails)
		return 1;

	fd = mkstemp(pcap);
	if (fd < 0)
		return 1;
	close(fd);
	if (write_pcap(pcap, e, n))
		return 1;
	snprintf(cmd, sizeof(cmd),
		 "tshark -n -r %s -d udp.port==6081,geneve -T fields "
		 "-E separator='|' -E occurrence=a -E aggregator=, "
		 "-e geneve.version -e geneve.vni -e geneve.proto_type "
		 "-e geneve.option.class -e geneve.option.type "
		 "-e geneve.option.length -e ip.src -e ip.dst -e arp.dst.proto_ipv4 "
		 "-e _ws.expert 2>/dev/null",
		 /* option.length: the options' total, then each option's */
		 pcap);
	p = popen(cmd, "r");
	if (!p)
		return 1;
	for (int i = 0; i < n; i++) {
		if (!fgets(line, sizeof(line), p)) {
			printf("FAIL: tshark decoded only %d of %d frames\n",
			       i, n);
			fails++;
			break;
		}
		line[strcspn(line, "\n")] = 0;
		printf("frame %d (%s): %s\n", i, e[i].what, line);
		{
			char vni[16], cls[64], type[64], len[64];
			char ips[128], ipd[128], arp[64], expert[256];
			int ver = -1;
			char buf[1024];
			char *f[10] = { 0 };
			char *tok, *save = buf;
			int k = 0;

			strcpy(buf, line);
			while (k < 10 && (tok = strsep(&save, "|")))
				f[k++] = tok;
			if (k < 10) {
				printf("FAIL: %d fields\n", k);
				fails++;
				continue;
			}
			ver = atoi(f[0]);
			snprintf(vni, sizeof(vni), "%s", f[1]);
			snprintf(cls, sizeof(cls), "%s", f[3]);
			snprintf(type, sizeof(type), "%s", f[4]);
			snprintf(len, sizeof(len), "%s", f[5]);
			snprintf(ips, sizeof(ips), "%s", f[6]);
			snprintf(ipd, sizeof(ipd), "%s", f[7]);
			snprintf(arp, sizeof(arp), "%s", f[8]);
			snprintf(expert, sizeof(expert), "%s", f[9]);
			if (ver != 0 || strtoul(vni, NULL, 0) != e[i].vni ||
			    strcmp(f[2], "0x6558") ||
			    strcmp(cls, "0x0111,0x0111") ||
			    strcmp(type, "0x01,0x02") || strcmp(len, "16,8,8") ||
			    strstr(expert, "Malformed") ||
			    strstr(expert, "Warning") ||
			    strstr(expert, "Error")) {
				printf("FAIL: %s: Geneve header/options "
				       "decoded wrong\n", e[i].what);
				fails++;
				continue;
			}
			if (e[i].inner_src) {
				char *isrc = strchr(ips, ',');
				char *idst = strchr(ipd, ',');

				if (!isrc || !idst ||
				    strcmp(isrc + 1, e[i].inner_src) ||
				    strcmp(idst + 1, e[i].inner_dst)) {
					printf("FAIL: %s: inner IPv4 decoded "
					       "as %s -> %s\n", e[i].what,
					       ips, ipd);
					fails++;
					continue;
				}
			} else if (strcmp(arp, e[i].arp_tpa)) {
				printf("FAIL: %s: inner ARP target %s\n",
				       e[i].what, arp);
				fails++;
				continue;
			}
			printf("ok: %s decodes as Geneve v0 VNI %u, class "
			       "0x0111 RTS+FLAGS, inner as sent\n",
			       e[i].what, e[i].vni);
		}
	}
	if (pclose(p) != 0) {
		printf("FAIL: tshark exited with an error\n");
		fails++;
	}
	unlink(pcap);
	printf("%d frames, %d failures\n", n, fails);
	return fails ? 1 : 0;
}
