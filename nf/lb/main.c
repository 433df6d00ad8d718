// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-lb: an L4 load balancer for the endpoints of this host (see
 * docs/nf-lb.md and the contract in CONTRACT.md). The VIPs and their
 * backends live in pinned maps under PIN_ROOT/nfcfg/lb/; every VIP has a
 * Maglev table (an inner map of lb_rings) that a change replaces whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "nftool.h"
#include "maglev.h"
#include "lb.h"
#include "tables.h"
#include "mizar_lb_bpf.skel.h"

static const struct nftool_prog lb_progs[] = {
	{ "lb_egress", MZR_HOOK_AGENT_EGRESS },
	{ "lb_deliver", MZR_HOOK_DELIVER },
};

static const struct nftool lb_tool = {
	.name = "lb",
	.elf_bytes = mizar_lb_bpf__elf_bytes,
	.progs = lb_progs,
	.n_progs = sizeof(lb_progs) / sizeof(lb_progs[0]),
};

static const char *const lb_counter_names[] = LB_CNT_NAMES;

static void maps_close(struct lb_maps *m)
{
	int *fds[] = { &m->vips,  &m->rings,	&m->conns,  &m->rconns,
		       &m->stats, &m->backends, &m->filter, &m->lock };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Open every map (one error line when not attached); with @lock, also
 * take the configuration lock, so that concurrent invocations do not
 * pick the same table slot or lose each other's backend. */
static int maps_open(struct mzctl *g, const char *cmd, bool lock,
		     struct lb_maps *m)
{
	const struct nftool_mapref refs[] = {
		{ "lb_vips", &m->vips },     { "lb_rings", &m->rings },
		{ "lb_conns", &m->conns },   { "lb_rconns", &m->rconns },
		{ "lb_stats", &m->stats },   { "lb_backends", &m->backends },
		{ "lb_vip_filter", &m->filter }, { NULL },
	};

	m->lock = -1;
	if (nftool_maps(g, &lb_tool, cmd, refs))
		return -1;
	if (lock && (m->lock = nftool_lock(g, &lb_tool, cmd)) < 0) {
		maps_close(m);
		return -1;
	}
	return 0;
}

/* ---- Arguments ---------------------------------------------------------- */

/* "10.0.1.3:8080" / "10.0.0.1:80/tcp" into @buf (at least 32 bytes). */
static const char *be_str(const struct lb_backend *b, char *buf)
{
	return nf_ipport_str(b->ip, b->port, buf, 32);
}

static const char *svc_str(__be32 ip, __be16 port, uint8_t proto, char *buf)
{
	size_t n = strlen(nf_ipport_str(ip, port, buf, 32));

	snprintf(buf + n, 32 - n, "/%s", nf_proto_name(proto));
	return buf;
}

/* vni, vip, port, proto of @kw into @k. Returns 0 or an exit status. */
static int get_vip_key(const char *cmd, struct mzctl_kw *kw,
		       struct lb_vip_key *k)
{
	const char *v;
	struct in_addr ip;
	uint16_t port;
	uint32_t h;

	memset(k, 0, sizeof(*k));
	if (nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, &k->vni))
		return MZCTL_USAGE;
	v = mzctl_kw_get(kw, "vip")->val;
	if (mzctl_parse_ip(v, &ip)) {
		mzctl_err(cmd, "bad vip '%s'", v);
		return MZCTL_USAGE;
	}
	h = ntohl(ip.s_addr);
	if (!h || h == 0xffffffffU || (h >> 24) == 127 || (h >> 28) == 0xe) {
		mzctl_err(cmd, "bad vip '%s' (a unicast address is needed)", v);
		return MZCTL_USAGE;
	}
	k->vip = ip.s_addr;
	if (nf_arg_port(cmd, "port", mzctl_kw_get(kw, "port")->val, &port) ||
	    nf_arg_proto(cmd, mzctl_kw_get(kw, "proto")->val, NF_PROTO_L4,
			 &k->proto))
		return MZCTL_USAGE;
	k->port = htons(port);
	return 0;
}

