// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizar-acl: a stateful network ACL for the endpoints of one host (see
 * docs/nf-acl.md and the "Example network functions" section of the CLI
 * contract). Global options (-r/--pin-root, -j/--json, -v) may appear
 * anywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nftool.h"
#include "acl_rules.h"
#include "mizar_acl_bpf.skel.h"

static const struct nftool_prog acl_progs[] = {
	{ "acl_egress", MZR_HOOK_AGENT_EGRESS },
	{ "acl_deliver", MZR_HOOK_DELIVER },
};

static const struct nftool acl_tool = {
	.name = "acl",
	.elf_bytes = mizar_acl_bpf__elf_bytes,
	.progs = acl_progs,
	.n_progs = sizeof(acl_progs) / sizeof(acl_progs[0]),
};

static const char *const counter_names[__MZR_ACL_CNT_MAX] = {
	[MZR_ACL_CNT_NO_POLICY] = "no_policy",
	[MZR_ACL_CNT_NOT_IP] = "not_ip",
	[MZR_ACL_CNT_CT_PASS] = "ct_pass",
	[MZR_ACL_CNT_RELATED] = "related",
	[MZR_ACL_CNT_ALLOW] = "allowed",
	[MZR_ACL_CNT_DENY] = "denied",
	[MZR_ACL_CNT_REVALIDATED] = "revalidated",
	[MZR_ACL_CNT_REVOKED] = "revoked",
	[MZR_ACL_CNT_FRAGMENT] = "fragments",
	[MZR_ACL_CNT_FRAG_FOLLOW] = "frag_follow",
	[MZR_ACL_CNT_FRAG_UNKNOWN] = "frag_unknown",
};

/* ---- Writing a VPC's policy -------------------------------------------- */

/* The maps of one invocation, and the lock serialising writers. */
struct acl_maps {
	int sets, hits, stats;
	int lock;
};

static void maps_close(struct acl_maps *m)
{
	int *fds[] = { &m->sets, &m->hits, &m->stats, &m->lock };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]); /* the lock goes with its fd */
}

/* Open the configuration maps; writers also take the configuration lock,
 * so that two invocations editing the same VPC never lose one of the
 * edits (read, modify, write). -1 after one error line. */
static int maps_open(struct mzctl *g, const char *cmd, bool write,
		     struct acl_maps *m)
{
	const struct nftool_mapref refs[] = {
		{ "acl_sets", &m->sets },
		{ "acl_hits", &m->hits },
		{ "acl_stats", &m->stats },
		{ NULL },
	};

	m->lock = -1;
	if (nftool_maps(g, &acl_tool, cmd, refs))
		return -1;
	if (write && (m->lock = nftool_lock(g, &acl_tool, cmd)) < 0) {
		maps_close(m);
		return -1;
	}
	return 0;
}

/* The policy of @vni, or a fresh one (no rule, default allow). Returns
 * 1 when it exists, 0 when fresh, -errno on a map error. */
static int set_read(const struct acl_maps *m, uint32_t vni,
		    struct mzr_acl_set *set)
{
	if (!bpf_map_lookup_elem(m->sets, &vni, set))
		return 1;
	if (errno != ENOENT)
		return -errno;
	acl_set_init(set);
	return 0;
}

/* Open the maps for writing and read the policy of @vni into @set.
 * Returns 1 or 0 as set_read() with the maps open, or -1 with them closed
 * after one error line. */
static int set_open(struct mzctl *g, const char *cmd, uint32_t vni,
		    struct acl_maps *m, struct mzr_acl_set *set)
{
	int existed;

	if (maps_open(g, cmd, true, m))
		return -1;
	existed = set_read(m, vni, set);
	if (existed < 0) {
		maps_close(m);
		mzctl_fail(cmd, existed);
		return -1;
	}
	return existed;
}

/* A generation never used before for this VPC, even across a deleted and
 * re-created policy: tracked connections of older ones get re-checked. */
static uint64_t next_gen(uint64_t old)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return now > old ? now : old + 1;
}

/*
 * Publish @set as the policy of @vni with one map update (the data path
 * sees the old policy or the new one), or remove the entry when the policy
 * says nothing (no rule, default allow). 0 or -errno.
 */
static int set_write(const struct acl_maps *m, uint32_t vni,
		     struct mzr_acl_set *set, bool existed)
{
	int err = 0;

