// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-nat: SNAT and DNAT between a VPC and the underlay on a divider of
 * the VPC (see docs/nf-nat.md). The rules and the connection table live
 * in the NF's pinned maps; this tool writes the rules and reads the rest.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "mizar_nat_bpf.skel.h"
#include "nftool.h"
#include "nat.h"

static const struct nftool_prog progs[] = {
	{ "nat_exit", MZR_HOOK_DIVIDER },
	{ "nat_entry", MZR_HOOK_EXTERNAL },
};

static const struct nftool tool = {
	.name = "nat",
	.elf_bytes = mizar_nat_bpf__elf_bytes,
	.progs = progs,
	.n_progs = sizeof(progs) / sizeof(progs[0]),
};

static const char *const usage =
	"Usage: mizar-nat [-r|--pin-root DIR] [-j|--json] COMMAND ...\n"
	"\n"
	"NAT between VPCs and the underlay, on a divider of the VPC (divider\n"
	"and external hooks).\n"
	"\n"
	"Commands:\n"
	"  attach              load into the divider and external chains\n"
	"  detach              remove it, its rules and connections\n"
	"  snat add vni N src CIDR to IP\n"
	"                      endpoints in CIDR reach outside the VPC,\n"
	"                      seen as IP (an address of this host)\n"
	"  snat del vni N src CIDR\n"
	"  dnat add vni N ext IP:PORT proto tcp|udp to IP:PORT\n"
	"                      IP:PORT of this host forwards to an endpoint\n"
	"  dnat del vni N ext IP:PORT proto tcp|udp\n"
	"  timeout tcp|tcp-close|tcp-rst|udp|icmp SECONDS|default\n"
	"                      idle time after which a connection is over\n"
	"  show [vni N]        rules, timeouts, connections and counters\n"
	"\n"
	"Options:\n"
	"  -r, --pin-root DIR  bpffs directory holding this host's state\n"
	"                      (default: $MIZAR_PIN_ROOT, else "
	MZR_DEFAULT_PIN_ROOT ")\n"
	"  -j, --json          print show output as one JSON document\n"
	"  -h, --help          help; also after any command\n";

static const char *const show_help =
	"Usage: mizar-nat show [vni N]\n"
	"\n"
	"List the SNAT and DNAT rules, the timeouts, the connections being\n"
	"translated (up to 100 in text, all with -j) and the NF's counters.\n";

static const char *const counter_names[__NAT_C_MAX] = {
	[NAT_C_SNAT_NEW] = "snat_new",	 [NAT_C_SNAT_OUT] = "snat_out",
	[NAT_C_SNAT_IN] = "snat_in",	 [NAT_C_DNAT_NEW] = "dnat_new",
	[NAT_C_DNAT_IN] = "dnat_in",	 [NAT_C_DNAT_OUT] = "dnat_out",
	[NAT_C_TX] = "tx",		 [NAT_C_KERNEL] = "kernel",
	[NAT_C_NO_RULE] = "no_rule",	 [NAT_C_FRAGMENT] = "fragment",
	[NAT_C_NO_PORT] = "drop_no_port", [NAT_C_TTL] = "drop_ttl",
	[NAT_C_ERROR] = "drop_error",	 [NAT_C_EXPIRED] = "drop_expired",
	[NAT_C_ICMP_IN] = "icmp_err_in", [NAT_C_ICMP_OUT] = "icmp_err_out",
};

/* The timeouts by their name on the command line, with their defaults. */
static const struct {
	const char *name;
	uint32_t dflt;
} timeouts[__NAT_TK_MAX] = {
	[NAT_TK_TCP] = { "tcp", NAT_TO_TCP },
	[NAT_TK_TCP_CLOSE] = { "tcp-close", NAT_TO_TCP_CLOSE },
	[NAT_TK_TCP_RST] = { "tcp-rst", NAT_TO_TCP_RST },
	[NAT_TK_UDP] = { "udp", NAT_TO_UDP },
	[NAT_TK_ICMP] = { "icmp", NAT_TO_ICMP },
};

static const char *const timeout_help =
	"Usage: mizar-nat timeout tcp|tcp-close|tcp-rst|udp|icmp "
	"SECONDS|default\n"
	"\n"
	"Set how long a connection may stay idle before it is over: packets\n"
	"from outside for it are then dropped (counter drop_expired) and the\n"
	"endpoint's next packet starts a new connection. An SNAT connection\n"
	"is kept alive by its endpoint's packets only; a DNAT one by both\n"
	"sides. tcp: established (default 7440); tcp-close: after a FIN each\n"
	"way (60); tcp-rst: after a reset (10); udp (180); icmp: echo (30).\n"
	"SECONDS: 1-2592000; default: back to the default. Applies at once,\n"
	"to existing connections too.\n";

