/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Umbrella header for userspace users of libmizar.
 */
#ifndef MIZAR_MIZAR_H
#define MIZAR_MIZAR_H

#include <mizar/abi.h>
#include <mizar/common.h>
#include <mizar/host.h>
#include <mizar/netdev.h>
#include <mizar/nf.h>
#include <mizar/tables.h>
#include <mizar/vpc_peering.h>
#include <mizar/trace.h>

#endif /* MIZAR_MIZAR_H */
