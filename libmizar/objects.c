// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VPC and network objects: validation, then one map operation, so that a
 * failing call leaves the maps as they were. Also the map walking and the
 * network snapshot the endpoint code (ep.c, ep_batch.c) uses.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_priv.h"
#include "memcheck.h"
#include "objects.h"

int mzri_check_vni_loaded_arg(const struct mzr_host *h, const char *what,
			      uint32_t vni, bool arg_ok)
{
	int err = mzri_check_vni(what, vni);

	return err ? err : mzri_check_loaded_arg(h, what, arg_ok);
}

static int check_addrs(const char *what, const char *kind,
		       const struct in_addr *addrs, unsigned int n,
		       unsigned int max)
{
	char buf[INET_ADDRSTRLEN];
	unsigned int i, j;

	if (n > max) {
		mzri_warn("%s: %u %s, at most %u\n", what, n, kind, max);
		return -E2BIG;
	}
	if (n && !addrs) {
		mzri_warn("%s: %s list is NULL\n", what, kind);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!mzri_ip_valid(addrs[i])) {
			mzri_warn("%s: bad %s address %s\n", what, kind,
				  mzri_ntoa(addrs[i], buf));
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (addrs[j].s_addr == addrs[i].s_addr) {
				mzri_warn("%s: %s %s listed twice\n", what,
					  kind, mzri_ntoa(addrs[i], buf));
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* ---- Map walking -------------------------------------------------------- */

/* Double the room of map_dump's arrays; on failure both stay valid. */
static int map_dump_grow(char **keys, char **vals, size_t *cap, size_t ksz,
			 size_t vsz)
{
	char *nk, *nv;

	nk = realloc(*keys, *cap * 2 * ksz);
	if (!nk)
		return -ENOMEM;
	*keys = nk;
	nv = realloc(*vals, *cap * 2 * vsz);
	if (!nv)
		return -ENOMEM;
	*vals = nv;
	*cap *= 2;
	return 0;
}

/*
 * Read a whole hash or LPM map into arrays (batched where the kernel can).
 * Returns the number of entries or -errno; keys and vals are malloc'd.
 */
long mzri_map_dump(int fd, size_t ksz, size_t vsz, void **keys_out,
		   void **vals_out)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info), chunk, count, max_chunk = 8192;
	char *keys = NULL, *vals = NULL, kbuf[64];
	size_t cap, n = 0;
	void *prev = NULL;
	__u64 batch = 0;
	bool first = true;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	cap = info.max_entries ? info.max_entries : 1;
	/* Never more than the map holds; grow on demand for huge maps. */
	if (cap > 65536)
		cap = 65536;
	keys = malloc(cap * ksz);
	vals = malloc(cap * vsz);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (n == cap && (err = map_dump_grow(&keys, &vals, &cap, ksz,
						      vsz)))
			goto fail;
		chunk = count = cap - n < max_chunk ? cap - n : max_chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   keys + n * ksz, vals + n * vsz,
					   &count, NULL);
		first = false;
		if (err && errno != ENOENT) {
			err = -errno;
			if ((err == -EINVAL || err == -524 /* ENOTSUPP */ ||
			     err == -EOPNOTSUPP) && n == 0)
				goto slow;
			if (err == -ENOSPC) {
				/* The next hash bucket does not fit in the
				 * chunk (nothing was read): retry with all the
				 * room left, and with more room when that is
				 * not enough either (a big map's dump can end
				 * just short of the buffer's end).
				 */
				if (chunk < cap - n)
					max_chunk = cap - n;
				else if ((err = map_dump_grow(&keys, &vals,
							      &cap, ksz, vsz)))
					goto fail;
				continue;
			}
			goto fail;
		}
		mzri_kernel_wrote(keys + n * ksz, (size_t)count * ksz);
		mzri_kernel_wrote(vals + n * vsz, (size_t)count * vsz);
		n += count;
		if (err)
			break; /* ENOENT: done */
	}
	goto done;
