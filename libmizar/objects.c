// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VPC, network and endpoint objects: validation, then one map operation
 * (or a batch), so that a failing call leaves the maps as they were.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core.h"
#include "memcheck.h"

/* ---- Pure address logic ------------------------------------------------- */

const char *mzri_ntoa(struct in_addr ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

bool mzri_prefix_valid(struct in_addr prefix, unsigned int len)
{
	if (len > 30)
		return false;
	return !(ntohl(prefix.s_addr) & ~mzri_mask(len));
}

bool mzri_prefix_contains(struct in_addr prefix, unsigned int len,
			  struct in_addr ip)
{
	uint32_t m = mzri_mask(len > 32 ? 32 : len);

	return (ntohl(ip.s_addr) & m) == (ntohl(prefix.s_addr) & m);
}

bool mzri_prefix_overlap(struct in_addr a, unsigned int alen,
			 struct in_addr b, unsigned int blen)
{
	/* Two prefixes overlap iff the shorter one contains the other. */
	return alen <= blen ? mzri_prefix_contains(a, alen, b) :
			      mzri_prefix_contains(b, blen, a);
}

struct in_addr mzri_first_host(struct in_addr prefix, unsigned int len)
{
	struct in_addr gw;

	gw.s_addr = htonl((ntohl(prefix.s_addr) & mzri_mask(len)) + 1);
	return gw;
}

void mzri_gw_mac(struct in_addr gw, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	memcpy(&mac[2], &gw.s_addr, 4);
}

bool mzri_mac_valid(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6);
}

bool mzri_ip_valid(struct in_addr ip)
{
	uint32_t a = ntohl(ip.s_addr);

	return a && a != 0xffffffffU && (a >> 28) != 0xe && (a >> 24) != 127;
}

/* Network address or broadcast of prefix/len (not usable by hosts). */
static bool is_net_or_bcast(struct in_addr prefix, unsigned int len,
			    struct in_addr ip)
{
	uint32_t m = mzri_mask(len), a = ntohl(ip.s_addr);

	return (a & ~m) == 0 || (a & ~m) == ~m;
}

static int check_vni(const char *what, uint32_t vni)
{
	if (mzri_vni_valid(vni))
		return 0;
	mzr_warn("%s: VNI %u out of range (1-%u)\n", what, vni, MZR_VNI_MAX);
	return -ERANGE;
}

/* What a call on an existing object checks first: the VNI, then that the
 * host's datapath is loaded. */
static int check_vni_loaded(const struct mzr_host *h, const char *what,
			    uint32_t vni)
{
	int err = check_vni(what, vni);

	return err ? err : mzri_check_loaded(h, what);
}

static int check_addrs(const char *what, const char *kind,
		       const struct in_addr *addrs, unsigned int n,
		       unsigned int max)
{
	char buf[INET_ADDRSTRLEN];
	unsigned int i, j;

	if (n > max) {
		mzr_warn("%s: %u %s, at most %u\n", what, n, kind, max);
		return -E2BIG;
	}
	if (n && !addrs) {
		mzr_warn("%s: %s list is NULL\n", what, kind);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!mzri_ip_valid(addrs[i])) {
			mzr_warn("%s: bad %s address %s\n", what, kind,
				 mzri_ntoa(addrs[i], buf));
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (addrs[j].s_addr == addrs[i].s_addr) {
				mzr_warn("%s: %s %s listed twice\n", what,
					 kind, mzri_ntoa(addrs[i], buf));
				return -EINVAL;
			}
		}
	}
	return 0;
}

