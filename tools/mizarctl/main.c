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
	"Usage: mizarctl [-r|--pin-root DIR] [-j|--json] [-v|--verbose] COMMAND ...\n"
	"\n"
	"Commands:\n"
	"  host init dev IFNAME [ip A.B.C.D] [mode native|generic] [max-endpoints N]\n"
	"  host show | host reset\n"
	"  vpc add|set|del|show ...     VPCs (Geneve VNI, dividers)\n"
	"  net add|set|del|show ...     networks of a VPC (prefix, bouncers, gateway)\n"
	"  ep add|del|show ...          endpoints\n"
	"  nf add|del|show ...          network functions in the hook chains\n"
	"  stats [reset]                packet counters by role and hook, drops by reason\n"
	"  apply -f FILE [--dry-run]    make this host's state equal to FILE (JSON)\n"
	"  dump                         this host's state as apply's JSON\n"
	"\n"
	"Options:\n"
	"  -r, --pin-root DIR  bpffs directory holding this host's state\n"
	"                      (default: $MIZAR_PIN_ROOT, else " MZR_DEFAULT_PIN_ROOT ")\n"
	"  -j, --json          print show/stats output as one JSON document\n"
	"  -v, --verbose       print the library's log lines\n"
	"  -h, --help          help; also after any command or sub-command\n";

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
	default:
		return "none";
	}
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
	struct mzr_host *h;
	bool fresh = false;
	uint32_t n;
	int err;

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
		mzctl_err(cmd, "bad mode '%s' (native, generic or dispatcher)",
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

	/* Reuse what is pinned (load once), else load and pin. */
	mzctl_clear_libmsg();
	h = mzr_host__open_pinned(&hopts);
	if (!h && errno != ENOENT)
		return mzctl_fail(cmd, -errno);
	if (!h) {
		h = mzr_host__open(&hopts);
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
	err = mzr_host__attach(h, dev, &aopts);
	if (err) {
		mzctl_fail(cmd, err);
		/* No partial change: a back-plane we just created goes away. */
		if (fresh)
			mzr_host__reset(h);
		return MZCTL_FAIL;
	}
	if (!g->json)
		printf("back-plane at %s: transit on %s (%s XDP)\n",
		       mzr_host__pin_root(h), dev,
		       mode_name(mzr_host__xdp_mode(h)));
	return MZCTL_OK;
}

static int host_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host show";
	struct mzr_host_info info;
	struct mzctl_json js;
	struct mzr_host *h;
	char ip[INET_ADDRSTRLEN];
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
	if (g->json) {
		mzctl_json_begin(&js, stdout);
		mzctl_json_str(&js, "pin_root", mzr_host__pin_root(h));
		mzctl_json_str(&js, "ip", info.ip.s_addr ? ip : NULL);
		mzctl_json_str(&js, "dev", info.ifindex ? info.ifname : NULL);
		mzctl_json_u64(&js, "ifindex", info.ifindex);
		mzctl_json_u64(&js, "mtu", info.mtu);
		mzctl_json_str(&js, "mode", mode_name(info.mode));
		mzctl_json_u64(&js, "max_endpoints", info.max_endpoints);
		mzctl_json_u64(&js, "endpoints", info.n_endpoints);
		mzctl_json_u64(&js, "local_endpoints", info.n_local_endpoints);
		mzctl_json_u64(&js, "networks", info.n_networks);
		mzctl_json_u64(&js, "vpcs", info.n_vpcs);
		mzctl_json_str(&js, "version", mzr_version_string());
		mzctl_json_end(&js);
		return MZCTL_OK;
	}
	printf("pin root   %s\n", mzr_host__pin_root(h));
	if (info.ifindex)
		printf("underlay   %s (ifindex %u) ip %s mtu %u\n",
		       info.ifname, info.ifindex, ip, info.mtu);
	else
		printf("underlay   none (not attached)\n");
	printf("xdp mode   %s\n", mode_name(info.mode));
	printf("endpoints  %u (%u local), table size %u\n", info.n_endpoints,
	       info.n_local_endpoints, info.max_endpoints);
	printf("networks   %u\n", info.n_networks);
	printf("vpcs       %u\n", info.n_vpcs);
	return MZCTL_OK;
}