	if (acl_set_is_empty(set)) {
		if (existed && bpf_map_delete_elem(m->sets, &vni) &&
		    errno != ENOENT)
			err = -errno;
	} else {
		set->gen = next_gen(set->gen);
		if (bpf_map_update_elem(m->sets, &vni, set, BPF_ANY))
			err = -errno;
	}
	/* The kernel recycles a replaced hash element without waiting for
	 * readers, so the next writer could overwrite it under a packet still
	 * reading the old policy: wait them out here, under the lock. */
	if (!err && existed)
		err = mzr_sync_grace_period();
	return err;
}

static void hits_forget(const struct acl_maps *m, uint32_t vni, uint32_t prio)
{
	struct mzr_acl_hit_key k = { .vni = vni, .prio = prio };

	bpf_map_delete_elem(m->hits, &k);
}

/* ---- rule add / rule del ----------------------------------------------- */

static int rule_add(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "rule add";
	struct mzr_acl_rule r;
	struct mzr_acl_set set;
	struct acl_maps m;
	uint32_t vni;
	int existed, err;

	if (acl_rule_parse(cmd, argc, argv, &vni, &r))
		return MZCTL_USAGE;
	existed = set_open(g, cmd, vni, &m, &set);
	if (existed < 0)
		return MZCTL_FAIL;
	err = acl_set_insert(&set, &r);
	if (err == -EEXIST) {
		mzctl_err(cmd, "vni %u already has a rule with prio %u", vni,
			  r.prio);
		maps_close(&m);
		return MZCTL_FAIL;
	}
	if (err == -ENOSPC) {
		mzctl_err(cmd, "vni %u already has %u rules (the maximum)",
			  vni, MZR_ACL_MAX_RULES);
		maps_close(&m);
		return MZCTL_FAIL;
	}
	/* A new rule counts from zero; the old set has no rule with this
	 * prio, so nothing can count into it before the update. */
	hits_forget(&m, vni, r.prio);
	err = set_write(&m, vni, &set, existed);
	maps_close(&m);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

static int rule_del(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "rule del";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "prio", true, true, NULL },
		{ NULL },
	};
	struct mzr_acl_set set;
	struct acl_maps m;
	uint32_t vni;
	uint16_t prio;
	int existed, err;

	if (mzctl_parse_kw(cmd, kw, argc, argv) ||
	    nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, &vni) ||
	    acl_arg_prio(cmd, mzctl_kw_get(kw, "prio")->val, &prio))
		return MZCTL_USAGE;
	existed = set_open(g, cmd, vni, &m, &set);
	if (existed < 0)
		return MZCTL_FAIL;
	if (!existed || !set.n) {
		mzctl_err(cmd, "vni %u has no rules", vni);
		maps_close(&m);
		return MZCTL_FAIL;
	}
	if (acl_set_remove(&set, prio)) {
		mzctl_err(cmd, "vni %u has no rule with prio %u", vni, prio);
		maps_close(&m);
		return MZCTL_FAIL;
	}
	err = set_write(&m, vni, &set, existed);
	if (err)
		goto fail;
	hits_forget(&m, vni, prio);
	if (acl_set_is_empty(&set))
		hits_forget(&m, vni, MZR_ACL_HIT_DEFAULT);
	maps_close(&m);
	return MZCTL_OK;
fail:
	maps_close(&m);
	return mzctl_fail(cmd, err);
}

static const struct mzctl_sub rule_subs[] = {
	{ "add",
	  "vni N prio P [src CIDR] [dst CIDR] [proto tcp|udp|icmp|any] [dport P[-Q]] action allow|deny",
	  "Add a rule to VPC N's policy on this host. Rules match in ascending\n"
	  "prio (" "1-65535, unique per VPC); the first match decides.\n"
	  "  src, dst  inner source / destination: A.B.C.D/LEN, A.B.C.D or any\n"
	  "            (default any); host bits beyond LEN are an error\n"
	  "  proto     default any\n"
	  "  dport     a port or range P-Q (with proto tcp or udp only)\n"
	  "Replies of connections a rule allows pass without matching.\n",
	  rule_add },
	{ "del", "vni N prio P", "Remove VPC N's rule with prio P.\n",
	  rule_del },
	{ NULL },
};

static int cmd_rule(struct mzctl *g, int argc, char **argv)
{
	return mzctl_dispatch(g, "rule", rule_subs, argc, argv);
}

/* ---- default ------------------------------------------------------------ */

