// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mizarctl apply` plans: from a current and a declared state, exactly
 * the changes needed, in an order that never leaves a dangling reference
 * (endpoints before their networks before their VPCs on the way out, the
 * reverse on the way in), NF chains reaching the declared order, and the
 * file checked before anything runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "apply.h"
#include "mizarctl.h"

#define SELF "172.31.0.1"

static struct in_addr self(void)
{
	struct in_addr a;

	inet_pton(AF_INET, SELF, &a);
	return a;
}

/* Parse and normalize @json; the test fails on any error. */
static void load(struct mzap_state *s, const char *json)
{
	char err[512] = "";

	memset(s, 0, sizeof(*s));
	if (mzap_from_json(json, s, err, sizeof(err)) ||
	    mzap_normalize(s, self(), err, sizeof(err)))
		fail_msg("%s", err);
}

/* The error line for @json (parse or normalize), or "" when accepted. */
static const char *error_of(const char *json)
{
	static char err[512];
	struct mzap_state s = {};

	err[0] = '\0';
	if (!mzap_from_json(json, &s, err, sizeof(err)))
		mzap_normalize(&s, self(), err, sizeof(err));
	mzap_state_free(&s);
	return err;
}

/* The plan as text, one op a line. */
static char *plan_text(const struct mzap_state *cur,
		       const struct mzap_state *want)
{
	static char out[8192];
	struct mzap_plan p = {};
	char line[512];
	size_t i, off = 0;

	assert_int_equal(mzap_diff(cur, want, &p), 0);
	out[0] = '\0';
	for (i = 0; i < p.n; i++) {
		mzap_op_str(&p.ops[i], line, sizeof(line));
		off += snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	mzap_plan_free(&p);
	return out;
}

#define BASE "{\"version\":1,\"vpcs\":[" VPC100 "]"
#define VPC100                                                                 \
	"{\"vni\":100,\"dividers\":[\"172.31.0.4\"],"                             \
	"\"networks\":[{\"prefix\":\"10.0.1.0/24\",\"bouncers\":[\"172.31.0.1\"]}," \
	"{\"prefix\":\"10.0.2.0/24\",\"bouncers\":[\"172.31.0.2\"]}],"           \
	"\"endpoints\":[{\"ip\":\"10.0.1.2\",\"mac\":\"0e:00:00:00:01:02\",\"dev\":\"ve-a\"}," \
	"{\"ip\":\"10.0.1.3\",\"mac\":\"0e:00:00:00:01:03\",\"host\":\"172.31.0.2\"}]}"

static void test_same_state_no_change(void **state)
{
	struct mzap_state a, b;

	load(&a, BASE "}");
	/* The same state written differently: defaults spelt out, another
	 * order, the local endpoint's host given. */
	load(&b, "{\"version\":1,\"nf\":[],\"vpcs\":[{\"vni\":100,"
		 "\"endpoints\":[{\"ip\":\"10.0.1.3\",\"mac\":\"0e:00:00:00:01:03\",\"host\":\"172.31.0.2\"},"
		 "{\"ip\":\"10.0.1.2\",\"mac\":\"0e:00:00:00:01:02\",\"dev\":\"ve-a\",\"host\":\"" SELF "\",\"bypass_decap\":false}],"
		 "\"networks\":[{\"prefix\":\"10.0.2.0/24\",\"gw\":\"10.0.2.1\",\"bouncers\":[\"172.31.0.2\"]},"
		 "{\"prefix\":\"10.0.1.0/24\",\"bouncers\":[\"172.31.0.1\"]}],"
		 "\"dividers\":[\"172.31.0.4\"]}]}");
	assert_string_equal(plan_text(&a, &b), "");
	mzap_state_free(&a);
	mzap_state_free(&b);
}

static void test_create_and_delete_order(void **state)
{
	struct mzap_state empty, full;

	load(&empty, "{\"version\":1}");
	load(&full, BASE "}");
	assert_string_equal(plan_text(&empty, &full),
		"+ vpc vni 100 dividers 172.31.0.4\n"
		"+ net vni 100 prefix 10.0.1.0/24 gw 10.0.1.1 bouncers 172.31.0.1\n"
		"+ net vni 100 prefix 10.0.2.0/24 gw 10.0.2.1 bouncers 172.31.0.2\n"
		"+ ep vni 100 ip 10.0.1.2 mac 0e:00:00:00:01:02 host 172.31.0.1 dev ve-a\n"
		"+ ep vni 100 ip 10.0.1.3 mac 0e:00:00:00:01:03 host 172.31.0.2\n");
	assert_string_equal(plan_text(&full, &empty),
		"- ep vni 100 ip 10.0.1.2 mac 0e:00:00:00:01:02 host 172.31.0.1 dev ve-a\n"
		"- ep vni 100 ip 10.0.1.3 mac 0e:00:00:00:01:03 host 172.31.0.2\n"
		"- net vni 100 prefix 10.0.1.0/24\n"
		"- net vni 100 prefix 10.0.2.0/24\n"
		"- vpc vni 100\n");
	mzap_state_free(&empty);
	mzap_state_free(&full);
}

static void test_updates_in_place(void **state)
{
	struct mzap_state a, b;

	load(&a, BASE "}");
	/* New dividers, new bouncers of one network, an endpoint moved from
	 * a remote host to another one: sets, and one delete + create. */
	load(&b, "{\"version\":1,\"vpcs\":[{\"vni\":100,\"dividers\":[\"172.31.0.4\",\"172.31.0.5\"],"
		 "\"networks\":[{\"prefix\":\"10.0.1.0/24\",\"bouncers\":[\"172.31.0.1\",\"172.31.0.3\"]},"
		 "{\"prefix\":\"10.0.2.0/24\",\"bouncers\":[\"172.31.0.2\"]}],"
		 "\"endpoints\":[{\"ip\":\"10.0.1.2\",\"mac\":\"0e:00:00:00:01:02\",\"dev\":\"ve-a\"},"
		 "{\"ip\":\"10.0.1.3\",\"mac\":\"0e:00:00:00:01:03\",\"host\":\"172.31.0.3\"}]}]}");
	assert_string_equal(plan_text(&a, &b),
		"- ep vni 100 ip 10.0.1.3 mac 0e:00:00:00:01:03 host 172.31.0.2\n"
		"~ vpc vni 100 dividers 172.31.0.4,172.31.0.5 (was 172.31.0.4)\n"
		"~ net vni 100 prefix 10.0.1.0/24 bouncers 172.31.0.1,172.31.0.3 (was 172.31.0.1)\n"
		"+ ep vni 100 ip 10.0.1.3 mac 0e:00:00:00:01:03 host 172.31.0.3\n");
	mzap_state_free(&a);
	mzap_state_free(&b);
}

static void test_new_gateway_remakes_network_and_endpoints(void **state)
{
	struct mzap_state a, b;

	load(&a, BASE "}");
	load(&b, "{\"version\":1,\"vpcs\":[{\"vni\":100,\"dividers\":[\"172.31.0.4\"],"
		 "\"networks\":[{\"prefix\":\"10.0.1.0/24\",\"gw\":\"10.0.1.254\",\"bouncers\":[\"172.31.0.1\"]},"
		 "{\"prefix\":\"10.0.2.0/24\",\"bouncers\":[\"172.31.0.2\"]}],"
		 "\"endpoints\":[{\"ip\":\"10.0.1.2\",\"mac\":\"0e:00:00:00:01:02\",\"dev\":\"ve-a\"},"
		 "{\"ip\":\"10.0.1.3\",\"mac\":\"0e:00:00:00:01:03\",\"host\":\"172.31.0.2\"}]}]}");
	assert_string_equal(plan_text(&a, &b),
		"- ep vni 100 ip 10.0.1.2 mac 0e:00:00:00:01:02 host 172.31.0.1 dev ve-a\n"
		"- ep vni 100 ip 10.0.1.3 mac 0e:00:00:00:01:03 host 172.31.0.2\n"
		"- net vni 100 prefix 10.0.1.0/24\n"
		"+ net vni 100 prefix 10.0.1.0/24 gw 10.0.1.254 bouncers 172.31.0.1\n"
		"+ ep vni 100 ip 10.0.1.2 mac 0e:00:00:00:01:02 host 172.31.0.1 dev ve-a\n"
		"+ ep vni 100 ip 10.0.1.3 mac 0e:00:00:00:01:03 host 172.31.0.2\n");
	mzap_state_free(&a);
	mzap_state_free(&b);
}

static void test_replaced_network_overlapping(void **state)
{
	struct mzap_state a, b;

	/* 10.0.0.0/16 becomes 10.0.1.0/24: the old one must go first (the
	 * library refuses overlapping networks), its endpoint with it. */
	load(&a, "{\"version\":1,\"vpcs\":[{\"vni\":7,\"networks\":[{\"prefix\":\"10.0.0.0/16\",\"bouncers\":[\"1.1.1.1\"]}],"
		 "\"endpoints\":[{\"ip\":\"10.0.1.9\",\"mac\":\"0e:00:00:00:00:09\",\"host\":\"1.1.1.1\"}]}]}");
	load(&b, "{\"version\":1,\"vpcs\":[{\"vni\":7,\"networks\":[{\"prefix\":\"10.0.1.0/24\",\"bouncers\":[\"1.1.1.1\"]}],"
		 "\"endpoints\":[{\"ip\":\"10.0.1.9\",\"mac\":\"0e:00:00:00:00:09\",\"host\":\"1.1.1.1\"}]}]}");
	assert_string_equal(plan_text(&a, &b),
		"- ep vni 7 ip 10.0.1.9 mac 0e:00:00:00:00:09 host 1.1.1.1\n"
		"- net vni 7 prefix 10.0.0.0/16\n"
		"+ net vni 7 prefix 10.0.1.0/24 gw 10.0.1.1 bouncers 1.1.1.1\n"
		"+ ep vni 7 ip 10.0.1.9 mac 0e:00:00:00:00:09 host 1.1.1.1\n");
	mzap_state_free(&a);
	mzap_state_free(&b);
}

/* ---- NF chains: run the plan on a model of the chains ------------------ */

struct chains {
	char name[__MZR_HOOK_MAX][MZR_CHAIN_MAX][MZR_NF_NAME_MAX];
	char obj[__MZR_HOOK_MAX][MZR_CHAIN_MAX][4096];
	unsigned int len[__MZR_HOOK_MAX];
};

static void chains_of(const struct mzap_state *s, struct chains *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < s->n_nfs; i++) {
		const struct mzap_nf *nf = &s->nfs[i];

		snprintf(c->name[nf->hook][nf->pos], MZR_NF_NAME_MAX, "%s",
			 nf->name);
		snprintf(c->obj[nf->hook][nf->pos], sizeof(c->obj[0][0]), "%s", nf->obj);
		c->len[nf->hook]++;
	}
}