static int bad_backend(const char *cmd, const char *item, int err)
{
	switch (err) {
	case -E2BIG:
		mzctl_err(cmd, "too many backends (at most %u)",
			  LB_MAX_BACKENDS);
		return MZCTL_FAIL;
	case -EEXIST:
		mzctl_err(cmd, "backend '%s' given twice", item);
		return MZCTL_USAGE;
	case -ERANGE:
		mzctl_err(cmd, "backend '%s': port 1-65535, weight 1-%u", item,
			  LB_WEIGHT_MAX);
		return MZCTL_USAGE;
	default:
		mzctl_err(cmd, "bad backend '%s' (IP[:PORT][@WEIGHT])", item);
		return MZCTL_USAGE;
	}
}

/* ---- vip ---------------------------------------------------------------- */

static int vip_add(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "vip add";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },	  { "vip", true, true, NULL },
		{ "port", true, true, NULL },	  { "proto", true, true, NULL },
		{ "backends", true, true, NULL }, { NULL },
	};
	struct lb_maps m;
	struct lb_vip_key k;
	struct lb_vip v = {}, old;
	const char *badi;
	char svc[32];
	int ret, err, slot;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	ret = get_vip_key(cmd, kw, &k);
	if (ret)
		return ret;
	err = lb_parse_backends(mzctl_kw_get(kw, "backends")->val,
				ntohs(k.port), v.backends, LB_MAX_BACKENDS,
				&v.n_backends, &badi);
	if (err)
		return bad_backend(cmd, badi, err);
	if (maps_open(g, cmd, true, &m))
		return MZCTL_FAIL;
	svc_str(k.vip, k.port, k.proto, svc);
	ret = MZCTL_FAIL;
	if (!bpf_map_lookup_elem(m.vips, &k, &old)) {
		mzctl_err(cmd, "VIP %s of vni %u exists (use 'backend add')",
			  svc, k.vni);
		goto out;
	}
	slot = ring_alloc(&m);
	if (slot < 0) {
		mzctl_err(cmd, "VIP table full (%u VIPs)", LB_MAX_VIPS);
		goto out;
	}
	v.ring = (uint32_t)slot;
	/* The table first: the data path finds a VIP only with its table. */
	if (ring_install(cmd, &m, &v))
		goto out;
	if (bpf_map_update_elem(m.vips, &k, &v, BPF_NOEXIST)) {
		mzctl_err(cmd, "cannot add VIP %s: %s", svc, strerror(errno));
		bpf_map_delete_elem(m.rings, &v.ring);
		goto out;
	}
	/* Flows of an earlier VIP with this key must not come back. */
	conns_purge(&m, &k);
	/* Last: from now on the data path looks this VIP up. */
	err = filter_add(&m, &k, 1);
	if (err) {
		mzctl_err(cmd, "cannot add VIP %s: %s", svc, strerror(-err));
		bpf_map_delete_elem(m.vips, &k);
		bpf_map_delete_elem(m.rings, &v.ring);
		goto out;
	}
	backends_sync(&m);
	if (!g->json)
		printf("VIP %s of vni %u: %u backend%s\n", svc, k.vni,
		       v.n_backends, v.n_backends > 1 ? "s" : "");
	ret = MZCTL_OK;
out:
	maps_close(&m);
	return ret;
}

