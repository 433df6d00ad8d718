// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Endpoint objects: create (with the veth netlink probe of its peer),
 * delete, read, list, and their hosts. Batch creation is in ep_batch.c.
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

#include "host_priv.h"
#include "ep.h"
#include "objects.h"

/* ---- Endpoints ---------------------------------------------------------- */

void mzri_ep_fill(const struct mzr_ep_spec *s, struct mzr_ep_key *k,
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
int mzri_ep_net_check(const char *what, const struct mzr_ep_spec *s,
		      const struct mzr_net_val *net)
{
	char buf[INET_ADDRSTRLEN];

	if (!net) {
		mzri_warn("%s: %s is outside every network of VPC %u\n", what,
			  mzri_ntoa(s->ip, buf), s->vni);
		return -EADDRNOTAVAIL;
	}
	if (s->ip.s_addr == net->gw) {
		mzri_warn("%s: %s is the gateway of its network\n", what,
			  mzri_ntoa(s->ip, buf));
		return -EADDRINUSE;
	}
	if (mzri_is_net_or_bcast((struct in_addr){ net->prefix }, net->prefixlen,
			    s->ip)) {
		mzri_warn("%s: %s is not a host address of its network\n",
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
		mzri_warn("%s: its veth peer %s has GRO off: the endpoint receives every frame on its own, TCP is slower (`ethtool -K %s gro on`)\n",
			  ifname, peer_name, peer_name);
	else
		mzri_warn("%s: its veth peer %s has neither an XDP program nor GRO: frames delivered to the endpoint will be dropped (load an XDP program, e.g. xdp-pass, on %s or `ethtool -K %s gro on`)\n",
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
		mzri_warn("%s: %s: no host\n", what, mzri_ntoa(ip, buf));
		return -EINVAL;
	}
	if (n > MZR_MAX_EP_HOSTS) {
		mzri_warn("%s: %s: %u hosts, at most %u\n", what,
			  mzri_ntoa(ip, buf), n, MZR_MAX_EP_HOSTS);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		if (!mzri_ip_valid(hosts[i])) {
			mzri_warn("%s: %s: bad host address\n", what,
				  mzri_ntoa(ip, buf));
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (hosts[j].s_addr == hosts[i].s_addr) {
				char hbuf[INET_ADDRSTRLEN];

				mzri_warn("%s: %s: host %s given twice\n",
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

/* Endpoint @k's entry into @v; -ENOENT with a log line when there is none. */
static int ep_lookup(const struct mzr_host *h, const char *what,
		     const struct mzr_ep_key *k, struct mzr_ep_val *v)
{
	char buf[INET_ADDRSTRLEN];

	if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), k, v))
		return 0;
	mzri_warn("%s: no endpoint %s in VPC %u\n", what,
		  mzri_ntoa((struct in_addr){ k->ip }, buf), k->vni);
	return -ENOENT;
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

			mzri_warn("%s: %s: host %s is not in its host list\n",
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
		mzri_warn("%s: no VPC %u\n", what, spec->vni);
		return -ENOENT;
	}
	nk = mzri_net_key(spec->vni, spec->ip, 32);
	err = mzri_ep_net_check(what, spec,
			   bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_NETS), &nk,
					       &net) ?
				   NULL :
				   &net);
	if (err)
		return err;
	mzri_ep_fill(spec, &k, &v);
	if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_EPS), &k, &v)) {
		mzri_warn("%s: endpoint %s already exists in VPC %u\n", what,
			  mzri_ntoa(spec->ip, buf), spec->vni);
		return -EEXIST;
	}
	mzri_ep_fill(spec, &k, &v);
	if (n_hosts > 1) {
		v.flags |= MZR_EP_F_SCALED;
		hv.n_hosts = n_hosts;
		for (unsigned int i = 0; i < n_hosts; i++)
			hv.hosts[i] = hosts[i].s_addr;
	}
	if (spec->ifname) {
		ifindex = if_nametoindex(spec->ifname);
		if (!ifindex) {
			mzri_warn("%s: no interface %s\n", what, spec->ifname);
			return -ENODEV;
		}
		err = mzri_ep_dev_check(what, spec->ifname);
		if (err)
			return err;
		if (!bpf_map_lookup_elem(mzri_fd(h, MZRI_MAP_LOCAL), &ifindex,
					 &lold)) {
			mzri_warn("%s: %s already serves endpoint %s\n", what,
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
			mzri_warn("%s: endpoint %s on %s: this host's underlay is not attached yet (host attach first)\n",
				  what, mzri_ntoa(spec->ip, buf), spec->ifname);
			return -EINVAL;
		}
		if (cfg.ip != spec->host.s_addr) {
			char hbuf[INET_ADDRSTRLEN], ubuf[INET_ADDRSTRLEN];

			mzri_warn("%s: endpoint %s on %s gives host %s, but this host's underlay address is %s\n",
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
			mzri_warn("%s: cannot read %s: %s\n", what,
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
		mzri_warn("%s: %s: scaled endpoint table: %s\n", what,
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
			mzri_warn("%s: endpoint table full (%u entries)\n",
				  what, h->max_endpoints);
		else if (err == -EEXIST)
			mzri_warn("%s: endpoint %s already exists in VPC %u\n",
				  what, mzri_ntoa(spec->ip, buf), spec->vni);
		else
			mzri_warn("%s: %s: %s\n", what,
				  mzri_ntoa(spec->ip, buf), strerror(-err));
		return err;
	}
	if (!ifindex)
		return 0;

	if (bpf_map_update_elem(mzri_fd(h, MZRI_MAP_LOCAL), &ifindex, &lv,
				BPF_NOEXIST)) {
		err = mzri_map_err(-errno);
		mzri_warn("%s: local endpoint table: %s\n", what,
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
		mzri_info("%s: cannot set forwarding: %s\n", spec->ifname,
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

	err = mzri_check_vni_loaded(h, what, vni);
	if (err)
		return err;
	err = ep_lookup(h, what, &k, &v);
	if (err)
		return err;
	n_hosts = ep_hosts_read(h, &k, &v, hosts);
	if ((v.flags & MZR_EP_F_LOCAL) && v.ifindex) {
		/* Detach first: the agent must not run without its entry. */
		err = mzri_xdp_detach(v.ifindex, h->prog_fds[MZRI_PROG_AGENT]);
		if (err && err != -ENODEV)
			mzri_warn("%s: %s: cannot detach agent from ifindex %u: %s\n",
				  what, mzri_ntoa(ip, buf), v.ifindex,
				  strerror(-err));
		err = mzri_tc_detach(v.ifindex, h->prog_fds[MZRI_PROG_NEIGH]);
		if (err && err != -ENODEV)
			mzri_warn("%s: %s: cannot detach the tc program from ifindex %u: %s\n",
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
		mzri_warn("%s: %s: %s\n", what, mzri_ntoa(ip, buf),
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
	struct mzr_ep_key k = { .vni = vni, .ip = ip.s_addr };
	struct mzr_ep_val v;
	int err;

	err = mzri_check_vni_loaded_arg(h, "ep get", vni, info);
	if (err)
		return err;
	err = ep_lookup(h, "ep get", &k, &v);
	if (err)
		return err;
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

	err = mzri_check_loaded_arg(h, "ep for_each", cb);
	if (err)
		return err;
	n = mzri_map_dump(mzri_fd(h, MZRI_MAP_EPS), sizeof(*keys), sizeof(*vals),
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

	err = mzri_check_vni_loaded(h, what, vni);
	if (!err)
		err = ep_hosts_check(what, ip, hosts, n_hosts);
	if (err)
		return err;
	err = ep_lookup(h, what, &k, &v);
	if (err)
		return err;
	nv = v;
	if (v.flags & MZR_EP_F_LOCAL) {
		/* Hosted here: this host stays one of them. */
		if (!ep_hosts_has(hosts, n_hosts, v.host)) {
			char hbuf[INET_ADDRSTRLEN];

			mzri_warn("%s: %s is hosted here: the list must keep this host (%s)\n",
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
	mzri_warn("%s: %s: %s\n", what, mzri_ntoa(ip, buf),
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
	struct mzr_ep_val v;
	unsigned int n, i;
	int err;

	err = mzri_check_vni_loaded_arg(h, "ep get hosts", vni,
					hosts && n_hosts);
	if (err)
		return err;
	err = ep_lookup(h, "ep get hosts", &k, &v);
	if (err)
		return err;
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

/* ---- Locked entry points (see objects.c) ------------------------------ */

int mzr_ep__create(struct mzr_host *h, const struct mzr_ep_spec *spec)
{
	return MZRI_LOCKED(h, false, ep_create(h, spec, NULL, 0));
}

/* libbpf's rule for opts, applied to a spec that may grow. */
int mzri_ep_spec_copy(const void *specs, size_t sz, size_t i,
		      struct mzr_ep_spec *out)
{
	const unsigned char *p;
	size_t k;

	if (!sz)
		sz = sizeof(*out);
	if (sz < sizeof(*out)) {
		mzri_warn("endpoint: spec_sz %zu < %zu\n", sz, sizeof(*out));
		return -EINVAL;
	}
	p = (const unsigned char *)specs + i * sz;
	for (k = sizeof(*out); k < sz; k++) {
		if (p[k]) {
			mzri_warn("endpoint spec %zu has non-zero bytes past what this libmizar knows (offset %zu)\n",
				  i, k);
			return -EINVAL;
		}
	}
	memcpy(out, p, sizeof(*out));
	return 0;
}

int mzr_ep__create_opts(struct mzr_host *h, const struct mzr_ep_spec *spec,
			const struct mzr_ep_opts *opts)
{
	size_t sz = MZRI_OPTS_GET(opts, spec_sz, 0);
	struct mzr_ep_spec copy;
	int err;

	if (!MZRI_OPTS_VALID(opts, mzr_ep_opts))
		return -EINVAL;
	if (spec && sz) {
		err = mzri_ep_spec_copy(spec, sz, 0, &copy);
		if (err)
			return err;
		spec = &copy;
	}
	return MZRI_LOCKED(h, false,
			   ep_create(h, spec,
				     MZRI_OPTS_GET(opts, hosts, NULL),
				     MZRI_OPTS_GET(opts, n_hosts, 0)));
}

int mzr_ep__set_hosts(struct mzr_host *h, uint32_t vni, struct in_addr ip,
		      const struct in_addr *hosts, unsigned int n_hosts)
{
	return MZRI_LOCKED(h, false, ep_set_hosts(h, vni, ip, hosts, n_hosts));
}

int mzr_ep__delete(struct mzr_host *h, uint32_t vni, struct in_addr ip)
{
	return MZRI_LOCKED(h, false, ep_delete(h, vni, ip));
}