static bool find(struct chains *c, const char *name, unsigned int *h,
		 unsigned int *p)
{
	for (*h = 0; *h < __MZR_HOOK_MAX; (*h)++)
		for (*p = 0; *p < c->len[*h]; (*p)++)
			if (!strcmp(c->name[*h][*p], name))
				return true;
	return false;
}

static void run_op(struct chains *c, enum mzap_op_kind kind,
		   const struct mzap_nf *nf, int pos)
{
	unsigned int h, p;

	switch (kind) {
	case MZAP_NF_DEL:
		assert_true(find(c, nf->name, &h, &p));
		memmove(c->name[h][p], c->name[h][p + 1],
			(c->len[h] - p - 1) * sizeof(c->name[h][0]));
		memmove(c->obj[h][p], c->obj[h][p + 1],
			(c->len[h] - p - 1) * sizeof(c->obj[h][0]));
		c->len[h]--;
		memset(c->name[h][c->len[h]], 0, sizeof(c->name[h][0]));
		memset(c->obj[h][c->len[h]], 0, sizeof(c->obj[h][0]));
		break;
	case MZAP_NF_ADD:
		assert_false(find(c, nf->name, &h, &p));
		h = nf->hook;
		assert_true(pos >= 0 && (unsigned int)pos <= c->len[h]);
		memmove(c->name[h][pos + 1], c->name[h][pos],
			(c->len[h] - pos) * sizeof(c->name[h][0]));
		memmove(c->obj[h][pos + 1], c->obj[h][pos],
			(c->len[h] - pos) * sizeof(c->obj[h][0]));
		snprintf(c->name[h][pos], MZR_NF_NAME_MAX, "%s", nf->name);
		snprintf(c->obj[h][pos], sizeof(c->obj[0][0]), "%s", nf->obj);
		c->len[h]++;
		break;
	case MZAP_NF_REPLACE:
		assert_true(find(c, nf->name, &h, &p));
		snprintf(c->obj[h][p], sizeof(c->obj[0][0]), "%s", nf->obj);
		break;
	default:
		fail_msg("not an NF op");
	}
}

