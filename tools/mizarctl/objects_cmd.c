// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizarctl vpc / net / ep: argument checking here, object validation in
 * the library (which reports the failing object in one line).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "mizarctl.h"

static int bad(const char *cmd, const char *what, const char *val, int err)
{
	if (err == -ERANGE && !strcmp(what, "vni"))
		mzctl_err(cmd, "vni '%s' out of range (1-%u)", val,
			  MZR_VNI_MAX);
	else
		mzctl_err(cmd, "bad %s '%s'", what, val);
	return MZCTL_USAGE;
}

static int get_vni(const char *cmd, struct mzctl_kw *kw, uint32_t *vni)
{
	const char *v = mzctl_kw_get(kw, "vni")->val;
	int err;

	*vni = 0;
	if (!v)
		return 0;
	err = mzctl_parse_vni(v, vni);
	return err ? bad(cmd, "vni", v, err) : 0;
}

static int get_list(const char *cmd, struct mzctl_kw *kw, const char *name,
		    struct in_addr *out, unsigned int max, unsigned int *n)
{
	const char *v = mzctl_kw_get(kw, name)->val;
	int err;

	*n = 0;
	if (!v)
		return 0;
	err = mzctl_parse_ip_list(v, out, max, n);
	if (err == -E2BIG) {
		mzctl_err(cmd, "too many %s in '%s' (at most %u)", name, v,
			  max);
		return MZCTL_FAIL;
	}
	return err ? bad(cmd, name, v, err) : 0;
}

static int get_prefix(const char *cmd, struct mzctl_kw *kw,
		      struct in_addr *prefix, unsigned int *len)
{
	const char *v = mzctl_kw_get(kw, "prefix")->val;

	if (mzctl_parse_prefix(v, prefix, len))
		return bad(cmd, "prefix", v, -EINVAL);
	return 0;
}

static int get_ip(const char *cmd, struct mzctl_kw *kw, const char *name,
		  struct in_addr *ip)
{
	const char *v = mzctl_kw_get(kw, name)->val;

	ip->s_addr = 0;
	if (v && mzctl_parse_ip(v, ip))
		return bad(cmd, name, v, -EINVAL);
	return 0;
}

/* ---- vpc ----------------------------------------------------------------- */

static int vpc_add_set(struct mzctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "vpc add" : "vpc set";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "dividers", true, !add, NULL },
		{ NULL },
	};
	struct in_addr div[MZR_MAX_DIVIDERS_PER_VPC];
	struct mzr_host *h;
	unsigned int n;
	uint32_t vni;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)) ||
	    (err = get_list(cmd, kw, "dividers", div,
			    MZR_MAX_DIVIDERS_PER_VPC, &n)))
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = add ? mzr_vpc__create(h, vni, div, n) :
		    mzr_vpc__update(h, vni, div, n);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int vpc_add(struct mzctl *g, int argc, char **argv)
{
	return vpc_add_set(g, argc, argv, true);
}

static int vpc_set(struct mzctl *g, int argc, char **argv)
{
	return vpc_add_set(g, argc, argv, false);
}

static int vpc_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "vpc del";
	struct mzctl_kw kw[] = { { "vni", true, true, NULL }, { NULL } };
	struct mzr_host *h;
	uint32_t vni;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)))
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_vpc__delete(h, vni);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

struct show_ctx {
	struct mzctl *g;
	struct mzr_host *h;	/* ep show: to read scaled endpoints' hosts */
	struct mzctl_json js;
	unsigned int n;
};

static int vpc_print(const struct mzr_vpc_info *v, void *arg)
{
	struct show_ctx *c = arg;
	char ip[INET_ADDRSTRLEN];
	unsigned int i;

	c->n++;
	if (c->g->json) {
		mzctl_json_obj(&c->js, NULL);
		mzctl_json_u64(&c->js, "vni", v->vni);
		mzctl_json_arr(&c->js, "dividers");
		for (i = 0; i < v->n_dividers; i++)
			mzctl_json_str(&c->js, NULL,
				       mzctl_ip_str(v->dividers[i], ip));
		mzctl_json_arr_end(&c->js);
		mzctl_json_obj_end(&c->js);
		return 0;
	}
	printf("vni %u dividers ", v->vni);
	for (i = 0; i < v->n_dividers; i++)
		printf("%s%s", i ? "," : "", mzctl_ip_str(v->dividers[i], ip));
	printf("%s\n", v->n_dividers ? "" : "none");
	return 0;
}