int mzri_ep_spec_check(const struct mzr_ep_spec *spec)
{
	char buf[INET_ADDRSTRLEN];
	int err;

	if (!spec) {
		mzr_warn("endpoint: NULL spec\n");
		return -EINVAL;
	}
	err = check_vni("endpoint", spec->vni);
	if (err)
		return err;
	if (!mzri_ip_valid(spec->ip)) {
		mzr_warn("endpoint: bad address %s\n",
			 mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	if (!mzri_mac_valid(spec->mac)) {
		mzr_warn("endpoint %s: bad MAC (zero or multicast)\n",
			 mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	if (!mzri_ip_valid(spec->host)) {
		mzr_warn("endpoint %s: bad host address\n",
			 mzri_ntoa(spec->ip, buf));
		return -EINVAL;
	}
	if (spec->flags & ~MZR_EP_BYPASS_DECAP) {
		mzr_warn("endpoint %s: unknown flags 0x%x\n",
			 mzri_ntoa(spec->ip, buf), spec->flags);
		return -EINVAL;
	}
	if (spec->ifname &&
	    (!*spec->ifname || strlen(spec->ifname) >= IF_NAMESIZE)) {
		mzr_warn("endpoint %s: bad interface name\n",
			 mzri_ntoa(spec->ip, buf));
		return -EINVAL;
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
static long map_dump(int fd, size_t ksz, size_t vsz, void **keys_out,
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

	err = check_vni(what, vni);
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
		mzr_warn("%s: VPC %u already exists\n", what, vni);
	else if (err == -ENOENT)
		mzr_warn("%s: no VPC %u\n", what, vni);
	else if (err == -ENOSPC)
		mzr_warn("%s: VPC table full\n", what);
	else
		mzr_warn("%s: VPC %u: %s\n", what, vni, strerror(-err));
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

/* The references a VPC held on its dividers as known peers. */
static void vpc_unref_dividers(struct mzr_host *h, const struct mzr_vpc_val *v)
{
	struct in_addr div[MZR_MAX_DIVIDERS];
	unsigned int i;

	for (i = 0; i < v->n_dividers && i < MZR_MAX_DIVIDERS; i++)
		div[i].s_addr = v->dividers[i];
	mzri_peers_unref(h, div, i);
}

static int vpc_delete(struct mzr_host *h, uint32_t vni)
{
	struct mzr_vpc_val v;
	int err;

	err = check_vni_loaded(h, "vpc delete", vni);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &v)) {
		mzr_warn("vpc delete: no VPC %u\n", vni);
		return -ENOENT;
	}
	if (vpc_has_networks(h, vni)) {
		mzr_warn("vpc delete: VPC %u still has networks\n", vni);
		return -ENOTEMPTY;
	}
	if (bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni)) {
		err = -errno;
		mzr_warn("vpc delete: VPC %u: %s\n", vni, strerror(-err));
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

	err = check_vni_loaded(h, "vpc get", vni);
	if (err)
		return err;
	if (!info)
		return -EINVAL;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &v)) {
		mzr_warn("vpc get: no VPC %u\n", vni);
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

	err = mzri_check_loaded(h, "vpc for_each");
	if (err)
		return err;
	if (!cb)
		return -EINVAL;
	n = map_dump(mzri_fd(h, MZRI_MAP_VPCS), sizeof(*keys), sizeof(v),
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

static struct mzr_net_key net_key(uint32_t vni, struct in_addr prefix,
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
	struct mzr_net_key k = net_key(vni, prefix, len);

	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_NETS), &k, v))
		return -ENOENT;
	if (v->prefixlen != len || v->prefix != prefix.s_addr)
		return -ENOENT;
	return 0;
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

	err = check_vni(what, vni);
	if (err)
		return err;
	if (!mzri_prefix_valid(prefix, len)) {
		mzr_warn("%s: bad prefix %s/%u (host bits set or longer than /30)\n",
			 what, mzri_ntoa(prefix, buf), len);
		return -EINVAL;
	}
	if (!n) {
		mzr_warn("%s: network %s/%u needs at least one bouncer\n",
			 what, mzri_ntoa(prefix, buf), len);
		return -EDESTADDRREQ;
	}
	return check_addrs(what, "bouncers", bouncers, n,
			   MZR_MAX_BOUNCERS_PER_NET);
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
	unsigned int i;
	int err;

	err = net_args(what, vni, prefix, len, bouncers, n_bouncers);
	if (err)
		return err;
	if (!MZR_OPTS_VALID(opts, mzr_net_opts))
		return -EINVAL;
	gw = MZR_OPTS_GET(opts, gw, (struct in_addr){ 0 });
	if (!gw.s_addr) {
		gw = mzri_first_host(prefix, len);
	} else if (!mzri_prefix_contains(prefix, len, gw) ||
		   is_net_or_bcast(prefix, len, gw)) {
		mzr_warn("%s: gateway %s is not a host address of %s/%u\n",
			 what, mzri_ntoa(gw, buf), mzri_ntoa(prefix, buf2),
			 len);
		return -EINVAL;
	}
	err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &vni, &vpc)) {
		mzr_warn("%s: no VPC %u\n", what, vni);
		return -ENOENT;
	}
	if (!net_lookup_exact(h, vni, prefix, len, &old)) {
		mzr_warn("%s: network %s/%u already exists in VPC %u\n", what,
			 mzri_ntoa(prefix, buf), len, vni);
		return -EEXIST;
	}
	while (!bpf_map_get_next_key(mzri_fd(h, MZRI_MAP_NETS), prev, &next)) {
		struct in_addr other = { .s_addr = next.addr };

		if (ntohl(next.vni) == vni &&
		    mzri_prefix_overlap(prefix, len, other,
					next.prefixlen - 32)) {
			mzr_warn("%s: %s/%u overlaps network %s/%u of VPC %u\n",
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
	v.n_bouncers = n_bouncers;
	for (i = 0; i < n_bouncers; i++)
		v.bouncers[i] = bouncers[i].s_addr;
	key = net_key(vni, prefix, len);
	/* Bouncers are known peers while named (peers.c). */
	err = mzri_peers_ref(h, bouncers, n_bouncers);
	if (err)
		return err;
	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_NETS), &key, &v,
				BPF_NOEXIST)) {
		err = mzri_map_err(-errno);
		mzri_peers_unref(h, bouncers, n_bouncers);
		if (err == -ENOSPC)
			mzr_warn("%s: network table full\n", what);
		else
			mzr_warn("%s: %s/%u: %s\n", what,
				 mzri_ntoa(prefix, buf), len, strerror(-err));
		return err;
	}
	return 0;
}

/* The references a network held on its bouncers as known peers. */
static void net_unref_bouncers(struct mzr_host *h, const struct mzr_net_val *v)
{
	struct in_addr b[MZR_MAX_BOUNCERS];
	unsigned int i;

	for (i = 0; i < v->n_bouncers && i < MZR_MAX_BOUNCERS; i++)
		b[i].s_addr = v->bouncers[i];
	mzri_peers_unref(h, b, i);
}

static int net_update(struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		      unsigned int len, const struct in_addr *bouncers,
		      unsigned int n_bouncers)
{
	const char *what = "net update";
	char buf[INET_ADDRSTRLEN];
	struct mzr_net_key key;
	struct mzr_net_val v, old;
	unsigned int i;
	int err;

	err = net_args(what, vni, prefix, len, bouncers, n_bouncers);
	if (!err)
		err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (net_lookup_exact(h, vni, prefix, len, &v)) {
		mzr_warn("%s: no network %s/%u in VPC %u\n", what,
			 mzri_ntoa(prefix, buf), len, vni);
		return -ENOENT;
	}
	old = v;
	memset(v.bouncers, 0, sizeof(v.bouncers));
	v.n_bouncers = n_bouncers;
	for (i = 0; i < n_bouncers; i++)
		v.bouncers[i] = bouncers[i].s_addr;
	key = net_key(vni, prefix, len);
	err = mzri_peers_ref(h, bouncers, n_bouncers);
	if (err)
		return err;
	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_NETS), &key, &v,
				BPF_EXIST)) {
		err = -errno;
		mzri_peers_unref(h, bouncers, n_bouncers);
		mzr_warn("%s: %s/%u: %s\n", what, mzri_ntoa(prefix, buf), len,
			 strerror(-err));
		return err;
	}
	net_unref_bouncers(h, &old);
	return 0;
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

	err = check_vni(what, vni);
	if (err)
		return err;
	if (!mzri_prefix_valid(prefix, len)) {
		mzr_warn("%s: bad prefix %s/%u\n", what,
			 mzri_ntoa(prefix, buf), len);
		return -EINVAL;
	}
	err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (net_lookup_exact(h, vni, prefix, len, &v)) {
		mzr_warn("%s: no network %s/%u in VPC %u\n", what,
			 mzri_ntoa(prefix, buf), len, vni);
		return -ENOENT;
	}
	n = map_dump(mzri_fd(h, MZRI_MAP_EPS), sizeof(*keys),
		     sizeof(struct mzr_ep_val), (void **)&keys, &vals);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		struct in_addr ip = { .s_addr = keys[i].ip };

		if (keys[i].vni == vni &&
		    mzri_prefix_contains(prefix, len, ip)) {
			mzr_warn("%s: network %s/%u still holds endpoint %s\n",
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
	key = net_key(vni, prefix, len);
	if (bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_NETS), &key)) {
		err = -errno;
		mzr_warn("%s: %s/%u: %s\n", what, mzri_ntoa(prefix, buf), len,
			 strerror(-err));
		return err;
	}
	net_unref_bouncers(h, &v);
	return 0;
}

