// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Publishing NF chains: every update rebuilds all chains from the registry
 * into the inactive bank of the program array and flips the bank after a
 * grace period; pins are created before and removed after the registry
 * names them, so the registry never names a program that is not pinned.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "nf_priv.h"

/* ---- Publishing chains: two banks and a grace period ------------------- */

/*
 * Wait until no packet can still run on the bank we just left. XDP runs
 * inside an RCU read-side section (NAPI, generic XDP and BPF_PROG_TEST_RUN
 * alike), so one RCU grace period suffices. membarrier(GLOBAL) is
 * synchronize_rcu() in kernel/sched/membarrier.c, except with nohz_full
 * (-EINVAL) or a single online CPU (no wait; a preempted reader may exist
 * under PREEMPT_RCU). Then fall back on updating a map-in-map, after which
 * the kernel waits for running BPF programs (maybe_wait_bpf_programs()).
 */
int mzr_sync_grace_period(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	int inner, outer, err = 0;
	__u32 key = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
	    !syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return 0;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mzr_gp_inner", 4, 4, 1,
			       NULL);
	if (inner < 0)
		return -errno;
	mo.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "mzr_gp", 4, 4, 1,
			       &mo);
	if (outer < 0 || bpf_map_update_elem(outer, &key, &inner, BPF_ANY))
		err = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return err;
}

static int cfg_get(const struct mzr_host *h, __u32 key, __u32 *val)
{
	return bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_CHAIN_CFG), &key, val) ?
		       -errno :
		       0;
}

static int cfg_set(const struct mzr_host *h, __u32 key, __u32 val)
{
	return bpf_map_update_elem(mzri_fd(h, MZRI_MAP_CHAIN_CFG), &key, &val,
				   BPF_ANY) ?
		       -errno :
		       0;
}

/* Empty every slot and length of @bank. */
static void bank_clear(const struct mzr_host *h, __u32 bank)
{
	unsigned int hook, pos;
	__u32 slot;

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		cfg_set(h, MZR_CHAIN_CFG_LEN(bank, hook), 0);
		for (pos = 0; pos < MZR_CHAIN_MAX; pos++) {
			slot = MZR_PROG_NF(bank, hook, pos);
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_PROGS), &slot);
		}
	}
}

int mzri_nf_prog_pin_path(char *buf, const char *root, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s/%s", root, NF_DIR, name);

	return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The NF's own maps: not bound to the core, not .rodata/.bss/.data, not
 * pinned elsewhere (shared by name, or where the caller said). */
static bool map_is_private(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);

	if (bpf_map__is_internal(map) || bpf_map__pin_path(map) ||
	    bpf_map__fd(map) < 0)
		return false;
	return !mzri_nf_map_shared(name);
}

/* Remove PIN_ROOT/nf_maps/NAME and the map pins in it. */
void mzri_nf_maps_unpin(const struct mzr_host *h, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/%s", h->pin_root, NF_MAPS_DIR, name);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		mzri_warn("nf %s: cannot remove %s: %s\n", name, dir,
			  strerror(errno));
}

/*
 * Pin chain member @name's own maps at PIN_ROOT/nf_maps/NAME/MAP, where
 * tools find an NF's state by its name. Leftovers of an interrupted
 * update under that name (the registry does not name it) go first.
 */