static int vip_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "vip del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "vip", true, true, NULL },
		{ "port", true, true, NULL },
		{ "proto", true, true, NULL },
		{ NULL },
	};
	struct lb_maps m;
	struct lb_vip_key k;
	struct lb_vip v;
	char svc[32];
	int ret, err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	ret = get_vip_key(cmd, kw, &k);
	if (ret)
		return ret;
	if (maps_open(g, cmd, true, &m))
		return MZCTL_FAIL;
	svc_str(k.vip, k.port, k.proto, svc);
	ret = MZCTL_FAIL;
	if (bpf_map_lookup_elem(m.vips, &k, &v)) {
		mzctl_err(cmd, "no VIP %s in vni %u", svc, k.vni);
		goto out;
	}
	/* Out of the filter first: from then on its packets go on untouched
	 * (unchanged if that fails). */
	err = filter_add(&m, &k, -1);
	if (err) {
		mzctl_err(cmd, "cannot delete VIP %s: %s", svc, strerror(-err));
		goto out;
	}
	if (bpf_map_delete_elem(m.vips, &k)) {
		mzctl_err(cmd, "cannot delete VIP %s: %s", svc,
			  strerror(errno));
		filter_add(&m, &k, 1);
		goto out;
	}
	bpf_map_delete_elem(m.rings, &v.ring);
	/* Then its connections: a hit needs no lb_vips entry. */
	conns_purge(&m, &k);
	backends_sync(&m);
	ret = MZCTL_OK;
out:
	maps_close(&m);
	return ret;
}

static const struct mzctl_sub vip_subs[] = {
	{ "add",
	  "vni N vip IP port P proto tcp|udp backends IP[:PORT][@WEIGHT],...",
	  "Balance the connections of the endpoints of VPC N on this host to\n"
	  "IP:P over the backends (Maglev consistent hashing). A backend's\n"
	  "PORT defaults to P, its WEIGHT to 1 (1-100). IP should lie outside\n"
	  "the VPC's networks, so that clients send to it via their gateway.\n",
	  vip_add },
	{ "del", "vni N vip IP port P proto tcp|udp",
	  "Remove the VIP and forget its connections.\n", vip_del },
	{ NULL },
};

static int cmd_vip(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "vip", vip_subs, argc, argv);
}

/* ---- backend ------------------------------------------------------------ */

static int backend_change(struct mzctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "backend add" : "backend del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },	 { "vip", true, true, NULL },
		{ "port", true, true, NULL },	 { "proto", true, true, NULL },
		{ "backend", true, true, NULL }, { NULL },
	};
	const char *bs = NULL;
	struct lb_backend b;
	struct lb_vip v, nv;
	struct lb_vip_key k;
	struct lb_maps m;
	char svc[32], bstr[32];
	unsigned int i, at;
	int ret, err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	ret = get_vip_key(cmd, kw, &k);
	if (ret)
		return ret;
	bs = mzctl_kw_get(kw, "backend")->val;
	err = lb_parse_backend(bs, ntohs(k.port), &b);
	if (err)
		return bad_backend(cmd, bs, err);
	if (maps_open(g, cmd, true, &m))
		return MZCTL_FAIL;
	svc_str(k.vip, k.port, k.proto, svc);
	be_str(&b, bstr);
	ret = MZCTL_FAIL;
	if (bpf_map_lookup_elem(m.vips, &k, &v)) {
		mzctl_err(cmd, "no VIP %s in vni %u", svc, k.vni);
		goto out;
	}
	for (at = 0; at < v.n_backends && at < LB_MAX_BACKENDS; at++)
		if (v.backends[at].ip == b.ip && v.backends[at].port == b.port)
			break;
	nv = v;
	if (add) {
		if (at < v.n_backends) {
			mzctl_err(cmd, "%s is already a backend of VIP %s",
				  bstr, svc);
			goto out;
		}
		if (v.n_backends >= LB_MAX_BACKENDS) {
			mzctl_err(cmd, "VIP %s has the maximum of %u backends",
				  svc, LB_MAX_BACKENDS);
			goto out;
		}
		nv.backends[nv.n_backends++] = b;
	} else {
		if (at >= v.n_backends) {
			mzctl_err(cmd, "%s is not a backend of VIP %s", bstr,
				  svc);
			goto out;
		}
		for (i = at; i + 1 < v.n_backends; i++)
			nv.backends[i] = v.backends[i + 1];
		memset(&nv.backends[--nv.n_backends], 0, sizeof(b));
	}
	/* New table, then the list it was built from; on failure the old
	 * table goes back. Connections keep their backends either way. */
	if (ring_install(cmd, &m, &nv))
		goto out;
	if (bpf_map_update_elem(m.vips, &k, &nv, BPF_EXIST)) {
		mzctl_err(cmd, "cannot update VIP %s: %s", svc,
			  strerror(errno));
		ring_install(cmd, &m, &v);
		goto out;
	}
	backends_sync(&m);
	ret = MZCTL_OK;