int mzr_net__get(const struct mzr_host *h, uint32_t vni, struct in_addr prefix,
		 unsigned int len, struct mzr_net_info *info)
{
	char buf[INET_ADDRSTRLEN];
	struct mzr_net_val v;
	int err;

	err = check_vni_loaded(h, "net get", vni);
	if (err)
		return err;
	if (!info || len > 32)
		return -EINVAL;
	if (net_lookup_exact(h, vni, prefix, len, &v)) {
		mzr_warn("net get: no network %s/%u in VPC %u\n",
			 mzri_ntoa(prefix, buf), len, vni);
		return -ENOENT;
	}
	net_to_info(vni, &v, info);
	return 0;
}

/* Networks sorted by (VNI, first address); they never overlap in a VPC. */
struct net_ent {
	uint32_t vni;
	uint32_t first, last; /* host order */
	struct mzr_net_val val;
};

static int cmp_net(const void *a, const void *b)
{
	const struct net_ent *x = a, *y = b;

	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static long net_snapshot(const struct mzr_host *h, struct net_ent **out)
{
	struct mzr_net_key *keys = NULL;
	struct mzr_net_val *vals = NULL;
	struct net_ent *ents;
	long n, i;

	n = map_dump(mzri_fd(h, MZRI_MAP_NETS), sizeof(*keys), sizeof(*vals),
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

	err = mzri_check_loaded(h, "net for_each");
	if (err)
		return err;
	if (!cb)
		return -EINVAL;
	n = net_snapshot(h, &ents);
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
static const struct net_ent *net_find(const struct net_ent *ents, long n,
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

/* ---- Endpoints ---------------------------------------------------------- */

static void ep_fill(const struct mzr_ep_spec *s, struct mzr_ep_key *k,
		    struct mzr_ep_val *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->vni = s->vni;
	k->ip = s->ip.s_addr;
	memcpy(v->mac, s->mac, 6);
	v->host = s->host.s_addr;
	if (s->flags & MZR_EP_BYPASS_DECAP)
		v->flags |= MZR_EP_F_BYPASS;
}

/* The endpoint's address must be a host address of a network of its VPC
 * and not the network's gateway. */
static int ep_net_check(const char *what, const struct mzr_ep_spec *s,
			const struct mzr_net_val *net)
{
	char buf[INET_ADDRSTRLEN];

	if (!net) {
		mzr_warn("%s: %s is outside every network of VPC %u\n", what,
			 mzri_ntoa(s->ip, buf), s->vni);
		return -EADDRNOTAVAIL;
	}
	if (s->ip.s_addr == net->gw) {
		mzr_warn("%s: %s is the gateway of its network\n", what,
			 mzri_ntoa(s->ip, buf));
		return -EADDRINUSE;
	}
	if (is_net_or_bcast((struct in_addr){ net->prefix }, net->prefixlen,
			    s->ip)) {
		mzr_warn("%s: %s is not a host address of its network\n",
			 what, mzri_ntoa(s->ip, buf));
		return -EADDRNOTAVAIL;
	}
	return 0;
}

static enum mzr_xdp_mode ep_xdp_mode(const struct mzr_host *h)
{
	struct mzr_host_cfg cfg;

	if (!mzri_host_cfg(h, &cfg) && (cfg.flags & MZRI_CFG_F_WANT_GENERIC))
		return MZR_XDP_MODE_GENERIC;
	return MZR_XDP_MODE_AUTO;
}

/*
 * The veth peer of @ifindex when it is a veth whose peer lives in this
 * netns (no IFLA_LINK_NETNSID), else 0. Best effort: any failure is 0.
 */
static unsigned int veth_peer_here(unsigned int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	char buf[8192];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtattr *a, *li;
	unsigned int peer = 0, alen, llen;
	bool veth = false, other_ns = false;
	ssize_t n;
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return 0;
	n = send(fd, &req, sizeof(req), 0) < 0 ? -1 : recv(fd, buf,
							    sizeof(buf), 0);
	close(fd);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct ifinfomsg)) ||
	    !NLMSG_OK(nh, (size_t)n) || nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	alen = IFLA_PAYLOAD(nh);
	for (a = IFLA_RTA(NLMSG_DATA(nh)); RTA_OK(a, alen);
	     a = RTA_NEXT(a, alen)) {
		if (a->rta_type == IFLA_LINK &&
		    RTA_PAYLOAD(a) >= sizeof(__u32))
			peer = *(__u32 *)RTA_DATA(a);
		else if (a->rta_type == IFLA_LINK_NETNSID)
			other_ns = true;
		else if (a->rta_type == IFLA_LINKINFO) {
			llen = RTA_PAYLOAD(a);
			for (li = RTA_DATA(a); RTA_OK(li, llen);
			     li = RTA_NEXT(li, llen))
				if (li->rta_type == IFLA_INFO_KIND &&
				    !strncmp(RTA_DATA(li), "veth",
					     RTA_PAYLOAD(li)))
					veth = true;
		}
	}
	return veth && !other_ns ? peer : 0;
}

/*
 * A frame the core redirects into a veth is dropped on the other side
 * unless that peer runs an XDP program or has GRO on (the veth then
 * receives through NAPI); without GRO the endpoint's TCP gets every
 * MTU-sized frame on its own (docs/architecture.md, "Endpoint side of a
 * veth"). Only checkable when the peer lives in this netns, which it
 * rarely does (the endpoint's own netns).
 */
static void ep_peer_check(const char *ifname, unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct ethtool_value gro = { .cmd = ETHTOOL_GGRO };
	char peer_name[IF_NAMESIZE];
	unsigned int peer = veth_peer_here(ifindex);
	struct ifreq ifr = {};
	bool xdp;
	int fd;

	if (!peer || !if_indextoname(peer, peer_name))
		return;
	xdp = !bpf_xdp_query(peer, 0, &q) &&
	      q.attach_mode != XDP_ATTACHED_NONE;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", peer_name);
	ifr.ifr_data = (void *)&gro;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		gro.data = 0;
	close(fd);
	if (gro.data)
		return;
	if (xdp)
		mzr_warn("%s: its veth peer %s has GRO off: the endpoint receives every frame on its own, TCP is slower (`ethtool -K %s gro on`)\n",
			 ifname, peer_name, peer_name);
	else
		mzr_warn("%s: its veth peer %s has neither an XDP program nor GRO: frames delivered to the endpoint will be dropped (load an XDP program, e.g. xdp-pass, on %s or `ethtool -K %s gro on`)\n",
			 ifname, peer_name, peer_name, peer_name);
}

/*
 * A scaled endpoint's host list: 1 to MZR_MAX_EP_HOSTS valid, distinct
 * underlay addresses. Returns 0 or -errno (logged).
 */
static int ep_hosts_check(const char *what, struct in_addr ip,
			  const struct in_addr *hosts, unsigned int n)
{
	char buf[INET_ADDRSTRLEN];
	unsigned int i, j;

	if (!n || !hosts) {
		mzr_warn("%s: %s: no host\n", what, mzri_ntoa(ip, buf));
		return -EINVAL;
	}
	if (n > MZR_MAX_EP_HOSTS) {
		mzr_warn("%s: %s: %u hosts, at most %u\n", what,
			 mzri_ntoa(ip, buf), n, MZR_MAX_EP_HOSTS);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		if (!mzri_ip_valid(hosts[i])) {
			mzr_warn("%s: %s: bad host address\n", what,
				 mzri_ntoa(ip, buf));
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (hosts[j].s_addr == hosts[i].s_addr) {
				char hbuf[INET_ADDRSTRLEN];

				mzr_warn("%s: %s: host %s given twice\n",
					 what, mzri_ntoa(ip, buf),
					 mzri_ntoa(hosts[i], hbuf));
				return -EINVAL;
			}
	}
	return 0;
}

static bool ep_hosts_has(const struct in_addr *hosts, unsigned int n,
			 __be32 ip)
{
	for (unsigned int i = 0; i < n; i++)
		if (hosts[i].s_addr == ip)
			return true;
	return false;
}

/* The hosts an endpoint names (one, or a scaled endpoint's list). */
static unsigned int ep_hosts_read(const struct mzr_host *h,
				  const struct mzr_ep_key *k,
				  const struct mzr_ep_val *v,
				  struct in_addr *hosts)
{
	struct mzr_ep_hosts_val hv;
	unsigned int i;

	if ((v->flags & MZR_EP_F_SCALED) &&
	    !bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), k, &hv) &&
	    hv.n_hosts && hv.n_hosts <= MZR_MAX_EP_HOSTS) {
		for (i = 0; i < hv.n_hosts; i++)
			hosts[i].s_addr = hv.hosts[i];
		return hv.n_hosts;
	}
	hosts[0].s_addr = v->host;
	return 1;
}

static int ep_create(struct mzr_host *h, const struct mzr_ep_spec *spec_in,
		     const struct in_addr *hosts, unsigned int n_hosts)
{
	const char *what = "ep create";
	struct mzr_ep_spec spec_buf, *spec = &spec_buf;
	struct mzr_ep_hosts_val hv = {};
	char buf[INET_ADDRSTRLEN];
	struct mzr_net_key nk;
	struct mzr_net_val net;
	struct mzr_vpc_val vpc;
	struct mzr_local_val lv = {}, lold;
	struct mzr_ep_key k;
	struct mzr_ep_val v;
	enum mzr_xdp_mode mode;
	struct mzr_host_cfg cfg;
	__u32 ifindex = 0;
	int tc_undo;
	int err;

	if (!spec_in)
		return mzri_ep_spec_check(NULL);
	spec_buf = *spec_in;
	if (n_hosts) {
		err = ep_hosts_check(what, spec->ip, hosts, n_hosts);
		if (err)
			return err;
		/* The endpoint's own host: this one with a veth here (it
		 * must be in the list), else the first. */
		if (!spec->host.s_addr && spec->ifname &&
		    !mzri_host_cfg(h, &cfg))
			spec->host.s_addr = cfg.ip;
		if (!spec->host.s_addr)
			spec->host = hosts[0];
		if (!ep_hosts_has(hosts, n_hosts, spec->host.s_addr)) {
			char hbuf[INET_ADDRSTRLEN];

			mzr_warn("%s: %s: host %s is not in its host list\n",
				 what, mzri_ntoa(spec->ip, buf),
				 mzri_ntoa(spec->host, hbuf));
			return -EINVAL;
		}
	} else {
		hosts = &spec_in->host;
		n_hosts = 1;
	}
	err = mzri_ep_spec_check(spec);
	if (!err)
		err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &spec->vni, &vpc)) {
		mzr_warn("%s: no VPC %u\n", what, spec->vni);
		return -ENOENT;
	}
	nk = net_key(spec->vni, spec->ip, 32);
	err = ep_net_check(what, spec,
			   bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_NETS), &nk,
					       &net) ?
				   NULL :
				   &net);
	if (err)
		return err;
	ep_fill(spec, &k, &v);
	if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v)) {
		mzr_warn("%s: endpoint %s already exists in VPC %u\n", what,
			 mzri_ntoa(spec->ip, buf), spec->vni);
		return -EEXIST;
	}
	ep_fill(spec, &k, &v);
	if (n_hosts > 1) {
		v.flags |= MZR_EP_F_SCALED;
		hv.n_hosts = n_hosts;
		for (unsigned int i = 0; i < n_hosts; i++)
			hv.hosts[i] = hosts[i].s_addr;
	}
	if (spec->ifname) {
		ifindex = if_nametoindex(spec->ifname);
		if (!ifindex) {
			mzr_warn("%s: no interface %s\n", what, spec->ifname);
			return -ENODEV;
		}
		err = mzri_ep_dev_check(what, spec->ifname);
		if (err)
			return err;
		if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_LOCAL), &ifindex,
					 &lold)) {
			mzr_warn("%s: %s already serves endpoint %s\n", what,
				 spec->ifname,
				 mzri_ntoa((struct in_addr){ lold.ip }, buf));
			return -EBUSY;
		}
		/* Hosted here means this host: its `host` is what every
		 * other host learns and bouncers send to. */
		err = mzri_host_cfg(h, &cfg);
		if (err)
			return err;
		if (!cfg.ip) {
			mzr_warn("%s: endpoint %s on %s: this host's underlay is not attached yet (host attach first)\n",
				 what, mzri_ntoa(spec->ip, buf), spec->ifname);
			return -EINVAL;
		}
		if (cfg.ip != spec->host.s_addr) {
			char hbuf[INET_ADDRSTRLEN], ubuf[INET_ADDRSTRLEN];

			mzr_warn("%s: endpoint %s on %s gives host %s, but this host's underlay address is %s\n",
				 what, mzri_ntoa(spec->ip, buf), spec->ifname,
				 mzri_ntoa(spec->host, hbuf),
				 mzri_ntoa((struct in_addr){ cfg.ip }, ubuf));
			return -EINVAL;
		}
		lv.vni = spec->vni;
		lv.ip = spec->ip.s_addr;
		memcpy(lv.mac, spec->mac, 6);
		err = mzri_if_hwaddr(spec->ifname, lv.veth_mac);
		if (err) {
			mzr_warn("%s: cannot read %s: %s\n", what,
				 spec->ifname, strerror(-err));
			return err;
		}
		v.ifindex = ifindex;
		v.flags |= MZR_EP_F_LOCAL;
		if (mzri_if_is_veth(spec->ifname))
			v.flags |= MZR_EP_F_VETH;
		lv.flags = v.flags;
	}

	/* The endpoint's hosts are known peers while named (peers.c). */
	err = mzri_peers_ref(h, hosts, n_hosts);
	if (err)
		return err;
	/* The list before the entry that points to it. */
	if (hv.n_hosts &&
	    bpf_map_update_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k, &hv,
				BPF_ANY)) {
		err = mzri_map_err(-errno);
		mzri_peers_unref(h, hosts, n_hosts);
		mzr_warn("%s: %s: scaled endpoint table: %s\n", what,
			 mzri_ntoa(spec->ip, buf),
			 err == -ENOSPC ? "full" : strerror(-err));
		return err;
	}
	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v,
				BPF_NOEXIST)) {
		err = mzri_map_err(-errno);
		if (hv.n_hosts)
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k);
		mzri_peers_unref(h, hosts, n_hosts);
		if (err == -ENOSPC)
			mzr_warn("%s: endpoint table full (%u entries)\n",
				 what, h->max_endpoints);
		else if (err == -EEXIST)
			mzr_warn("%s: endpoint %s already exists in VPC %u\n",
				 what, mzri_ntoa(spec->ip, buf), spec->vni);
		else
			mzr_warn("%s: %s: %s\n", what,
				 mzri_ntoa(spec->ip, buf), strerror(-err));
		return err;
	}
	if (!ifindex)
		return 0;

	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_LOCAL), &ifindex, &lv,
				BPF_NOEXIST)) {
		err = mzri_map_err(-errno);
		mzr_warn("%s: local endpoint table: %s\n", what,
			 err == -ENOSPC ? "full" : strerror(-err));
		goto undo_ep;
	}
	/* The tc program first: it ignores every frame until the agent
	 * hands one off (unresolved underlay neighbour). */
	err = mzri_tc_attach(ifindex, h->prog_fds[MZRI_PROG_NEIGH],
			     spec->ifname, &tc_undo);
	if (err)
		goto undo_local;
	/* The tc program is the agent, unless NF chains need the XDP
	 * one (agent_mode.c). */
	if (mzri_agent_wants_xdp(h)) {
		err = mzri_xdp_attach(ifindex, h->prog_fds[MZRI_PROG_AGENT],
				      ep_xdp_mode(h), &mode, spec->ifname);
		if (err)
			goto undo_tc;
	}
	/* A stale learned path to this address would bypass local delivery. */
	bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_DIRECT), &k);
	/* bpf_fib_lookup() from the agent's hooks with the ingress device
	 * (NFs do: mizar-nat) answers FWD_DISABLED unless that device
	 * forwards; per device, so the host does not become a router. */
	err = mzri_if_sysctl(spec->ifname, "forwarding", "1");
	if (err)
		mzr_info("%s: cannot set forwarding: %s\n", spec->ifname,
			 strerror(-err));
	ep_peer_check(spec->ifname, ifindex);
	return 0;
