// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizarctl's pure pieces: value parsers, keyword arguments, formatting and
 * the JSON writer. No back-plane access, so unit tests link this file alone.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "mizarctl.h"

void mzctl_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", program_invocation_short_name, cmd ? cmd : "",
		cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int mzctl_parse_kw(const char *cmd, struct mzctl_kw *kws, int argc,
		   char **argv)
{
	const char *names[64], *ambig;
	struct mzctl_kw *kw;
	int i, n = 0, k;

	for (kw = kws; kw->name; kw++) {
		kw->val = NULL;
		if (n < (int)(sizeof(names) / sizeof(names[0])))
			names[n++] = kw->name;
	}
	for (i = 0; i < argc; i++) {
		/* Exact keyword, else a unique abbreviation of one. */
		k = mzctl_lookup(argv[i], names, n, &ambig);
		if (k < 0) {
			mzctl_err_unknown(cmd, "argument", argv[i], names, n,
					  ambig);
			return -1;
		}
		kw = &kws[k];
		if (kw->val) {
			mzctl_err(cmd, "'%s' given twice", kw->name);
			return -1;
		}
		if (!kw->has_val) {
			kw->val = "";
			continue;
		}
		if (i + 1 >= argc) {
			mzctl_err(cmd, "'%s' needs a value", kw->name);
			return -1;
		}
		kw->val = argv[++i];
	}
	for (kw = kws; kw->name; kw++) {
		if (kw->required && !kw->val) {
			mzctl_err(cmd, "missing '%s'", kw->name);
			return -1;
		}
	}
	return 0;
}

struct mzctl_kw *mzctl_kw_get(struct mzctl_kw *kws, const char *name)
{
	for (; kws->name; kws++)
		if (!strcmp(kws->name, name))
			return kws;
	abort();
}

int mzctl_parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s || strlen(s) > 10)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

int mzctl_parse_vni(const char *s, uint32_t *vni)
{
	uint32_t v;
	int err = mzctl_parse_u32(s, &v);

	if (err)
		return err;
	if (v < 1 || v > MZR_VNI_MAX)
		return -ERANGE;
	*vni = v;
	return 0;
}

int mzctl_parse_ip(const char *s, struct in_addr *ip)
{
	/* inet_pton takes exactly four decimal parts, unlike inet_aton. */
	if (!s || inet_pton(AF_INET, s, ip) != 1)
		return -EINVAL;
	return 0;
}

int mzctl_parse_prefix(const char *s, struct in_addr *prefix,
		       unsigned int *len)
{
	char buf[INET_ADDRSTRLEN];
	const char *slash;
	uint32_t l;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (mzctl_parse_ip(buf, prefix) || strlen(slash + 1) > 2 ||
	    mzctl_parse_u32(slash + 1, &l) || l > 32)
		return -EINVAL;
	*len = l;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mzctl_parse_mac(const char *s, unsigned char mac[6])
{
	int i, hi, lo;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		hi = hexval(s[3 * i]);
		lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = hi << 4 | lo;
	}
	return 0;
}

int mzctl_parse_ip_list(const char *s, struct in_addr *out, unsigned int max,
			unsigned int *n)
{
	char item[INET_ADDRSTRLEN];
	const char *p = s, *comma;
	unsigned int count = 0;
	size_t len;

	if (!s)
		return -EINVAL;
	*n = 0;
	if (!*s)
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len || len >= sizeof(item))
			return -EINVAL;
		if (count == max)
			return -E2BIG;
		memcpy(item, p, len);
		item[len] = '\0';
		if (mzctl_parse_ip(item, &out[count]))
			return -EINVAL;
		count++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*n = count;
	return 0;
}

int mzctl_parse_mode(const char *s, enum mzr_xdp_mode *mode)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "native"))
		*mode = MZR_XDP_MODE_NATIVE;
	else if (!strcmp(s, "generic") || !strcmp(s, "skb"))
		*mode = MZR_XDP_MODE_GENERIC;
	else if (!strcmp(s, "auto"))
		*mode = MZR_XDP_MODE_AUTO;
	else if (!strcmp(s, "dispatcher"))
		*mode = MZR_XDP_MODE_DISPATCHER;
	else if (!strcmp(s, "tc"))
		*mode = MZR_XDP_MODE_TC;
	else
		return -EINVAL;
	return 0;
}

const char *mzctl_mac_str(const unsigned char mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

const char *mzctl_ip_str(struct in_addr ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
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

bool mzctl_json_pretty;

static void json_indent(struct mzctl_json *js, int depth)
{
	fputc('\n', js->f);
	while (depth-- > 0)
		fputs("  ", js->f);
}

static void json_key(struct mzctl_json *js, const char *key)
{
	if (!js->first[js->depth])
		fputc(',', js->f);
	js->first[js->depth] = false;
	if (mzctl_json_pretty)
		json_indent(js, js->depth);
	if (key) {
		json_string(js->f, key);
		fputs(mzctl_json_pretty ? ": " : ":", js->f);
	}
}

static void json_open(struct mzctl_json *js, const char *key, char c)
{
	json_key(js, key);
	fputc(c, js->f);
	if (js->depth + 1 < (int)(sizeof(js->first) / sizeof(js->first[0])))
		js->depth++;
	js->first[js->depth] = true;
}

static void json_close(struct mzctl_json *js, char c)
{
	if (mzctl_json_pretty && !js->first[js->depth])
		json_indent(js, js->depth - 1);
	fputc(c, js->f);
	if (js->depth)
		js->depth--;
}

void mzctl_json_begin(struct mzctl_json *js, FILE *f)
{
	js->f = f;
	js->depth = 0;
	js->first[0] = true;
	fputc('{', f);
	js->depth = 1;
	js->first[1] = true;
}

void mzctl_json_end(struct mzctl_json *js)
{
	if (mzctl_json_pretty && !js->first[1])
		fputc('\n', js->f);
	fputs("}\n", js->f);
	js->depth = 0;
}

void mzctl_json_obj(struct mzctl_json *js, const char *key)
{
	json_open(js, key, '{');
}

void mzctl_json_obj_end(struct mzctl_json *js)
{
	json_close(js, '}');
}

void mzctl_json_arr(struct mzctl_json *js, const char *key)
{
	json_open(js, key, '[');
}

void mzctl_json_arr_end(struct mzctl_json *js)
{
	json_close(js, ']');
}

void mzctl_json_str(struct mzctl_json *js, const char *key, const char *val)
{
	json_key(js, key);
	if (val)
		json_string(js->f, val);
	else
		fputs("null", js->f);
}

void mzctl_json_u64(struct mzctl_json *js, const char *key, uint64_t val)
{
	json_key(js, key);
	fprintf(js->f, "%llu", (unsigned long long)val);
}

void mzctl_json_bool(struct mzctl_json *js, const char *key, bool val)
{
	json_key(js, key);
	fputs(val ? "true" : "false", js->f);
}
