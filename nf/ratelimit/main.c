// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-ratelimit: cap the egress of endpoints on this host (see
 * docs/nf-ratelimit.md). The buckets live in the NF's pinned map; this
 * tool writes their configuration and reads their counters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "mizar_ratelimit_bpf.skel.h"
#include "nftool.h"
#include "rate.h"
#include "ratelimit.h"

static const struct nftool_prog progs[] = {
	{ "ratelimit_egress", MZR_HOOK_AGENT_EGRESS },
};

static const struct nftool tool = {
	.name = "ratelimit",
	.elf_bytes = mizar_ratelimit_bpf__elf_bytes,
	.progs = progs,
	.n_progs = sizeof(progs) / sizeof(progs[0]),
};

static const char *const usage =
	"Usage: mizar-ratelimit [-r|--pin-root DIR] [-j|--json] COMMAND ...\n"
	"\n"
	"Caps the egress of endpoints hosted here (agent-egress hook): one\n"
	"token bucket per (vni, endpoint ip); frames beyond it are dropped.\n"
	"\n"
	"Commands:\n"
	"  attach                      load into the agent-egress chain\n"
	"  detach                      remove it and its configuration\n"
	"  set vni N ip IP rate RATE [burst BYTES]\n"
	"                              cap the endpoint's egress at RATE\n"
	"  del vni N ip IP             remove the cap\n"
	"  show [vni N]                caps and their counters\n"
	"\n"
	"RATE as tc writes it: 10mbit, 500kbit, 1gbit, 64kibit, 800bit;\n"
	"bps-style units are BYTES per second (kbps = 1000 bytes/s); a bare\n"
	"number is bit/s. BYTES: an integer, optionally k/m/g (x1024).\n"
	"\n"
	"Options:\n"
	"  -r, --pin-root DIR  bpffs directory holding this host's state\n"
	"                      (default: $MIZAR_PIN_ROOT, else " MZR_DEFAULT_PIN_ROOT ")\n"
	"  -j, --json          print show output as one JSON document\n"
	"  -h, --help          help; also after any command\n";

static const char *const set_help =
	"Usage: mizar-ratelimit set vni N ip IP rate RATE [burst BYTES]\n"
	"\n"
	"Cap the egress of endpoint IP of VPC N (an endpoint on this host) at\n"
	"RATE. The bucket holds BURST bytes (default: 250 ms at RATE, at\n"
	"least 16 KiB); a frame larger than the tokens left is dropped.\n"
	"BURST is 1514 B to 4 GiB - 1. Setting an existing cap replaces it,\n"
	"starts it with a full bucket and keeps its counters.\n"
	"\n"
	"RATE units (case-insensitive, as tc): bit kbit mbit gbit tbit,\n"
	"kibit mibit gibit tibit; bps kbps mbps gbps tbps and kibps ... tibps\n"
	"are bytes/s. 8bit to 10tbit. Fractions allowed: 1.5mbit.\n";

static const char *const del_help =
	"Usage: mizar-ratelimit del vni N ip IP\n"
	"\n"
	"Remove the cap of endpoint IP of VPC N.\n";

static const char *const show_help =
	"Usage: mizar-ratelimit show [vni N]\n"
	"\n"
	"List the caps with their rate, burst, the bytes available now, and\n"
	"the frames and bytes passed and dropped (-j: JSON).\n";

/* Parse the keywords of @cmd into @kw, and the cap's key from them.
 * Returns 0 or MZCTL_USAGE after one error line. */
static int get_key(const char *cmd, struct mzctl_kw *kw, int argc,
		   char **argv, struct mzr_rl_key *key)
{
	const char *v;
	struct in_addr ip;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	memset(key, 0, sizeof(*key));
	if (nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, &key->vni))
		return MZCTL_USAGE;
	v = mzctl_kw_get(kw, "ip")->val;
	if (mzctl_parse_ip(v, &ip) || !ip.s_addr) {
		mzctl_err(cmd, "bad ip '%s'", v);
		return MZCTL_USAGE;
	}
	key->ip = ip.s_addr;
	return 0;
}

/* ---- set / del ----------------------------------------------------- */

