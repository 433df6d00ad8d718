// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The embedded core object: the names of its maps and programs, opening
 * it, and the checks and accessors every file uses on a loaded handle.
 * Calls nothing else of the library but logging.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_priv.h"
#include "mzr_core_bpf.skel.h"

const char *const mzri_map_names[MZRI_MAP__N] = {
	[MZRI_MAP_HOST] = "mzr_host",
	[MZRI_MAP_VPCS] = "mzr_vpcs",
	[MZRI_MAP_NETS] = "mzr_nets",
	[MZRI_MAP_EPS] = "mzr_eps",
	[MZRI_MAP_LOCAL] = "mzr_local",
	[MZRI_MAP_DIRECT] = "mzr_direct",
	[MZRI_MAP_STATS] = "mzr_stats",
	[MZRI_MAP_PROGS] = "mzr_progs",
	[MZRI_MAP_CHAIN_CFG] = "mzr_chain_cfg",
	[MZRI_MAP_CTX] = "mzr_ctx_map",
	[MZRI_MAP_MISSED] = "mzr_missed",
	[MZRI_MAP_PEERS] = MZR_MAP_PEERS,
	[MZRI_MAP_PROTECT] = MZR_MAP_PROTECT,
	[MZRI_MAP_NH] = "mzr_nh",
	[MZRI_MAP_EP_HOSTS] = "mzr_ep_hosts",
	[MZRI_MAP_VPC_PEERS] = "mzr_vpc_peers",
	[MZRI_MAP_TRACE_CFG] = "mzr_trace_cfg",
	[MZRI_MAP_TRACE_PCPU] = "mzr_trace_pcpu",
	[MZRI_MAP_TRACE_EVENTS] = "mzr_trace_events",
	[MZRI_MAP_VPC_CTR] = "mzr_vpc_ctr",
	[MZRI_MAP_EP_CTR] = "mzr_ep_ctr",
};

const char *const mzri_prog_names[MZRI_PROG__N] = {
	[MZRI_PROG_TRANSIT] = "mzr_transit",
	[MZRI_PROG_AGENT] = "mzr_agent",
	[MZRI_PROG_CONT_AGENT_EGRESS] = "mzr_cont_agent_egress",
	[MZRI_PROG_CONT_BOUNCER] = "mzr_cont_bouncer",
	[MZRI_PROG_CONT_DIVIDER] = "mzr_cont_divider",
	[MZRI_PROG_CONT_DELIVER] = "mzr_cont_deliver",
	[MZRI_PROG_CONT_EXTERNAL] = "mzr_cont_external",
	[MZRI_PROG_NEIGH] = "mzr_neigh",
};

/*
 * Open the core's skeleton. The next-hop cache reads CONFIG_HZ as a weak
 * __kconfig extern (bpf-core/fib.h); libbpf refuses the whole object when
 * the kernel's config file is missing (no /boot/config-$(uname -r), no
 * /proc/config.gz: minimal images, containers), so say CONFIG_HZ=0
 * (unknown) then, and fib.h falls back to a safe age.
 */
struct mzr_core_bpf *mzri_core_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct utsname u;
	char path[320];

	if (access("/proc/config.gz", R_OK) && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		if (access(path, R_OK)) {
			mzri_debug("no kernel config (%s): CONFIG_HZ unknown\n",
				   path);
			opts.kconfig = "CONFIG_HZ=0\n";
		}
	}
	return mzr_core_bpf__open_opts(&opts);
}

int mzri_check_loaded(const struct mzr_host *h, const char *what)
{
	if (!h) {
		mzri_warn("%s: no host handle\n", what);
		return -EINVAL;
	}
	if (!h->loaded) {
		mzri_warn("%s: back-plane at %s is not loaded\n", what,
			  h->pin_root);
		return -EINVAL;
	}
	return 0;
}

int mzri_check_loaded_arg(const struct mzr_host *h, const char *what,
			  bool arg_ok)
{
	int err = mzri_check_loaded(h, what);

	if (err)
		return err;
	return arg_ok ? 0 : -EINVAL;
}

int mzri_map_err(int err)
{
	/* A full hash map says E2BIG; the API says ENOSPC. */
	if (err == -E2BIG)
		return -ENOSPC;
	return err;
}

int mzri_host_cfg(const struct mzr_host *h, struct mzr_host_cfg *cfg)
{
	__u32 key = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_HOST), &key, cfg))
		return -errno;
	return 0;
}

int mzri_dup_cloexec(int fd)
{
	/* Not dup(): a library must not leak its fds into a caller's
	 * children (fork + exec of a helper, a CNI plugin...). */
	return fd < 0 ? -EBADF : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}
