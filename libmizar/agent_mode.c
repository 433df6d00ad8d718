// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which agent runs on the local endpoints' veths: the tc agent (the
 * default: it keeps GSO and checksum offload, docs/architecture.md), or
 * the XDP agent while an NF chain sits at a hook an agent path meets
 * (agent egress; bouncer, divider and deliver, which a hairpin or a frame
 * the agent hands to its own host's transit walk meet). NFs are XDP
 * programs the agent tail-calls, which a tc program cannot do
 * (docs/nf-guide.md). The tc program stays attached in both modes.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "host_priv.h"
#include "internal.h"

/* The hooks an agent path meets (agent egress; bouncer, divider and
 * deliver, which a hairpin or a frame handed to its own host's transit
 * walk meets). */
#define AGENT_HOOKS                                                          \
	((1U << MZR_HOOK_AGENT_EGRESS) | (1U << MZR_HOOK_BOUNCER) |          \
	 (1U << MZR_HOOK_DIVIDER) | (1U << MZR_HOOK_DELIVER))

bool mzri_agent_hook(unsigned int hook)
{
	return hook < 32 && (AGENT_HOOKS & (1U << hook));
}

bool mzri_live_chains_in(const struct mzr_host *h, unsigned int hooks)
{
	int fd = mzri_fd(h, MZRI_MAP_CHAIN_CFG);
	__u32 key = MZR_CHAIN_CFG_BANK, bank, len;
	unsigned int hook;

	if (bpf_map_lookup_elem(fd, &key, &bank))
		return false;
	bank &= 1;
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		if (!(hooks & (1U << hook)))
			continue;
		key = MZR_CHAIN_CFG_LEN(bank, hook);
		if (!bpf_map_lookup_elem(fd, &key, &len) && len)
			return true;
	}
	return false;
}

bool mzri_agent_wants_xdp(const struct mzr_host *h)
{
	return mzri_live_chains_in(h, AGENT_HOOKS);
}

int mzri_agents_sync(const struct mzr_host *h, bool xdp)
{
	int local = mzri_fd(h, MZRI_MAP_LOCAL);
	int prog = h->prog_fds[MZRI_PROG_AGENT];
	char name[IF_NAMESIZE];
	__u32 key, *prev = NULL;
	enum mzr_xdp_mode mode;
	int err = 0, e;

	while (!bpf_map_get_next_key(local, prev, &key)) {
		if (!if_indextoname(key, name))
			snprintf(name, sizeof(name), "ifindex %u", key);
		if (xdp)
			e = mzri_xdp_attach(key, prog, MZR_XDP_MODE_AUTO,
					    &mode, name);
		else
			e = mzri_xdp_detach(key, prog);
		if (e && e != -ENODEV) {
			mzri_warn("%s: cannot %s the XDP agent: %s\n", name,
				  xdp ? "attach" : "detach", strerror(-e));
			if (!err)
				err = e;
		}
		prev = &key;
	}
	if (!err)
		mzri_debug("local endpoints: %s agent\n", xdp ? "XDP" : "tc");
	return err;
}
