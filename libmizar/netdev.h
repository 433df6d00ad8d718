/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Interfaces (netdev.c): sysctls, ioctls and attaching programs by
 * netlink. The bottom layer: no host handle; it reads only the core's
 * program names (core_obj.c) and logs.
 */
#ifndef MZR_NETDEV_H
#define MZR_NETDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include <mizar/host.h>

/*
 * Attach @prog_fd to @ifindex with bpf_xdp_attach (netlink: the program
 * stays attached when this process dies). @want: AUTO tries native then
 * generic. Succeeds without change when @prog_fd's program is already
 * there; -EBUSY when another program is. @mode_out: the mode in use.
 */
int mzri_xdp_attach(int ifindex, int prog_fd, enum mzr_xdp_mode want,
		    enum mzr_xdp_mode *mode_out, const char *ifname);

/* Detach from @ifindex whatever XDP program has id of @prog_fd (any mode);
 * 0 when none of ours is attached. */
int mzri_xdp_detach(int ifindex, int prog_fd);

/*
 * The tc program mzr_neigh (@prog_fd) on @ifindex's clsact ingress, as the
 * filter of handle MZRI_TC_HANDLE, priority MZRI_TC_PRIO (netlink: it
 * stays when this process dies). The clsact qdisc is created when absent.
 * Succeeds without change when the program is already there; a stale
 * mzr_neigh there (an earlier load) is replaced; -EBUSY when another
 * program holds the slot. *@undo_out (MZRI_TC_*) says what this call
 * did, for mzri_tc_undo().
 */
#define MZRI_TC_HANDLE 0x4d5a /* "MZ" */
#define MZRI_TC_PRIO 1
#define MZRI_TC_ATTACHED 0x1	/* this call attached the filter */
#define MZRI_TC_QDISC 0x2	/* this call created the clsact qdisc */
int mzri_tc_attach(int ifindex, int prog_fd, const char *ifname,
		   int *undo_out);

/* Undo what mzri_tc_attach() did (@undo: its *undo_out) on an error path:
 * our filter, and the clsact qdisc if that call created it. */
void mzri_tc_undo(int ifindex, int prog_fd, int undo);

/*
 * Remove our filter from @ifindex's tc ingress: the one whose program has
 * the id of @prog_fd or, when @prog_fd < 0 (no pinned program to compare
 * with), the one named mzr_neigh. Other filters and the clsact qdisc stay
 * (others may use the qdisc). 0 when there is none of ours.
 */
int mzri_tc_detach(int ifindex, int prog_fd);

/* Whether @prog_fd's program is attached to @ifindex by netlink. */
bool mzri_xdp_plain_attached(int ifindex, int prog_fd);

/* Write @val into /proc/sys/@path; 0 or -errno. */
int mzri_sysctl_write(const char *path, const char *val);

/* Write @val into net/ipv4/conf/@ifname/@knob; 0 or -errno. */
int mzri_if_sysctl(const char *ifname, const char *knob, const char *val);

/* Interface MAC (6 bytes) and MTU. */
int mzri_if_hwaddr(const char *ifname, uint8_t mac[6]);
int mzri_if_mtu(const char *ifname, unsigned int *mtu);

/* The first IPv4 address of @ifname; -EADDRNOTAVAIL when it has none. */
int mzri_if_primary_ipv4(const char *ifname, struct in_addr *ip);

#endif /* MZR_NETDEV_H */