slow:
	/* Maps without batch ops (LPM trie): key by key. */
	n = 0;
	while (!bpf_map_get_next_key(fd, prev, kbuf)) {
		if (n == cap && (err = map_dump_grow(&keys, &vals, &cap, ksz,
						      vsz)))
			goto fail;
		memcpy(keys + n * ksz, kbuf, ksz);
		prev = keys + n * ksz;
		if (bpf_map_lookup_elem(fd, kbuf, vals + n * vsz))
			continue; /* deleted under us */
		n++;
	}
done:
	*keys_out = keys;
	*vals_out = vals;
	return n;
fail:
	free(keys);
	free(vals);
	return err;
}

/* ---- VPCs --------------------------------------------------------------- */

static void vpc_to_info(uint32_t vni, const struct mzr_vpc_val *v,
			struct mzr_vpc_info *info)
{
	unsigned int i;

	memset(info, 0, sizeof(*info));
	info->vni = vni;
	info->n_dividers = v->n_dividers > MZR_MAX_DIVIDERS ? MZR_MAX_DIVIDERS :
							       v->n_dividers;
	for (i = 0; i < info->n_dividers; i++)
		info->dividers[i].s_addr = v->dividers[i];
}

static int vpc_put(struct mzr_host *h, const char *what, uint32_t vni,
		   const struct in_addr *dividers, unsigned int n,
		   __u64 flags)
{
	struct mzr_vpc_val v = {}, old = {};
	struct in_addr old_div[MZR_MAX_DIVIDERS];
	unsigned int i;
	int err;

	err = mzri_check_vni(what, vni);
	if (!err)
		err = check_addrs(what, "dividers", dividers, n,
				  MZR_MAX_DIVIDERS_PER_VPC);
	if (!err)
		err = mzri_check_loaded(h, what);
	if (err)
		return err;
	v.n_dividers = n;
	for (i = 0; i < n; i++)
		v.dividers[i] = dividers[i].s_addr;
	/* Dividers are known peers while named (peers.c). */
	if (flags == BPF_EXIST)
		bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &old);
	err = mzri_peers_ref(h, dividers, n);
	if (err)
		return err;
	if (!bpf_map_update_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &v, flags)) {
		for (i = 0; i < old.n_dividers && i < MZR_MAX_DIVIDERS; i++)
			old_div[i].s_addr = old.dividers[i];
		mzri_peers_unref(h, old_div, i);
		return 0;
	}
	err = mzri_map_err(-errno);
	mzri_peers_unref(h, dividers, n);
	if (err == -EEXIST)
		mzri_warn("%s: VPC %u already exists\n", what, vni);
	else if (err == -ENOENT)
		mzri_warn("%s: no VPC %u\n", what, vni);
	else if (err == -ENOSPC)
		mzri_warn("%s: VPC table full\n", what);
	else
		mzri_warn("%s: VPC %u: %s\n", what, vni, strerror(-err));
	return err;
}

static int vpc_create(struct mzr_host *h, uint32_t vni,
		      const struct in_addr *dividers, unsigned int n_dividers)
{
	return vpc_put(h, "vpc create", vni, dividers, n_dividers,
		       BPF_NOEXIST);
}

static int vpc_update(struct mzr_host *h, uint32_t vni,
		      const struct in_addr *dividers, unsigned int n_dividers)
{
	return vpc_put(h, "vpc update", vni, dividers, n_dividers, BPF_EXIST);
}

/* Whether VPC @vni has any network (walks the trie's keys). */
static bool vpc_has_networks(const struct mzr_host *h, uint32_t vni)
{
	struct mzr_net_key key, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(mzri_fd(h, MZRI_MAP_NETS), prev, &next)) {
		if (ntohl(next.vni) == vni)
			return true;
		key = next;
		prev = &key;
	}
	return false;
}

#define UNREF_MAX                                                              \
	(MZR_MAX_DIVIDERS > MZR_MAX_BOUNCERS ? MZR_MAX_DIVIDERS :              \
					       MZR_MAX_BOUNCERS)

/* The references a VPC held on its dividers, or a network on its
 * bouncers, as known peers: the first @n of @ips (at most @max). */
static void unref_peers(struct mzr_host *h, const __be32 *ips,
			unsigned int n, unsigned int max)
{
	struct in_addr a[UNREF_MAX];
	unsigned int i;

	for (i = 0; i < n && i < max && i < UNREF_MAX; i++)
		a[i].s_addr = ips[i];
	mzri_peers_unref(h, a, i);
}