/* The plan from @from to @to reaches @to on the model, and undoing it
 * step by step in reverse (as a failed apply does) reaches @from. */
static void check_chains(const char *from, const char *to, size_t max_ops)
{
	struct mzap_state a, b;
	struct chains c, want, orig;
	struct mzap_plan p = {};
	size_t i;

	load(&a, from);
	load(&b, to);
	chains_of(&a, &c);
	chains_of(&a, &orig);
	chains_of(&b, &want);
	assert_int_equal(mzap_diff(&a, &b, &p), 0);
	assert_true(p.n <= max_ops);
	for (i = 0; i < p.n; i++)
		run_op(&c, p.ops[i].kind, p.ops[i].obj, p.ops[i].pos);
	assert_memory_equal(&c, &want, sizeof(c));
	for (i = p.n; i-- > 0;) {
		const struct mzap_op *op = &p.ops[i];
		const struct mzap_nf *nf = op->obj;

		if (op->kind == MZAP_NF_ADD)
			run_op(&c, MZAP_NF_DEL, nf, 0);
		else if (op->kind == MZAP_NF_DEL)
			run_op(&c, MZAP_NF_ADD, nf, nf->pos);
		else
			run_op(&c, MZAP_NF_REPLACE, op->old, 0);
	}
	assert_memory_equal(&c, &orig, sizeof(c));
	mzap_plan_free(&p);
	mzap_state_free(&a);
	mzap_state_free(&b);
}

