// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JSON form of a host's declared state (docs/config-schema.md), read
 * and written with json-c. Strict: an unknown key or a value of the wrong
 * type is an error naming its path, so that a typo never silently drops
 * half a configuration.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>

#include <json-c/json.h>

#include "apply.h"
#include "mizarctl.h"

struct jctx {
	char path[256];
	char *err;
	size_t errlen;
};

static __attribute__((format(printf, 2, 3))) int jfail(struct jctx *c,
						       const char *fmt, ...)
{
	size_t off;
	va_list ap;

	off = snprintf(c->err, c->errlen,
		       "%s: ", c->path[0] ? c->path : "top level");
	if (off >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + off, c->errlen - off, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Enter member @key (or array index @idx when @key is NULL). */
static size_t jpush(struct jctx *c, const char *key, size_t idx)
{
	size_t len = strlen(c->path);

	if (key)
		snprintf(c->path + len, sizeof(c->path) - len, "%s%s",
			 len ? "." : "", key);
	else
		snprintf(c->path + len, sizeof(c->path) - len, "[%zu]", idx);
	return len;
}

static void jpop(struct jctx *c, size_t len)
{
	c->path[len] = '\0';
}

/* Every key of @o must be in @keys (NULL-terminated). */
static int check_keys(struct jctx *c, json_object *o, const char *const *keys)
{
	json_object_object_foreach(o, k, v)
	{
		const char *const *p;

		(void)v;
		for (p = keys; *p; p++)
			if (!strcmp(*p, k))
				break;
		if (!*p) {
			size_t l = jpush(c, k, 0);
			int err = jfail(c, "unknown key");

			jpop(c, l);
			return err;
		}
	}
	return 0;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int get_str(struct jctx *c, json_object *o, const char *key,
		   bool required, const char **out)
{
	json_object *v = member(o, key);
	size_t l;
	int err = 0;

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		l = jpush(c, key, 0);
		err = jfail(c, "missing");
		jpop(c, l);
		return err;
	}
	if (!json_object_is_type(v, json_type_string)) {
		l = jpush(c, key, 0);
		err = jfail(c, "must be a string");
		jpop(c, l);
		return err;
	}
	*out = json_object_get_string(v);
	return 0;
}

static int get_ip(struct jctx *c, json_object *o, const char *key,
		  bool required, struct in_addr *ip)
{
	const char *s;
	size_t l;
	int err = get_str(c, o, key, required, &s);

	ip->s_addr = 0;
	if (err || !s)
		return err;
	if (mzctl_parse_ip(s, ip) || !ip->s_addr) {
		l = jpush(c, key, 0);
		err = jfail(c, "bad address '%s'", s);
		jpop(c, l);
	}
	return err;
}

static int get_u32(struct jctx *c, json_object *o, const char *key,
		   bool required, int64_t max, int64_t *out)
{
	json_object *v = member(o, key);
	size_t l;
	int err = 0;

	*out = -1;
	if (!v) {
		if (!required)
			return 0;
		l = jpush(c, key, 0);
		err = jfail(c, "missing");
		jpop(c, l);
		return err;
	}
	l = jpush(c, key, 0);
	if (!json_object_is_type(v, json_type_int))
		err = jfail(c, "must be an integer");
	else if ((*out = json_object_get_int64(v)) < 0 || *out > max)
		err = jfail(c, "%lld out of range (0-%lld)", (long long)*out,
			    (long long)max);
	jpop(c, l);
	return err;
}

static int get_bool(struct jctx *c, json_object *o, const char *key, bool *out)
{
	json_object *v = member(o, key);
	size_t l;
	int err = 0;

	*out = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		l = jpush(c, key, 0);
		err = jfail(c, "must be true or false");
		jpop(c, l);
		return err;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* An optional array member; *arr NULL when absent. */
static int get_arr(struct jctx *c, json_object *o, const char *key,
		   json_object **arr)
{
	json_object *v = member(o, key);
	size_t l;
	int err;

	*arr = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		l = jpush(c, key, 0);
		err = jfail(c, "must be an array");
		jpop(c, l);
		return err;
	}
	*arr = v;
	return 0;
}

static int get_ip_list(struct jctx *c, json_object *o, const char *key,
		       struct in_addr *out, unsigned int max, unsigned int *n)
{
	json_object *arr;
	size_t i, l, l2;
	int err = get_arr(c, o, key, &arr);

	*n = 0;
	if (err || !arr)
		return err;
	l = jpush(c, key, 0);
	if (json_object_array_length(arr) > max) {
		err = jfail(c, "more than %u addresses", max);
		goto out;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *s = json_object_get_string(v);

		l2 = jpush(c, NULL, i);
		if (!json_object_is_type(v, json_type_string) ||
		    mzctl_parse_ip(s, &out[*n]) || !out[*n].s_addr)
			err = jfail(c, "bad address '%s'", s ? s : "");
		jpop(c, l2);
		if (err)
			goto out;
		(*n)++;
	}
out:
	jpop(c, l);
	return err;
}

static int parse_net(struct jctx *c, json_object *o, uint32_t vni,
		     struct mzap_state *s)
{
	static const char *const keys[] = { "prefix", "gw", "bouncers", NULL };
	struct mzap_net *n;
	const char *pfx;
	size_t l;
	int err;

	if (!json_object_is_type(o, json_type_object))
		return jfail(c, "must be an object");
	if ((err = check_keys(c, o, keys)) ||
	    (err = get_str(c, o, "prefix", true, &pfx)))
		return err;
	n = mzap_add_net(s);
	if (!n)
		return -ENOMEM;
	n->vni = vni;
	if (mzctl_parse_prefix(pfx, &n->prefix, &n->prefixlen)) {
		l = jpush(c, "prefix", 0);
		err = jfail(c, "bad prefix '%s'", pfx);
		jpop(c, l);
		return err;
	}
	if ((err = get_ip(c, o, "gw", false, &n->gw)) ||
	    (err = get_ip_list(c, o, "bouncers", n->bouncers,
			       MZR_MAX_BOUNCERS_PER_NET, &n->n_bouncers)))
		return err;
	if (!n->n_bouncers)
		return jfail(c, "needs at least one address in bouncers");
	return 0;
}

static int parse_ep(struct jctx *c, json_object *o, uint32_t vni,
		    struct mzap_state *s)
{
	static const char *const keys[] = { "ip",  "mac",	   "host",
					    "dev", "bypass_decap", "hosts",
					    NULL };
	const char *mac, *dev;
	struct mzap_ep *e;
	bool bypass;
	size_t l;
	int err;

	if (!json_object_is_type(o, json_type_object))
		return jfail(c, "must be an object");
	if ((err = check_keys(c, o, keys)))
		return err;
	e = mzap_add_ep(s);
	if (!e)
		return -ENOMEM;
	e->vni = vni;
	if ((err = get_ip(c, o, "ip", true, &e->ip)) ||
	    (err = get_ip(c, o, "host", false, &e->host)) ||
	    (err = get_str(c, o, "mac", true, &mac)) ||
	    (err = get_str(c, o, "dev", false, &dev)) ||
	    (err = get_bool(c, o, "bypass_decap", &bypass)) ||
	    (err = get_ip_list(c, o, "hosts", e->hosts, MZR_MAX_EP_HOSTS,
			       &e->n_hosts)))
		return err;
	/* One host in "hosts" is an ordinary endpoint. */
	if (e->n_hosts == 1) {
		if (!e->host.s_addr)
			e->host = e->hosts[0];
		e->n_hosts = 0;
	}
	if (mzctl_parse_mac(mac, e->mac)) {
		l = jpush(c, "mac", 0);
		err = jfail(c, "bad MAC '%s'", mac);
		jpop(c, l);
		return err;
	}
	if (dev) {
		if (!dev[0] || strlen(dev) >= IF_NAMESIZE) {
			l = jpush(c, "dev", 0);
			err = jfail(c, "bad interface name '%s'", dev);
			jpop(c, l);
			return err;
		}
		snprintf(e->dev, sizeof(e->dev), "%s", dev);
	}
	if (bypass)
		e->flags |= MZR_EP_BYPASS_DECAP;
	return 0;
}

/* Run @fn on each element of array member @key of @o. */
static int each(struct jctx *c, json_object *o, const char *key,
		int (*fn)(struct jctx *, json_object *, uint32_t,
			  struct mzap_state *),
		uint32_t vni, struct mzap_state *s)
{
	json_object *arr;
	size_t i, l, l2;
	int err = get_arr(c, o, key, &arr);

	if (err || !arr)
		return err;
	l = jpush(c, key, 0);
	for (i = 0; i < json_object_array_length(arr) && !err; i++) {
		l2 = jpush(c, NULL, i);
		err = fn(c, json_object_array_get_idx(arr, i), vni, s);
		jpop(c, l2);
	}
	jpop(c, l);
	return err;
}

static int parse_vpc(struct jctx *c, json_object *o, uint32_t unused,
		     struct mzap_state *s)
{
	static const char *const keys[] = { "vni", "dividers", "networks",
					    "endpoints", NULL };
	struct mzap_vpc *v;
	int64_t vni;
	int err;

	if (!json_object_is_type(o, json_type_object))
		return jfail(c, "must be an object");
	if ((err = check_keys(c, o, keys)) ||
	    (err = get_u32(c, o, "vni", true, MZR_VNI_MAX, &vni)))
		return err;
	if (!vni) {
		size_t l = jpush(c, "vni", 0);

		err = jfail(c, "0 out of range (1-%u)", MZR_VNI_MAX);
		jpop(c, l);
		return err;
	}
	v = mzap_add_vpc(s);
	if (!v)
		return -ENOMEM;
	v->vni = vni;
	if ((err = get_ip_list(c, o, "dividers", v->dividers,
			       MZR_MAX_DIVIDERS_PER_VPC, &v->n_dividers)))
		return err;
	/* @v may move as networks and endpoints are appended: vni by value. */
	return each(c, o, "networks", parse_net, vni, s) ?:
		       each(c, o, "endpoints", parse_ep, vni, s);
}

static int parse_nf(struct jctx *c, json_object *o, uint32_t unused,
		    struct mzap_state *s)
{
	static const char *const keys[] = { "name", "obj", "hook",
					    "prog", "pos", NULL };
	const char *name, *obj, *hook, *prog;
	struct mzap_nf *nf;
	int64_t pos;
	size_t l;
	int err, h;

	if (!json_object_is_type(o, json_type_object))
		return jfail(c, "must be an object");
	if ((err = check_keys(c, o, keys)) ||
	    (err = get_str(c, o, "name", true, &name)) ||
	    (err = get_str(c, o, "obj", true, &obj)) ||
	    (err = get_str(c, o, "hook", true, &hook)) ||
	    (err = get_str(c, o, "prog", false, &prog)) ||
	    (err = get_u32(c, o, "pos", false, MZR_CHAIN_MAX - 1, &pos)))
		return err;
	nf = mzap_add_nf(s);
	if (!nf)
		return -ENOMEM;
	if (!name[0] || strlen(name) >= sizeof(nf->name) ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_-") != strlen(name)) {
		l = jpush(c, "name", 0);
		err = jfail(c, "bad NF name '%s' (1-%zu of A-Z a-z 0-9 _ -)",
			    name, sizeof(nf->name) - 1);
		jpop(c, l);
		return err;
	}
	snprintf(nf->name, sizeof(nf->name), "%s", name);
	if (!obj[0] || strlen(obj) >= sizeof(nf->obj)) {
		l = jpush(c, "obj", 0);
		err = jfail(c, "bad object path");
		jpop(c, l);
		return err;
	}
	snprintf(nf->obj, sizeof(nf->obj), "%s", obj);
	h = mzr_hook_parse(hook);
	if (h < 0) {
		l = jpush(c, "hook", 0);
		err = jfail(c,
			    "bad hook '%s' (agent-egress, bouncer, divider, "
			    "deliver or external)",
			    hook);
		jpop(c, l);
		return err;
	}
	nf->hook = h;
	if (prog) {
		if (strlen(prog) >= sizeof(nf->prog)) {
			l = jpush(c, "prog", 0);
			err = jfail(c, "program name too long");
			jpop(c, l);
			return err;
		}
		snprintf(nf->prog, sizeof(nf->prog), "%s", prog);
	}
	nf->pos = pos;
	return 0;
}

static int parse_peer(struct jctx *c, json_object *o, uint32_t unused,
		      struct mzap_state *s)
{
	const char *v = json_object_get_string(o);
	struct in_addr *ip;

	if (!json_object_is_type(o, json_type_string))
		return jfail(c, "must be a string (an IPv4 address)");
	ip = mzap_add_peer(s);
	if (!ip)
		return -ENOMEM;
	if (mzctl_parse_ip(v, ip) || !ip->s_addr)
		return jfail(c, "bad address '%s'", v);
	return 0;
}

static int parse_protect(struct jctx *c, json_object *o, uint32_t unused,
			 struct mzap_state *s)
{
	const char *v = json_object_get_string(o);
	struct mzap_cidr *p;

	if (!json_object_is_type(o, json_type_string))
		return jfail(c, "must be a string (A.B.C.D/LEN)");
	p = mzap_add_protect(s);
	if (!p)
		return -ENOMEM;
	if (mzctl_parse_prefix(v, &p->addr, &p->len))
		return jfail(c, "bad prefix '%s'", v);
	return 0;
}

int mzap_from_json(const char *text, struct mzap_state *s, char *err,
		   size_t errlen)
{
	static const char *const keys[] = { "version", "vpcs",	  "nf",
					    "peers",   "protect", NULL };
	struct jctx c = { .err = err, .errlen = errlen };
	enum json_tokener_error jerr;
	json_tokener *tok;
	json_object *root;
	int64_t version;
	int ret;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, strlen(text) + 1);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		size_t at = json_tokener_get_parse_end(tok);

		/* The parser also read the terminating NUL. */
		snprintf(err, errlen, "not JSON: %s near byte %zu",
			 json_tokener_error_desc(jerr),
			 at > strlen(text) ? strlen(text) : at);
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		ret = jfail(&c, "must be an object");
		goto out;
	}
	if ((ret = check_keys(&c, root, keys)) ||
	    (ret = get_u32(&c, root, "version", true, 1000, &version)))
		goto out;
	if (version != MZAP_SCHEMA_VERSION) {
		jpush(&c, "version", 0);
		ret = jfail(&c, "schema version %lld; this mizarctl reads %d",
			    (long long)version, MZAP_SCHEMA_VERSION);
		goto out;
	}
	s->has_peers = member(root, "peers") != NULL;
	s->has_protect = member(root, "protect") != NULL;
	ret = each(&c, root, "vpcs", parse_vpc, 0, s)		?:
		      each(&c, root, "nf", parse_nf, 0, s)	?:
		      each(&c, root, "peers", parse_peer, 0, s) ?:
		      each(&c, root, "protect", parse_protect, 0, s);
out:
	json_object_put(root);
	return ret;
}

