// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `host init` on a back-plane that is already there: options that differ
 * from it are refused, naming each difference, rather than silently
 * ignored; identical options stay idempotent.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "mizarctl.h"

static const char *mode_str(enum mzr_xdp_mode m)
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

int mzctl_init_check(struct mzr_host *h, const char *cmd, const char *dev,
		     const struct mzr_host_opts *hopts,
		     const struct mzr_attach_opts *aopts)
{
	char diff[512], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct mzr_host_info info;
	size_t n = 0;
	int err;

	err = mzr_host__info(h, &info);
	if (err)
		return mzctl_fail(cmd, err);
	diff[0] = '\0';
#define DIFF(...)                                                              \
	do {                                                                   \
		if (n < sizeof(diff))                                          \
			n += snprintf(diff + n, sizeof(diff) - n, "%s",        \
				      n ? "; " : "");                          \
		if (n < sizeof(diff))                                          \
			n += snprintf(diff + n, sizeof(diff) - n,              \
				      __VA_ARGS__);                            \
	} while (0)
	if (info.ifindex && info.ifindex != if_nametoindex(dev))
		DIFF("dev %s there, %s asked", info.ifname, dev);
	if (aopts->ip.s_addr && info.ip.s_addr &&
	    aopts->ip.s_addr != info.ip.s_addr)
		DIFF("ip %s there, %s asked", mzctl_ip_str(info.ip, a),
		     mzctl_ip_str(aopts->ip, b));
	/* Asking for the dispatcher may have fallen back to a plain mode:
	 * only native and generic are exact. */
	if (info.ifindex && (aopts->mode == MZR_XDP_MODE_NATIVE ||
			     aopts->mode == MZR_XDP_MODE_GENERIC) &&
	    aopts->mode != info.mode)
		DIFF("mode %s there, %s asked", mode_str(info.mode),
		     mode_str(aopts->mode));
	if (hopts->max_endpoints && hopts->max_endpoints != info.max_endpoints)
		DIFF("max-endpoints %u there, %u asked", info.max_endpoints,
		     hopts->max_endpoints);
#undef DIFF
	if (!n)
		return MZCTL_OK;
	mzctl_err(cmd, "the back-plane at %s differs: %s (host reset first to change it)",
		  mzr_host__pin_root(h), diff);
	return MZCTL_FAIL;
}