static int host_reset(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host reset";
	MZR_OPTS(mzr_host_opts, opts, .pin_root = g->pin_root);
	struct mzr_host *h;
	int err;

	if (argc) {
		mzctl_err(cmd, "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	/* Tear down from the pins, even half-built state. */
	mzctl_clear_libmsg();
	h = mzr_host__open(&opts);
	if (!h)
		return mzctl_fail(cmd, -errno);
	err = mzr_host__reset(h);
	mzr_host__close(h);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static const struct mzctl_sub host_subs[] = {
	{ "init", "dev IFNAME [ip A.B.C.D] [mode native|generic|dispatcher] [max-endpoints N] [max-direct N]",
	  "Load the back-plane under the pin root (or reuse the one pinned there)\n"
	  "and attach the transit program to the underlay interface IFNAME.\n"
	  "  ip             this host's underlay address (default: IFNAME's primary IPv4)\n"
	  "  mode           XDP mode (default: native, falling back to generic);\n"
	  "                 dispatcher: through libxdp's multi-program dispatcher\n"
	  "                 where the kernel lets it run the core's tail calls,\n"
	  "                 else as the default (host show says which)\n"
	  "  max-endpoints  endpoint table size, at first load (default 65536)\n"
	  "  max-direct     learned direct-path cache size (default 65536)\n",
	  host_init },
	{ "show", "", "Show the underlay, XDP mode and table sizes.\n",
	  host_show },
	{ "reset", "",
	  "Detach every program attached under this pin root (underlay and\n"
	  "endpoint veths) and remove the pins.\n",
	  host_reset },
	{ NULL },
};

int mzctl_cmd_host(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "host", host_subs, argc, argv);
}

/* ---- stats --------------------------------------------------------------- */

static const char *const roles[] = { "agent",	"transit", "host", "bouncer",
				     "divider", "nf",	   "external" };

static int stats_show(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "stats";
	uint64_t cnt[__MZR_CNT_MAX], missed[MZR_MISSED_SIZE], total = 0;
	struct mzctl_json js;
	struct mzr_host *h;
	unsigned int r, i, hook, pos;
	int err;

	h = mzctl_host(g, cmd);
	if (!h)
		return MZCTL_FAIL;
	err = mzr_host__counters(h, cnt, __MZR_CNT_MAX);
	if (!err)
		err = mzr_host__missed(h, missed, MZR_MISSED_SIZE);
	if (err)
		return mzctl_fail(cmd, err);
	for (i = 1; i < __MZR_DROP_MAX; i++)
		total += cnt[MZR_CNT_DROP_BASE + i];

	if (g->json) {
		mzctl_json_begin(&js, stdout);
		mzctl_json_obj(&js, "roles");
		for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
			mzctl_json_obj(&js, roles[r]);
			for (i = 0; i < __MZR_CNT_ROLE_MAX; i++)
				if (mzr_counter_role(i) &&
				    !strcmp(mzr_counter_role(i), roles[r]))
					mzctl_json_u64(&js, mzr_counter_name(i),
						       cnt[i]);
			mzctl_json_obj_end(&js);
		}
		mzctl_json_obj_end(&js);
		mzctl_json_obj(&js, "hooks");
		for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
			uint64_t nf = 0;

			for (pos = 0; pos < MZR_CHAIN_MAX; pos++)
				nf += missed[MZR_MISSED_IDX(hook, pos)];
			mzctl_json_obj(&js, mzr_hook_name(hook));
			mzctl_json_u64(&js, "missed_tail_calls",
				       nf + missed[MZR_MISSED_IDX(hook,
								  MZR_CHAIN_MAX)]);
			mzctl_json_u64(&js, "missed_nf", nf);
			mzctl_json_u64(&js, "missed_continuation",
				       missed[MZR_MISSED_IDX(hook,
							     MZR_CHAIN_MAX)]);
			mzctl_json_obj_end(&js);
		}
		mzctl_json_obj_end(&js);
		mzctl_json_obj(&js, "drops");
		for (i = 1; i < __MZR_DROP_MAX; i++)
			mzctl_json_u64(&js, mzr_drop_reason_name(i),
				       cnt[MZR_CNT_DROP_BASE + i]);
		mzctl_json_obj_end(&js);
		mzctl_json_u64(&js, "drops_total", total);
		mzctl_json_obj(&js, "counters");
		for (i = 0; i < __MZR_CNT_MAX; i++)
			if (mzr_counter_name(i) &&
			    (i < __MZR_CNT_ROLE_MAX ||
			     i > MZR_CNT_DROP_BASE))
				mzctl_json_u64(&js, mzr_counter_name(i), cnt[i]);
		mzctl_json_obj_end(&js);
		mzctl_json_end(&js);
		return MZCTL_OK;
	}

	printf("Packets by role:\n");
	for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		printf("  %s\n", roles[r]);
		for (i = 0; i < __MZR_CNT_ROLE_MAX; i++)
			if (mzr_counter_role(i) &&
			    !strcmp(mzr_counter_role(i), roles[r]))
				printf("    %-22s %llu\n", mzr_counter_name(i),
				       (unsigned long long)cnt[i]);
	}
	printf("Missed tail calls by hook (NF slots / continuation):\n");
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		uint64_t nf = 0;

		for (pos = 0; pos < MZR_CHAIN_MAX; pos++)
			nf += missed[MZR_MISSED_IDX(hook, pos)];
		printf("    %-22s %llu / %llu\n", mzr_hook_name(hook),
		       (unsigned long long)nf,
		       (unsigned long long)
			       missed[MZR_MISSED_IDX(hook, MZR_CHAIN_MAX)]);
	}
	printf("Drops by reason:\n");
	for (i = 1; i < __MZR_DROP_MAX; i++)
		printf("    %-22s %llu\n", mzr_drop_reason_name(i),
		       (unsigned long long)cnt[MZR_CNT_DROP_BASE + i]);
	printf("    %-22s %llu\n", "total", (unsigned long long)total);
	return MZCTL_OK;
}

