// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizarctl: the operator's CLI for one host's back-plane (see
 * /work/shared/CONTRACT.md). Global options may appear anywhere.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mizar/nf.h>

#include "mizarctl.h"
#include "apply.h"

/* ---- Help and dispatch --------------------------------------------------- */

static const char *const groups_usage =
	"Usage: mizarctl [-r|--pin-root DIR] [-j|--json] [-p|--pretty] [-v|--verbose] COMMAND ...\n"
	"\n"
	"Commands:\n"
	"  host init dev IFNAME [ip A.B.C.D] [mode native|generic|tc] [max-endpoints N]\n"
	"  host show | host reset [dev IFNAME --force]\n"
	"  host peer add|del IP,... | host peer show     known Mizar hosts\n"
	"  host protect add|del CIDR | host protect show  underlay NAT never reaches\n"
	"  vpc add|set|del|show ...     VPCs (Geneve VNI, dividers)\n"
	"  net add|set|del|show ...     networks of a VPC (prefix, bouncers, gateway)\n"
	"  ep add|del|show ...          endpoints\n"
	"  nf add|del|show ...          network functions in the hook chains\n"
	"  stats [all] [watch] | reset  packet counters by role and hook, drops by reason\n"
	"  metrics [serve [listen A:P]] counters, table fill: Prometheus format\n"
	"  trace [-w FILE|-] [filters]   capture decisions per hook to pcapng\n"
	"  monitor [drops]               live decisions, one line (--json) each\n"
	"  apply -f FILE [--dry-run]    make this host's state equal to FILE (JSON)\n"
	"  dump                         this host's state as apply's JSON\n"
	"\n"
	"Options:\n"
	"  -r, --pin-root DIR  bpffs directory holding this host's state\n"
	"                      (default: $MIZAR_PIN_ROOT, else " MZR_DEFAULT_PIN_ROOT ")\n"
	"  -j, --json          print show/stats output as one JSON document\n"
	"  -p, --pretty        JSON, indented (implies -j)\n"
	"  -v, --verbose       print the library's log lines\n"
	"  -h, --help          help; also after any command or sub-command\n"
	"\n"
	"Words abbreviate to any unique prefix (v sh = vpc show); delete = del,\n"
	"list = ls = show.\n";

/* ---- host ---------------------------------------------------------------- */

static const char *mode_name(enum mzr_xdp_mode m)
{
	switch (m) {
	case MZR_XDP_MODE_NATIVE:
		return "native";
	case MZR_XDP_MODE_GENERIC:
		return "generic";
	case MZR_XDP_MODE_DISPATCHER:
		return "dispatcher";
	case MZR_XDP_MODE_TC:
		return "tc";
	default:
		return "none";
	}
}

/* Reuse what is pinned (load once), else load and pin; then attach.
 * Under the pin root lock: no other init or reset runs meanwhile. */
static int host_init_locked(struct mzctl *g, const char *cmd,
			    const struct mzr_host_opts *hopts,
			    const struct mzr_attach_opts *aopts,
			    const char *dev)
{
	struct mzr_host *h;
	bool fresh = false;
	int err;

	mzctl_clear_libmsg();
	h = mzr_host__open_pinned(hopts);
	if (!h && errno != ENOENT)
		return mzctl_fail(cmd, -errno);
	if (!h) {
		h = mzr_host__open(hopts);
		if (!h)
			return mzctl_fail(cmd, -errno);
		mzctl_clear_libmsg();
		err = mzr_host__load(h);
		if (err) {
			mzr_host__close(h);
			return mzctl_fail(cmd, err);
		}
		fresh = true;
	}
	g->host = h;
	if (!fresh && mzctl_init_check(h, cmd, dev, hopts, aopts))
		return MZCTL_FAIL;
	err = mzr_host__attach(h, dev, aopts);
	if (err) {
		mzctl_fail(cmd, err);
		/* No partial change: a back-plane we just created goes away. */
		if (fresh)
			mzr_host__reset(h);
		return MZCTL_FAIL;
	}
	/* Says which of two concurrent inits loaded the back-plane. */
	if (!g->json)
		printf("back-plane %s %s: transit on %s (%s%s)\n",
		       fresh ? "loaded at" : "at", mzr_host__pin_root(h), dev,
		       mode_name(mzr_host__xdp_mode(h)),
		       mzr_host__xdp_mode(h) == MZR_XDP_MODE_TC ? "" : " XDP");
	return MZCTL_OK;
}

