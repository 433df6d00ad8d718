/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The declaration an NF object carries so that the loader can check, before
 * the kernel sees it, that the object was built against a context layout
 * this library serves (docs/nf-abi.md). Shared by BPF and userspace.
 */
#ifndef MIZAR_NF_ABI_H
#define MIZAR_NF_ABI_H

#include <linux/types.h>
#include <mizar/abi.h>

/* ELF section holding one struct mzr_nf_decl (emitted by MZR_NF_DECLARE). */
#define MZR_NF_DECL_SEC ".mizar_nf"
#define MZR_NF_MAGIC 0x464e5a4dU /* "MZNF" in little-endian bytes */
#define MZR_NF_DECL_VERSION 1
#define MZR_NF_NAME_MAX 32 /* including the terminating NUL */

/* Oldest context version this library still serves. */
#define MZR_CTX_VERSION_MIN 1

/*
 * Layout of the .mizar_nf section. Fields are in the object's byte order
 * (always the host's: BPF objects are built for the host). Append only.
 */
struct mzr_nf_decl {
	__u32 magic;	     /* MZR_NF_MAGIC */
	__u16 decl_version;  /* MZR_NF_DECL_VERSION */
	__u16 ctx_version;   /* MZR_CTX_VERSION the NF was built against */
	__u16 ctx_len;	     /* sizeof(struct mzr_ctx) it was built against */
	__u16 flags;	     /* reserved, 0 */
	__u32 reserved;
	char name[MZR_NF_NAME_MAX]; /* informative: the NF's own name */
};

#endif /* MIZAR_NF_ABI_H */