undo_tc:
	mzri_tc_undo(ifindex, h->prog_fds[MZRI_PROG_NEIGH], tc_undo);
undo_local:
	bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_LOCAL), &ifindex);
undo_ep:
	bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EPS), &k);
	if (hv.n_hosts)
		bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k);
	mzri_peers_unref(h, hosts, n_hosts);
	return err;
}

/*
 * A set of endpoint keys (open addressing), to find duplicates of a batch
 * against the table and within the batch: the kernel's batch update takes
 * no BPF_NOEXIST.
 */
struct key_set {
	uint64_t *slots; /* 0: empty (VNI 0 never occurs) */
	size_t mask;
};

static uint64_t key_u64(const struct mzr_ep_key *k)
{
	return (uint64_t)k->vni << 32 | k->ip;
}

static int key_set_init(struct key_set *ks, size_t n)
{
	size_t cap = 64;

	while (cap < 2 * n)
		cap <<= 1;
	ks->slots = calloc(cap, sizeof(*ks->slots));
	ks->mask = cap - 1;
	return ks->slots ? 0 : -ENOMEM;
}

/* Insert @k; false when it was already there. */
static bool key_set_add(struct key_set *ks, uint64_t k)
{
	size_t i = (k * 0x9e3779b97f4a7c15ULL) >> 20 & ks->mask;

	for (;; i = (i + 1) & ks->mask) {
		if (ks->slots[i] == k)
			return false;
		if (!ks->slots[i]) {
			ks->slots[i] = k;
			return true;
		}
	}
}