/* Whether @ip is assigned to an interface of this host (this netns). */
static bool is_local_addr(struct in_addr ip)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return true; /* cannot tell: do not refuse */
	for (i = ifa; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
			((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				ip.s_addr;
	freeifaddrs(ifa);
	return found;
}

/*
 * The VPC must be known here. NAT acts only on a divider of it (the core
 * hands it the packets leaving the VPC there): say so when this host is
 * not one, without refusing (dividers may be set afterwards).
 */
static int check_vpc(struct mzctl *g, const char *cmd, uint32_t vni)
{
	struct mzr_vpc_info vpc;
	struct mzr_host_info hi;
	struct mzr_host *h;
	unsigned int i;
	int err;

	h = mzctl_host(g, cmd);
	if (!h)
		return -1;
	err = mzr_vpc__get(h, vni, &vpc);
	if (err == -ENOENT) {
		mzctl_err(cmd, "no vpc with vni %u on this host", vni);
		return -1;
	}
	if (err) {
		mzctl_fail(cmd, err);
		return -1;
	}
	if (mzr_host__info(h, &hi))
		return 0;
	for (i = 0; i < vpc.n_dividers; i++)
		if (vpc.dividers[i].s_addr == hi.ip.s_addr)
			return 0;
	fprintf(stderr,
		"%s: %s: warning: this host is not a divider of vpc %u: the "
		"rule acts once it is\n",
		program_invocation_short_name, cmd, vni);
	return 0;
}

struct net_find {
	struct in_addr ip;
	bool found;
};

static int net_has(const struct mzr_net_info *n, void *arg)
{
	struct net_find *f = arg;

	if (nf_in_prefix(f->ip, n->prefix, n->prefixlen))
		f->found = true;
	return 0;
}

/* Store a new rule; one error line when its table is full or the update
 * fails. An exit status. */
static int rule_insert(const char *cmd, int fd, const void *key,
		       const void *val, const char *table, unsigned int max)
{
	if (!bpf_map_update_elem(fd, key, val, BPF_NOEXIST))
		return MZCTL_OK;
	if (errno == E2BIG || errno == ENOSPC)
		mzctl_err(cmd, "%s table full (%u rules)", table, max);
	else
		mzctl_fail(cmd, -errno);
	return MZCTL_FAIL;
}

/* ---- snat ---------------------------------------------------------------- */

static int snat_key(const char *cmd, struct mzctl_kw *kw,
		    struct nat_snat_key *key, struct nat_snat_val *val)
{
	const char *v = mzctl_kw_get(kw, "src")->val;
	struct in_addr prefix;
	unsigned int len;

	if (nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, &val->vni))
		return -1;
	if (mzctl_parse_prefix(v, &prefix, &len)) {
		mzctl_err(cmd, "bad src '%s' (A.B.C.D/LEN)", v);
		return -1;
	}
	prefix = nf_mask(prefix, len);
	memset(key, 0, sizeof(*key));
	key->prefixlen = 32 + len;
	key->vni = htonl(val->vni);
	key->addr = prefix.s_addr;
	val->prefix = prefix.s_addr;
	val->plen = len;
	return 0;
}

static int snat_add(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "snat add";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "src", true, true, NULL },
		{ "to", true, true, NULL },
		{ NULL },
	};
	struct nat_snat_val val = {}, cur;
	struct nat_snat_key key;
	struct in_addr to;
	char p[INET_ADDRSTRLEN];
	int fd, ret = MZCTL_FAIL;

	if (mzctl_parse_kw(cmd, kw, argc, argv) ||
	    snat_key(cmd, kw, &key, &val))
		return MZCTL_USAGE;
	if (mzctl_parse_ip(mzctl_kw_get(kw, "to")->val, &to) || !to.s_addr) {
		mzctl_err(cmd, "bad to '%s'", mzctl_kw_get(kw, "to")->val);
		return MZCTL_USAGE;
	}
	if (!is_local_addr(to)) {
		mzctl_err(cmd, "to %s is not an address of this host",
			  mzctl_ip_str(to, p));
		return MZCTL_FAIL;
	}
	val.to = to.s_addr;
	fd = nftool_map(g, &tool, NAT_SNAT_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	if (check_vpc(g, cmd, val.vni))
		goto out;
	/* An LPM lookup answers for covering prefixes too: exact match on
	 * the stored rule. */
	if (!bpf_map_lookup_elem(fd, &key, &cur) && cur.vni == val.vni &&
	    cur.prefix == val.prefix && cur.plen == val.plen) {
		mzctl_err(cmd, "snat vni %u src %s/%u exists (del it first)",
			  val.vni,
			  mzctl_ip_str((struct in_addr){ val.prefix }, p),
			  val.plen);
		goto out;
	}
	ret = rule_insert(cmd, fd, &key, &val, "snat", NAT_MAX_SNAT);
out:
	close(fd);
	return ret;
}