/* Open a listing: checks the VPC filter names an existing VPC. */
static struct mzr_host *show_begin(struct mzctl *g, const char *cmd,
				   uint32_t vni, struct show_ctx *c,
				   const char *list)
{
	struct mzr_vpc_info vi;
	struct mzr_host *h;
	int err;

	h = mzctl_host(g, cmd);
	if (!h)
		return NULL;
	if (vni) {
		mzctl_clear_libmsg();
		err = mzr_vpc__get(h, vni, &vi);
		if (err) {
			if (err == -ENOENT)
				mzctl_err(cmd, "no VPC %u", vni);
			else
				mzctl_fail(cmd, err);
			return NULL;
		}
	}
	memset(c, 0, sizeof(*c));
	c->g = g;
	if (g->json) {
		mzctl_json_begin(&c->js, stdout);
		mzctl_json_arr(&c->js, list);
	}
	return h;
}

static int show_end(struct show_ctx *c, const char *cmd, int err)
{
	if (c->g->json) {
		mzctl_json_arr_end(&c->js);
		mzctl_json_end(&c->js);
	}
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

/* Lists the objects of VPC vni (0: of every VPC) through the printer. */
typedef int (*show_list_fn)(struct mzr_host *h, uint32_t vni,
			    struct show_ctx *c);

/* `<object> show [vni N]`: one listing, as text or as the JSON array list. */
static int show(struct mzctl *g, const char *cmd, const char *list,
		show_list_fn list_fn, int argc, char **argv)
{
	struct mzctl_kw kw[] = { { "vni", true, false, NULL }, { NULL } };
	struct show_ctx c;
	struct mzr_host *h;
	uint32_t vni;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)))
		return err;
	h = show_begin(g, cmd, vni, &c, list);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = list_fn(h, vni, &c);
	return show_end(&c, cmd, err);
}

static int vpc_list(struct mzr_host *h, uint32_t vni, struct show_ctx *c)
{
	struct mzr_vpc_info vi;
	int err;

	if (!vni)
		return mzr_vpc__for_each(h, vpc_print, c);
	err = mzr_vpc__get(h, vni, &vi);
	if (!err)
		vpc_print(&vi, c);
	return err;
}

static int vpc_show(struct mzctl *g, int argc, char **argv)
{
	return show(g, "vpc show", "vpcs", vpc_list, argc, argv);
}

static const struct mzctl_sub vpc_subs[] = {
	{ "add", "vni N [dividers IP,...]",
	  "Create VPC N (Geneve VNI 1-16777215) with its dividers.\n",
	  vpc_add },
	{ "set", "vni N dividers IP,...", "Replace VPC N's dividers.\n",
	  vpc_set },
	{ "del", "vni N", "Delete VPC N (it must have no networks).\n",
	  vpc_del },
	{ "show", "[vni N]", "List VPCs and their dividers.\n", vpc_show },
	{ "peer", "add|del|show ...",
	  "VPC peerings (vpc peer --help).\n", mzctl_cmd_vpc_peer },
	{ NULL },
};

int mzctl_cmd_vpc(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "vpc", vpc_subs, argc, argv);
}

/* ---- net ----------------------------------------------------------------- */