static void vpc_unref_dividers(struct mzr_host *h, const struct mzr_vpc_val *v)
{
	unref_peers(h, v->dividers, v->n_dividers, MZR_MAX_DIVIDERS);
}

static int vpc_delete(struct mzr_host *h, uint32_t vni)
{
	struct mzr_vpc_val v;
	int err;

	err = mzri_check_vni_loaded(h, "vpc delete", vni);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &v)) {
		mzri_warn("vpc delete: no VPC %u\n", vni);
		return -ENOENT;
	}
	if (vpc_has_networks(h, vni)) {
		mzri_warn("vpc delete: VPC %u still has networks\n", vni);
		return -ENOTEMPTY;
	}
	if (bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni)) {
		err = -errno;
		mzri_warn("vpc delete: VPC %u: %s\n", vni, strerror(-err));
		return err;
	}
	vpc_unref_dividers(h, &v);
	return 0;
}

int mzr_vpc__get(const struct mzr_host *h, uint32_t vni,
		 struct mzr_vpc_info *info)
{
	struct mzr_vpc_val v;
	int err;

	err = mzri_check_vni_loaded_arg(h, "vpc get", vni, info);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &v)) {
		mzri_warn("vpc get: no VPC %u\n", vni);
		return -ENOENT;
	}
	vpc_to_info(vni, &v, info);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int mzr_vpc__for_each(const struct mzr_host *h,
		      int (*cb)(const struct mzr_vpc_info *info, void *ctx),
		      void *ctx)
{
	struct mzr_vpc_info info;
	struct mzr_vpc_val v;
	uint32_t *keys = NULL;
	void *vals = NULL;
	long n, i;
	int err;

	err = mzri_check_loaded_arg(h, "vpc for_each", cb);
	if (err)
		return err;
	n = mzri_map_dump(mzri_fd(h, MZRI_MAP_VPCS), sizeof(*keys), sizeof(v),
		     (void **)&keys, &vals);
	if (n < 0)
		return n;
	qsort(keys, n, sizeof(*keys), cmp_u32);
	for (i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &keys[i],
					&v))
			continue;
		vpc_to_info(keys[i], &v, &info);
		err = cb(&info, ctx);
	}
	free(keys);
	free(vals);
	return err;
}

/* ---- Networks ----------------------------------------------------------- */

struct mzr_net_key mzri_net_key(uint32_t vni, struct in_addr prefix,
				unsigned int len)
{
	struct mzr_net_key k = {
		.prefixlen = 32 + len,
		.vni = htonl(vni),
		.addr = prefix.s_addr,
	};
	return k;
}

/* Exact lookup: the trie answers longest-prefix matches. */
static int net_lookup_exact(const struct mzr_host *h, uint32_t vni,
			    struct in_addr prefix, unsigned int len,
			    struct mzr_net_val *v)
{
	struct mzr_net_key k = mzri_net_key(vni, prefix, len);

	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_NETS), &k, v))
		return -ENOENT;
	if (v->prefixlen != len || v->prefix != prefix.s_addr)
		return -ENOENT;
	return 0;
}

/* A loaded handle, then net_lookup_exact() with a log line when there is
 * no such network. */
static int net_find(const struct mzr_host *h, const char *what, uint32_t vni,
		    struct in_addr prefix, unsigned int len,
		    struct mzr_net_val *v)
{
	char buf[INET_ADDRSTRLEN];
	int err = mzri_check_loaded(h, what);

	if (err)
		return err;
	if (!net_lookup_exact(h, vni, prefix, len, v))
		return 0;
	mzri_warn("%s: no network %s/%u in VPC %u\n", what,
		  mzri_ntoa(prefix, buf), len, vni);
	return -ENOENT;
}

static void net_to_info(uint32_t vni, const struct mzr_net_val *v,
			struct mzr_net_info *info)
{
	unsigned int i;

