// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mizarctl's command-line habits: exact names win, then the aliases
 * (delete, list, ls), then unique prefixes; an ambiguous prefix is an
 * error; a typo gets a "did you mean"; keywords abbreviate the same way;
 * -p indents the JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mizarctl.h"

static const char *const subs[] = { "add", "set", "del", "show" };
static const char *const groups[] = { "host", "vpc", "net", "ep", "nf",
				      "stats", "metrics", "apply", "dump" };
#define N(a) ((int)(sizeof(a) / sizeof(a[0])))

static void test_lookup(void **state)
{
	const char *amb;

	assert_int_equal(mzctl_lookup("show", subs, N(subs), &amb), 3);
	assert_int_equal(mzctl_lookup("del", subs, N(subs), &amb), 2);
	assert_int_equal(mzctl_lookup("delete", subs, N(subs), &amb), 2);
	assert_int_equal(mzctl_lookup("list", subs, N(subs), &amb), 3);
	assert_int_equal(mzctl_lookup("ls", subs, N(subs), &amb), 3);
	assert_int_equal(mzctl_lookup("a", subs, N(subs), &amb), 0);
	assert_int_equal(mzctl_lookup("d", subs, N(subs), &amb), 2);
	assert_int_equal(mzctl_lookup("dele", subs, N(subs), &amb), 2);
	assert_int_equal(mzctl_lookup("sh", subs, N(subs), &amb), 3);
	assert_int_equal(mzctl_lookup("li", subs, N(subs), &amb), 3);
	/* set and show: ambiguous, never a guess. */
	assert_int_equal(mzctl_lookup("s", subs, N(subs), &amb),
			 MZCTL_LOOKUP_AMBIGUOUS);
	assert_non_null(amb);
	assert_int_equal(mzctl_lookup("shows", subs, N(subs), &amb),
			 MZCTL_LOOKUP_NONE);
	assert_int_equal(mzctl_lookup("", subs, N(subs), &amb),
			 MZCTL_LOOKUP_NONE);
	/* An alias whose target is not there means nothing. */
	assert_int_equal(mzctl_lookup("ls", groups, N(groups), &amb),
			 MZCTL_LOOKUP_NONE);
	assert_int_equal(mzctl_lookup("h", groups, N(groups), &amb), 0);
	assert_int_equal(mzctl_lookup("m", groups, N(groups), &amb), 6);
	assert_int_equal(mzctl_lookup("n", groups, N(groups), &amb),
			 MZCTL_LOOKUP_AMBIGUOUS);
	assert_int_equal(mzctl_lookup("ne", groups, N(groups), &amb), 2);
}

static void test_suggest(void **state)
{
	assert_string_equal(mzctl_suggest("hots", groups, N(groups)), "host");
	assert_string_equal(mzctl_suggest("stast", groups, N(groups)),
			    "stats");
	assert_string_equal(mzctl_suggest("shwo", subs, N(subs)), "show");
	assert_string_equal(mzctl_suggest("vp", groups, N(groups)), "vpc");
	assert_null(mzctl_suggest("frobnicate", groups, N(groups)));
	assert_null(mzctl_suggest("xyz", subs, N(subs)));
}

static void test_keyword_abbrev(void **state)
{
	struct mzctl_kw kw[] = {
		{ "vni", true, true, NULL },
		{ "ip", true, true, NULL },
		{ "bypass-decap", false, false, NULL },
		{ NULL },
	};
	char *ok[] = { "v", "5", "ip", "10.0.0.1", "bypass" };
	char *exact[] = { "vni", "5", "ip", "10.0.0.1", "bypass-decap" };
	char *typo[] = { "vnii", "5", "ip", "10.0.0.1" };

	assert_int_equal(mzctl_parse_kw("t", kw, 5, ok), 0);
	assert_string_equal(mzctl_kw_get(kw, "vni")->val, "5");
	assert_string_equal(mzctl_kw_get(kw, "bypass-decap")->val, "");
	assert_int_equal(mzctl_parse_kw("t", kw, 5, exact), 0);
	assert_int_equal(mzctl_parse_kw("t", kw, 4, typo), -1);
}

static void test_pretty(void **state)
{
	struct mzctl_json js;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	mzctl_json_pretty = true;
	mzctl_json_begin(&js, f);
	mzctl_json_u64(&js, "a", 1);
	mzctl_json_arr(&js, "l");
	mzctl_json_str(&js, NULL, "x");
	mzctl_json_arr_end(&js);
	mzctl_json_obj(&js, "e");
	mzctl_json_obj_end(&js);
	mzctl_json_end(&js);
	mzctl_json_pretty = false;
	fclose(f);
	assert_string_equal(buf, "{\n  \"a\": 1,\n  \"l\": [\n    \"x\"\n  ],\n"
				 "  \"e\": {}\n}\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_keyword_abbrev),
		cmocka_unit_test(test_pretty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
