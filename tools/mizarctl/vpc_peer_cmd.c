// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl vpc peer add|del|show`: VPC peerings (<mizar/vpc_peering.h>).
 * The command line names `vni` twice (vni A vni B), so it is parsed here
 * rather than with mzctl_parse_kw().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mizar/vpc_peering.h>

#include "mizarctl.h"

/* vni A vni B [prefix CIDR,...] (prefix only when @with_prefix). */
static int parse_args(const char *cmd, int argc, char **argv,
		      bool with_prefix, uint32_t vni[2],
		      struct mzr_prefix *pfx, unsigned int *n)
{
	unsigned int nv = 0;
	char *list, *tok, *save = NULL;
	int i;

	*n = 0;
	for (i = 0; i < argc; i += 2) {
		if (i + 1 >= argc) {
			mzctl_err(cmd, "missing value after '%s'", argv[i]);
			return MZCTL_USAGE;
		}
		if (!strcmp(argv[i], "vni") && nv < 2) {
			if (mzctl_parse_vni(argv[i + 1], &vni[nv])) {
				mzctl_err(cmd, "bad vni '%s' (1-16777215)",
					  argv[i + 1]);
				return MZCTL_USAGE;
			}
			nv++;
		} else if (with_prefix && !strcmp(argv[i], "prefix") && !*n) {
			list = strdup(argv[i + 1]);
			if (!list)
				return mzctl_fail(cmd, -ENOMEM);
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (*n == MZR_MAX_PEERING_PREFIXES) {
					mzctl_err(cmd, "more than %u prefixes",
						  MZR_MAX_PEERING_PREFIXES);
					free(list);
					return MZCTL_USAGE;
				}
				if (mzctl_parse_prefix(tok, &pfx[*n].addr,
						       &pfx[*n].len)) {
					mzctl_err(cmd, "bad prefix '%s'", tok);
					free(list);
					return MZCTL_USAGE;
				}
				(*n)++;
			}
			free(list);
			if (!*n) {
				mzctl_err(cmd, "empty prefix list");
				return MZCTL_USAGE;
			}
		} else {
			mzctl_err(cmd, "unexpected argument '%s'", argv[i]);
			return MZCTL_USAGE;
		}
	}
	if (nv != 2) {
		mzctl_err(cmd, "needs 'vni A vni B'");
		return MZCTL_USAGE;
	}
	return 0;
}

static int peer_add(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "vpc peer add";
	struct mzr_prefix pfx[MZR_MAX_PEERING_PREFIXES];
	struct mzr_host *h;
	uint32_t vni[2];
	unsigned int n;
	int err;

	err = parse_args(cmd, argc, argv, true, vni, pfx, &n);
	if (err)
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_vpc_peering__create(h, vni[0], vni[1], pfx, n);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int peer_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "vpc peer del";
	struct mzr_host *h;
	uint32_t vni[2];
	unsigned int n;
	int err;

	err = parse_args(cmd, argc, argv, false, vni, NULL, &n);
	if (err)
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_vpc_peering__delete(h, vni[0], vni[1]);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

struct show_ctx {
	struct mzctl *g;
	struct mzctl_json js;
};

static void print_prefixes(struct show_ctx *c, const char *key,
			   const struct mzr_prefix *p, unsigned int n)
{
	char ip[INET_ADDRSTRLEN], buf[INET_ADDRSTRLEN + 4];

	if (c->g->json)
		mzctl_json_arr(&c->js, key);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s/%u",
			 mzctl_ip_str(p[i].addr, ip), p[i].len);
		if (c->g->json)
			mzctl_json_str(&c->js, NULL, buf);
		else
			printf("%s%s", i ? "," : "", buf);
	}
	if (c->g->json)
		mzctl_json_arr_end(&c->js);
}

static int peer_print(const struct mzr_vpc_peering_info *p, void *arg)
{
	struct show_ctx *c = arg;

	if (c->g->json) {
		mzctl_json_obj(&c->js, NULL);
		mzctl_json_u64(&c->js, "vni_a", p->vni_a);
		mzctl_json_u64(&c->js, "vni_b", p->vni_b);
		print_prefixes(c, "prefixes_a", p->prefixes_a,
			       p->n_prefixes_a);
		print_prefixes(c, "prefixes_b", p->prefixes_b,
			       p->n_prefixes_b);
		mzctl_json_obj_end(&c->js);
		return 0;
	}
	printf("vni %u vni %u prefix ", p->vni_a, p->vni_b);
	print_prefixes(c, NULL, p->prefixes_a, p->n_prefixes_a);
	printf(",");
	print_prefixes(c, NULL, p->prefixes_b, p->n_prefixes_b);
	printf("\n");
	return 0;
}

static int peer_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "vpc peer show";
	struct show_ctx c = { .g = g };
	struct mzr_host *h;
	int err;

	if (argc) {
		mzctl_err(cmd, "unexpected argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	if (g->json) {
		mzctl_json_begin(&c.js, stdout);
		mzctl_json_arr(&c.js, "peerings");
	}
	err = mzr_vpc_peering__for_each(h, peer_print, &c);
	if (g->json) {
		mzctl_json_arr_end(&c.js);
		mzctl_json_end(&c.js);
	}
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static const struct mzctl_sub peer_subs[] = {
	{ "add", "vni A vni B [prefix CIDR,...]",
	  "Peer VPC A with VPC B: their dividers route between the given\n"
	  "prefixes (each inside a network of A or of B), or all their\n"
	  "networks. Refused when the two sides overlap. Give it to every\n"
	  "divider of both VPCs.\n",
	  peer_add },
	{ "del", "vni A vni B", "Remove a peering.\n", peer_del },
	{ "show", "", "List peerings and their prefixes.\n", peer_show },
	{ NULL },
};

int mzctl_cmd_vpc_peer(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "vpc peer", peer_subs, argc, argv);
}