static int host_init(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host init";
	struct mzctl_kw kw[] = {
		{ "dev", true, true, NULL },
		{ "ip", true, false, NULL },
		{ "mode", true, false, NULL },
		{ "max-endpoints", true, false, NULL },
		{ "max-direct", true, false, NULL },
		{ NULL },
	};
	MZR_OPTS(mzr_host_opts, hopts, .pin_root = g->pin_root);
	MZR_OPTS(mzr_attach_opts, aopts);
	const char *dev, *v;
	struct mzr_host *lk;
	uint32_t n;
	int err, ret;

	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	dev = mzctl_kw_get(kw, "dev")->val;
	if (strlen(dev) >= IF_NAMESIZE || !if_nametoindex(dev)) {
		mzctl_err(cmd, "no interface '%s'", dev);
		return MZCTL_FAIL;
	}
	v = mzctl_kw_get(kw, "ip")->val;
	if (v && (mzctl_parse_ip(v, &aopts.ip) || !aopts.ip.s_addr)) {
		mzctl_err(cmd, "bad ip '%s'", v);
		return MZCTL_USAGE;
	}
	v = mzctl_kw_get(kw, "mode")->val;
	if (v && mzctl_parse_mode(v, &aopts.mode)) {
		mzctl_err(cmd, "bad mode '%s' (native, generic, dispatcher or tc)",
			  v);
		return MZCTL_USAGE;
	}
	v = mzctl_kw_get(kw, "max-endpoints")->val;
	if (v) {
		if (mzctl_parse_u32(v, &n) || !n) {
			mzctl_err(cmd, "bad max-endpoints '%s'", v);
			return MZCTL_USAGE;
		}
		hopts.max_endpoints = n;
	}
	v = mzctl_kw_get(kw, "max-direct")->val;
	if (v) {
		if (mzctl_parse_u32(v, &n) || !n) {
			mzctl_err(cmd, "bad max-direct '%s'", v);
			return MZCTL_USAGE;
		}
		hopts.max_direct = n;
	}

	/* Two inits at once: the second waits, then reuses the first's
	 * back-plane; a failed one never tears down another's. */
	mzctl_clear_libmsg();
	lk = mzr_host__open(&hopts);
	if (!lk)
		return mzctl_fail(cmd, -errno);
	err = mzr_host__lock(lk);
	if (err) {
		mzr_host__close(lk);
		return mzctl_fail(cmd, err);
	}
	ret = host_init_locked(g, cmd, &hopts, &aopts, dev);
	mzr_host__unlock(lk);
	mzr_host__close(lk);
	return ret;
}