/*
 * Keys of the endpoints already in the table: the whole table in batches
 * when the batch is large, else key by key (cheaper against a big table).
 */
static int batch_dups(const struct mzr_host *h, const struct mzr_ep_key *keys,
		      size_t n, size_t *dup_idx)
{
	struct mzr_ep_key *have = NULL;
	struct mzr_ep_val v;
	struct key_set ks;
	void *vals = NULL;
	long m = 0, i;
	bool dump = n * 8 >= h->max_endpoints;
	int err;

	if (dump) {
		m = map_dump(mzri_fd(h, MZRI_MAP_EPS), sizeof(*have),
			     sizeof(struct mzr_ep_val), (void **)&have, &vals);
		free(vals);
		if (m < 0)
			return m;
	}
	err = key_set_init(&ks, n + m);
	if (err)
		goto out;
	for (i = 0; i < m; i++)
		key_set_add(&ks, key_u64(&have[i]));
	for (i = 0; i < (long)n; i++) {
		if (!key_set_add(&ks, key_u64(&keys[i])) ||
		    (!dump &&
		     !bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &keys[i],
					  &v))) {
			*dup_idx = i;
			err = -EEXIST;
			break;
		}
	}
	free(ks.slots);
out:
	free(have);
	return err;
}

static int ep_create_batch(struct mzr_host *h, const struct mzr_ep_spec *specs,
			   size_t n, size_t *failed_idx)
{
	const char *what = "ep create_batch";
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct mzr_ep_key *keys = NULL;
	struct mzr_ep_val *vals = NULL;
	const struct net_ent *ne;
	struct net_ent *nets = NULL;
	struct in_addr *hosts = NULL;
	uint32_t *host_refs = NULL;
	long n_hosts;
	struct mzr_vpc_val vpc;
	char buf[INET_ADDRSTRLEN];
	uint32_t last_vni = 0;
	__u32 count, done;
	long n_nets;
	size_t i = 0, j;
	int err;

	if (failed_idx)
		*failed_idx = 0;
	err = mzri_check_loaded(h, what);
	if (err)
		return err;
	if (!n)
		return 0;
	if (!specs || n > UINT32_MAX) {
		mzr_warn("%s: bad spec array\n", what);
		return -EINVAL;
	}
	n_nets = net_snapshot(h, &nets);
	if (n_nets < 0)
		return n_nets;
	keys = malloc(n * sizeof(*keys));
	vals = malloc(n * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* Validate everything before the kernel sees anything. */
	for (i = 0; i < n; i++) {
		const struct mzr_ep_spec *s = &specs[i];

		err = mzri_ep_spec_check(s);
		if (err)
			goto out;
		if (s->ifname) {
			mzr_warn("%s: endpoint %s: local endpoints (ifname) cannot be batched\n",
				 what, mzri_ntoa(s->ip, buf));
			err = -EINVAL;
			goto out;
		}
		ne = net_find(nets, n_nets, s->vni, s->ip);
		if (!ne && s->vni != last_vni &&
		    bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_VPCS), &s->vni,
					&vpc)) {
			mzr_warn("%s: no VPC %u\n", what, s->vni);
			err = -ENOENT;
			goto out;
		}
		last_vni = s->vni;
		err = ep_net_check(what, s, ne ? &ne->val : NULL);
		if (err)
			goto out;
		ep_fill(s, &keys[i], &vals[i]);
	}
	err = batch_dups(h, keys, n, &i);
	if (err) {
		if (err == -EEXIST)
			mzr_warn("%s: endpoint %s already exists in VPC %u\n",
				 what, mzri_ntoa(specs[i].ip, buf),
				 specs[i].vni);
		goto out;
	}

	/* The endpoints' hosts are known peers while named (peers.c). */
	n_hosts = mzri_peers_tally((const struct in_addr *)&vals[0].host,
				   sizeof(*vals), n, &hosts, &host_refs);
	if (n_hosts < 0) {
		err = n_hosts;
		goto out;
	}
	err = mzri_peers_ref_counts(h, hosts, host_refs, n_hosts);
	if (err)
		goto out;
	/* Every key is new: on failure, the first count went in and are ours
	 * to remove. */
	count = n;
	if (!bpf_map_update_batch(mzri_fd(h, MZRI_MAP_EPS), keys, vals, &count,
				  &bopts))
		goto out;
	err = mzri_map_err(-errno);
	mzri_peers_unref_counts(h, hosts, host_refs, n_hosts);
	i = count < n ? count : n - 1;
	done = count;
	if (count && bpf_map_delete_batch(mzri_fd(h, MZRI_MAP_EPS), keys,
					  &done, &bopts)) {
		for (j = 0; j < count; j++)
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EPS), &keys[j]);
	}
	if (err == -ENOSPC)
		mzr_warn("%s: endpoint table full (%u entries)\n", what,
			 h->max_endpoints);
	else
		mzr_warn("%s: endpoint %s: %s\n", what,
			 mzri_ntoa(specs[i].ip, buf), strerror(-err));