static int net_add_set(struct mzctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "net add" : "net set";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "prefix", true, true, NULL },
		{ "bouncers", true, true, NULL },
		{ "gw", true, false, NULL },
		{ NULL },
	};
	struct in_addr bouncers[MZR_MAX_BOUNCERS_PER_NET], prefix;
	MZR_OPTS(mzr_net_opts, opts);
	struct mzr_host *h;
	unsigned int n, len;
	uint32_t vni;
	int err;

	if (!add)
		kw[3].name = NULL; /* no gw on set */
	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)) ||
	    (err = get_prefix(cmd, kw, &prefix, &len)) ||
	    (err = get_list(cmd, kw, "bouncers", bouncers,
			    MZR_MAX_BOUNCERS_PER_NET, &n)) ||
	    (add && (err = get_ip(cmd, kw, "gw", &opts.gw))))
		return err;
	if (add && mzctl_kw_get(kw, "gw")->val && !opts.gw.s_addr)
		return bad(cmd, "gw", "0.0.0.0", -EINVAL);
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = add ? mzr_net__create(h, vni, prefix, len, bouncers, n, &opts) :
		    mzr_net__update(h, vni, prefix, len, bouncers, n);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int net_add(struct mzctl *g, int argc, char **argv)
{
	return net_add_set(g, argc, argv, true);
}

static int net_set(struct mzctl *g, int argc, char **argv)
{
	return net_add_set(g, argc, argv, false);
}

static int net_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "net del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "prefix", true, true, NULL },
		{ NULL },
	};
	struct in_addr prefix;
	struct mzr_host *h;
	unsigned int len;
	uint32_t vni;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)) ||
	    (err = get_prefix(cmd, kw, &prefix, &len)))
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_net__delete(h, vni, prefix, len);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int net_print(const struct mzr_net_info *n, void *arg)
{
	struct show_ctx *c = arg;
	char ip[INET_ADDRSTRLEN], pfx[INET_ADDRSTRLEN + 4], mac[18];
	unsigned int i;

	c->n++;
	snprintf(pfx, sizeof(pfx), "%s/%u", mzctl_ip_str(n->prefix, ip),
		 n->prefixlen);
	if (c->g->json) {
		mzctl_json_obj(&c->js, NULL);
		mzctl_json_u64(&c->js, "vni", n->vni);
		mzctl_json_str(&c->js, "prefix", pfx);
		mzctl_json_str(&c->js, "gw", mzctl_ip_str(n->gw, ip));
		mzctl_json_str(&c->js, "gw_mac", mzctl_mac_str(n->gw_mac, mac));
		mzctl_json_arr(&c->js, "bouncers");
		for (i = 0; i < n->n_bouncers; i++)
			mzctl_json_str(&c->js, NULL,
				       mzctl_ip_str(n->bouncers[i], ip));
		mzctl_json_arr_end(&c->js);
		mzctl_json_obj_end(&c->js);
		return 0;
	}
	printf("vni %u prefix %s gw %s", n->vni, pfx, mzctl_ip_str(n->gw, ip));
	printf(" gw-mac %s bouncers ", mzctl_mac_str(n->gw_mac, mac));
	for (i = 0; i < n->n_bouncers; i++)
		printf("%s%s", i ? "," : "", mzctl_ip_str(n->bouncers[i], ip));
	printf("\n");
	return 0;
}

static int net_list(struct mzr_host *h, uint32_t vni, struct show_ctx *c)
{
	return mzr_net__for_each(h, vni, net_print, c);
}

static int net_show(struct mzctl *g, int argc, char **argv)
{
	return show(g, "net show", "networks", net_list, argc, argv);
}

static const struct mzctl_sub net_subs[] = {
	{ "add", "vni N prefix CIDR bouncers IP,... [gw IP]",
	  "Create a network of VPC N. gw (default: the first host address of\n"
	  "the prefix) is the endpoints' default gateway; its MAC is\n"
	  "02:00 followed by the gateway's four bytes.\n",
	  net_add },
	{ "set", "vni N prefix CIDR bouncers IP,...",
	  "Replace a network's bouncers.\n", net_set },
	{ "del", "vni N prefix CIDR",
	  "Delete a network (this host must hold no endpoint in it).\n",
	  net_del },
	{ "show", "[vni N]", "List networks.\n", net_show },
	{ NULL },
};

int mzctl_cmd_net(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "net", net_subs, argc, argv);
}

