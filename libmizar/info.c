// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Size-carrying getters (as bpf_obj_get_info_by_fd()): the plain getter
 * into the library's struct, then as much of it as the caller's struct
 * holds, so that an *_info struct can grow (docs/abi-policy.md).
 */
#include <errno.h>
#include <string.h>

#include <mizar/host.h>

/* Copy @full (@full_sz bytes) into the caller's @info of *@len bytes:
 * the common prefix, zeros past ours; *@len becomes what was filled. */
static int info_out(void *info, size_t *len, const void *full,
		    size_t full_sz, int err)
{
	size_t n;

	if (err)
		return err;
	n = *len < full_sz ? *len : full_sz;
	memcpy(info, full, n);
	if (*len > full_sz)
		memset((char *)info + full_sz, 0, *len - full_sz);
	*len = n;
	return 0;
}

int mzr_host__get_info(const struct mzr_host *h, struct mzr_host_info *info,
		       size_t *info_len)
{
	struct mzr_host_info full;

	if (!info || !info_len)
		return -EINVAL;
	return info_out(info, info_len, &full, sizeof(full),
			mzr_host__info(h, &full));
}

int mzr_vpc__get_info(const struct mzr_host *h, uint32_t vni,
		      struct mzr_vpc_info *info, size_t *info_len)
{
	struct mzr_vpc_info full;

	if (!info || !info_len)
		return -EINVAL;
	return info_out(info, info_len, &full, sizeof(full),
			mzr_vpc__get(h, vni, &full));
}

int mzr_net__get_info(const struct mzr_host *h, uint32_t vni,
		      struct in_addr prefix, unsigned int prefixlen,
		      struct mzr_net_info *info, size_t *info_len)
{
	struct mzr_net_info full;

	if (!info || !info_len)
		return -EINVAL;
	return info_out(info, info_len, &full, sizeof(full),
			mzr_net__get(h, vni, prefix, prefixlen, &full));
}

int mzr_ep__get_info(const struct mzr_host *h, uint32_t vni,
		     struct in_addr ip, struct mzr_ep_info *info,
		     size_t *info_len)
{
	struct mzr_ep_info full;

	if (!info || !info_len)
		return -EINVAL;
	return info_out(info, info_len, &full, sizeof(full),
			mzr_ep__get(h, vni, ip, &full));
}
