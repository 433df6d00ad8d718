/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pin root (pins.c). Layer: above core_obj.c (names of the maps and
 * programs) and pinroot_ns.c; host.c and lock.c call it, it calls neither.
 */
#ifndef MZR_PINS_H
#define MZR_PINS_H

#include <stdbool.h>

struct mzr_host;

/* @h's pin root, /@kind, then /@name unless NULL, into @buf (PATH_MAX);
 * -ENAMETOOLONG when it does not fit. */
int mzri_pin_path(char *buf, const struct mzr_host *h, const char *kind,
		  const char *name);

/* Pin @h's freshly loaded maps and programs into place (maps/mzr_host,
 * what marks a back-plane, last); on failure nothing of it is left. */
int mzri_pin_into_place(struct mzr_host *h);

/* mkdir -p @path (mode 0700); *@created (unless NULL): whether its last
 * component was made by this call. 0 or -errno. */
int mzri_mkdir_p(const char *path, bool *created);

/* Remove every pin directory of a back-plane under @root, and @root when
 * left empty. */
int mzri_remove_pins(const char *root);

#endif /* MZR_PINS_H */