out:
	if (err && failed_idx)
		*failed_idx = i;
	free(hosts);
	free(host_refs);
	free(nets);
	free(keys);
	free(vals);
	return err;
}

static int ep_delete(struct mzr_host *h, uint32_t vni, struct in_addr ip)
{
	const char *what = "ep delete";
	struct in_addr hosts[MZR_MAX_EP_HOSTS];
	unsigned int n_hosts;
	char buf[INET_ADDRSTRLEN];
	struct mzr_ep_key k = { .vni = vni, .ip = ip.s_addr };
	struct mzr_local_val lv;
	struct mzr_ep_val v;
	int err;

	err = check_vni_loaded(h, what, vni);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v)) {
		mzr_warn("%s: no endpoint %s in VPC %u\n", what,
			 mzri_ntoa(ip, buf), vni);
		return -ENOENT;
	}
	n_hosts = ep_hosts_read(h, &k, &v, hosts);
	if ((v.flags & MZR_EP_F_LOCAL) && v.ifindex) {
		/* Detach first: the agent must not run without its entry. */
		err = mzri_xdp_detach(v.ifindex, h->prog_fds[MZRI_PROG_AGENT]);
		if (err && err != -ENODEV)
			mzr_warn("%s: %s: cannot detach agent from ifindex %u: %s\n",
				 what, mzri_ntoa(ip, buf), v.ifindex,
				 strerror(-err));
		err = mzri_tc_detach(v.ifindex, h->prog_fds[MZRI_PROG_NEIGH]);
		if (err && err != -ENODEV)
			mzr_warn("%s: %s: cannot detach the tc program from ifindex %u: %s\n",
				 what, mzri_ntoa(ip, buf), v.ifindex,
				 strerror(-err));
		if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_LOCAL),
					 &v.ifindex, &lv) &&
		    lv.vni == vni && lv.ip == ip.s_addr)
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_LOCAL),
					    &v.ifindex);
	}
	if (bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EPS), &k)) {
		err = -errno;
		mzr_warn("%s: %s: %s\n", what, mzri_ntoa(ip, buf),
			 strerror(-err));
		return err;
	}
	bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_DIRECT), &k);
	if (v.flags & MZR_EP_F_SCALED)
		bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k);
	mzri_peers_unref(h, hosts, n_hosts);
	return 0;
}

