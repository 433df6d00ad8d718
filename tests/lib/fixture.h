/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Declarative packet fixtures: a table of designated initialisers, one
 * entry per case, run through loaded programs with BPF_PROG_TEST_RUN; the
 * verdict, the output frame (byte for byte, hex diff on mismatch, valid
 * checksums) and any number of counters are compared.
 *
 *	static const struct fixture transit[] = {
 *		{ .desc = "a bouncer forwards to the endpoint's host",
 *		  .prog = PROG_TRANSIT,
 *		  .in = TUNNEL(.from = H2, .vni = VNI_A,
 *			       .inner = FROM_REMOTE(.dst = EP3)),
 *		  .verdict = XDP_TX,
 *		  .out = TUNNEL(.from = H2, .to = H5, .vni = VNI_A, .ttl = 63,
 *				.inner = FROM_REMOTE(.dst = EP3)),
 *		  .counters = { { MZR_CNT_BOUNCER_FWD, 1 } } },
 *	};
 *	fixture_run_table(core_env_progs(&env), transit,
 *			  ARRAY_SIZE(transit));
 *
 * Frames are `struct frame` descriptions (compound literals, so a table can
 * be static), written with the macros of fixture_frames.h: UDP/TCP/ICMP/
 * ARP/ETH/RAW for plain frames, GENEVE for a tunnel around `.inner`. The
 * macros set the defaults; a field given in the call overrides it (C's
 * rule for repeated designators: the last wins).
 * What depends on the topology (the MACs of underlay hosts, who "we" are,
 * a bouncer chosen by the flow hash) comes from the `frame_world` a test
 * installs (tests/pkt/core_env.c). `.prog` is the test's enum naming a
 * program in the `fixture_progs` given to the runner; `.counters` lists
 * (counter, exact growth) pairs, up to the first all-zero entry.
 *
 * A compound literal inside a function lives until the end of its block:
 * keep tables at file scope, or copy generated frames into static storage
 * (test_core_scaled.c).
 */
#ifndef MZR_TEST_FIXTURE_H
#define MZR_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuild.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* ---- Frame descriptions ------------------------------------------------ */

enum frame_kind {
	FRAME_NONE,
	FRAME_IPV4,   /* Ethernet + IPv4 + UDP/TCP/ICMP (by .proto) */
	FRAME_ARP,    /* Ethernet + ARP for IPv4 */
	FRAME_ETH,    /* Ethernet with .ethertype and a pattern payload */
	FRAME_GENEVE, /* Ethernet + IPv4 + UDP + Geneve around .inner */
	FRAME_RAW,    /* .bytes as they are */
	FRAME_PKT,    /* an already built struct pkt (.pkt) */
};

/* A Geneve option; 4 bytes of .val (network order) unless .data or .raw
 * give .len bytes. */
struct frame_opt {
	uint16_t cls;
	uint8_t type;
	uint32_t val;
	const uint8_t *data;
	uint8_t len;
	bool raw;
};

/* A byte changed after the frame is built (and its checksums fixed): at
 * .off in the .nth (from 0) layer of type .layer. */
enum frame_patch_op { PATCH_NONE, PATCH_SET, PATCH_XOR, PATCH_OR };
struct frame_patch {
	enum pkt_layer layer;
	int nth;
	unsigned int off;
	enum frame_patch_op op;
	uint8_t val;
};

#define FRAME_MAX_OPTS 6
#define FRAME_MAX_PATCHES 3

struct frame {
	enum frame_kind kind;
	/* Ethernet; NULL: from the world (GENEVE) or the macro's default. */
	const uint8_t *dmac, *smac;
	uint16_t ethertype; /* FRAME_ETH */
	/* IPv4 addresses, host order (ARP: sender and target address). */
	union {
		uint32_t src, from;
	};
	union {
		uint32_t dst, to;
	};
	uint8_t proto;	   /* FRAME_IPV4: 17, 6 or 1 (0: IP header only) */
	uint8_t ttl;	   /* 0: 64 */
	uint8_t tos;
	uint8_t ihl;	   /* 0: 5; more appends NOP options */
	uint16_t frag_off; /* host order, flags included */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack; /* TCP */
	uint8_t type, code; /* ICMP */
	uint16_t id, echo_seq; /* ICMP echo */
	uint16_t mtu;	    /* ICMP type 3: next-hop MTU */
	/* ICMP error: quote this frame's IPv4 header and .quote_l4 bytes. */
	const struct frame *quote;
	uint8_t quote_l4;
	size_t payload;	 /* bytes of 00 01 02 ... pattern */
	size_t len;	 /* or: pad with the pattern to this frame length */
	size_t trailer;	 /* IPv4 bytes (0xee) after the L4 datagram */
	/* ARP: .op, sender .smac/.src (.sha overrides), target .tha/.dst */
	uint16_t op;
	const uint8_t *sha, *tha;
	/* Geneve: the outer UDP source port (.flow_sport: the world's
	 * port for the inner flow), VNI, Mizar's RTS (0: .from) and FLAGS
	 * options; .opts replaces both when its first class is not 0. */
	uint32_t vni, rts, flags;
	bool flow_sport, no_flags_opt, no_opts;
	struct frame_opt opts[FRAME_MAX_OPTS];
	const struct frame *inner;
	/* FRAME_RAW */
	const uint8_t *bytes;
	size_t nbytes;
	const struct pkt *pkt; /* FRAME_PKT */
	/* After building: patches, then a cut to .cut bytes (0: none). */
	struct frame_patch patch[FRAME_MAX_PATCHES];
	size_t cut;
};