	memset(info, 0, sizeof(*info));
	info->vni = vni;
	info->prefix.s_addr = v->prefix;
	info->prefixlen = v->prefixlen;
	info->gw.s_addr = v->gw;
	memcpy(info->gw_mac, v->gw_mac, 6);
	info->n_bouncers = v->n_bouncers > MZR_MAX_BOUNCERS ? MZR_MAX_BOUNCERS :
							       v->n_bouncers;
	for (i = 0; i < info->n_bouncers; i++)
		info->bouncers[i].s_addr = v->bouncers[i];
}

static int net_args(const char *what, uint32_t vni, struct in_addr prefix,
		    unsigned int len, const struct in_addr *bouncers,
		    unsigned int n)
{
	char buf[INET_ADDRSTRLEN];
	int err;

	err = mzri_check_vni(what, vni);
	if (err)
		return err;
	if (!mzri_prefix_valid(prefix, len)) {
		mzri_warn("%s: bad prefix %s/%u (host bits set or longer than /30)\n",
			  what, mzri_ntoa(prefix, buf), len);
		return -EINVAL;
	}
	if (!n) {
		mzri_warn("%s: network %s/%u needs at least one bouncer\n",
			  what, mzri_ntoa(prefix, buf), len);
		return -EDESTADDRREQ;
	}
	return check_addrs(what, "bouncers", bouncers, n,
			   MZR_MAX_BOUNCERS_PER_NET);
}

/*
 * Write network @v (prefix, length and gateway set) of VPC @vni with
 * @bouncers, which are known peers while named (peers.c): a reference on
 * each first, dropped again when the map refuses the entry.
 */
static int net_write(struct mzr_host *h, const char *what, uint32_t vni,
		     struct mzr_net_val *v, const struct in_addr *bouncers,
		     unsigned int n_bouncers, __u64 flags)
{
	struct in_addr prefix = { .s_addr = v->prefix };
	char buf[INET_ADDRSTRLEN];
	struct mzr_net_key key;
	unsigned int i;
	int err;

	memset(v->bouncers, 0, sizeof(v->bouncers));
	v->n_bouncers = n_bouncers;
	for (i = 0; i < n_bouncers; i++)
		v->bouncers[i] = bouncers[i].s_addr;
	key = mzri_net_key(vni, prefix, v->prefixlen);
	err = mzri_peers_ref(h, bouncers, n_bouncers);
	if (err)
		return err;
	if (!bpf_map_update_elem(mzri_fd(h, MZRI_MAP_NETS), &key, v, flags))
		return 0;
	err = mzri_map_err(-errno);
	mzri_peers_unref(h, bouncers, n_bouncers);
	if (err == -ENOSPC)
		mzri_warn("%s: network table full\n", what);
	else
		mzri_warn("%s: %s/%u: %s\n", what, mzri_ntoa(prefix, buf),
			  v->prefixlen, strerror(-err));
	return err;
}

static int net_create(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		      unsigned int len, const struct in_addr *bouncers,
		      unsigned int n_bouncers, const struct mzr_net_opts *opts)
{
	const char *what = "net create";
	char buf[INET_ADDRSTRLEN], buf2[INET_ADDRSTRLEN];
	struct mzr_net_key key, next;
	struct mzr_net_val v = {}, old;
	struct mzr_vpc_val vpc;
	struct in_addr gw;
	void *prev = NULL;
	int err;

	err = net_args(what, vni, prefix, len, bouncers, n_bouncers);
	if (err)
		return err;
	if (!MZRI_OPTS_VALID(opts, mzr_net_opts))
		return -EINVAL;
	gw = MZRI_OPTS_GET(opts, gw, (struct in_addr){ 0 });
	if (!gw.s_addr) {
		gw = mzri_first_host(prefix, len);
	} else if (!mzri_prefix_contains(prefix, len, gw) ||
		   mzri_is_net_or_bcast(prefix, len, gw)) {
		mzri_warn("%s: gateway %s is not a host address of %s/%u\n",
			  what, mzri_ntoa(gw, buf), mzri_ntoa(prefix, buf2),
			  len);
		return -EINVAL;
	}
	err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &vpc)) {
		mzri_warn("%s: no VPC %u\n", what, vni);
		return -ENOENT;
	}
	if (!net_lookup_exact(h, vni, prefix, len, &old)) {
		mzri_warn("%s: network %s/%u already exists in VPC %u\n", what,
			  mzri_ntoa(prefix, buf), len, vni);
		return -EEXIST;
	}
	while (!bpf_map_get_next_key(mzri_fd(h, MZRI_MAP_NETS), prev, &next)) {
		struct in_addr other = { .s_addr = next.addr };

		if (ntohl(next.vni) == vni &&
		    mzri_prefix_overlap(prefix, len, other,
					next.prefixlen - 32)) {
			mzri_warn("%s: %s/%u overlaps network %s/%u of VPC %u\n",
				  what, mzri_ntoa(prefix, buf), len,
				  mzri_ntoa(other, buf2), next.prefixlen - 32,
				  vni);
			return -EADDRINUSE;
		}
		key = next;
		prev = &key;
	}

	v.prefix = prefix.s_addr;
	v.prefixlen = len;
	v.gw = gw.s_addr;
	mzri_gw_mac(gw, v.gw_mac);
	return net_write(h, what, vni, &v, bouncers, n_bouncers, BPF_NOEXIST);
}

