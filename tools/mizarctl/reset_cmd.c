// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl host reset [dev IFNAME --force]`: tear down from the pins, and
 * never report a clean teardown while a back-plane program of ours stays
 * attached without an owner (pins lost with their bpffs).
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "mizarctl.h"

/* Interfaces of this netns holding programs of ours, comma-separated into
 * @buf; their number. */
static int orphans(char *buf, size_t sz)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	if (!ifs)
		return 0;
	for (i = ifs; i->if_index; i++) {
		if (mzr_netdev_attached(i->if_name) <= 0)
			continue;
		if (used + strlen(i->if_name) + 2 < sz)
			used += snprintf(buf + used, sz - used, "%s%s",
					 n ? "," : "", i->if_name);
		n++;
	}
	if_freenameindex(ifs);
	return n;
}

int mzctl_cmd_host_reset(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "host reset";
	struct mzctl_kw kw[] = {
		{ "dev", true, false, NULL },
		{ "--force", false, false, NULL },
		{ NULL },
	};
	MZR_OPTS(mzr_host_opts, opts, .pin_root = g->pin_root);
	struct mzr_host *h;
	const char *dev;
	bool pinned;
	char names[256];
	unsigned int removed = 0;
	const char *root = g->pin_root;
	int err, e;

	if (!root)
		root = getenv("MIZAR_PIN_ROOT") && *getenv("MIZAR_PIN_ROOT") ?
			       getenv("MIZAR_PIN_ROOT") :
			       MZR_DEFAULT_PIN_ROOT;
	if (mzctl_parse_kw(cmd, kw, argc, argv))
		return MZCTL_USAGE;
	dev = mzctl_kw_get(kw, "dev")->val;
	if (dev && !mzctl_kw_get(kw, "--force")->val) {
		mzctl_err(cmd, "dev %s removes any back-plane's programs from it: add --force",
			  dev);
		return MZCTL_USAGE;
	}
	if (!dev && mzctl_kw_get(kw, "--force")->val) {
		mzctl_err(cmd, "--force goes with dev IFNAME");
		return MZCTL_USAGE;
	}
	if (dev && (strlen(dev) >= IF_NAMESIZE || !if_nametoindex(dev))) {
		mzctl_err(cmd, "no interface '%s'", dev);
		return MZCTL_FAIL;
	}
	/* Whether a back-plane is pinned here, before the reset removes it. */
	mzctl_clear_libmsg();
	h = mzr_host__open_pinned(&opts);
	pinned = h || errno != ENOENT;
	mzr_host__close(h);

	/* Tear down from the pins, even half-built state. */
	mzctl_clear_libmsg();
	h = mzr_host__open(&opts);
	if (!h)
		return mzctl_fail(cmd, -errno);
	err = mzr_host__reset(h);
	mzr_host__close(h);
	if (dev) {
		/* The device's own view: what the pins no longer know. */
		e = mzr_netdev_reset(dev, &removed);
		if (e && !err)
			err = e;
		if (!e && !g->json && removed)
			printf("%s: removed %u back-plane program(s)\n", dev,
			       removed);
	}
	if (err)
		return mzctl_fail(cmd, err);
	/* Nothing pinned, yet programs of ours attached: their pins are
	 * gone (bpffs unmounted, or private to an `ip netns exec`). */
	if (!pinned && !dev && orphans(names, sizeof(names))) {
		mzctl_err(cmd, "nothing pinned at %s, but back-plane programs are attached to %s (pins lost? mizarctl host reset dev IFNAME --force)",
			  root, names);
		return MZCTL_FAIL;
	}
	return MZCTL_OK;
}