static int snat_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "snat del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "src", true, true, NULL },
		{ NULL },
	};
	struct nat_snat_val val = {};
	struct nat_snat_key key;
	char p[INET_ADDRSTRLEN];
	int fd, ret = MZCTL_OK;

	if (mzctl_parse_kw(cmd, kw, argc, argv) ||
	    snat_key(cmd, kw, &key, &val))
		return MZCTL_USAGE;
	fd = nftool_map(g, &tool, NAT_SNAT_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	if (bpf_map_delete_elem(fd, &key)) {
		if (errno == ENOENT)
			mzctl_err(cmd, "no snat vni %u src %s/%u", val.vni,
				  mzctl_ip_str((struct in_addr){ val.prefix },
					       p),
				  val.plen);
		else
			mzctl_fail(cmd, -errno);
		ret = MZCTL_FAIL;
	}
	close(fd);
	return ret;
}

static const struct mzctl_sub snat_subs[] = {
	{ "add", "vni N src CIDR to IP",
	  "Endpoints of VPC N with an address in CIDR reach addresses\n"
	  "outside the VPC through this host (a divider of the VPC), seen\n"
	  "from outside as IP, an address of this host; replies come back\n"
	  "to them. Source ports (and ICMP echo ids) are translated into\n"
	  "61000-65535.\n",
	  snat_add },
	{ "del", "vni N src CIDR",
	  "Remove the rule; connections already translated live on until\n"
	  "they go idle.\n",
	  snat_del },
	{ NULL },
};

static int cmd_snat(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "snat", snat_subs, argc, argv);
}

/* ---- dnat ---------------------------------------------------------------- */

static int dnat_key(const char *cmd, struct mzctl_kw *kw, uint32_t *vni,
		    struct nat_dnat_key *key)
{
	const char *ext = mzctl_kw_get(kw, "ext")->val;
	const char *proto = mzctl_kw_get(kw, "proto")->val;
	struct in_addr ip;
	uint16_t port;

	if (nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, vni))
		return -1;
	if (nf_parse_ipport(ext, &ip, &port) || !ip.s_addr) {
		mzctl_err(cmd, "bad ext '%s' (A.B.C.D:PORT, port 1-65535)",
			  ext);
		return -1;
	}
	memset(key, 0, sizeof(*key));
	key->ext_ip = ip.s_addr;
	key->ext_port = htons(port);
	return nf_arg_proto(cmd, proto, NF_PROTO_L4, &key->proto);
}

static int dnat_add(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "dnat add";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ext", true, true, NULL },
		{ "proto", true, true, NULL },
		{ "to", true, true, NULL },
		{ NULL },
	};
	struct nat_dnat_val val = {}, cur;
	struct nat_dnat_key key;
	struct net_find nf = {};
	struct in_addr ip;
	const char *to;
	char a[32], b[32];
	uint16_t port;
	int fd, err, ret = MZCTL_FAIL;

	if (mzctl_parse_kw(cmd, kw, argc, argv) ||
	    dnat_key(cmd, kw, &val.vni, &key))
		return MZCTL_USAGE;
	to = mzctl_kw_get(kw, "to")->val;
	if (nf_parse_ipport(to, &ip, &port) || !ip.s_addr) {
		mzctl_err(cmd, "bad to '%s' (A.B.C.D:PORT, port 1-65535)", to);
		return MZCTL_USAGE;
	}
	val.ip = ip.s_addr;
	val.port = htons(port);
	if (!is_local_addr((struct in_addr){ key.ext_ip })) {
		mzctl_err(cmd, "ext %s is not an address of this host",
			  mzctl_ip_str((struct in_addr){ key.ext_ip }, a));
		return MZCTL_FAIL;
	}
	fd = nftool_map(g, &tool, NAT_DNAT_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	if (check_vpc(g, cmd, val.vni))
		goto out;
	nf.ip = ip;
	err = mzr_net__for_each(g->host, val.vni, net_has, &nf);
	if (err) {
		mzctl_fail(cmd, err);
		goto out;
	}
	if (!nf.found) {
		mzctl_err(cmd, "to %s is in no network of vpc %u",
			  mzctl_ip_str(ip, a), val.vni);
		goto out;
	}
	if (!bpf_map_lookup_elem(fd, &key, &cur)) {
		mzctl_err(cmd, "dnat ext %s proto %s exists (to %s of vpc %u)",
			  nf_ipport_str(key.ext_ip, key.ext_port, a, sizeof(a)),
			  nf_proto_name(key.proto),
			  nf_ipport_str(cur.ip, cur.port, b, sizeof(b)), cur.vni);
		goto out;
	}
	ret = rule_insert(cmd, fd, &key, &val, "dnat", NAT_MAX_DNAT);
out:
	close(fd);
	return ret;
}