static void ep_to_info(const struct mzr_ep_key *k, const struct mzr_ep_val *v,
		       struct mzr_ep_info *info)
{
	memset(info, 0, sizeof(*info));
	info->vni = k->vni;
	info->ip.s_addr = k->ip;
	memcpy(info->mac, v->mac, 6);
	info->host.s_addr = v->host;
	info->ifindex = (v->flags & MZR_EP_F_LOCAL) ? v->ifindex : 0;
	if (v->flags & MZR_EP_F_BYPASS)
		info->flags |= MZR_EP_BYPASS_DECAP;
	if (v->flags & MZR_EP_F_SCALED)
		info->flags |= MZR_EP_SCALED;
}

int mzr_ep__get(const struct mzr_host *h, uint32_t vni, struct in_addr ip,
		struct mzr_ep_info *info)
{
	char buf[INET_ADDRSTRLEN];
	struct mzr_ep_key k = { .vni = vni, .ip = ip.s_addr };
	struct mzr_ep_val v;
	int err;

	err = check_vni_loaded(h, "ep get", vni);
	if (err)
		return err;
	if (!info)
		return -EINVAL;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v)) {
		mzr_warn("ep get: no endpoint %s in VPC %u\n",
			 mzri_ntoa(ip, buf), vni);
		return -ENOENT;
	}
	ep_to_info(&k, &v, info);
	return 0;
}

struct ep_ent {
	struct mzr_ep_key k;
	struct mzr_ep_val v;
};

static int cmp_ep(const void *a, const void *b)
{
	const struct ep_ent *x = a, *y = b;
	uint32_t xa = ntohl(x->k.ip), ya = ntohl(y->k.ip);

	if (x->k.vni != y->k.vni)
		return x->k.vni < y->k.vni ? -1 : 1;
	return xa < ya ? -1 : xa > ya;
}

int mzr_ep__for_each(const struct mzr_host *h, uint32_t vni,
		     int (*cb)(const struct mzr_ep_info *info, void *ctx),
		     void *ctx)
{
	struct mzr_ep_key *keys = NULL;
	struct mzr_ep_val *vals = NULL;
	struct mzr_ep_info info;
	struct ep_ent *ents;
	long n, i, m = 0;
	int err;

	err = mzri_check_loaded(h, "ep for_each");
	if (err)
		return err;
	if (!cb)
		return -EINVAL;
	n = map_dump(mzri_fd(h, MZRI_MAP_EPS), sizeof(*keys), sizeof(*vals),
		     (void **)&keys, (void **)&vals);
	if (n < 0)
		return n;
	ents = malloc((n ? n : 1) * sizeof(*ents));
	if (!ents) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (vni && keys[i].vni != vni)
			continue;
		ents[m].k = keys[i];
		ents[m].v = vals[i];
		m++;
	}
	/* In (VNI, address) order, so that listings are stable. */
	qsort(ents, m, sizeof(*ents), cmp_ep);
	for (i = 0; i < m && !err; i++) {
		ep_to_info(&ents[i].k, &ents[i].v, &info);
		err = cb(&info, ctx);
	}
	free(ents);
out:
	free(keys);
	free(vals);
	return err;
}

/*
 * Replace an endpoint's hosts. Growing to several: the list first, then
 * the flag that points to it; shrinking to one: the entry first, then the
 * list. A packet meets either the old choice or the new one.
 */