/* ---- Writing ------------------------------------------------------------------ */

/*
 * Written directly, one line per endpoint, not through a json-c tree: a
 * dump of 1M endpoints then takes seconds and no memory beyond the state.
 */

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_addrs(FILE *f, const struct in_addr *a, unsigned int n)
{
	char ip[INET_ADDRSTRLEN];
	unsigned int i;

	fputc('[', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : " ", mzctl_ip_str(a[i], ip));
	fprintf(f, "%s]", n ? " " : "");
}

int mzap_to_json(const struct mzap_state *s, struct in_addr self, FILE *f)
{
	char ip[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN], mac[18];
	size_t i, ni = 0, ei = 0;
	bool first;

	fprintf(f, "{\n  \"version\": %d,\n  \"vpcs\": [", MZAP_SCHEMA_VERSION);
	for (i = 0; i < s->n_vpcs; i++) {
		const struct mzap_vpc *v = &s->vpcs[i];

		fprintf(f,
			"%s\n    {\n      \"vni\": %u,\n      \"dividers\": ",
			i ? "," : "", v->vni);
		put_addrs(f, v->dividers, v->n_dividers);
		fprintf(f, ",\n      \"networks\": [");
		/* Networks and endpoints are sorted by VNI, as VPCs are. */
		for (first = true; ni < s->n_nets && s->nets[ni].vni <= v->vni;
		     ni++) {
			const struct mzap_net *n = &s->nets[ni];

			if (n->vni != v->vni)
				continue;
			fprintf(f,
				"%s\n        { \"prefix\": \"%s/%u\", \"gw\": "
				"\"%s\", \"bouncers\": ",
				first ? "" : ",", mzctl_ip_str(n->prefix, ip),
				n->prefixlen, mzctl_ip_str(n->gw, host));
			put_addrs(f, n->bouncers, n->n_bouncers);
			fprintf(f, " }");
			first = false;
		}
		fprintf(f, "%s],\n      \"endpoints\": [",
			first ? "" : "\n      ");
		for (first = true; ei < s->n_eps && s->eps[ei].vni <= v->vni;
		     ei++) {
			const struct mzap_ep *e = &s->eps[ei];

			if (e->vni != v->vni)
				continue;
			fprintf(f,
				"%s\n        { \"ip\": \"%s\", \"mac\": \"%s\"",
				first ? "" : ",", mzctl_ip_str(e->ip, ip),
				mzctl_mac_str(e->mac, mac));
			/* A local endpoint's host is this host: left out, the
			 * file stays valid if the underlay address changes. */
			if (!e->dev[0] || e->host.s_addr != self.s_addr)
				fprintf(f, ", \"host\": \"%s\"",
					mzctl_ip_str(e->host, host));
			if (e->dev[0]) {
				fprintf(f, ", \"dev\": ");
				put_str(f, e->dev);
			}
			if (e->n_hosts) {
				fprintf(f, ", \"hosts\": [");
				for (unsigned int k = 0; k < e->n_hosts; k++)
					fprintf(f, "%s\"%s\"", k ? ", " : "",
						mzctl_ip_str(e->hosts[k],
							     host));
				fprintf(f, "]");
			}
			if (e->flags & MZR_EP_BYPASS_DECAP)
				fprintf(f, ", \"bypass_decap\": true");
			fprintf(f, " }");
			first = false;
		}
		fprintf(f, "%s]\n    }", first ? "" : "\n      ");
	}
	fprintf(f, "%s],\n  \"nf\": [", s->n_vpcs ? "\n  " : "");
	for (i = 0; i < s->n_nfs; i++) {
		const struct mzap_nf *nf = &s->nfs[i];

		fprintf(f, "%s\n    { \"name\": ", i ? "," : "");
		put_str(f, nf->name);
		fprintf(f, ", \"hook\": \"%s\", \"pos\": %d, \"obj\": ",
			mzr_hook_name(nf->hook), nf->pos);
		put_str(f, nf->obj);
		if (nf->prog[0]) {
			fprintf(f, ", \"prog\": ");
			put_str(f, nf->prog);
		}
		fprintf(f, " }");
	}
	fprintf(f, "%s]", s->n_nfs ? "\n  " : "");
	if (s->has_peers) {
		fprintf(f, ",\n  \"peers\": ");
		put_addrs(f, s->peers, s->n_peers);
	}
	if (s->has_protect) {
		fprintf(f, ",\n  \"protect\": [");
		for (i = 0; i < s->n_protect; i++)
			fprintf(f, "%s\"%s/%u\"", i ? ", " : " ",
				mzctl_ip_str(s->protect[i].addr, ip),
				s->protect[i].len);
		fprintf(f, "%s]", s->n_protect ? " " : "");
	}
	fprintf(f, "\n}\n");
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