#define NF(n, h, o) "{\"name\":\"" n "\",\"hook\":\"" h "\",\"obj\":\"" o "\",\"prog\":\"p\"}"
#define NFS(...) "{\"version\":1,\"nf\":[" __VA_ARGS__ "]}"

static void test_nf_chains(void **state)
{
	/* Same chains: nothing. */
	check_chains(NFS(NF("a", "deliver", "/a.o") "," NF("b", "deliver", "/b.o")),
		     NFS(NF("a", "deliver", "/a.o") "," NF("b", "deliver", "/b.o")), 0);
	/* Append, prepend, insert in the middle: one add each. */
	check_chains(NFS(NF("a", "deliver", "/a.o")),
		     NFS(NF("a", "deliver", "/a.o") "," NF("b", "deliver", "/b.o")), 1);
	check_chains(NFS(NF("a", "deliver", "/a.o")),
		     NFS(NF("b", "deliver", "/b.o") "," NF("a", "deliver", "/a.o")), 1);
	check_chains(NFS(NF("a", "deliver", "/a.o") "," NF("c", "deliver", "/c.o")),
		     NFS(NF("a", "deliver", "/a.o") "," NF("b", "deliver", "/b.o") ","
			 NF("c", "deliver", "/c.o")), 1);
	/* A new object for a kept NF: one atomic replace. */
	check_chains(NFS(NF("a", "deliver", "/a.o") "," NF("b", "bouncer", "/b.o")),
		     NFS(NF("a", "deliver", "/a2.o") "," NF("b", "bouncer", "/b.o")), 1);
	/* Reordered, moved to another hook, removed. */
	check_chains(NFS(NF("a", "deliver", "/a.o") "," NF("b", "deliver", "/b.o") ","
			 NF("c", "deliver", "/c.o") "," NF("d", "bouncer", "/d.o")),
		     NFS(NF("c", "deliver", "/c.o") "," NF("a", "deliver", "/a.o") ","
			 NF("d", "divider", "/d.o")), 16);
	check_chains(NFS(NF("a", "deliver", "/a.o") "," NF("b", "deliver", "/b.o") ","
			 NF("c", "deliver", "/c.o")),
		     NFS(NF("b", "deliver", "/b.o")), 2);
	check_chains(NFS(NF("a", "agent-egress", "/a.o") "," NF("b", "agent-egress", "/b.o")),
		     NFS(), 2);
}