static void net_unref_bouncers(struct mzr_host *h, const struct mzr_net_val *v)
{
	unref_peers(h, v->bouncers, v->n_bouncers, MZR_MAX_BOUNCERS);
}

static int net_update(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		      unsigned int len, const struct in_addr *bouncers,
		      unsigned int n_bouncers)
{
	const char *what = "net update";
	struct mzr_net_val v, old;
	int err;

	err = net_args(what, vni, prefix, len, bouncers, n_bouncers);
	if (!err)
		err = net_find(h, what, vni, prefix, len, &v);
	if (err)
		return err;
	old = v;
	err = net_write(h, what, vni, &v, bouncers, n_bouncers, BPF_EXIST);
	if (!err)
		net_unref_bouncers(h, &old);
	return err;
}

static int net_delete(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		      unsigned int len)
{
	const char *what = "net delete";
	char buf[INET_ADDRSTRLEN], buf2[INET_ADDRSTRLEN];
	struct mzr_ep_key *keys = NULL;
	struct mzr_net_key key;
	struct mzr_net_val v;
	void *vals = NULL;
	long n, i;
	int err;

	err = mzri_check_vni(what, vni);
	if (err)
		return err;
	if (!mzri_prefix_valid(prefix, len)) {
		mzri_warn("%s: bad prefix %s/%u\n", what,
			  mzri_ntoa(prefix, buf), len);
		return -EINVAL;
	}
	err = net_find(h, what, vni, prefix, len, &v);
	if (err)
		return err;
	n = mzri_map_dump(mzri_fd(h, MZRI_MAP_EPS), sizeof(*keys),
		     sizeof(struct mzr_ep_val), (void **)&keys, &vals);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		struct in_addr ip = { .s_addr = keys[i].ip };

		if (keys[i].vni == vni &&
		    mzri_prefix_contains(prefix, len, ip)) {
			mzri_warn("%s: network %s/%u still holds endpoint %s\n",
				  what, mzri_ntoa(prefix, buf), len,
				  mzri_ntoa(ip, buf2));
			err = -ENOTEMPTY;
			break;
		}
	}
	free(keys);
	free(vals);
	if (err)
		return err;
	key = mzri_net_key(vni, prefix, len);
	if (bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_NETS), &key)) {
		err = -errno;
		mzri_warn("%s: %s/%u: %s\n", what, mzri_ntoa(prefix, buf), len,
			  strerror(-err));
		return err;
	}
	net_unref_bouncers(h, &v);
	return 0;
}

int mzr_net__get(const struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		 unsigned int len, struct mzr_net_info *info)
{
	struct mzr_net_val v;
	int err;

	err = mzri_check_vni_loaded_arg(h, "net get", vni, info && len <= 32);
	if (err)
		return err;
	err = net_find(h, "net get", vni, prefix, len, &v);
	if (err)
		return err;
	net_to_info(vni, &v, info);
	return 0;
}

