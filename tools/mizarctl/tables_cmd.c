// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Table fill levels for `mizarctl host show` (and `mizarctl metrics`):
 * entries against capacity, with a warning from MZR_TABLE_WARN_PCT on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mizarctl.h"

int mzctl_tables_get(struct mzr_host *h, struct mzr_table_usage **out)
{
	struct mzr_table_usage *t = NULL, *nt;
	size_t cap = 16;
	int n;

	/* NF maps may appear between two calls: retry with the new size. */
	for (;;) {
		nt = realloc(t, cap * sizeof(*t));
		if (!nt) {
			free(t);
			return -ENOMEM;
		}
		t = nt;
		n = mzr_host__tables(h, t, cap);
		if (n < 0) {
			free(t);
			return n;
		}
		if ((size_t)n <= cap)
			break;
		cap = n + 8;
	}
	*out = t;
	return n;
}

bool mzctl_table_warn(const struct mzr_table_usage *t)
{
	return t->capacity &&
	       (uint64_t)t->entries * 100 >=
		       (uint64_t)t->capacity * MZR_TABLE_WARN_PCT;
}

static unsigned int pct(const struct mzr_table_usage *t)
{
	return t->capacity ? (unsigned int)((uint64_t)t->entries * 100 /
					    t->capacity) :
			     0;
}

/* "table endpoints is 95% full (62259 of 65536)" into @buf. */
static void warning(const struct mzr_table_usage *t, char *buf, size_t len)
{
	snprintf(buf, len, "table %s is %u%% full (%u of %u)%s", t->name,
		 pct(t), t->entries, t->capacity,
		 t->kind == MZR_TABLE_CACHE ?
			 ": an LRU cache, its oldest entries get evicted" :
		 t->kind == MZR_TABLE_CORE ? ": inserts fail when it is full" :
					     "");
}

static const char *kind_name(enum mzr_table_kind k)
{
	return k == MZR_TABLE_CACHE ? "cache" :
	       k == MZR_TABLE_NF    ? "nf" :
				      "core";
}

int mzctl_tables_show(struct mzr_host *h, struct mzctl_json *js)
{
	struct mzr_table_usage *t;
	char buf[256];
	int n, i;

	n = mzctl_tables_get(h, &t);
	if (n < 0)
		return n;
	if (js) {
		mzctl_json_arr(js, "tables");
		for (i = 0; i < n; i++) {
			mzctl_json_obj(js, NULL);
			mzctl_json_str(js, "name", t[i].name);
			mzctl_json_str(js, "kind", kind_name(t[i].kind));
			mzctl_json_u64(js, "entries", t[i].entries);
			mzctl_json_u64(js, "capacity", t[i].capacity);
			mzctl_json_u64(js, "fill_pct", pct(&t[i]));
			mzctl_json_bool(js, "warning", mzctl_table_warn(&t[i]));
			mzctl_json_obj_end(js);
		}
		mzctl_json_arr_end(js);
		mzctl_json_arr(js, "warnings");
		for (i = 0; i < n; i++) {
			if (!mzctl_table_warn(&t[i]))
				continue;
			warning(&t[i], buf, sizeof(buf));
			mzctl_json_str(js, NULL, buf);
		}
		mzctl_json_arr_end(js);
		free(t);
		return 0;
	}
	printf("tables     %-23s %10s %10s %5s\n", "", "entries", "capacity",
	       "fill");
	for (i = 0; i < n; i++)
		printf("  %-32s %10u %10u %4u%%\n", t[i].name, t[i].entries,
		       t[i].capacity, pct(&t[i]));
	for (i = 0; i < n; i++) {
		if (!mzctl_table_warn(&t[i]))
			continue;
		warning(&t[i], buf, sizeof(buf));
		printf("warning: %s\n", buf);
	}
	free(t);
	return 0;
}