static void test_nf_changes_come_before_new_endpoints(void **state)
{
	struct mzap_state a, b;

	load(&a, "{\"version\":1}");
	load(&b, "{\"version\":1,\"vpcs\":[{\"vni\":1,\"networks\":[{\"prefix\":\"10.0.0.0/24\",\"bouncers\":[\"1.1.1.1\"]}],"
		 "\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:02\",\"host\":\"1.1.1.1\"}]}],"
		 "\"nf\":[" NF("acl", "agent-egress", "/acl.o") "]}");
	assert_string_equal(plan_text(&a, &b),
		"+ vpc vni 1 dividers none\n"
		"+ net vni 1 prefix 10.0.0.0/24 gw 10.0.0.1 bouncers 1.1.1.1\n"
		"+ nf acl hook agent-egress pos 0 obj /acl.o prog p\n"
		"+ ep vni 1 ip 10.0.0.2 mac 0e:00:00:00:00:02 host 1.1.1.1\n");
	mzap_state_free(&a);
	mzap_state_free(&b);
}

/* Trust lists: added before anything, removed after everything; a file
 * without the key leaves the list alone. */
static void test_trust_lists(void **state)
{
	struct mzap_state a, b, c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	load(&a, "{\"version\":1,\"peers\":[\"10.1.1.2\",\"10.1.1.1\"],"
		 "\"protect\":[\"192.168.0.0/16\"]}");
	load(&b, "{\"version\":1,\"peers\":[\"10.1.1.3\",\"10.1.1.2\"],\"protect\":[],"
		 "\"vpcs\":[{\"vni\":1,\"dividers\":[\"10.1.1.3\"]}]}");
	assert_string_equal(plan_text(&a, &b),
		"+ peer 10.1.1.3\n"
		"+ vpc vni 1 dividers 10.1.1.3\n"
		"- peer 10.1.1.1\n"
		"- protect 192.168.0.0/16\n");
	assert_string_equal(plan_text(&b, &a),
		"+ peer 10.1.1.1\n"
		"+ protect 192.168.0.0/16\n"
		"- vpc vni 1\n"
		"- peer 10.1.1.3\n");
	load(&c, "{\"version\":1}");
	assert_string_equal(plan_text(&a, &c), "");
	/* dump writes the lists it manages; they read back the same. */
	f = open_memstream(&buf, &len);
	assert_int_equal(mzap_to_json(&a, self(), f), 0);
	fclose(f);
	mzap_state_free(&c);
	load(&c, buf);
	assert_true(c.has_peers && c.has_protect);
	assert_string_equal(plan_text(&a, &c), "");
	free(buf);
	mzap_state_free(&a);
	mzap_state_free(&b);
	mzap_state_free(&c);
}

