// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mizar/common.h>

#include "internal.h"

static int default_print(enum mzr_print_level level, const char *fmt,
			 va_list args)
{
	if (level == MZR_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static mzr_print_fn_t print_fn = default_print;

mzr_print_fn_t mzr_set_print(mzr_print_fn_t fn)
{
	mzr_print_fn_t old = print_fn;

	print_fn = fn;
	return old;
}

void mzri_log(enum mzr_print_level level, const char *fmt, ...)
{
	mzr_print_fn_t fn = print_fn;
	va_list args;
	int saved = errno;

	if (!fn)
		return;
	va_start(args, fmt);
	fn(level, fmt, args);
	va_end(args);
	errno = saved;
}

int mzr_strerror(int err, char *buf, size_t size)
{
	const char *msg;

	if (!buf || !size)
		return -EINVAL;
	if (err < 0)
		err = -err;
	switch (err) {
	case EADDRNOTAVAIL:
		msg = "Address not available (outside every network, or none on the interface)";
		break;
	case EADDRINUSE:
		msg = "Address already in use (overlapping network or gateway address)";
		break;
	case ENOTEMPTY:
		msg = "Object still has dependent objects";
		break;
	case ENOSPC:
		msg = "Table full";
		break;
	case EDESTADDRREQ:
		msg = "Network needs at least one bouncer";
		break;
	default:
		msg = NULL;
	}
	if (msg) {
		snprintf(buf, size, "%s", msg);
		return 0;
	}
	/* strerror_r flavours differ (GNU vs XSI); strerror is enough here. */
	snprintf(buf, size, "%s", strerror(err));
	return 0;
}

bool mzri_opts_valid(const void *opts, size_t user_sz, size_t known_sz,
		     const char *type_name)
{
	const char *p = opts;
	size_t i;

	if (user_sz < sizeof(size_t)) {
		mzri_warn("%s: sz %zu is too small\n", type_name, user_sz);
		return false;
	}
	for (i = known_sz; i < user_sz; i++) {
		if (p[i]) {
			mzri_warn("%s has non-zero bytes past what this libmizar knows (offset %zu)\n",
				  type_name, i);
			return false;
		}
	}
	return true;
}