extern const uint8_t frame_mac_bcast[6], frame_mac_zero[6];

/* What a frame description leaves to the topology. */
struct frame_world {
	uint32_t self;		/* GENEVE .to's default host */
	const uint8_t *self_mac;
	/* The MAC of underlay host @ip. */
	const uint8_t *(*mac_of)(uint32_t ip);
	/* A placeholder address (e.g. "the bouncer for this flow") as the
	 * address it stands for, given the built inner frame; others
	 * unchanged. NULL: none. */
	uint32_t (*resolve_ip)(uint32_t ip, const struct pkt *inner);
	/* The outer UDP source port a host derives from @inner. */
	uint16_t (*flow_sport)(const struct pkt *inner);
};

/* Installed by the test's environment (NULL: explicit MACs only). */
extern const struct frame_world *frame_world;

/*
 * Build @f into @p: lengths and checksums fixed (pkt_finish), then the
 * patches and the cut applied. A GENEVE frame with no .dmac is sent to
 * mac_of(.to); with no .smac it comes from mac_of(.from) when it arrives
 * at world->self, else from world->self_mac. Aborts on a description it
 * cannot build.
 */
void frame_build(struct pkt *p, const struct frame *f);

/* ---- Fixtures ------------------------------------------------------------ */

struct fixture_counter {
	int idx;	 /* enum mzr_counter (drops: MZR_CNT_DROP_BASE + r) */
	long long delta; /* its exact growth */
};

#define FIXTURE_MAX_COUNTERS 6

struct fixture {
	const char *desc;	 /* what the network must do */
	int prog;		 /* the test's enum: fixture_progs.progs[prog] */
	const struct frame *in;
	int verdict;		 /* XDP_* or TC_ACT_* expected */
	const struct frame *out; /* expected output frame; NULL: not checked */
	bool out_same;		 /* expected output: the input unchanged */
	/* Counters (of fixture_progs.stats_fd) and their exact growth, up
	 * to the first entry { 0, 0 }. */
	struct fixture_counter counters[FIXTURE_MAX_COUNTERS];
	/* Ingress device by name (0: the program's .dev), or by index. */
	const char *dev;
	uint32_t ingress_ifindex;
	/* The expected output is malformed on purpose or carries bad
	 * checksums (bad input passed on unchanged): no checksum check. */
	bool out_malformed;
	uint32_t gso_size; /* tc: the skb's GSO segment size (0: none) */
};

/* The programs a table names by .prog. */
struct fixture_prog {
	const char *name;
	int fd;
	bool tc;	 /* SCHED_CLS: an skb on the device, TC_ACT_* */
	const char *dev; /* default ingress device (NULL: no context) */
};

struct fixture_progs {
	const struct fixture_prog *progs;
	size_t n;
	int stats_fd; /* per-CPU u64 counters, -1 for none */
};

/* Extra room given to the program to grow the frame (encapsulation). */
#define FIXTURE_HEADROOM 256

/*
 * Run one fixture. Returns 0 when it matches; otherwise prints the
 * description, the verdicts, every counter and a hex diff around the first
 * differing byte, and returns -1. FIXTURE_DUMP=<file> in the environment
 * appends one line per fixture with all it checks.
 */
int fixture_run(const struct fixture_progs *ps, const struct fixture *f);

/* Run @n fixtures, printing "fixture N/M ok: desc" (or FAILED) for each.
 * Returns the number of failures. */
int fixture_run_table(const struct fixture_progs *ps,
		      const struct fixture *tab, size_t n);

/* fixture_run() as a CHECK (testenv.h): "ok: desc" or a failure counted
 * in test_failures. */
void fixture_check(const struct fixture_progs *ps, const struct fixture *f);

/*
 * Run @in through @prog_fd (BPF_PROG_TEST_RUN) as received on @ifindex
 * (0: no context); the output into @out when not NULL. The verdict; exits
 * 1 when the run itself fails.
 */
int fixture_xdp_run(int prog_fd, uint32_t ifindex, const struct pkt *in,
		    struct pkt *out);

/* "XDP_PASS" etc., or "XDP_?(n)" for unknown values (static buffer). */
const char *fixture_verdict_name(int verdict);

/* Print a hex dump with the first difference marked. */
void fixture_hexdiff(const uint8_t *want, size_t want_len,
		     const uint8_t *got, size_t got_len);

/* Sum of a per-CPU u64 counter at @idx of map @fd. Prints the error and
 * returns UINT64_MAX when the lookup fails. */
uint64_t fixture_counter(int stats_fd, uint32_t idx);

/* ---- Frames built by hand ------------------------------------------------
 * For a test that builds its frames with pktbuild.h (or mutates them
 * between runs): the same runner, one program, at most one counter that
 * must grow by one. New tables use struct fixture.
 */
struct fixture_pkt {
	const char *desc;
	struct pkt in;
	int verdict;
	bool check_out;	 /* compare the output frame with .out */
	struct pkt out;
	int counter;	 /* grows by one; -1 for none */
	uint32_t ingress_ifindex; /* 0 for no context */
	bool out_malformed;
	bool tc;	 /* SCHED_CLS; ingress_ifindex is the skb's device */
	uint32_t gso_size;
};

/* fixture_run() on @f through @prog_fd, counters in @stats_fd (or -1). */
int fixture_pkt_run(int prog_fd, int stats_fd, const struct fixture_pkt *f);
void fixture_pkt_check(int prog_fd, int stats_fd,
		       const struct fixture_pkt *f);
int fixture_pkt_run_table(int prog_fd, int stats_fd,
			  const struct fixture_pkt *tab, size_t n);

#endif