static int dnat_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "dnat del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ext", true, true, NULL },
		{ "proto", true, true, NULL },
		{ NULL },
	};
	struct nat_dnat_key key;
	struct nat_dnat_val cur;
	uint32_t vni;
	char a[32];
	int fd, ret = MZCTL_FAIL;

	if (mzctl_parse_kw(cmd, kw, argc, argv) ||
	    dnat_key(cmd, kw, &vni, &key))
		return MZCTL_USAGE;
	fd = nftool_map(g, &tool, NAT_DNAT_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	if (bpf_map_lookup_elem(fd, &key, &cur) || cur.vni != vni) {
		mzctl_err(cmd, "no dnat vni %u ext %s proto %s", vni,
			  nf_ipport_str(key.ext_ip, key.ext_port, a, sizeof(a)),
			  nf_proto_name(key.proto));
		goto out;
	}
	if (bpf_map_delete_elem(fd, &key)) {
		mzctl_fail(cmd, -errno);
		goto out;
	}
	ret = MZCTL_OK;
out:
	close(fd);
	return ret;
}

static const struct mzctl_sub dnat_subs[] = {
	{ "add", "vni N ext IP:PORT proto tcp|udp to IP:PORT",
	  "Connections from outside to IP:PORT (an address of this host, on\n"
	  "the underlay) are forwarded to endpoint IP:PORT of VPC N; its\n"
	  "replies leave from IP:PORT. This host must be a divider of the VPC\n"
	  "(the replies leave the VPC there).\n",
	  dnat_add },
	{ "del", "vni N ext IP:PORT proto tcp|udp",
	  "Remove the rule; connections already forwarded live on until they\n"
	  "go idle.\n",
	  dnat_del },
	{ NULL },
};

static int cmd_dnat(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "dnat", dnat_subs, argc, argv);
}

/* ---- timeout ------------------------------------------------------------- */

static int cmd_timeout(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "timeout";
	struct nat_cfg cfg = {};
	uint32_t zero = 0, sec = 0;
	int kind, fd, lock, ret = MZCTL_FAIL;

	if (nftool_help(argc, argv, timeout_help))
		return MZCTL_OK;
	if (argc != 2) {
		mzctl_err(cmd, "want KIND SECONDS|default (see --help)");
		return MZCTL_USAGE;
	}
	for (kind = 0; kind < __NAT_TK_MAX; kind++)
		if (!strcmp(argv[0], timeouts[kind].name))
			break;
	if (kind == __NAT_TK_MAX) {
		mzctl_err(cmd,
			  "bad kind '%s' (tcp, tcp-close, tcp-rst, udp, icmp)",
			  argv[0]);
		return MZCTL_USAGE;
	}
	if (strcmp(argv[1], "default") &&
	    (mzctl_parse_u32(argv[1], &sec) || !sec || sec > NAT_TO_MAX_SEC)) {
		mzctl_err(cmd, "bad seconds '%s' (1-%u or default)", argv[1],
			  NAT_TO_MAX_SEC);
		return MZCTL_USAGE;
	}
	fd = nftool_map(g, &tool, NAT_CFG_MAP, cmd);
	if (fd < 0)
		return MZCTL_FAIL;
	lock = nftool_lock(g, &tool, cmd);
	if (lock < 0)
		goto out;
	if (bpf_map_lookup_elem(fd, &zero, &cfg)) {
		mzctl_fail(cmd, -errno);
		goto unlock;
	}
	cfg.timeout_sec[kind] = sec;
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY)) {
		mzctl_fail(cmd, -errno);
		goto unlock;
	}
	ret = MZCTL_OK;