/* Skipped endpoints (a missing dev at boot) are neither created nor
 * deleted; the others still are. */
static void test_skip_eps(void **state)
{
	struct mzap_state cur, want;
	bool skip[3] = { false };

	load(&cur, "{\"version\":1,\"vpcs\":[{\"vni\":1,\"networks\":[{\"prefix\":\"10.0.0.0/24\",\"bouncers\":[\"1.1.1.1\"]}],"
		   "\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:02\",\"dev\":\"old\"},"
		   "{\"ip\":\"10.0.0.3\",\"mac\":\"0e:00:00:00:00:03\",\"host\":\"1.1.1.1\"},"
		   "{\"ip\":\"10.0.0.9\",\"mac\":\"0e:00:00:00:00:09\",\"host\":\"1.1.1.1\"}]}]}");
	load(&want, "{\"version\":1,\"vpcs\":[{\"vni\":1,\"networks\":[{\"prefix\":\"10.0.0.0/24\",\"bouncers\":[\"1.1.1.1\"]}],"
		    "\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:02\",\"dev\":\"new\"},"
		    "{\"ip\":\"10.0.0.4\",\"mac\":\"0e:00:00:00:00:04\",\"dev\":\"gone\"},"
		    "{\"ip\":\"10.0.0.5\",\"mac\":\"0e:00:00:00:00:05\",\"host\":\"1.1.1.1\"}]}]}");
	skip[0] = skip[1] = true; /* 10.0.0.2 (dev new), 10.0.0.4 */
	assert_int_equal(mzap_skip_eps(&want, &cur, skip), 2);
	assert_string_equal(plan_text(&cur, &want),
		"- ep vni 1 ip 10.0.0.3 mac 0e:00:00:00:00:03 host 1.1.1.1\n"
		"- ep vni 1 ip 10.0.0.9 mac 0e:00:00:00:00:09 host 1.1.1.1\n"
		"+ ep vni 1 ip 10.0.0.5 mac 0e:00:00:00:00:05 host 1.1.1.1\n");
	mzap_state_free(&cur);
	mzap_state_free(&want);
}

/* ---- Checking a file ------------------------------------------------------ */

#define V(body) "{\"version\":1,\"vpcs\":[{\"vni\":5," body "}]}"
#define NET24 "\"networks\":[{\"prefix\":\"10.0.0.0/24\",\"bouncers\":[\"1.1.1.1\"]}]"