static int cmp_net(const void *a, const void *b)
{
	const struct net_ent *x = a, *y = b;

	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

long mzri_net_snapshot(const struct mzr_host *h, struct net_ent **out)
{
	struct mzr_net_key *keys = NULL;
	struct mzr_net_val *vals = NULL;
	struct net_ent *ents;
	long n, i;

	n = mzri_map_dump(mzri_fd(h, MZRI_MAP_NETS), sizeof(*keys), sizeof(*vals),
		     (void **)&keys, (void **)&vals);
	if (n < 0)
		return n;
	ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		uint32_t len = keys[i].prefixlen - 32;

		ents[i].vni = ntohl(keys[i].vni);
		ents[i].first = ntohl(keys[i].addr) & mzri_mask(len);
		ents[i].last = ents[i].first | ~mzri_mask(len);
		ents[i].val = vals[i];
	}
	qsort(ents, n, sizeof(*ents), cmp_net);
	free(keys);
	free(vals);
	*out = ents;
	return n;
}

int mzr_net__for_each(const struct mzr_host *h, uint32_t vni,
		      int (*cb)(const struct mzr_net_info *info, void *ctx),
		      void *ctx)
{
	struct mzr_net_info info;
	struct net_ent *ents;
	long n, i;
	int err;

	err = mzri_check_loaded_arg(h, "net for_each", cb);
	if (err)
		return err;
	n = mzri_net_snapshot(h, &ents);
	if (n < 0)
		return n;
	for (i = 0; i < n && !err; i++) {
		if (vni && ents[i].vni != vni)
			continue;
		net_to_info(ents[i].vni, &ents[i].val, &info);
		err = cb(&info, ctx);
	}
	free(ents);
	return err;
}

/* The network of @ents (sorted) holding (vni, ip), or NULL. */
const struct net_ent *mzri_net_find(const struct net_ent *ents, long n,
				    uint32_t vni, struct in_addr ip)
{
	uint32_t a = ntohl(ip.s_addr);
	long lo = 0, hi = n - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (ents[mid].vni < vni ||
		    (ents[mid].vni == vni && ents[mid].last < a))
			lo = mid + 1;
		else if (ents[mid].vni > vni || ents[mid].first > a)
			hi = mid - 1;
		else
			return &ents[mid];
	}
	return NULL;
}

/* ---- Locked entry points ----------------------------------------------- */

/*
 * Each writer holds the pin root lock (lock.c) across its checks and its
 * writes, so that a VPC deleted while a network of it is created, a
 * network deleted while an endpoint joins it, or two overlapping networks
 * created at once cannot both pass their checks.
 */
int mzr_vpc__create(struct mzr_host *h, uint32_t vni,
		    const struct in_addr *dividers, unsigned int n_dividers)
{
	return MZRI_LOCKED(h, false, vpc_create(h, vni, dividers, n_dividers));
}

int mzr_vpc__create_opts(struct mzr_host *h, uint32_t vni,
			 const struct mzr_vpc_opts *opts)
{
	if (!MZRI_OPTS_VALID(opts, mzr_vpc_opts))
		return -EINVAL;
	return mzr_vpc__create(h, vni, MZRI_OPTS_GET(opts, dividers, NULL),
			       MZRI_OPTS_GET(opts, n_dividers, 0));
}

int mzr_vpc__update(struct mzr_host *h, uint32_t vni,
		    const struct in_addr *dividers, unsigned int n_dividers)
{
	return MZRI_LOCKED(h, false, vpc_update(h, vni, dividers, n_dividers));
}

int mzr_vpc__delete(struct mzr_host *h, uint32_t vni)
{
	return MZRI_LOCKED(h, false, vpc_delete(h, vni));
}

int mzr_net__create(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		    unsigned int len, const struct in_addr *bouncers,
		    unsigned int n_bouncers, const struct mzr_net_opts *opts)
{
	return MZRI_LOCKED(h, false, net_create(h, vni, prefix, len, bouncers,
						n_bouncers, opts));
}

int mzr_net__update(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		    unsigned int len, const struct in_addr *bouncers,
		    unsigned int n_bouncers)
{
	return MZRI_LOCKED(h, false, net_update(h, vni, prefix, len, bouncers,
						n_bouncers));
}

int mzr_net__delete(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		    unsigned int len)
{
	return MZRI_LOCKED(h, false, net_delete(h, vni, prefix, len));
}