int mzri_nf_maps_pin(const struct mzr_host *h, const char *name,
		     const struct mzr_nf *nf)
{
	char dir[64], path[PATH_MAX + 256];
	struct bpf_map *map;
	bool made = false;
	int err;

	mzri_nf_maps_unpin(h, name);
	snprintf(dir, sizeof(dir), "%s/%s", NF_MAPS_DIR, name);
	bpf_object__for_each_map(map, nf->obj) {
		if (!map_is_private(map))
			continue;
		if (!made) {
			err = mzri_mkdir_in(h->pin_root, NF_MAPS_DIR);
			err = err ?: mzri_mkdir_in(h->pin_root, dir);
			if (err)
				goto fail;
			made = true;
		}
		snprintf(path, sizeof(path), "%s/%s/%s", h->pin_root, dir,
			 bpf_map__name(map));
		if (bpf_obj_pin(bpf_map__fd(map), path)) {
			err = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	mzri_warn("nf %s: cannot pin its maps under %s/%s: %s\n", name,
		  h->pin_root, dir, strerror(-err));
	mzri_nf_maps_unpin(h, name);
	return err;
}

/* Whether @bank holds a chain: packets that entered it may still run on
 * it until a grace period has passed since it stopped being active. */
static int bank_in_use(const struct mzr_host *h, __u32 bank, bool *in_use)
{
	unsigned int hook;
	__u32 len;
	int err;

	*in_use = false;
	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		err = cfg_get(h, MZR_CHAIN_CFG_LEN(bank, hook), &len);
		if (err)
			return err;
		if (len)
			*in_use = true;
	}
	return 0;
}

/*
 * Make the registry's chains live: write all of them into the inactive
 * bank, flip the bank with one u32 store, wait for a grace period, then
 * empty the old bank (releasing removed programs). @override_name's
 * program is @override_fd instead of its pin (replace in progress).
 */
/* Whether @c has an NF at a hook @is_hook picks. */
static bool chains_at(struct chains *c, bool (*is_hook)(unsigned int hook))
{
	unsigned int hook;

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++)
		if (is_hook(hook) && mzri_chain_len(c, hook))
			return true;
	return false;
}

int mzri_chains_publish(const struct mzr_host *h, struct chains *c,
			const char *override_name, int override_fd)
{
	int progs = mzri_fd(h, MZRI_MAP_PROGS);
	char path[PATH_MAX];
	unsigned int hook, pos, len;
	__u32 bank, next, slot;
	struct nf_rec *r;
	bool in_use, want_xdp, want_xdp_transit;
	int fd, err;

	err = cfg_get(h, MZR_CHAIN_CFG_BANK, &bank);
	if (err)
		return err;
	bank &= 1;
	next = !bank;
	/* The inactive bank is empty unless the grace period after the last
	 * flip could not be had (or an update was interrupted): then wait
	 * for one before emptying it, or leave it alone. */
	err = bank_in_use(h, next, &in_use);
	if (err)
		return err;
	if (in_use) {
		err = mzr_sync_grace_period();
		if (err) {
			mzri_warn("nf: packets may still run on bank %u and no "
				  "RCU grace period can be had (%s): chains "
				  "not updated\n", next, strerror(-err));
			return -EBUSY;
		}
	}
	bank_clear(h, next);

	for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
		len = mzri_chain_len(c, hook);
		for (pos = 0; pos < len; pos++) {
			r = mzri_rec_at(c, hook, pos);
			if (override_name && !strcmp(r->name, override_name)) {
				fd = override_fd;
			} else {
				mzri_nf_prog_pin_path(path, h->pin_root,
						      r->name);
				fd = bpf_obj_get(path);
				if (fd < 0) {
					err = -errno;
					mzri_warn("nf %s: pin %s: %s\n",
						  r->name, path,
						  strerror(-err));
					return err;
				}
			}
			slot = MZR_PROG_NF(next, hook, pos);
			err = bpf_map_update_elem(progs, &slot, &fd, BPF_ANY) ?
				      -errno :
				      0;
			if (fd != override_fd)
				close(fd);
			if (err) {
				mzri_warn("nf %s: cannot install in the "
					  "program array: %s\n",
					  r->name, strerror(-err));
				return err;
			}
		}
		err = cfg_set(h, MZR_CHAIN_CFG_LEN(next, hook), len);
		if (err)
			return err;
	}
	/* The XDP agent before a chain it must run goes live; the tc
	 * agent back after the last one went (agent_mode.c). */
	want_xdp = chains_at(c, mzri_agent_hook);
	if (want_xdp) {
		err = mzri_agents_sync(h, true);
		if (err)
			return err;
	}
	/* Likewise the XDP transit of a host attached in tc mode
	 * (transit_mode.c). */
	want_xdp_transit = chains_at(c, mzri_transit_hook);
	if (want_xdp_transit) {
		err = mzri_transit_sync(h, true);
		if (err)
			return err;
	}
	err = cfg_set(h, MZR_CHAIN_CFG_BANK, next);
	if (err)
		return err;
	if (!want_xdp)
		mzri_agents_sync(h, false);
	if (!want_xdp_transit)
		mzri_transit_sync(h, false);
	err = mzr_sync_grace_period();
	if (err) {
		/* The new chain is live; the old bank stays occupied until
		 * the next update has its grace period. */
		mzri_warn("nf: no RCU grace period (%s): bank %u kept\n",
			  strerror(-err), bank);
		return 0;
	}
	bank_clear(h, bank);
	return 0;
}