static const char *const default_help =
	"Usage: mizar-acl default vni N allow|deny\n"
	"\n"
	"What VPC N's packets that match no rule get on this host\n"
	"(allow until set).\n";

static int cmd_default(struct mzctl *g, int argc, char **argv)
{
	const char *cmd = "default";
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "allow", false, false, NULL },
		{ "deny", false, false, NULL },
		{ NULL },
	};
	struct mzr_acl_set set;
	struct acl_maps m;
	bool allow, deny;
	uint32_t vni;
	int existed, err;

	if (nftool_help(argc, argv, default_help))
		return MZCTL_OK;
	if (mzctl_parse_kw(cmd, kw, argc, argv) ||
	    nf_arg_vni(cmd, mzctl_kw_get(kw, "vni")->val, &vni))
		return MZCTL_USAGE;
	allow = mzctl_kw_get(kw, "allow")->val;
	deny = mzctl_kw_get(kw, "deny")->val;
	if (allow == deny) {
		mzctl_err(cmd, "say either allow or deny");
		return MZCTL_USAGE;
	}
	existed = set_open(g, cmd, vni, &m, &set);
	if (existed < 0)
		return MZCTL_FAIL;
	set.dflt = allow ? MZR_ACL_ALLOW : MZR_ACL_DENY;
	err = set_write(&m, vni, &set, existed);
	if (!err && acl_set_is_empty(&set))
		hits_forget(&m, vni, MZR_ACL_HIT_DEFAULT);
	maps_close(&m);
	return err ? mzctl_fail(cmd, err) : MZCTL_OK;
}

/* ---- show --------------------------------------------------------------- */

static const char *const show_help =
	"Usage: mizar-acl [-j] show\n"
	"\n"
	"Every VPC's policy on this host: default, rules in match\n"
	"order, packets decided by each (hits), and the NF's counters.\n";