static int cmd_set(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "set";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ip", true, true, NULL },
		{ "rate", true, true, NULL },
		{ "burst", true, false, NULL },
		{ NULL },
	};
	struct mzr_rl_bucket b = {}, old;
	uint64_t bits, burst;
	struct mzr_rl_key key;
	const char *v;
	int fd, err;

	if (nftool_help(argc, argv, set_help))
		return MZCTL_OK;
	err = get_key(cmd, kw, argc, argv, &key);
	if (err)
		return err;
	v = mzctl_kw_get(kw, "rate")->val;
	err = mzr_rl_parse_rate(v, &bits);
	if (err == -ERANGE) {
		mzctl_err(cmd, "rate '%s' out of range (8bit to 10tbit)", v);
		return MZCTL_USAGE;
	}
	if (err) {
		mzctl_err(cmd,
			  "bad rate '%s' (e.g. 10mbit, 500kbit; see --help)",
			  v);
		return MZCTL_USAGE;
	}
	v = mzctl_kw_get(kw, "burst")->val;
	burst = mzr_rl_default_burst(bits);
	if (v) {
		err = mzr_rl_parse_size(v, MZR_RL_BURST_MIN, MZR_RL_BURST_MAX,
					&burst);
		if (err == -ERANGE) {
			mzctl_err(cmd,
				  "burst '%s' out of range (%llu to %llu bytes)",
				  v, MZR_RL_BURST_MIN, MZR_RL_BURST_MAX);
			return MZCTL_USAGE;
		}
		if (err) {
			mzctl_err(cmd,
				  "bad burst '%s' (bytes, e.g. 32000 or 64k)",
				  v);
			return MZCTL_USAGE;
		}
	}

	fd = nftool_map(g, &tool, MZR_RL_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	/* A new configuration keeps the counters of the old one. */
	if (!bpf_map_lookup_elem_flags(fd, &key, &old, BPF_F_LOCK)) {
		b.pass_pkts = old.pass_pkts;
		b.pass_bytes = old.pass_bytes;
		b.drop_pkts = old.drop_pkts;
		b.drop_bytes = old.drop_bytes;
	}
	mzr_rl_configure(&b, bits, burst);
	b.last_ns = nftool_mono_ns();
	if (bpf_map_update_elem(fd, &key, &b, BPF_F_LOCK)) {
		err = -errno;
		close(fd);
		if (err == -E2BIG || err == -ENOMEM) {
			mzctl_err(cmd, "rate-limit table is full (%u entries)",
				  MZR_RL_MAX_ENTRIES);
			return MZCTL_FAIL;
		}
		mzctl_err(cmd, "cannot update %s: %s", MZR_RL_MAP,
			  strerror(-err));
		return MZCTL_FAIL;
	}
	close(fd);
	return MZCTL_OK;
}

static int cmd_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ip", true, true, NULL },
		{ NULL },
	};
	char ip[INET_ADDRSTRLEN];
	struct mzr_rl_key key;
	int fd, err;

	if (nftool_help(argc, argv, del_help))
		return MZCTL_OK;
	err = get_key(cmd, kw, argc, argv, &key);
	if (err)
		return err;
	fd = nftool_map(g, &tool, MZR_RL_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	if (err == -ENOENT) {
		mzctl_err(cmd, "no cap for vni %u ip %s", key.vni,
			  mzctl_ip_str((struct in_addr){ key.ip }, ip));
		return MZCTL_FAIL;
	}
	if (err) {
		mzctl_err(cmd, "cannot delete from %s: %s", MZR_RL_MAP,
			  strerror(-err));
		return MZCTL_FAIL;
	}
	return MZCTL_OK;
}

/* ---- show ---------------------------------------------------------- */

struct entry {
	struct mzr_rl_key key;
	struct mzr_rl_bucket b;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	uint32_t xi = ntohl(x->key.ip), yi = ntohl(y->key.ip);

	if (x->key.vni != y->key.vni)
		return x->key.vni < y->key.vni ? -1 : 1;
	return xi < yi ? -1 : xi > yi;
}

/* Bytes in the bucket now, refilled as the data path would. */
static uint64_t tokens_now(const struct mzr_rl_bucket *b, uint64_t now)
{
	return mzr_rl_refill(b, now > b->last_ns ? now - b->last_ns : 0) /
	       MZR_RL_NSEC;
}