static int stats_reset(struct mzctl *g, int argc, char **argv)
{
	struct mzr_host *h;
	int err;

	if (argc) {
		mzctl_err("stats reset", "unknown argument '%s'", argv[0]);
		return MZCTL_USAGE;
	}
	h = mzctl_host(g, "stats reset");
	if (!h)
		return MZCTL_FAIL;
	mzctl_clear_libmsg();
	err = mzr_host__counters_reset(h);
	return err ? mzctl_fail("stats reset", err) : MZCTL_OK;
}

static const struct mzctl_sub stats_subs[] = {
	{ "show", "", "Packet counters by role, missed tail calls by hook,\n"
		      "and every drop by named reason.\n", stats_show },
	{ "reset", "", "Zero every counter.\n", stats_reset },
	{ NULL },
};

int mzctl_cmd_stats(struct mzctl *g, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (mzctl_is_help(argv[i])) {
			printf("Usage: mizarctl stats [reset]\n\n"
			       "Without argument: packet counters by role, missed tail calls by\n"
			       "hook, and every drop by named reason (-j for JSON).\n"
			       "reset: zero every counter.\n");
			return MZCTL_OK;
		}
	}
	if (!argc)
		return stats_show(g, 0, argv);
	return mzctl_dispatch(g, "stats", stats_subs, argc, argv);
}

/* ---- main ---------------------------------------------------------------- */

static const struct mzctl_group groups[] = {
	{ "host", mzctl_cmd_host }, { "vpc", mzctl_cmd_vpc },
	{ "net", mzctl_cmd_net },   { "ep", mzctl_cmd_ep },
	{ "nf", mzctl_cmd_nf },	    { "stats", mzctl_cmd_stats },
	{ "apply", mzctl_cmd_apply }, { "dump", mzctl_cmd_dump },
	{ NULL },
};

int main(int argc, char **argv)
{
	return mzctl_main(argc, argv, groups, groups_usage);
}
