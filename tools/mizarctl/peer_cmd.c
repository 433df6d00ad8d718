// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl host peer ...` and `mizarctl host protect ...`: the Mizar
 * hosts this host believes, and the underlay prefixes the external path
 * never reaches (docs/security.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mizarctl.h"

/* Addresses a single `host peer add|del` takes (a cluster's node list). */
#define PEER_LIST_MAX 4096

static int peer_add_del(struct mzctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "host peer add" : "host peer del";
	struct in_addr *ips;
	struct mzr_host *h;
	unsigned int n;
	int err;

	if (argc != 1) {
		if (argc)
			mzctl_err(cmd, "unexpected argument '%s'", argv[1]);
		else
			mzctl_err(cmd, "missing IP,... list");
		return MZCTL_USAGE;
	}
	ips = calloc(PEER_LIST_MAX, sizeof(*ips));
	if (!ips)
		return mzctl_fail(cmd, -ENOMEM);
	err = mzctl_parse_ip_list(argv[0], ips, PEER_LIST_MAX, &n);
	if (err || !n) {
		if (err == -E2BIG)
			mzctl_err(cmd, "more than %u addresses", PEER_LIST_MAX);
		else
			mzctl_err(cmd, "bad address list '%s'", argv[0]);
		free(ips);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h) {
		free(ips);
		return MZCTL_FAIL;
	}
	mzctl_clear_libmsg();
	err = add ? mzr_host__peer_add_batch(h, ips, n) :
		    mzr_host__peer_delete_batch(h, ips, n);
	free(ips);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int peer_add(struct mzctl *g, int argc, char **argv)
{
	return peer_add_del(g, argc, argv, true);
}

static int peer_del(struct mzctl *g, int argc, char **argv)
{
	return peer_add_del(g, argc, argv, false);
}

struct show_ctx {
	struct mzctl *g;
	struct mzctl_json js;
};

static int peer_print(const struct mzr_peer_info *p, void *arg)
{
	struct show_ctx *sc = arg;
	char ip[INET_ADDRSTRLEN];

	mzctl_ip_str(p->ip, ip);
	if (sc->g->json) {
		mzctl_json_obj(&sc->js, NULL);
		mzctl_json_str(&sc->js, "ip", ip);
		mzctl_json_bool(&sc->js, "explicit",
				p->flags & MZR_PEER_EXPLICIT);
		mzctl_json_bool(&sc->js, "self", p->flags & MZR_PEER_SELF);
		mzctl_json_u64(&sc->js, "refs", p->refs);
		mzctl_json_obj_end(&sc->js);
		return 0;
	}
	printf("%-15s %s%s%s refs %u\n", ip,
	       p->flags & MZR_PEER_SELF ? "self " : "",
	       p->flags & MZR_PEER_EXPLICIT ? "explicit " : "",
	       p->refs ? "named" : "", p->refs);
	return 0;
}

static int peer_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host peer show";
	struct show_ctx sc = { .g = g };
	struct mzr_host *h;
	int err;

	if (argc) {
		mzctl_err(cmd, "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	if (g->json) {
		mzctl_json_begin(&sc.js, stdout);
		mzctl_json_arr(&sc.js, "peers");
	}
	err = mzr_host__peer_for_each(h, peer_print, &sc);
	if (g->json) {
		mzctl_json_arr_end(&sc.js);
		mzctl_json_end(&sc.js);
	}
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static const struct mzctl_sub peer_subs[] = {
	{ "add", "IP,...",
	  "Add Mizar hosts whose Geneve this host believes (a cluster's node\n"
	  "list). Hosts named by VPCs (dividers), networks (bouncers) and\n"
	  "endpoints are known without it; this host always is.\n",
	  peer_add },
	{ "del", "IP,...",
	  "Remove explicit peers (those named by objects stay known).\n",
	  peer_del },
	{ "show", "",
	  "List the known peers: self, explicit, and how many objects name\n"
	  "each.\n",
	  peer_show },
	{ NULL },
};

int mzctl_cmd_host_peer(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "host peer", peer_subs, argc, argv);
}

/* ---- host protect -------------------------------------------------------- */

static int protect_add_del(struct mzctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "host protect add" : "host protect del";
	struct in_addr prefix;
	struct mzr_host *h;
	unsigned int len;
	int err;

	if (argc != 1) {
		if (argc)
			mzctl_err(cmd, "unexpected argument '%s'", argv[1]);
		else
			mzctl_err(cmd, "missing CIDR");
		return MZCTL_USAGE;
	}
	if (mzctl_parse_prefix(argv[0], &prefix, &len)) {
		mzctl_err(cmd, "bad prefix '%s' (A.B.C.D/LEN)", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = add ? mzr_host__protect_add(h, prefix, len) :
		    mzr_host__protect_delete(h, prefix, len);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int protect_add(struct mzctl *g, int argc, char **argv)
{
	return protect_add_del(g, argc, argv, true);
}

static int protect_del(struct mzctl *g, int argc, char **argv)
{
	return protect_add_del(g, argc, argv, false);
}

static int protect_print(const struct mzr_protect_info *p, void *arg)
{
	struct show_ctx *sc = arg;
	char ip[INET_ADDRSTRLEN], cidr[INET_ADDRSTRLEN + 4];

	mzctl_ip_str(p->prefix, ip);
	snprintf(cidr, sizeof(cidr), "%s/%u", ip, p->prefixlen);
	if (sc->g->json)
		mzctl_json_str(&sc->js, NULL, cidr);
	else
		printf("%s\n", cidr);
	return 0;
}

static int protect_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host protect show";
	struct show_ctx sc = { .g = g };
	struct mzr_host *h;
	int err;

	if (argc) {
		mzctl_err(cmd, "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	if (g->json) {
		mzctl_json_begin(&sc.js, stdout);
		mzctl_json_arr(&sc.js, "protected");
	}
	err = mzr_host__protect_for_each(h, protect_print, &sc);
	if (g->json) {
		mzctl_json_arr_end(&sc.js);
		mzctl_json_end(&sc.js);
	}
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static const struct mzctl_sub protect_subs[] = {
	{ "add", "CIDR",
	  "Protect an underlay prefix: the external path (NAT) never sends\n"
	  "into it. None by default.\n",
	  protect_add },
	{ "del", "CIDR", "Stop protecting a prefix.\n", protect_del },
	{ "show", "", "List the protected prefixes.\n", protect_show },
	{ NULL },
};

int mzctl_cmd_host_protect(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "host protect", protect_subs, argc, argv);
}
