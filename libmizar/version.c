// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <mizar/common.h>

#define MZR_STR_(x) #x
#define MZR_STR(x) MZR_STR_(x)

const char *mzr_version_string(void)
{
	return MZR_STR(MZR_VERSION_MAJOR) "." MZR_STR(
		MZR_VERSION_MINOR) "." MZR_STR(MZR_VERSION_PATCH);
}

unsigned int mzr_version_major(void)
{
	return MZR_VERSION_MAJOR;
}

unsigned int mzr_version_minor(void)
{
	return MZR_VERSION_MINOR;
}