static int read_all(int fd, uint32_t vni, struct entry **out, size_t *n)
{
	struct mzr_rl_key key, next, *prev = NULL;
	struct entry *e;
	size_t cap = 64;

	*n = 0;
	e = malloc(cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (vni && key.vni != vni)
			continue;
		if (*n == cap) {
			struct entry *m = realloc(e, 2 * cap * sizeof(*e));

			if (!m) {
				free(e);
				return -ENOMEM;
			}
			e = m;
			cap *= 2;
		}
		e[*n].key = key;
		/* Deleted meanwhile: skip it. */
		if (!bpf_map_lookup_elem_flags(fd, &key, &e[*n].b, BPF_F_LOCK))
			(*n)++;
	}
	qsort(e, *n, sizeof(*e), entry_cmp);
	*out = e;
	return 0;
}

static int cmd_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "show";
	struct mzctl_kw kw[] = { { "vni", true, false, NULL }, { NULL } };
	static const char *const cols[] = { "vni", "ip", "rate", "burst",
					    "tokens", "passed(pkts/bytes)",
					    "dropped(pkts/bytes)", NULL };
	char ip[INET_ADDRSTRLEN], rate[32];
	struct nftool_table tb;
	struct mzctl_json js;
	struct entry *e;
	uint32_t vni = 0;
	uint64_t now;
	const char *v;
	size_t n, i;
	int fd, err;

	if (nftool_help(argc, argv, show_help))
		return MZCTL_OK;
	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	v = mzctl_kw_get(kw, "vni")->val;
	if (v && nf_arg_vni(cmd, v, &vni))
		return MZCTL_USAGE;
	err = nftool_show_unattached(g, &tool, cmd);
	if (err >= 0)
		return err;
	fd = nftool_map(g, &tool, MZR_RL_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	err = read_all(fd, vni, &e, &n);
	close(fd);
	if (err)
		return mzctl_fail(cmd, err);
	now = nftool_mono_ns();

	nftool_show_begin(g, &js, &tool);
	if (g->json)
		mzctl_json_arr(&js, "limits");
	nftool_table_init(&tb, "Limits", cols);
	for (i = 0; i < n; i++) {
		const struct mzr_rl_bucket *b = &e[i].b;
		char pass[48], drop[48], vs[12], burst[12], tok[24];

		mzctl_ip_str((struct in_addr){ e[i].key.ip }, ip);
		mzr_rl_rate_str(b->rate_bits, rate, sizeof(rate));
		if (g->json) {
			mzctl_json_obj(&js, NULL);
			mzctl_json_u64(&js, "vni", e[i].key.vni);
			mzctl_json_str(&js, "ip", ip);
			mzctl_json_str(&js, "rate", rate);
			mzctl_json_u64(&js, "rate_bits_per_sec", b->rate_bits);
			mzctl_json_u64(&js, "rate_bytes_per_sec", b->rate);
			mzctl_json_u64(&js, "burst", b->burst);
			mzctl_json_u64(&js, "tokens", tokens_now(b, now));
			mzctl_json_u64(&js, "passed_packets", b->pass_pkts);
			mzctl_json_u64(&js, "passed_bytes", b->pass_bytes);
			mzctl_json_u64(&js, "dropped_packets", b->drop_pkts);
			mzctl_json_u64(&js, "dropped_bytes", b->drop_bytes);
			mzctl_json_obj_end(&js);
			continue;
		}
		snprintf(vs, sizeof(vs), "%u", e[i].key.vni);
		snprintf(burst, sizeof(burst), "%u", b->burst);
		snprintf(tok, sizeof(tok), "%" PRIu64, tokens_now(b, now));
		snprintf(pass, sizeof(pass), "%" PRIu64 "/%" PRIu64,
			 (uint64_t)b->pass_pkts, (uint64_t)b->pass_bytes);
		snprintf(drop, sizeof(drop), "%" PRIu64 "/%" PRIu64,
			 (uint64_t)b->drop_pkts, (uint64_t)b->drop_bytes);
		nftool_table_row(&tb, vs, ip, rate, burst, tok, pass, drop);
	}
	if (g->json)
		mzctl_json_arr_end(&js);
	else
		nftool_table_print(&tb);
	/* The caps carry their own counts; the NF has no global counter. */
	nftool_show_counters(g, &js, -1, NULL, 0);
	nftool_show_end(g, &js);
	free(e);
	return MZCTL_OK;
}

static const struct mzctl_group groups[] = {
	{ "set", cmd_set },
	{ "del", cmd_del },
	{ "show", cmd_show },
	{ NULL },
};

int main(int argc, char **argv)
{
	return nftool_main(argc, argv, &tool, groups, usage);
}