unlock:
	close(lock);
out:
	close(fd);
	return ret;
}

/* ---- show ---------------------------------------------------------------- */

static void show_timeouts(struct mzctl *g, struct mzctl_json *js, int fd)
{
	static const char *const cols[] = { "kind", "seconds", NULL };
	struct nat_cfg cfg = {};
	struct nftool_table tb;
	uint32_t zero = 0;
	char sec[12];
	int k;

	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		memset(&cfg, 0, sizeof(cfg));
	if (g->json)
		mzctl_json_obj(js, "timeouts");
	nftool_table_init(&tb, "Timeouts", cols);
	for (k = 0; k < __NAT_TK_MAX; k++) {
		uint32_t v = cfg.timeout_sec[k] ? cfg.timeout_sec[k] :
						  timeouts[k].dflt;

		if (g->json) {
			mzctl_json_u64(js, timeouts[k].name, v);
			continue;
		}
		snprintf(sec, sizeof(sec), "%u", v);
		nftool_table_row(&tb, timeouts[k].name, sec);
	}
	if (g->json)
		mzctl_json_obj_end(js);
	else
		nftool_table_print(&tb);
}

#define SHOW_TEXT_CONNS 100

static void show_snat(struct mzctl *g, struct mzctl_json *js, int fd,
		      uint32_t vni)
{
	static const char *const cols[] = { "vni", "src", "to", NULL };
	struct nat_snat_key k, next, *prev = NULL;
	struct nat_snat_val v;
	struct nftool_table tb;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], src[24], vs[12];

	if (g->json)
		mzctl_json_arr(js, "snat");
	nftool_table_init(&tb, "Snat", cols);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v) || (vni && v.vni != vni))
			continue;
		snprintf(src, sizeof(src), "%s/%u",
			 mzctl_ip_str((struct in_addr){ v.prefix }, a), v.plen);
		mzctl_ip_str((struct in_addr){ v.to }, b);
		if (g->json) {
			mzctl_json_obj(js, NULL);
			mzctl_json_u64(js, "vni", v.vni);
			mzctl_json_str(js, "src", src);
			mzctl_json_str(js, "to", b);
			mzctl_json_obj_end(js);
		} else {
			snprintf(vs, sizeof(vs), "%u", v.vni);
			nftool_table_row(&tb, vs, src, b);
		}
	}
	if (g->json)
		mzctl_json_arr_end(js);
	else
		nftool_table_print(&tb);
}

static void show_dnat(struct mzctl *g, struct mzctl_json *js, int fd,
		      uint32_t vni)
{
	static const char *const cols[] = { "vni", "ext", "proto", "to",
					    NULL };
	struct nat_dnat_key k, next, *prev = NULL;
	struct nat_dnat_val v;
	struct nftool_table tb;
	char ext[32], to[32], vs[12];

	if (g->json)
		mzctl_json_arr(js, "dnat");
	nftool_table_init(&tb, "Dnat", cols);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v) || (vni && v.vni != vni))
			continue;
		nf_ipport_str(k.ext_ip, k.ext_port, ext, sizeof(ext));
		nf_ipport_str(v.ip, v.port, to, sizeof(to));
		if (g->json) {
			mzctl_json_obj(js, NULL);
			mzctl_json_u64(js, "vni", v.vni);
			mzctl_json_str(js, "ext", ext);
			mzctl_json_str(js, "proto", nf_proto_name(k.proto));
			mzctl_json_str(js, "to", to);
			mzctl_json_obj_end(js);
		} else {
			snprintf(vs, sizeof(vs), "%u", v.vni);
			nftool_table_row(&tb, vs, ext, nf_proto_name(k.proto),
					 to);
		}
	}
	if (g->json)
		mzctl_json_arr_end(js);
	else
		nftool_table_print(&tb);
}