/* ---- ep ------------------------------------------------------------------ */

static int ep_add(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "ep add";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ip", true, true, NULL },
		{ "mac", true, true, NULL },
		{ "host", true, false, NULL },
		{ "dev", true, false, NULL },
		{ "bypass-decap", false, false, NULL },
		{ NULL },
	};
	struct in_addr hosts[MZR_MAX_EP_HOSTS];
	struct mzr_ep_spec spec = {};
	struct mzr_host_info info;
	struct mzr_host *h;
	unsigned int n_hosts = 0;
	bool has_host;
	const char *v;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	/* With dev the endpoint lives here: host defaults to this host. */
	has_host = mzctl_kw_get(kw, "host")->val;
	if (!has_host && !mzctl_kw_get(kw, "dev")->val) {
		mzctl_err(cmd, "missing 'host IP' (the endpoint's host; "
			  "optional only with dev)");
		return MZCTL_USAGE;
	}
	if ((err = get_vni(cmd, kw, &spec.vni)) ||
	    (err = get_ip(cmd, kw, "ip", &spec.ip)) ||
	    (err = get_list(cmd, kw, "host", hosts, MZR_MAX_EP_HOSTS,
			    &n_hosts)))
		return err;
	/* One host: as ever. Several: a scaled endpoint, this host its
	 * host when it holds a copy (dev). */
	if (n_hosts == 1)
		spec.host = hosts[0];
	v = mzctl_kw_get(kw, "mac")->val;
	if (mzctl_parse_mac(v, spec.mac))
		return bad(cmd, "mac", v, -EINVAL);
	spec.ifname = mzctl_kw_get(kw, "dev")->val;
	if (spec.ifname &&
	    (strlen(spec.ifname) >= IF_NAMESIZE || !if_nametoindex(spec.ifname))) {
		mzctl_err(cmd, "no interface '%s'", spec.ifname);
		return MZCTL_FAIL;
	}
	if (mzctl_kw_get(kw, "bypass-decap")->val)
		spec.flags |= MZR_EP_BYPASS_DECAP;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	if (!has_host || (n_hosts > 1 && spec.ifname)) {
		err = mzr_host__info(h, &info);
		if (err || !info.ip.s_addr) {
			mzctl_err(cmd, "this host's underlay is not attached "
				  "yet (host init first)");
			return MZCTL_FAIL;
		}
		spec.host = info.ip;
	}
	mzctl_clear_libmsg();
	if (n_hosts > 1) {
		MZR_OPTS(mzr_ep_opts, o, .hosts = hosts,
			      .n_hosts = n_hosts);

		err = mzr_ep__create_opts(h, &spec, &o);
	} else {
		err = mzr_ep__create(h, &spec);
	}
	if (err)
		return mzctl_fail(cmd, err);
	/* Created; what the endpoint side still needs, when known. */
	if (spec.ifname && *mzctl_libmsg() && !g->verbose)
		mzctl_err(cmd, "note: %s", mzctl_libmsg());
	return MZCTL_OK;
}