out:
	maps_close(&m);
	return ret;
}

static int backend_add(struct mzctl *g, int argc, char **argv)
{
	return backend_change(g, argc, argv, true);
}

static int backend_del(struct mzctl *g, int argc, char **argv)
{
	return backend_change(g, argc, argv, false);
}

static const struct mzctl_sub backend_subs[] = {
	{ "add", "vni N vip IP port P proto tcp|udp backend IP[:PORT][@WEIGHT]",
	  "Add a backend to the VIP. New connections spread over the new set;\n"
	  "established ones stay where they are.\n",
	  backend_add },
	{ "del", "vni N vip IP port P proto tcp|udp backend IP[:PORT]",
	  "Remove a backend from the VIP: new connections avoid it, "
	  "established\n"
	  "ones stay on it until they end. Without backends the VIP drops new\n"
	  "connections (counted as no_backend).\n",
	  backend_del },
	{ NULL },
};

static int cmd_backend(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "backend", backend_subs, argc, argv);
}

/* ---- show --------------------------------------------------------------- */

static const char *const show_help =
	"Usage: mizar-lb show\n"
	"\n"
	"VIPs with their backends, weights and share of the Maglev table\n"
	"(slots), the number of tracked connections and the counters\n"
	"(-j for JSON).\n";

static int cmd_show(struct mzctl *g, int argc, char **argv)
{
	static const char *const vcols[] = { "vni", "vip", "table",
					     "backends", NULL };
	static const char *const bcols[] = { "vni", "vip", "backend",
					     "weight", "slots", "share",
					     NULL };
	const char *cmd = "show";
	struct lb_vip_key k, *prev = NULL;
	uint32_t slots[LB_MAX_BACKENDS];
	struct nftool_table vt, bt;
	uint64_t nconn;
	struct mzctl_json js;
	struct lb_maps m;
	struct lb_vip v;
	char a[INET_ADDRSTRLEN], svc[32] = "", bstr[32];
	char vni[12] = "", tbl[12], nb[12], w[12], sl[12], sh[12];
	unsigned int i;
	int ret;

	ret = nftool_no_args(cmd, show_help, argc, argv);
	if (ret >= 0)
		return ret;
	ret = nftool_show_unattached(g, &lb_tool, cmd);
	if (ret >= 0)
		return ret;
	if (maps_open(g, cmd, false, &m))
		return MZCTL_FAIL;
	nconn = conns_count(&m);
	nftool_show_begin(g, &js, &lb_tool);
	if (g->json)
		mzctl_json_arr(&js, "vips");
	nftool_table_init(&vt, "Vips", vcols);
	nftool_table_init(&bt, "Backends", bcols);
	while (!bpf_map_get_next_key(m.vips, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(m.vips, &k, &v))
			continue;
		ring_shares(&m, &v, slots);
		inet_ntop(AF_INET, &k.vip, a, sizeof(a));
		if (g->json) {
			mzctl_json_obj(&js, NULL);
			mzctl_json_u64(&js, "vni", k.vni);
			mzctl_json_str(&js, "vip", a);
			mzctl_json_u64(&js, "port", ntohs(k.port));
			mzctl_json_str(&js, "proto", nf_proto_name(k.proto));
			mzctl_json_u64(&js, "table", v.ring);
			mzctl_json_u64(&js, "table_size", LB_RING_SIZE);
			mzctl_json_arr(&js, "backends");
		} else {
			snprintf(vni, sizeof(vni), "%u", k.vni);
			snprintf(tbl, sizeof(tbl), "%u", v.ring);
			snprintf(nb, sizeof(nb), "%u", v.n_backends);
			svc_str(k.vip, k.port, k.proto, svc);
			nftool_table_row(&vt, vni, svc, tbl, nb);
		}
		for (i = 0; i < v.n_backends && i < LB_MAX_BACKENDS; i++) {
			const struct lb_backend *b = &v.backends[i];

			if (g->json) {
				inet_ntop(AF_INET, &b->ip, a, sizeof(a));
				mzctl_json_obj(&js, NULL);
				mzctl_json_str(&js, "ip", a);
				mzctl_json_u64(&js, "port", ntohs(b->port));
				mzctl_json_u64(&js, "weight", b->weight);
				mzctl_json_u64(&js, "slots", slots[i]);
				mzctl_json_obj_end(&js);
				continue;
			}
			snprintf(w, sizeof(w), "%u", b->weight);
			snprintf(sl, sizeof(sl), "%u", slots[i]);
			snprintf(sh, sizeof(sh), "%.1f%%",
				 100.0 * slots[i] / LB_RING_SIZE);
			nftool_table_row(&bt, vni, svc, be_str(b, bstr), w, sl,
					 sh);
		}
		if (g->json) {
			mzctl_json_arr_end(&js);
			mzctl_json_obj_end(&js);
		}
	}
	if (g->json) {
		mzctl_json_arr_end(&js);
		mzctl_json_u64(&js, "connections", nconn);
	} else {
		nftool_table_print(&vt);
		nftool_table_print(&bt);
		printf("Connections: %llu\n", (unsigned long long)nconn);
	}
	nftool_show_counters(g, &js, m.stats, lb_counter_names, __LB_CNT_MAX);
	nftool_show_end(g, &js);
	maps_close(&m);
	return MZCTL_OK;
}