/*
 * Commit @c->recs: the registry first, then the chains. When publishing
 * fails the registry gets @saved back, so that it names what runs (the
 * old chains stay live until the bank flips, the last step of
 * mzri_chains_publish()).
 */
int mzri_chains_commit(const struct mzr_host *h, struct chains *c,
		       const struct nf_rec *saved, const char *override_name,
		       int override_fd)
{
	struct nf_rec *now;
	int err;

	err = mzri_registry_write(c);
	if (!err) {
		err = mzri_chains_publish(h, c, override_name, override_fd);
		if (!err)
			return 0;
	}
	now = malloc(sizeof(c->recs));
	if (now)
		memcpy(now, c->recs, sizeof(c->recs));
	memcpy(c->recs, saved, sizeof(c->recs));
	if (mzri_registry_write(c))
		mzri_warn("nf: cannot restore the registry under %s\n",
			  h->pin_root);
	if (now) {
		memcpy(c->recs, now, sizeof(c->recs));
		free(now);
	}
	return err;
}

/*
 * The kernel lets one packet make at most 33 tail calls (MAX_TAIL_CALL_CNT).
 * A chain of N NFs costs N + 1 (into each NF, then the continuation), and
 * one packet may run two chains in one XDP run: the agent's, then the
 * transit hook its hairpin or injection meets; the external chain, then
 * the transit hook an NF's injection meets; a transit hook, then deliver
 * (a reroute to a local endpoint). One more tail call between the two
 * (the injection) is counted for each. Beyond the limit a tail call fails:
 * every such packet would be dropped as a missed tail call. Three chains:
 * the agent's cross-network hairpin (agent-egress, divider, deliver), and
 * an injected packet whose transit hook reroutes it to a local endpoint.
 */
#define TAIL_CALL_LIMIT 33
#define HB(hook) (1U << MZR_HOOK_##hook)
static const __u32 chain_paths[] = {
	HB(AGENT_EGRESS) | HB(BOUNCER),	  HB(AGENT_EGRESS) | HB(DIVIDER),
	HB(AGENT_EGRESS) | HB(DELIVER),	  HB(EXTERNAL) | HB(BOUNCER),
	HB(EXTERNAL) | HB(DIVIDER),	  HB(EXTERNAL) | HB(DELIVER),
	HB(BOUNCER) | HB(DELIVER),	  HB(DIVIDER) | HB(DELIVER),
	HB(AGENT_EGRESS) | HB(BOUNCER) | HB(DELIVER),
	HB(AGENT_EGRESS) | HB(DIVIDER) | HB(DELIVER),
	HB(EXTERNAL) | HB(BOUNCER) | HB(DELIVER),
	HB(EXTERNAL) | HB(DIVIDER) | HB(DELIVER),
};

/* -E2BIG (logged) when some path through the chains of @c makes more
 * tail calls than the kernel allows. */
int mzri_chains_check_paths(struct chains *c, const char *what,
			    const char *name)
{
	unsigned int i, hook, calls, len, nfs;
	char chains[128];
	size_t off;

	for (i = 0; i < sizeof(chain_paths) / sizeof(chain_paths[0]); i++) {
		calls = 1;
		nfs = 0;
		off = 0;
		chains[0] = '\0';
		for (hook = 0; hook < __MZR_HOOK_MAX; hook++) {
			if (!(chain_paths[i] & (1U << hook)))
				continue;
			len = mzri_chain_len(c, hook);
			calls += len ? len + 1 : 0;
			nfs += len;
			off += snprintf(chains + off, sizeof(chains) - off,
					"%s%s (%u NFs)", off ? " and " : "",
					mzr_hook_name(hook), len);
			if (off >= sizeof(chains))
				off = sizeof(chains) - 1;
		}
		if (calls <= TAIL_CALL_LIMIT)
			continue;
		mzri_warn("%s %s: one packet can run the chains of %s: %u tail calls, more than the kernel's %d (%u NFs)\n",
			  what, name, chains, calls, TAIL_CALL_LIMIT, nfs);
		return -E2BIG;
	}
	return 0;
}

/* ---- Chain operations --------------------------------------------------- */
