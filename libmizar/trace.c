// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Packet trace: writes mzr_trace_cfg to switch the core's trace points
 * (bpf-core/trace.h) on, reads their perf events, and writes pcapng.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/trace.h>

#include "host_priv.h"
#include "trace_shared.h"

struct mzr_trace {
	struct mzr_host *host;
	struct perf_buffer *pb;
	mzr_trace_cb cb;
	void *ctx;
	int64_t real_off;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t suppressed0;	/* kernel count at start */
	__be32 host_ip;		/* for NF events, which leave it 0 */
	uint64_t lost;
	int delivered;
	int stop;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t kernel_suppressed(const struct mzr_host *h)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct mzr_trace_pcpu *v;
	uint64_t sum = 0;
	__u32 zero = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_TRACE_PCPU), &zero, v))
		for (i = 0; i < ncpu; i++)
			sum += v[i].suppressed;
	free(v);
	return sum;
}

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	struct mzr_trace *t = ctx;
	const struct mzr_trace_meta *m = data;
	struct mzr_trace_event ev = {};

	(void)cpu;
	if (t->stop || size < sizeof(*m) || m->cap_len > size - sizeof(*m))
		return;
	ev.ts_ns = m->ts_ns + t->real_off;
	ev.suppressed = m->suppressed;
	ev.ifindex = m->ifindex;
	ev.pkt_len = m->pkt_len;
	ev.cap_len = m->cap_len;
	ev.vni = m->vni;
	ev.host.s_addr = m->host ? m->host : t->host_ip;
	ev.reason = m->reason ? (int)m->reason - 1 : -1;
	ev.hook = m->hook;
	ev.entry = m->point == MZR_TRACE_AT_ENTRY;
	ev.verdict = m->verdict;
	ev.data = m + 1;
	ev.outer_src.s_addr = m->outer_src;
	t->delivered++;
	if (t->cb && t->cb(t->ctx, &ev))
		t->stop = 1;
}

static void on_lost(void *ctx, int cpu, __u64 cnt)
{
	struct mzr_trace *t = ctx;

	(void)cpu;
	t->lost += cnt;
}

/*
 * fd (to close) of core map @name, found among the maps of the pinned
 * transit program: the maps trace.h adds without a pin of their own
 * (MZR_OBS_FLAGS_MAP, MZR_OBS_DROPS_MAP) live as long as the programs.
 * -ENOENT: a back-plane loaded by an older build (host reset, host init).
 */
