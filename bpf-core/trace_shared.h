/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The trace ABI moved to <mizar/trace_abi.h>: NFs emit drop events too. */
#ifndef MZR_CORE_TRACE_SHARED_H
#define MZR_CORE_TRACE_SHARED_H

#include <mizar/trace_abi.h>

#endif /* MZR_CORE_TRACE_SHARED_H */