static int host_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host show";
	struct mzr_host_info info;
	struct mzctl_json js;
	struct mzr_host *h;
	char ip[INET_ADDRSTRLEN], hint_buf[256];
	const char *hint;
	int err;

	if (argc) {
		mzctl_err(cmd, "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	err = mzr_host__info(h, &info);
	if (err)
		return mzctl_fail(cmd, err);
	mzctl_ip_str(info.ip, ip);
	hint = mzctl_transit_hint(&info, hint_buf, sizeof(hint_buf));
	if (g->json) {
		mzctl_json_begin(&js, stdout);
		mzctl_json_str(&js, "pin_root", mzr_host__pin_root(h));
		mzctl_json_str(&js, "ip", info.ip.s_addr ? ip : NULL);
		mzctl_json_str(&js, "dev", info.ifindex ? info.ifname : NULL);
		mzctl_json_u64(&js, "ifindex", info.ifindex);
		mzctl_json_u64(&js, "mtu", info.mtu);
		mzctl_json_str(&js, "mode", mode_name(info.mode));
		mzctl_json_str(&js, "transit", mzctl_transit_name(info.mode));
		mzctl_json_str(&js, "hint", hint);
		mzctl_json_u64(&js, "max_endpoints", info.max_endpoints);
		mzctl_json_u64(&js, "endpoints", info.n_endpoints);
		mzctl_json_u64(&js, "local_endpoints", info.n_local_endpoints);
		mzctl_json_u64(&js, "networks", info.n_networks);
		mzctl_json_u64(&js, "vpcs", info.n_vpcs);
		mzctl_json_str(&js, "version", mzr_version_string());
		err = mzctl_tables_show(h, &js);
		mzctl_json_end(&js);
		return err ? mzctl_fail(cmd, err) : MZCTL_OK;
	}
	printf("pin root   %s\n", mzr_host__pin_root(h));
	if (info.ifindex)
		printf("underlay   %s (ifindex %u) ip %s mtu %u\n",
		       info.ifname, info.ifindex, ip, info.mtu);
	else
		printf("underlay   none (not attached)\n");
	printf("xdp mode   %s\n", mode_name(info.mode));
	printf("transit    %s\n", mzctl_transit_name(info.mode));
	if (hint)
		printf("hint       %s\n", hint);
	printf("endpoints  %u (%u local), table size %u\n", info.n_endpoints,
	       info.n_local_endpoints, info.max_endpoints);
	printf("networks   %u\n", info.n_networks);
	printf("vpcs       %u\n", info.n_vpcs);
	err = mzctl_tables_show(h, NULL);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static const struct mzctl_sub host_subs[] = {
	{ "init", "dev IFNAME [ip A.B.C.D] [mode native|generic|dispatcher|tc] [max-endpoints N] [max-direct N]",
	  "Load the back-plane under the pin root (or reuse the one pinned there)\n"
	  "and attach the transit program to the underlay interface IFNAME.\n"
	  "  ip             this host's underlay address (default: IFNAME's primary IPv4)\n"
	  "  mode           XDP mode (default: native, falling back to generic);\n"
	  "                 dispatcher: through libxdp's multi-program dispatcher\n"
	  "                 where the kernel lets it run the core's tail calls,\n"
	  "                 else as the default (host show says which);\n"
	  "                 tc: the transit in tc on the underlay (veth underlays:\n"
	  "                 GSO super-packets stay whole), XDP only while a\n"
	  "                 transit hook has an NF chain\n"
	  "  max-endpoints  endpoint table size, at first load (default 65536)\n"
	  "  max-direct     learned direct-path cache size (default 65536)\n"
	  "Again on a back-plane already there: the same options change\n"
	  "nothing; a dev, ip, mode or max-endpoints that differs is refused.\n",
	  host_init },
	{ "show", "",
	  "Show the underlay, XDP mode, and each table's entries against its\n"
	  "capacity (a warning line for each table 90% full or more).\n",
	  host_show },
	{ "reset", "[dev IFNAME --force]",
	  "Detach every program attached under this pin root (underlay and\n"
	  "endpoint veths) and remove the pins. Fails when nothing is pinned\n"
	  "here but back-plane programs are attached in this netns.\n"
	  "  dev IFNAME --force  also remove every back-plane program from\n"
	  "                      IFNAME, found by name and maps, when its pins\n"
	  "                      are gone; others' programs stay\n",
	  mzctl_cmd_host_reset },
	{ "peer", "add|del IP,... | show",
	  "Known peers: the Mizar hosts whose Geneve this host believes\n"
	  "(docs/security.md).\n"
	  "  add IP,...     add explicit peers (a cluster's node list)\n"
	  "  del IP,...     remove explicit peers\n"
	  "  show           list them (self, explicit, named by objects)\n",
	  mzctl_cmd_host_peer },
	{ "protect", "add|del CIDR | show",
	  "Underlay prefixes the external path (NAT) never sends into.\n"
	  "  add CIDR       protect a prefix (none by default)\n"
	  "  del CIDR       stop protecting it\n"
	  "  show           list them\n",
	  mzctl_cmd_host_protect },
	{ NULL },
};

int mzctl_cmd_host(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "host", host_subs, argc, argv);
}

/* ---- main ---------------------------------------------------------------- */

static const struct mzctl_group groups[] = {
	{ "host", mzctl_cmd_host }, { "vpc", mzctl_cmd_vpc },
	{ "net", mzctl_cmd_net },   { "ep", mzctl_cmd_ep },
	{ "nf", mzctl_cmd_nf },	    { "stats", mzctl_cmd_stats },
	{ "metrics", mzctl_cmd_metrics },
	{ "trace", mzctl_cmd_trace }, { "monitor", mzctl_cmd_monitor },
	{ "apply", mzctl_cmd_apply }, { "dump", mzctl_cmd_dump },
	{ NULL },
};

int main(int argc, char **argv)
{
	return mzctl_main(argc, argv, groups, groups_usage);
}