static int ep_set(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "ep set";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ip", true, true, NULL },
		{ "host", true, true, NULL },
		{ NULL },
	};
	struct in_addr hosts[MZR_MAX_EP_HOSTS], ip;
	unsigned int n_hosts;
	struct mzr_host *h;
	uint32_t vni;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)) ||
	    (err = get_ip(cmd, kw, "ip", &ip)) ||
	    (err = get_list(cmd, kw, "host", hosts, MZR_MAX_EP_HOSTS,
			    &n_hosts)))
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_ep__set_hosts(h, vni, ip, hosts, n_hosts);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int ep_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "ep del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ip", true, true, NULL },
		{ NULL },
	};
	struct mzr_host *h;
	struct in_addr ip;
	uint32_t vni;
	int err;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	if ((err = get_vni(cmd, kw, &vni)) ||
	    (err = get_ip(cmd, kw, "ip", &ip)))
		return err;
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_ep__delete(h, vni, ip);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int ep_print(const struct mzr_ep_info *e, void *arg)
{
	struct show_ctx *c = arg;
	char ip[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN], mac[18];
	char ifname[IF_NAMESIZE] = "";
	bool bypass = e->flags & MZR_EP_BYPASS_DECAP;
	struct in_addr hosts[MZR_MAX_EP_HOSTS];
	unsigned int n_hosts = MZR_MAX_EP_HOSTS, i;

	c->n++;
	if (!(e->flags & MZR_EP_SCALED) || !c->h ||
	    mzr_ep__get_hosts(c->h, e->vni, e->ip, hosts, &n_hosts)) {
		hosts[0] = e->host;
		n_hosts = 1;
	}
	if (e->ifindex && !if_indextoname(e->ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "if%u", e->ifindex);
	mzctl_ip_str(e->ip, ip);
	mzctl_ip_str(e->host, host);
	mzctl_mac_str(e->mac, mac);
	if (c->g->json) {
		mzctl_json_obj(&c->js, NULL);
		mzctl_json_u64(&c->js, "vni", e->vni);
		mzctl_json_str(&c->js, "ip", ip);
		mzctl_json_str(&c->js, "mac", mac);
		mzctl_json_str(&c->js, "host", host);
		/* Every host (one, or a scaled endpoint's copies). */
		mzctl_json_arr(&c->js, "hosts");
		for (i = 0; i < n_hosts; i++)
			mzctl_json_str(&c->js, NULL,
				       mzctl_ip_str(hosts[i], host));
		mzctl_json_arr_end(&c->js);
		mzctl_json_bool(&c->js, "local", e->ifindex != 0);
		mzctl_json_str(&c->js, "dev", e->ifindex ? ifname : NULL);
		mzctl_json_u64(&c->js, "ifindex", e->ifindex);
		mzctl_json_bool(&c->js, "bypass_decap", bypass);
		mzctl_json_obj_end(&c->js);
		return 0;
	}
	printf("vni %u ip %s mac %s host %s", e->vni, ip, mac, host);
	for (i = 1; i < n_hosts; i++)
		printf(",%s", mzctl_ip_str(hosts[i], host));
	if (e->ifindex)
		printf(" dev %s", ifname);
	printf("%s\n", bypass ? " bypass-decap" : "");
	return 0;
}

static int ep_list(struct mzr_host *h, uint32_t vni, struct show_ctx *c)
{
	c->h = h;
	return mzr_ep__for_each(h, vni, ep_print, c);
}

static int ep_show(struct mzctl *g, int argc, char **argv)
{
	return show(g, "ep show", "endpoints", ep_list, argc, argv);
}

static const struct mzctl_sub ep_subs[] = {
	{ "add",
	  "vni N ip IP mac MAC [host IP[,IP...]] [dev IFNAME] [bypass-decap]",
	  "Create an endpoint of VPC N. host is the underlay address of the\n"
	  "host where it lives. With dev, it lives on this host behind the\n"
	  "veth (or tap) IFNAME (host side) and the transit agent is attached\n"
	  "there; host may then be omitted (it is this host). IFNAME must be\n"
	  "a veth or a tap. A veth's other end needs an XDP program (e.g.\n"
	  "xdp-pass) or GRO on (else delivered frames are dropped) and an MTU\n"
	  "of the underlay's minus 66 bytes (Geneve); a note says what a veth\n"
	  "peer in this netns lacks.\n"
	  "Several hosts (at most 8): a scaled endpoint, each flow served by\n"
	  "one of them; a host holding a copy adds it with dev.\n"
	  "bypass-decap: deliver tunnel packets to it still encapsulated.\n",
	  ep_add },
	{ "set", "vni N ip IP host IP[,IP...]",
	  "Replace an endpoint's hosts (only a removed host's flows move).\n",
	  ep_set },
	{ "del", "vni N ip IP", "Delete an endpoint (detaching its agent).\n",
	  ep_del },
	{ "show", "[vni N]", "List endpoints.\n", ep_show },
	{ NULL },
};

int mzctl_cmd_ep(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "ep", ep_subs, argc, argv);
}
