/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The transit program under libxdp's dispatcher (dispatcher.c). Layer:
 * above core_obj.c; attach.c and host.c (reset) call it.
 */
#ifndef MZR_DISPATCHER_H
#define MZR_DISPATCHER_H

#include <mizar/host.h>

struct mzr_host;

/*
 * Attach a second instance of the transit program as an extension of the
 * dispatcher on @ifindex (0 when ours is there already). -EOPNOTSUPP: no
 * dispatcher can run it here; the caller attaches plainly.
 */
int mzri_dispatcher_attach(struct mzr_host *h, int ifindex,
			   enum mzr_xdp_mode want, const char *ifname);

/* Remove our transit program (that of the back-plane whose mzr_host is
 * @host_map_fd) from the dispatcher on @ifindex; 0 when not there. */
int mzri_dispatcher_detach(int ifindex, int host_map_fd);

#endif /* MZR_DISPATCHER_H */