static int core_prog_map(const struct mzr_host *h, const char *name)
{
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	__u32 len = sizeof(pi), ids[64], i, n;
	int fd;

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(h->prog_fds[MZRI_PROG_TRANSIT], &pi, &len))
		return -errno;
	n = pi.nr_map_ids < 64 ? pi.nr_map_ids : 64;
	for (i = 0; i < n; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		len = sizeof(mi);
		if (!bpf_obj_get_info_by_fd(fd, &mi, &len) &&
		    !strncmp(mi.name, name, sizeof(mi.name) - 1))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* The configuration, then the switch the trace points test first
 * (mzr_obs_flags): a point that sees the switch on finds the
 * configuration that goes with it. */
static int write_cfg(struct mzr_host *h, const struct mzr_trace_cfg *cfg)
{
	__u32 zero = 0, flags = cfg->flags;
	int fd, err = 0;

	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_TRACE_CFG), &zero, cfg,
				BPF_ANY))
		return -errno;
	fd = core_prog_map(h, MZR_OBS_FLAGS_MAP);
	if (fd < 0) {
		mzri_warn("the back-plane at %s predates the trace switch (map %s): host reset, then host init\n",
			  h->pin_root, MZR_OBS_FLAGS_MAP);
		return fd;
	}
	if (bpf_map_update_elem(fd, &zero, &flags, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

struct mzr_trace *mzr_trace__start(struct mzr_host *host,
				   const struct mzr_trace_opts *opts,
				   mzr_trace_cb cb, void *ctx)
{
	struct mzr_trace_cfg cfg = {}, old = {};
	struct mzr_host_cfg hc = {};
	struct mzr_trace *t;
	unsigned int plen;
	__u32 zero = 0;
	int err;

	err = mzri_check_loaded(host, "trace");
	if (err) {
		errno = -err;
		return NULL;
	}
	if (opts && opts->sz < sizeof(size_t)) {
		errno = EINVAL;
		return NULL;
	}
	plen = MZRI_OPTS_GET(opts, plen, 0);
	if (plen > 32 ||
	    MZRI_OPTS_GET(opts, snaplen, 0) > MZR_TRACE_MAX_SNAPLEN) {
		mzri_warn("trace: prefix length %u (max 32) or snaplen %u (max %u) out of range\n",
			  plen, MZRI_OPTS_GET(opts, snaplen, 0),
			  MZR_TRACE_MAX_SNAPLEN);
		errno = EINVAL;
		return NULL;
	}
	cfg.flags = MZR_TRACE_F_ON;
	if (MZRI_OPTS_GET(opts, drops, false))
		cfg.flags |= MZR_TRACE_F_DROPS;
	if (MZRI_OPTS_GET(opts, entries, false))
		cfg.flags |= MZR_TRACE_F_ENTRY;
	cfg.vni = MZRI_OPTS_GET(opts, vni, 0);
	if (plen) {
		cfg.mask = htonl(plen == 32 ? 0xffffffffU :
					      ~(0xffffffffU >> plen));
		cfg.addr = opts->addr.s_addr & cfg.mask;
	}
	cfg.port = htons(MZRI_OPTS_GET(opts, port, 0));
	cfg.proto = MZRI_OPTS_GET(opts, proto, 0);
	cfg.snaplen = MZRI_OPTS_GET(opts, snaplen, 0);
	if (!cfg.snaplen)
		cfg.snaplen = MZR_TRACE_DEFAULT_SNAPLEN;
	cfg.rate = MZRI_OPTS_GET(opts, rate, 0);

	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->host = host;
	t->cb = cb;
	t->ctx = ctx;
	t->real_off = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	t->pb = perf_buffer__new(mzri_fd(host, MZRI_MAP_TRACE_EVENTS), 64,
				 on_sample, on_lost, t, NULL);
	if (!t->pb) {
		err = errno;
		mzri_warn("trace: cannot open the perf buffer: %s\n",
			  strerror(err));
		free(t);
		errno = err;
		return NULL;
	}
	if (!bpf_map_lookup_elem(mzri_fd(host, MZRI_MAP_TRACE_CFG), &zero,
				 &old) &&
	    (old.flags & MZR_TRACE_F_ON))
		mzri_warn("trace: another trace or monitor was on (or one died); this one takes over\n");
	t->suppressed0 = kernel_suppressed(host);
	if (!mzri_host_cfg(host, &hc))
		t->host_ip = hc.ip;
	cfg.flags |= old.flags & ~MZR_TRACE_F_MASK;
	err = write_cfg(host, &cfg);
	if (err) {
		perf_buffer__free(t->pb);
		free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

int mzr_trace__poll(struct mzr_trace *t, int timeout_ms)
{
	int err;

	if (!t)
		return -EINVAL;
	t->delivered = 0;
	if (t->stop)
		return 0;
	err = perf_buffer__poll(t->pb, timeout_ms);
	if (err < 0)
		return err;
	return t->delivered;
}

uint64_t mzr_trace__suppressed(const struct mzr_trace *t)
{
	uint64_t now;

	if (!t)
		return 0;
	now = kernel_suppressed(t->host);
	return now >= t->suppressed0 ? now - t->suppressed0 : now;
}

uint64_t mzr_trace__lost(const struct mzr_trace *t)
{
	return t ? t->lost : 0;
}

void mzr_trace__stop(struct mzr_trace *t)
{
	struct mzr_trace_cfg off = {}, old = {};
	__u32 zero = 0;

	if (!t)
		return;
	if (!bpf_map_lookup_elem(mzri_fd(t->host, MZRI_MAP_TRACE_CFG), &zero,
				 &old))
		off.flags = old.flags & ~MZR_TRACE_F_MASK;
	write_cfg(t->host, &off);
	perf_buffer__free(t->pb);
	free(t);
}

const char *mzr_trace_hook_name(unsigned int hook)
{
	static const char *const names[__MZR_TRACE_HOOK_MAX] = {
		[MZR_HOOK_AGENT_EGRESS] = "agent-egress",
		[MZR_HOOK_BOUNCER] = "bouncer",
		[MZR_HOOK_DIVIDER] = "divider",
		[MZR_HOOK_DELIVER] = "deliver",
		[MZR_HOOK_EXTERNAL] = "external",
		[MZR_TRACE_HOOK_TRANSIT] = "transit",
		[MZR_TRACE_HOOK_AGENT] = "agent",
	};

	return hook < __MZR_TRACE_HOOK_MAX && names[hook] ? names[hook] : "?";
}

const char *mzr_trace_verdict_name(const struct mzr_trace_event *ev)
{
	static const char *const names[] = { "aborted", "drop", "pass", "tx",
					     "redirect" };

	if (!ev)
		return "?";
	if (ev->entry)
		return "rx";
	return ev->verdict < sizeof(names) / sizeof(names[0]) ?
		       names[ev->verdict] : "?";
}

/* IPv4 at @p (@n bytes): fills addresses, protocol, ports; its length. */
static size_t parse_ip(const uint8_t *p, size_t n, struct mzr_trace_flow *f)
{
	struct iphdr hdr, *ip = &hdr;
	size_t ihl;

	/* A copy: the frame's IP header need not be 4-byte aligned. */
	if (n < sizeof(hdr))
		return 0;
	memcpy(&hdr, p, sizeof(hdr));
	if (ip->version != 4)
		return 0;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return 0;
	f->ip = true;
	f->proto = ip->protocol;
	f->saddr.s_addr = ip->saddr;
	f->daddr.s_addr = ip->daddr;
	f->sport = f->dport = 0;
	if ((ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) &&
	    n >= ihl + 4) {
		f->sport = (p[ihl] << 8) | p[ihl + 1];
		f->dport = (p[ihl + 2] << 8) | p[ihl + 3];
	}
	return ihl;
}

int mzr_trace__flow(const struct mzr_trace_event *ev,
		    struct mzr_trace_flow *f)
{
	const uint8_t *p;
	size_t n, ihl, off;

	if (!ev || !f)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	p = ev->data;
	n = ev->cap_len;
	if (!p || n < ETH_HLEN || ((p[12] << 8) | p[13]) != ETH_P_IP)
		return 0;
	ihl = parse_ip(p + ETH_HLEN, n - ETH_HLEN, f);
	if (!ihl || f->proto != IPPROTO_UDP || f->dport != MZR_GENEVE_PORT)
		return 0;
	off = ETH_HLEN + ihl + 8;	/* Geneve */
	if (n < off + 8)
		return 0;
	f->tunnel = true;
	f->outer_saddr = f->saddr;
	f->outer_daddr = f->daddr;
	f->vni = (p[off + 4] << 16) | (p[off + 5] << 8) | p[off + 6];
	off += 8 + (p[off] & 0x3f) * 4;	/* inner Ethernet */
	memset(&f->saddr, 0, sizeof(f->saddr));
	memset(&f->daddr, 0, sizeof(f->daddr));
	f->ip = false;
	f->proto = 0;
	f->sport = f->dport = 0;
	if (n < off + ETH_HLEN ||
	    ((p[off + 12] << 8) | p[off + 13]) != ETH_P_IP)
		return 0;
	parse_ip(p + off + ETH_HLEN, n - off - ETH_HLEN, f);
	return 0;
}

const char *mzr_trace__comment(const struct mzr_trace_event *ev, char *buf,
			       size_t size)
{
	char host[INET_ADDRSTRLEN], outer[INET_ADDRSTRLEN];
	const char *reason = NULL;
	int n, m;

	if (!buf || !size)
		return buf;
	if (!ev) {
		buf[0] = 0;
		return buf;
	}
	if (ev->reason >= 0)
		reason = mzr_drop_reason_name(ev->reason);
	inet_ntop(AF_INET, &ev->host, host, sizeof(host));
	n = snprintf(buf, size, "hook=%s verdict=%s vni=%u host=%s",
		     mzr_trace_hook_name(ev->hook),
		     mzr_trace_verdict_name(ev), ev->vni, host);
	if (reason && n >= 0 && (size_t)n < size) {
		m = snprintf(buf + n, size - n, " reason=%s", reason);
		n = m < 0 ? m : n + m;
	}
	if (ev->outer_src.s_addr && n >= 0 && (size_t)n < size) {
		inet_ntop(AF_INET, &ev->outer_src, outer, sizeof(outer));
		snprintf(buf + n, size - n, " outer=%s", outer);
	}
	return buf;
}

/* ---- pcapng ------------------------------------------------------------- */

#define PCAPNG_SHB 0x0A0D0D0AU
#define PCAPNG_IDB 0x00000001U
#define PCAPNG_EPB 0x00000006U
#define PCAPNG_MAX_IFS 256

struct mzr_trace_pcapng {
	FILE *f;
	unsigned int n_ifs;
	struct {
		uint32_t ifindex;
		unsigned int hook;
	} ifs[PCAPNG_MAX_IFS];
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int put(struct mzr_trace_pcapng *w, const void *p, size_t n)
{
	static const uint8_t zeros[4];

	if (n && fwrite(p, 1, n, w->f) != n)
		return -EIO;
	if (pad4(n) != n && fwrite(zeros, 1, pad4(n) - n, w->f) != pad4(n) - n)
		return -EIO;
	return 0;
}

static int put32(struct mzr_trace_pcapng *w, uint32_t v)
{
	return put(w, &v, 4);
}

/* An option: code, length, value padded to 4. */
static int put_opt(struct mzr_trace_pcapng *w, uint16_t code,
		   const void *v, uint16_t len)
{
	uint16_t hdr[2] = { code, len };

	return put(w, hdr, 4) ?: put(w, v, len);
}

static size_t opt_size(size_t len)
{
	return 4 + pad4(len);
}

struct mzr_trace_pcapng *mzr_trace__pcapng_open(FILE *f)
{
	struct mzr_trace_pcapng *w;
	struct {
		uint32_t type, len, magic;
		uint16_t major, minor;
		int64_t section_len;
		uint32_t len2;
	} __attribute__((packed)) shb = { PCAPNG_SHB, 28, 0x1A2B3C4D, 1, 0,
					  -1, 28 };

	if (!f) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->f = f;
	if (put(w, &shb, sizeof(shb)) || fflush(f)) {
		free(w);
		errno = EIO;
		return NULL;
	}
	return w;
}

/* The interface id of (@ifindex, @hook), writing its IDB the first time. */
static int iface_id(struct mzr_trace_pcapng *w, uint32_t ifindex,
		    unsigned int hook)
{
	char ifname[IF_NAMESIZE], name[IF_NAMESIZE + 32];
	uint8_t tsresol = 9;	/* nanoseconds */
	uint32_t len;
	unsigned int i;
	int err;

	for (i = 0; i < w->n_ifs; i++)
		if (w->ifs[i].ifindex == ifindex && w->ifs[i].hook == hook)
			return i;
	if (w->n_ifs == PCAPNG_MAX_IFS)
		return -ENOMEM;
	if (!if_indextoname(ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "if%u", ifindex);
	snprintf(name, sizeof(name), "%s:%s", ifname,
		 mzr_trace_hook_name(hook));
	len = 20 + opt_size(strlen(name)) + opt_size(1) + 4;
	err = put32(w, PCAPNG_IDB) ?: put32(w, len) ?:
	      put32(w, 1 /* LINKTYPE_ETHERNET */) ?:
	      put32(w, MZR_TRACE_MAX_SNAPLEN) ?:
	      put_opt(w, 2 /* if_name */, name, strlen(name)) ?:
	      put_opt(w, 9 /* if_tsresol */, &tsresol, 1) ?:
	      put32(w, 0 /* opt_endofopt */) ?: put32(w, len);
	if (err)
		return err;
	w->ifs[w->n_ifs].ifindex = ifindex;
	w->ifs[w->n_ifs].hook = hook;
	return w->n_ifs++;
}

int mzr_trace__pcapng_write(struct mzr_trace_pcapng *w,
			    const struct mzr_trace_event *ev)
{
	char comment[256];
	size_t clen;
	uint32_t len;
	int id, err;

	if (!w || !ev || (ev->cap_len && !ev->data))
		return -EINVAL;
	id = iface_id(w, ev->ifindex, ev->hook);
	if (id < 0)
		return id;
	mzr_trace__comment(ev, comment, sizeof(comment));
	clen = strlen(comment);
	len = 28 + pad4(ev->cap_len) + opt_size(clen) + 4 + 4;
	err = put32(w, PCAPNG_EPB) ?: put32(w, len) ?: put32(w, id) ?:
	      put32(w, ev->ts_ns >> 32) ?: put32(w, (uint32_t)ev->ts_ns) ?:
	      put32(w, ev->cap_len) ?: put32(w, ev->pkt_len) ?:
	      put(w, ev->data, ev->cap_len) ?:
	      put_opt(w, 1 /* opt_comment */, comment, clen) ?:
	      put32(w, 0) ?: put32(w, len);
	if (err)
		return err;
	/* Flushed per packet: `-w -` into a pipe shows packets as they come,
	 * and a killed capture keeps what it wrote. */
	return fflush(w->f) ? -EIO : 0;
}

int mzr_trace__pcapng_close(struct mzr_trace_pcapng *w)
{
	int err;

	if (!w)
		return 0;
	err = fflush(w->f) ? -EIO : 0;
	free(w);
	return err;
}

/* ---- per-VPC and per-endpoint traffic ------------------------------------ */

/* One per-CPU map value, every CPU's copy (*@vals, @size bytes each, the
 * caller frees it); *@ncpu copies. An absent key is 0 with *@vals NULL. */
static int percpu_read(int fd, const void *key, size_t size, void **vals,
		       int *ncpu)
{
	int n = libbpf_num_possible_cpus(), err;
	void *v;

	*vals = NULL;
	if (n <= 0)
		return n ? n : -EINVAL;
	v = calloc(n, size);
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		err = errno;
		free(v);
		return err == ENOENT ? 0 : -err;
	}
	*vals = v;
	*ncpu = n;
	return 0;
}

static int traffic_read(int fd, const void *key, struct mzr_traffic *out)
{
	struct mzr_obs_ctr *v;
	int ncpu = 0, i, err;

	memset(out, 0, sizeof(*out));
	err = percpu_read(fd, key, sizeof(*v), (void **)&v, &ncpu);
	if (err || !v)
		return err;
	for (i = 0; i < ncpu; i++) {
		out->tx_packets += v[i].pkts[MZR_OBS_TX];
		out->tx_bytes += v[i].bytes[MZR_OBS_TX];
		out->rx_packets += v[i].pkts[MZR_OBS_RX];
		out->rx_bytes += v[i].bytes[MZR_OBS_RX];
	}
	free(v);
	return 0;
}

int mzr_host__vpc_traffic(struct mzr_host *host, uint32_t vni,
			  struct mzr_traffic *out)
{
	int err = mzri_check_loaded(host, "vpc traffic");

	if (err)
		return err;
	if (!out)
		return -EINVAL;
	return traffic_read(mzri_fd(host, MZRI_MAP_VPC_CTR), &vni, out);
}

int mzr_host__ep_traffic(struct mzr_host *host, uint32_t vni,
			 struct in_addr ip, struct mzr_traffic *out)
{
	struct mzr_ep_key k = {};
	int err = mzri_check_loaded(host, "endpoint traffic");

	if (err)
		return err;
	if (!out)
		return -EINVAL;
	k.vni = vni;
	k.ip = ip.s_addr;
	return traffic_read(mzri_fd(host, MZRI_MAP_EP_CTR), &k, out);
}

int mzr_host__traffic_list(struct mzr_host *host, bool endpoints,
			   struct mzr_traffic_entry *out, size_t n)
{
	struct mzr_ep_key k = {}, next;
	__u32 vk = 0, vnext;
	size_t got = 0;
	void *cur = NULL;
	int fd, err = mzri_check_loaded(host, "traffic list");

	if (err)
		return err;
	if (!out && n)
		return -EINVAL;
	fd = mzri_fd(host, endpoints ? MZRI_MAP_EP_CTR : MZRI_MAP_VPC_CTR);
	while (got < n) {
		void *nk = endpoints ? (void *)&next : (void *)&vnext;

		if (bpf_map_get_next_key(fd, cur, nk))
			break;
		if (endpoints) {
			k = next;
			cur = &k;
			out[got].vni = k.vni;
			out[got].ip.s_addr = k.ip;
		} else {
			vk = vnext;
			cur = &vk;
			out[got].vni = vk;
			out[got].ip.s_addr = 0;
		}
		err = traffic_read(fd, cur, &out[got].t);
		if (err)
			return err;
		got++;
	}
	return got;
}

int mzr_host__traffic_counting(struct mzr_host *host, int on)
{
	struct mzr_trace_cfg cfg = {};
	__u32 zero = 0;
	int err = mzri_check_loaded(host, "traffic counting");

	if (err)
		return err;
	if (bpf_map_lookup_elem(mzri_fd(host, MZRI_MAP_TRACE_CFG), &zero,
				&cfg))
		return -errno;
	if (on >= 0) {
		if (on)
			cfg.flags |= MZR_OBS_F_COUNT;
		else
			cfg.flags &= ~MZR_OBS_F_COUNT;
		err = write_cfg(host, &cfg);
		if (err)
			return err;
	}
	return !!(cfg.flags & MZR_OBS_F_COUNT);
}

/* ---- drops by reason per VPC and per endpoint ---------------------------- */

static int drops_read(int fd, const struct mzr_obs_drop_key *k, uint64_t *out)
{
	int ncpu = 0, i, err;
	__u64 *v;

	*out = 0;
	err = percpu_read(fd, k, sizeof(*v), (void **)&v, &ncpu);
	if (err || !v)
		return err;
	for (i = 0; i < ncpu; i++)
		*out += v[i];
	free(v);
	return 0;
}

/* The drops table (fd to close) for a reader that fills @out[@n]. */
static int drops_open(struct mzr_host *host, const char *what,
		      const void *out, size_t n)
{
	int err = mzri_check_loaded(host, what);

	if (err)
		return err;
	if (!out && n)
		return -EINVAL;
	return core_prog_map(host, MZR_OBS_DROPS_MAP);
}

int mzr_host__drops(struct mzr_host *host, uint32_t vni, struct in_addr ip,
		    uint64_t *out, size_t n)
{
	struct mzr_obs_drop_key k = { .vni = vni, .ip = ip.s_addr };
	int fd = drops_open(host, "drops", out, n), err = 0;
	size_t i;

	if (fd < 0)
		return fd;
	for (i = 0; i < n && !err; i++) {
		k.reason = (__u32)i;
		err = drops_read(fd, &k, &out[i]);
	}
	close(fd);
	return err;
}

int mzr_host__drops_list(struct mzr_host *host, struct mzr_drop_entry *out,
			 size_t n)
{
	struct mzr_obs_drop_key k, next;
	void *cur = NULL;
	size_t got = 0;
	int fd = drops_open(host, "drops list", out, n), err = 0;

	if (fd < 0)
		return fd;
	while (got < n && !bpf_map_get_next_key(fd, cur, &next)) {
		k = next;
		cur = &k;
		err = drops_read(fd, &k, &out[got].packets);
		if (err)
			break;
		if (!out[got].packets) /* an LRU slot taken, not yet counted */
			continue;
		out[got].vni = k.vni;
		out[got].ip.s_addr = k.ip;
		out[got].reason = k.reason;
		got++;
	}
	close(fd);
	return err ? err : (int)got;
}