static void test_file_errors(void **state)
{
	assert_string_equal(error_of(V(NET24)), "");
	assert_string_equal(error_of("{\"version\":1,\"vpcs\":[{\"vni\":5},{\"vni\":5}]}"),
			    "VPC 5 declared twice");
	assert_string_equal(error_of("{\"version\":2}"),
			    "version: schema version 2; this mizarctl reads 1");
	assert_string_equal(error_of("{}"), "version: missing");
	assert_string_equal(error_of("[1]"), "top level: must be an object");
	assert_string_equal(error_of("{\"version\":1,\"vpc\":[]}"), "vpc: unknown key");
	assert_string_equal(error_of("{\"version\":1,\"vpcs\":[{\"vni\":0}]}"),
			    "vpcs[0].vni: 0 out of range (1-16777215)");
	assert_string_equal(error_of("{\"version\":1,\"vpcs\":[{\"vni\":\"5\"}]}"),
			    "vpcs[0].vni: must be an integer");
	assert_string_equal(error_of(V("\"networks\":[{\"prefix\":\"10.0.0.0/24\",\"bouncers\":[\"1.1.1\"]}]")),
			    "vpcs[0].networks[0].bouncers[0]: bad address '1.1.1'");
	assert_string_equal(error_of(V("\"networks\":[{\"prefix\":\"10.0.0.0/24\"}]")),
			    "vpcs[0].networks[0]: needs at least one address in bouncers");
	assert_string_equal(error_of(V("\"networks\":[{\"prefix\":\"10.0.0.1/24\",\"bouncers\":[\"1.1.1.1\"]}]")),
			    "network 10.0.0.1/24: host bits set");
	assert_string_equal(error_of(V("\"networks\":[{\"prefix\":\"10.0.0.0/24\",\"gw\":\"10.0.1.1\",\"bouncers\":[\"1.1.1.1\"]}]")),
			    "network 10.0.0.0/24: gw 10.0.1.1 outside it");
	assert_string_equal(error_of(V("\"networks\":[{\"prefix\":\"10.0.0.0/16\",\"bouncers\":[\"1.1.1.1\"]},"
				       "{\"prefix\":\"10.1.0.0/16\",\"bouncers\":[\"1.1.1.1\"]},"
				       "{\"prefix\":\"10.0.7.0/24\",\"bouncers\":[\"1.1.1.1\"]}]")),
			    "network 10.0.7.0/24 of VPC 5 overlaps 10.0.0.0/16");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.1.2\",\"mac\":\"0e:00:00:00:00:01\",\"host\":\"1.1.1.1\"}]")),
			    "endpoint 10.0.1.2 of VPC 5: outside every network of its VPC");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.1\",\"mac\":\"0e:00:00:00:00:01\",\"host\":\"1.1.1.1\"}]")),
			    "endpoint 10.0.0.1 of VPC 5: the network's gateway address");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.255\",\"mac\":\"0e:00:00:00:00:01\",\"host\":\"1.1.1.1\"}]")),
			    "endpoint 10.0.0.255 of VPC 5: the network's own or broadcast address");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:01\"}]")),
			    "endpoint 10.0.0.2 of VPC 5: a remote endpoint (no dev) needs host");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:01\",\"dev\":\"v1\",\"host\":\"1.1.1.1\"}]")),
			    "endpoint 10.0.0.2 of VPC 5: with dev it lives on this host (" SELF "), not 1.1.1.1");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:01\",\"dev\":\"v1\"},"
				       "{\"ip\":\"10.0.0.3\",\"mac\":\"0e:00:00:00:00:02\",\"dev\":\"v1\"}]")),
			    "dev v1 serves two endpoints");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:01\",\"dev\":\"v1\"},"
				       "{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00:02\",\"host\":\"1.1.1.1\"}]")),
			    "endpoint 10.0.0.2 of VPC 5 declared twice");
	assert_string_equal(error_of(V(NET24 ",\"endpoints\":[{\"ip\":\"10.0.0.2\",\"mac\":\"0e:00:00:00:00\",\"host\":\"1.1.1.1\"}]")),
			    "vpcs[0].endpoints[0].mac: bad MAC '0e:00:00:00:00'");
	assert_string_equal(error_of(NFS(NF("a", "deliver", "/a.o") "," NF("a", "bouncer", "/a.o"))),
			    "nf a declared twice");
	assert_string_equal(error_of(NFS(NF("a", "nowhere", "/a.o"))),
			    "nf[0].hook: bad hook 'nowhere' (agent-egress, bouncer, divider, deliver or external)");
	assert_string_equal(error_of(NFS("{\"name\":\"a b\",\"hook\":\"deliver\",\"obj\":\"/a.o\"}")),
			    "nf[0].name: bad NF name 'a b' (1-31 of A-Z a-z 0-9 _ -)");
	assert_string_equal(error_of(NFS("{\"name\":\"a\",\"hook\":\"deliver\",\"obj\":\"/a.o\",\"pos\":1}")),
			    "nf a: pos 1, but it is number 0 of hook deliver in the file (a chain follows the file order)");
	assert_string_equal(error_of("{\"version\":1,\"peers\":[\"1.1.1.1\",\"1.1.1.1\"]}"),
			    "peer 1.1.1.1 listed twice");
	assert_string_equal(error_of("{\"version\":1,\"peers\":[\"1.1.1\"]}"),
			    "peers[0]: bad address '1.1.1'");
	assert_string_equal(error_of("{\"version\":1,\"protect\":[\"10.0.0.1/8\"]}"),
			    "protect 10.0.0.1/8: host bits set");
	assert_string_equal(error_of("{\"version\":1,\"protect\":[\"10.0.0.0/8\",\"10.0.0.0/8\"]}"),
			    "protect 10.0.0.0/8 listed twice");
	assert_string_equal(error_of("{\"version\":1,\"protect\":[7]}"),
			    "protect[0]: must be a string (A.B.C.D/LEN)");
	assert_string_equal(error_of("{\"version\":1,"), "not JSON: unexpected end of data near byte 13");
}