static int ep_set_hosts(struct mzr_host *h, uint32_t vni, struct in_addr ip,
			const struct in_addr *hosts, unsigned int n_hosts)
{
	const char *what = "ep set";
	struct mzr_ep_key k = { .vni = vni, .ip = ip.s_addr };
	struct in_addr old[MZR_MAX_EP_HOSTS];
	struct mzr_ep_hosts_val hv = {};
	char buf[INET_ADDRSTRLEN];
	struct mzr_local_val lv;
	struct mzr_ep_val v, nv;
	unsigned int n_old, i;
	int err;

	err = check_vni_loaded(h, what, vni);
	if (!err)
		err = ep_hosts_check(what, ip, hosts, n_hosts);
	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v)) {
		mzr_warn("%s: no endpoint %s in VPC %u\n", what,
			 mzri_ntoa(ip, buf), vni);
		return -ENOENT;
	}
	nv = v;
	if (v.flags & MZR_EP_F_LOCAL) {
		/* Hosted here: this host stays one of them. */
		if (!ep_hosts_has(hosts, n_hosts, v.host)) {
			char hbuf[INET_ADDRSTRLEN];

			mzr_warn("%s: %s is hosted here: the list must keep this host (%s)\n",
				 what, mzri_ntoa(ip, buf),
				 mzri_ntoa((struct in_addr){ v.host }, hbuf));
			return -EINVAL;
		}
	} else if (!ep_hosts_has(hosts, n_hosts, v.host)) {
		nv.host = hosts[0].s_addr;
	}
	n_old = ep_hosts_read(h, &k, &v, old);
	err = mzri_peers_ref(h, hosts, n_hosts);
	if (err)
		return err;
	if (n_hosts > 1) {
		nv.flags |= MZR_EP_F_SCALED;
		hv.n_hosts = n_hosts;
		for (i = 0; i < n_hosts; i++)
			hv.hosts[i] = hosts[i].s_addr;
		if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k,
					&hv, BPF_ANY)) {
			err = mzri_map_err(-errno);
			goto undo;
		}
	} else {
		nv.flags &= ~MZR_EP_F_SCALED;
	}
	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &nv,
				BPF_EXIST)) {
		err = mzri_map_err(-errno);
		if (n_hosts > 1 && !(v.flags & MZR_EP_F_SCALED))
			bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k);
		goto undo;
	}
	if (n_hosts == 1)
		bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_EP_HOSTS), &k);
	/* A path this host learned to one of its hosts is no longer the
	 * endpoint's (a scaled one has none). */
	bpf_map_delete_elem(mzri_fd(h, MZRI_MAP_DIRECT), &k);
	/* The agent stamps MZR_F_SCALED from its local entry. */
	if ((v.flags & MZR_EP_F_LOCAL) &&
	    !bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_LOCAL), &v.ifindex,
				 &lv) &&
	    lv.vni == vni && lv.ip == ip.s_addr) {
		lv.flags = nv.flags;
		bpf_map_update_elem(mzri_fd(h, MZRI_MAP_LOCAL), &v.ifindex,
				    &lv, BPF_EXIST);
	}
	mzri_peers_unref(h, old, n_old);
	return 0;
undo:
	mzri_peers_unref(h, hosts, n_hosts);
	mzr_warn("%s: %s: %s\n", what, mzri_ntoa(ip, buf),
		 err == -ENOSPC ? "scaled endpoint table full" :
				  strerror(-err));
	return err;
}

int mzr_ep__get_hosts(const struct mzr_host *h, uint32_t vni,
		      struct in_addr ip, struct in_addr *hosts,
		      unsigned int *n_hosts)
{
	struct mzr_ep_key k = { .vni = vni, .ip = ip.s_addr };
	struct in_addr all[MZR_MAX_EP_HOSTS];
	char buf[INET_ADDRSTRLEN];
	struct mzr_ep_val v;
	unsigned int n, i;
	int err;

	err = check_vni_loaded(h, "ep get hosts", vni);
	if (err)
		return err;
	if (!hosts || !n_hosts)
		return -EINVAL;
	if (bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v)) {
		mzr_warn("ep get hosts: no endpoint %s in VPC %u\n",
			 mzri_ntoa(ip, buf), vni);
		return -ENOENT;
	}
	n = ep_hosts_read(h, &k, &v, all);
	if (n > *n_hosts) {
		*n_hosts = n;
		return -ENOSPC;
	}
	for (i = 0; i < n; i++)
		hosts[i] = all[i];
	*n_hosts = n;
	return 0;
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

int mzr_ep__create(struct mzr_host *h, const struct mzr_ep_spec *spec)
{
	return MZRI_LOCKED(h, false, ep_create(h, spec, NULL, 0));
}

int mzr_ep__create_opts(struct mzr_host *h, const struct mzr_ep_spec *spec,
			const struct mzr_ep_opts *opts)
{
	if (!MZR_OPTS_VALID(opts, mzr_ep_opts))
		return -EINVAL;
	return MZRI_LOCKED(h, false,
			   ep_create(h, spec,
				     MZR_OPTS_GET(opts, hosts, NULL),
				     MZR_OPTS_GET(opts, n_hosts, 0)));
}

int mzr_ep__set_hosts(struct mzr_host *h, uint32_t vni, struct in_addr ip,
		      const struct in_addr *hosts, unsigned int n_hosts)
{
	return MZRI_LOCKED(h, false, ep_set_hosts(h, vni, ip, hosts, n_hosts));
}

int mzr_ep__create_batch(struct mzr_host *h, const struct mzr_ep_spec *specs,
			 size_t n, size_t *failed_idx)
{
	return MZRI_LOCKED(h, false,
			   ep_create_batch(h, specs, n, failed_idx));
}

int mzr_ep__delete(struct mzr_host *h, uint32_t vni, struct in_addr ip)
{
	return MZRI_LOCKED(h, false, ep_delete(h, vni, ip));
}
