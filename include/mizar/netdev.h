/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A network device's view of libmizar: the back-plane programs attached to
 * it, found by what they are (name and maps) rather than by pins, so that
 * an orphaned attachment (its bpffs unmounted, its pin root lost) can
 * still be found and removed.
 */
#ifndef MIZAR_NETDEV_H
#define MIZAR_NETDEV_H

#include <mizar/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Count the libmizar back-plane programs attached to @p ifname, of
 * any pin root: XDP (netlink, bpf_link or under libxdp's dispatcher), tc
 * ingress/egress filters at libmizar's handle, tcx. A program is ours when
 * its name starts with "mzr_" and it uses a map whose name does; anybody
 * else's program is never counted.
 * @param ifname interface name in the caller's network namespace
 * @return the number of programs (0 or more); -ENODEV: no such interface;
 * -EINVAL: @p ifname is NULL; other -errno from the kernel.
 */
MZR_API int mzr_netdev_attached(const char *ifname);

/**
 * @brief Detach every libmizar back-plane program from @p ifname (what
 * mzr_netdev_attached() counts), whatever pin root it belongs to, even when
 * its pins are gone. Programs of others stay attached; an empty clsact
 * qdisc stays too (others may own it).
 * @param ifname interface name in the caller's network namespace
 * @param removed out, may be NULL: how many programs were detached
 * @return 0 when none of ours is left; -ENODEV: no such interface;
 * -EINVAL: @p ifname is NULL; -EBUSY: one of ours could not be detached
 * (logged); other -errno from the kernel.
 */
MZR_API int mzr_netdev_reset(const char *ifname, unsigned int *removed);

#ifdef __cplusplus
}
#endif

#endif /* MIZAR_NETDEV_H */