static void test_json_round_trip(void **state)
{
	struct mzap_state a, b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	load(&a, "{\"version\":1,\"vpcs\":[" VPC100 ","
		 "{\"vni\":200,\"networks\":[{\"prefix\":\"10.9.0.0/16\",\"gw\":\"10.9.0.254\",\"bouncers\":[\"1.1.1.1\",\"1.1.1.2\"]}],"
		 "\"endpoints\":[{\"ip\":\"10.9.1.1\",\"mac\":\"aa:bb:cc:dd:ee:ff\",\"dev\":\"tap0\",\"bypass_decap\":true}]}],"
		 "\"nf\":[{\"name\":\"x\",\"hook\":\"divider\",\"obj\":\"/x\\\"q\\\\.o\"}," NF("y", "divider", "/y.o") "]}");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(mzap_to_json(&a, self(), f), 0);
	fclose(f);
	load(&b, buf);
	assert_string_equal(plan_text(&a, &b), "");
	assert_int_equal(b.n_vpcs, 2);
	assert_int_equal(b.n_nets, 3);
	assert_int_equal(b.n_eps, 3);
	assert_int_equal(b.n_nfs, 2);
	assert_string_equal(b.nfs[0].obj, "/x\"q\\.o");
	/* A local endpoint's host is left out: it is this host. */
	assert_null(strstr(buf, "\"host\": \"" SELF "\""));
	free(buf);
	mzap_state_free(&a);
	mzap_state_free(&b);
}

/* docs/config-schema.md's example is a valid file (the doc cannot drift). */
static void test_doc_example(void **state)
{
	const char *src = getenv("MZR_SOURCE_DIR");
	char path[4096], line[1024], *doc = NULL;
	struct mzap_state s;
	size_t len = 0;
	bool in = false, done = false;
	FILE *f, *out;

	snprintf(path, sizeof(path), "%s/docs/config-schema.md",
		 src ? src : "..");
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (set MZR_SOURCE_DIR)", path);
	out = open_memstream(&doc, &len);
	while (!done && fgets(line, sizeof(line), f)) {
		if (!in && !strcmp(line, "```json\n"))
			in = true;
		else if (in && !strcmp(line, "```\n"))
			done = true;
		else if (in)
			fputs(line, out);
	}
	fclose(f);
	fclose(out);
	assert_true(done);
	load(&s, doc);
	assert_int_equal(s.n_vpcs, 1);
	assert_int_equal(s.n_nets, 2);
	assert_int_equal(s.n_eps, 3);
	assert_int_equal(s.n_nfs, 2);
	mzap_state_free(&s);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_state_no_change),
		cmocka_unit_test(test_create_and_delete_order),
		cmocka_unit_test(test_updates_in_place),
		cmocka_unit_test(test_new_gateway_remakes_network_and_endpoints),
		cmocka_unit_test(test_replaced_network_overlapping),
		cmocka_unit_test(test_nf_chains),
		cmocka_unit_test(test_nf_changes_come_before_new_endpoints),
		cmocka_unit_test(test_trust_lists),
		cmocka_unit_test(test_skip_eps),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_doc_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