static uint64_t hits_of(const struct acl_maps *m, uint32_t vni, uint32_t prio)
{
	struct mzr_acl_hit_key k = { .vni = vni, .prio = prio };

	return nftool_percpu_sum(m->hits, &k);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The VNIs with a policy, sorted; *n set. NULL on error (errno). */
static uint32_t *list_vnis(int fd, unsigned int *n)
{
	uint32_t *vnis = calloc(MZR_ACL_MAX_VPCS, sizeof(*vnis));
	uint32_t key, next;
	void *prev = NULL;

	*n = 0;
	if (!vnis)
		return NULL;
	while (*n < MZR_ACL_MAX_VPCS && !bpf_map_get_next_key(fd, prev,
							      &next)) {
		vnis[(*n)++] = next;
		key = next;
		prev = &key;
	}
	qsort(vnis, *n, sizeof(*vnis), cmp_u32);
	return vnis;
}

static void show_rule_json(struct mzctl_json *js, const struct acl_maps *m,
			   uint32_t vni, const struct mzr_acl_rule *r)
{
	char a[20], b[20], p[8], d[16];

	mzctl_json_obj(js, NULL);
	mzctl_json_u64(js, "prio", r->prio);
	mzctl_json_str(js, "src", acl_cidr_str(r->src, r->src_mask, a));
	mzctl_json_str(js, "dst", acl_cidr_str(r->dst, r->dst_mask, b));
	mzctl_json_str(js, "proto", acl_proto_str(r->proto, p));
	mzctl_json_str(js, "dport", acl_ports_str(r, d));
	mzctl_json_str(js, "action", acl_action_str(r->action));
	mzctl_json_u64(js, "hits", hits_of(m, vni, r->prio));
	mzctl_json_obj_end(js);
}

static int cmd_show(struct mzctl *g, int argc, char **argv)
{
	static const char *const pcols[] = { "vni", "default", "hits",
					     "rules", NULL };
	static const char *const rcols[] = { "vni", "prio", "src", "dst",
					     "proto", "dport", "action",
					     "hits", NULL };
	const char *cmd = "show";
	struct nftool_table pt, rt;
	struct mzr_acl_set set;
	struct mzctl_json js;
	struct acl_maps m;
	unsigned int n, i, j;
	uint32_t *vnis;
	int ret;

	ret = nftool_no_args(cmd, show_help, argc, argv);
	if (ret >= 0)
		return ret;
	ret = nftool_show_unattached(g, &acl_tool, cmd);
	if (ret >= 0)
		return ret;
	if (maps_open(g, cmd, false, &m))
		return MZCTL_FAIL;
	vnis = list_vnis(m.sets, &n);
	if (!vnis) {
		maps_close(&m);
		return mzctl_fail(cmd, -ENOMEM);
	}

	nftool_show_begin(g, &js, &acl_tool);
	if (g->json)
		mzctl_json_arr(&js, "vpcs");
	nftool_table_init(&pt, "Policies", pcols);
	nftool_table_init(&rt, "Rules", rcols);
	for (i = 0; i < n; i++) {
		char a[20], b[20], p[8], d[16], v[12], h[24], c[12], pr[12];

		if (bpf_map_lookup_elem(m.sets, &vnis[i], &set))
			continue; /* deleted meanwhile */
		if (set.n > MZR_ACL_MAX_RULES)
			set.n = MZR_ACL_MAX_RULES;
		if (g->json) {
			mzctl_json_obj(&js, NULL);
			mzctl_json_u64(&js, "vni", vnis[i]);
			mzctl_json_str(&js, "default",
				       acl_action_str(set.dflt));
			mzctl_json_u64(&js, "default_hits",
				       hits_of(&m, vnis[i],
					       MZR_ACL_HIT_DEFAULT));
			mzctl_json_arr(&js, "rules");
			for (j = 0; j < set.n; j++)
				show_rule_json(&js, &m, vnis[i],
					       &set.rules[j]);
			mzctl_json_arr_end(&js);
			mzctl_json_obj_end(&js);
			continue;
		}
		snprintf(v, sizeof(v), "%u", vnis[i]);
		snprintf(h, sizeof(h), "%llu",
			 (unsigned long long)hits_of(&m, vnis[i],
						     MZR_ACL_HIT_DEFAULT));
		snprintf(c, sizeof(c), "%u", set.n);
		nftool_table_row(&pt, v, acl_action_str(set.dflt), h, c);
		for (j = 0; j < set.n; j++) {
			const struct mzr_acl_rule *r = &set.rules[j];

			snprintf(pr, sizeof(pr), "%u", r->prio);
			snprintf(h, sizeof(h), "%llu",
				 (unsigned long long)hits_of(&m, vnis[i],
							     r->prio));
			nftool_table_row(&rt, v, pr,
					 acl_cidr_str(r->src, r->src_mask, a),
					 acl_cidr_str(r->dst, r->dst_mask, b),
					 acl_proto_str(r->proto, p),
					 acl_ports_str(r, d),
					 acl_action_str(r->action), h);
		}
	}
	if (g->json) {
		mzctl_json_arr_end(&js);
	} else {
		/* No policy: every VPC allows everything. */
		nftool_table_print(&pt);
		nftool_table_print(&rt);
	}
	nftool_show_counters(g, &js, m.stats, counter_names,
			     __MZR_ACL_CNT_MAX);
	nftool_show_end(g, &js);
	free(vnis);
	maps_close(&m);
	return MZCTL_OK;
}

/* ---- main --------------------------------------------------------------- */

static const char *const usage =
	"Usage: mizar-acl [-r|--pin-root DIR] [-j|--json] [-v|--verbose] COMMAND ...\n"
	"\n"
	"A stateful network ACL for the endpoints of this host: rules per VPC\n"
	"match in ascending prio, the first match decides, otherwise the VPC's\n"
	"default (allow unless set); replies of allowed connections pass.\n"
	"\n"
	"Commands:\n"
	"  attach | detach      load into / remove from the agent-egress and\n"
	"                       deliver hooks (detach forgets every policy)\n"
	"  rule add vni N prio P [src CIDR] [dst CIDR] [proto tcp|udp|icmp|any]\n"
	"           [dport P[-Q]] action allow|deny\n"
	"  rule del vni N prio P\n"
	"  default vni N allow|deny\n"
	"  show                 policies, hit counters and the NF's counters\n"
	"\n"
	"Options:\n"
	"  -r, --pin-root DIR  bpffs directory holding this host's state\n"
	"                      (default: $MIZAR_PIN_ROOT, else " MZR_DEFAULT_PIN_ROOT ")\n"
	"  -j, --json          print show output as one JSON document\n"
	"  -v, --verbose       print the library's log lines\n"
	"  -h, --help          help; also after any command\n";

static const struct mzctl_group groups[] = {
	{ "rule", cmd_rule },
	{ "default", cmd_default },
	{ "show", cmd_show },
	{ NULL },
};

int main(int argc, char **argv)
{
	return nftool_main(argc, argv, &acl_tool, groups, usage);
}
