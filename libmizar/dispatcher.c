// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attaching the transit program under libxdp's dispatcher (an freplace
 * extension bound to the back-plane's maps), and detaching it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "host_priv.h"
#include "dispatcher.h"
#include "mzr_core_bpf.skel.h"

/* ---- Attach through libxdp's dispatcher ---------------------------------- */

static __u32 fd_map_id(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(map_fd, &info, &len) ? 0 : info.id;
}

/* Whether program @prog_fd uses the map of id @map_id. */
static bool prog_uses_map(int prog_fd, __u32 map_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], i;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return false;
	for (i = 0; i < info.nr_map_ids && i < 64; i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

/*
 * Can a program loaded with expected_attach_type 0 tail-call through
 * mzr_progs? An freplace (BPF_PROG_TYPE_EXT) program, which is what
 * libxdp turns a component of its dispatcher into, must be loaded with 0,
 * while the programs owning mzr_progs (the core's, NFs) are BPF_XDP.
 * Since "bpf: Enforce expected_attach_type for tailcall compatibility"
 * (Linux 6.17, and stable backports), a prog array refuses a program whose
 * expected attach type differs from its owner's: the kernel refuses the
 * transit program at load (-EINVAL from bpf_check_tail_call(), no
 * verifier message). This probe asks the kernel exactly that.
 */
static int probe_ext_tail_call(int progs_fd)
{
	struct bpf_insn insns[] = {
		/* r2 = mzr_progs; r3 = 0; tail_call(ctx, r2, r3) */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = progs_fd },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "mzr_ext_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Our transit program among the components of the dispatcher on
 * @ifindex (by name, and using this back-plane's mzr_host). */
static struct xdp_program *dispatcher_find(struct xdp_multiprog *mp,
					   __u32 host_map_id)
{
	struct xdp_program *p;

	if (!mp || libxdp_get_error(mp) || xdp_multiprog__is_legacy(mp))
		return NULL;
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p),
			    mzri_prog_names[MZRI_PROG_TRANSIT]) &&
		    prog_uses_map(xdp_program__fd(p), host_map_id))
			return p;
	return NULL;
}

/* Remove our transit program from the dispatcher on @ifindex (the
 * dispatcher goes with its last program); 0 when it is not there. */
int mzri_dispatcher_detach(int ifindex, int host_map_fd)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err = 0;

	if (host_map_fd < 0)
		return 0;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		return 0;
	p = dispatcher_find(mp, fd_map_id(host_map_fd));
	if (p)
		err = xdp_program__detach(p, ifindex,
					  xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}

/*
 * Load a second instance of the transit program as an freplace extension
 * of libxdp's dispatcher, bound to this back-plane's maps (those of the
 * pinned transit program, mzr_scratch_map included), and attach it. libxdp
 * pins the dispatcher's link under <bpffs>/xdp (LIBXDP_BPFFS), so the
 * attachment survives this process as a netlink one does.
 * -EOPNOTSUPP: no dispatcher here (the caller attaches plainly).
 */
int mzri_dispatcher_attach(struct mzr_host *h, int ifindex,
			   enum mzr_xdp_mode want, const char *ifname)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo);
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi), ids[64], i, host_id;
	struct mzr_core_bpf *skel = NULL;
	struct xdp_program *xp = NULL;
	struct xdp_multiprog *mp;
	struct bpf_program *prog;
	struct bpf_map *map;
	int err, fd, fds[64], n_fds = 0;
	bool legacy;

	host_id = fd_map_id(h->map_fds[MZRI_MAP_HOST]);
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (mp && !libxdp_get_error(mp)) {
		bool ours = dispatcher_find(mp, host_id) != NULL;

		xdp_multiprog__close(mp);
		if (ours)
			return 0; /* attached already */
	}
	err = probe_ext_tail_call(h->map_fds[MZRI_MAP_PROGS]);
	if (err) {
		mzri_info("%s: no XDP dispatcher: an extension program cannot tail-call through mzr_progs (its expected attach type must be 0, mzr_progs' owner has BPF_XDP: %s); attaching plainly\n",
			  ifname, strerror(-err));
		return -EOPNOTSUPP;
	}

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(h->prog_fds[MZRI_PROG_TRANSIT], &pi, &len))
		return -errno;
	skel = mzri_core_open();
	if (!skel)
		return -errno;
	for (i = 0; i < pi.nr_map_ids && i < 64; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd >= 0)
			fds[n_fds++] = fd;
	}
	bpf_object__for_each_map(map, skel->obj) {
		struct bpf_map_info mi;
		int reuse = -1, k;

		for (k = 0; k < n_fds && reuse < 0; k++) {
			memset(&mi, 0, sizeof(mi));
			len = sizeof(mi);
			if (!bpf_obj_get_info_by_fd(fds[k], &mi, &len) &&
			    !strncmp(mi.name, bpf_map__name(map),
				     sizeof(mi.name) - 1))
				reuse = fds[k];
		}
		err = reuse >= 0 ? bpf_map__reuse_fd(map, reuse) :
				   bpf_map__set_autocreate(map, false);
		if (err)
			goto out;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.mzr_transit);
	xo.obj = skel->obj;
	xo.prog_name = mzri_prog_names[MZRI_PROG_TRANSIT];
	xp = xdp_program__create(&xo);
	err = libxdp_get_error(xp);
	if (err) {
		xp = NULL;
		goto out;
	}
	err = -EOPNOTSUPP;
	if (want != MZR_XDP_MODE_GENERIC)
		err = xdp_program__attach(xp, ifindex, XDP_MODE_NATIVE, 0);
	if (err && want != MZR_XDP_MODE_NATIVE && err != -EBUSY &&
	    err != -EEXIST)
		err = xdp_program__attach(xp, ifindex, XDP_MODE_SKB, 0);
	if (err)
		goto out;
	/* libxdp falls back to a plain attach by itself when the kernel
	 * cannot run its dispatcher: undo that, ours is the pinned one. */
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	legacy = !mp || libxdp_get_error(mp) || xdp_multiprog__is_legacy(mp);
	if (mp && !libxdp_get_error(mp))
		xdp_multiprog__close(mp);
	if (legacy) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, a,
			    .old_prog_fd = xdp_program__fd(xp));
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, &a);
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, &a);
		err = -EOPNOTSUPP;
	}
out:
	if (err)
		mzri_info("%s: no XDP dispatcher (%s); attaching plainly\n",
			  ifname, strerror(err < 0 ? -err : err));
	xdp_program__close(xp);
	mzr_core_bpf__destroy(skel);
	while (n_fds)
		close(fds[--n_fds]);
	return err ? -EOPNOTSUPP : 0;
}