static void show_conns(struct mzctl *g, struct mzctl_json *js, int fd,
		       uint32_t vni)
{
	static const char *const cols[] = { "vni", "kind", "proto",
					    "endpoint", "remote", "nat",
					    "idle", NULL };
	struct nat_ct_out_key k, next, *prev = NULL;
	struct nat_ct_out_val v;
	uint64_t now = nftool_mono_ns(), n = 0, n_snat = 0, n_dnat = 0;
	char ep[32], rem[32], nat[32], vs[12], is[24];
	struct nftool_table tb;

	if (g->json)
		mzctl_json_arr(js, "connections");
	nftool_table_init(&tb, "Connections", cols);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t idle;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v) || (vni && k.vni != vni))
			continue;
		n++;
		if (v.kind == NAT_KIND_DNAT)
			n_dnat++;
		else
			n_snat++;
		idle = now > v.seen_ns ? (now - v.seen_ns) / 1000000000ULL : 0;
		nf_ipport_str(k.ep_ip, k.ep_port, ep, sizeof(ep));
		nf_ipport_str(k.remote_ip, k.remote_port, rem, sizeof(rem));
		nf_ipport_str(v.nat_ip, v.nat_port, nat, sizeof(nat));
		if (g->json) {
			mzctl_json_obj(js, NULL);
			mzctl_json_u64(js, "vni", k.vni);
			mzctl_json_str(js, "kind", v.kind == NAT_KIND_DNAT ?
							   "dnat" : "snat");
			mzctl_json_str(js, "proto", nf_proto_name(k.proto));
			mzctl_json_str(js, "endpoint", ep);
			mzctl_json_str(js, "remote", rem);
			mzctl_json_str(js, "nat", nat);
			mzctl_json_u64(js, "idle_sec", idle);
			mzctl_json_obj_end(js);
		} else if (n <= SHOW_TEXT_CONNS) {
			snprintf(vs, sizeof(vs), "%u", k.vni);
			snprintf(is, sizeof(is), "%" PRIu64 "s", idle);
			nftool_table_row(&tb, vs, v.kind == NAT_KIND_DNAT ?
						      "dnat" : "snat",
					 nf_proto_name(k.proto), ep, rem, nat,
					 is);
		}
	}
	if (g->json) {
		mzctl_json_arr_end(js);
		mzctl_json_obj(js, "connection_counts");
		mzctl_json_u64(js, "total", n);
		mzctl_json_u64(js, "snat", n_snat);
		mzctl_json_u64(js, "dnat", n_dnat);
		mzctl_json_obj_end(js);
	} else {
		nftool_table_print(&tb);
		if (n > SHOW_TEXT_CONNS)
			printf("  ... %" PRIu64 " more (-j lists all): %"
			       PRIu64 " in all, snat %" PRIu64 ", dnat %"
			       PRIu64 "\n",
			       n - SHOW_TEXT_CONNS, n, n_snat, n_dnat);
	}
}

static int cmd_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "show";
	struct mzctl_kw kw[] = { { "vni", true, false, NULL }, { NULL } };
	int snat, dnat, conns, stats, cfg;
	const struct nftool_mapref refs[] = {
		{ NAT_SNAT_MAP, &snat },
		{ NAT_DNAT_MAP, &dnat },
		{ NAT_CT_OUT_MAP, &conns },
		{ NAT_STATS_MAP, &stats },
		{ NAT_CFG_MAP, &cfg },
		{ NULL },
	};
	struct mzctl_json js;
	uint32_t vni = 0;
	const char *v;
	int ret;

	if (nftool_help(argc, argv, show_help))
		return MZCTL_OK;
	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	v = mzctl_kw_get(kw, "vni")->val;
	if (v && nf_arg_vni(cmd, v, &vni))
		return MZCTL_USAGE;
	ret = nftool_show_unattached(g, &tool, cmd);
	if (ret >= 0)
		return ret;
	if (nftool_maps(g, &tool, cmd, refs))
		return MZCTL_FAIL;
	nftool_show_begin(g, &js, &tool);
	show_snat(g, &js, snat, vni);
	show_dnat(g, &js, dnat, vni);
	show_timeouts(g, &js, cfg);
	show_conns(g, &js, conns, vni);
	nftool_show_counters(g, &js, stats, counter_names, __NAT_C_MAX);
	nftool_show_end(g, &js);
	for (const struct nftool_mapref *r = refs; r->name; r++)
		close(*r->fd);
	return MZCTL_OK;
}

static const struct mzctl_group groups[] = {
	{ "snat", cmd_snat },
	{ "dnat", cmd_dnat },
	{ "timeout", cmd_timeout },
	{ "show", cmd_show },
	{ NULL },
};

int main(int argc, char **argv)
{
	return nftool_main(argc, argv, &tool, groups, usage);
}