/* ---- main --------------------------------------------------------------- */

static const char *const usage =
	"Usage: mizar-lb [-r|--pin-root DIR] [-j|--json] [-v|--verbose] "
	"COMMAND ...\n"
	"\n"
	"An L4 load balancer for the endpoints of this host: connections to a\n"
	"VIP are spread over its backends by Maglev consistent hashing, stay\n"
	"on their backend for their lifetime, and are answered from the VIP.\n"
	"\n"
	"Commands:\n"
	"  attach | detach     load into the agent-egress and deliver hooks / "
	"remove\n"
	"  vip add vni N vip IP port P proto tcp|udp backends "
	"IP[:PORT][@WEIGHT],...\n"
	"  vip del vni N vip IP port P proto tcp|udp\n"
	"  backend add|del vni N vip IP port P proto tcp|udp backend "
	"IP[:PORT][@WEIGHT]\n"
	"  show                VIPs, backends, table shares, connections, "
	"counters\n"
	"\n"
	"Options:\n"
	"  -r, --pin-root DIR  bpffs directory holding this host's state\n"
	"                      (default: $MIZAR_PIN_ROOT, "
	"else " MZR_DEFAULT_PIN_ROOT ")\n"
	"  -j, --json          print show output as one JSON document\n"
	"  -v, --verbose       print the library's log lines\n"
	"  -h, --help          help; also after any command or sub-command\n";

static const struct mzctl_group groups[] = {
	{ "vip", cmd_vip },
	{ "backend", cmd_backend },
	{ "show", cmd_show },
	{ NULL },
};

int main(int argc, char **argv)
{
	return nftool_main(argc, argv, &lb_tool, groups, usage);
}
