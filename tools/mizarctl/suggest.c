// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Command-line habits of iproute2 and bpftool: aliases (delete, list,
 * ls), unique-prefix abbreviations of commands and keywords, and a "did
 * you mean" for a word that matches nothing. An exact name always wins, so
 * every full command line means what it meant before.
 */
#include <stdio.h>
#include <string.h>

#include "mizarctl.h"

/* Alias -> the name it stands for, where that name exists. */
static const char *const aliases[][2] = {
	{ "delete", "del" },
	{ "list", "show" },
	{ "ls", "show" },
};

#define N_ALIASES (sizeof(aliases) / sizeof(aliases[0]))

static int find_exact(const char *w, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], w))
			return i;
	return -1;
}

/* Levenshtein distance, capped: words longer than 31 are "far". */
static int distance(const char *a, const char *b)
{
	int la = strlen(a), lb = strlen(b), i, j, prev, cur, tmp;
	int row[32];

	if (la > 31 || lb > 31)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < cur)
				cur = row[j] + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			tmp = row[j];
			row[j] = cur;
			prev = tmp;
		}
	}
	return row[lb];
}

int mzctl_lookup(const char *w, const char *const *names, int n,
		 const char **ambig)
{
	int i, k, found = -1, idx;

	*ambig = NULL;
	if (!w || !*w)
		return MZCTL_LOOKUP_NONE;
	i = find_exact(w, names, n);
	if (i >= 0)
		return i;
	for (k = 0; k < (int)N_ALIASES; k++)
		if (!strcmp(aliases[k][0], w) &&
		    (i = find_exact(aliases[k][1], names, n)) >= 0)
			return i;
	/* Unique prefix of a name or of an alias (both naming one entry). */
	for (i = 0; i < n; i++) {
		if (!names[i] || strncmp(names[i], w, strlen(w)))
			continue;
		if (found >= 0 && found != i) {
			*ambig = names[found];
			return MZCTL_LOOKUP_AMBIGUOUS;
		}
		found = i;
	}
	for (k = 0; k < (int)N_ALIASES; k++) {
		if (strncmp(aliases[k][0], w, strlen(w)))
			continue;
		idx = find_exact(aliases[k][1], names, n);
		if (idx < 0)
			continue;
		if (found >= 0 && found != idx) {
			*ambig = names[found];
			return MZCTL_LOOKUP_AMBIGUOUS;
		}
		found = idx;
	}
	return found >= 0 ? found : MZCTL_LOOKUP_NONE;
}

const char *mzctl_suggest(const char *w, const char *const *names, int n)
{
	int i, d, best = 99, max;
	const char *pick = NULL;

	if (!w || !*w)
		return NULL;
	/* Close enough to be a typo: 1 edit for very short words, else 2. */
	max = strlen(w) <= 3 ? 1 : 2;
	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		d = distance(w, names[i]);
		if (d < best) {
			best = d;
			pick = names[i];
		}
	}
	return best <= max ? pick : NULL;
}

void mzctl_err_unknown(const char *cmd, const char *what, const char *w,
		       const char *const *names, int n, const char *ambig)
{
	const char *s;

	if (ambig) {
		char list[256];
		size_t len = 0;
		int i;

		list[0] = '\0';
		for (i = 0; i < n && len < sizeof(list); i++)
			if (names[i] && !strncmp(names[i], w, strlen(w)))
				len += snprintf(list + len, sizeof(list) - len,
						"%s%s", len ? ", " : "",
						names[i]);
		mzctl_err(cmd, "ambiguous %s '%s': %s?", what, w,
			  len ? list : ambig);
		return;
	}
	s = mzctl_suggest(w, names, n);
	if (s)
		mzctl_err(cmd, "unknown %s '%s' (did you mean '%s'?)", what, w,
			  s);
	else
		mzctl_err(cmd, "unknown %s '%s'", what, w);
}
