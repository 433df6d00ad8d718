#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# One internal prefix: libmizar's private helpers that were still named
# mzr_ (the exported API's prefix) become mzri_, their macros MZRI_.
# Re-runnable: run it after merging a branch that still uses the old
# names (it only touches those names), then rebuild.
#
# usage: scripts/rename-internal.sh [FILE...]   (default: libmizar/*.[ch])
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
	set -- libmizar/*.c libmizar/*.h
fi

# Only files that still use an old name: the others keep their mtime.
mapfile -t files < <(grep -lE '\bmzr_(warn|info|debug|log|err_ptr|opts_valid)\b|\bMZR_OPTS_(VALID|GET)\b' "$@" || true)
[ ${#files[@]} -gt 0 ] || exit 0

# Continuation lines aligned to a renamed call's parenthesis move one
# column right with it (the name grew by one character).
perl -i -ne '
	BEGIN { $re = qr/\b(?:mzr_(?:warn|info|debug|log|err_ptr|opts_valid)|MZR_OPTS_(?:VALID|GET))\(/; }
	sub vcol { my $c = 0; for (split //, $_[0]) { $c = $_ eq "\t" ? ($c & ~7) + 8 : $c + 1 } $c }
	sub depth { my $s = $_[0]; $s =~ s/"(?:\\.|[^"\\])*"//g; $s =~ s/\x27(?:\\.|[^\x27\\])*\x27//g;
		    my $d = 0; $d += ($s =~ tr/(//) - ($s =~ tr/)//); $d }
	if ($pend && /^([\t ]+)(\S.*)$/s && vcol($1) == $old) {
		my $w = $old + 1; $_ = ("\t" x int($w / 8)) . (" " x ($w % 8)) . $2;
	}
	if ($pend) { $open += depth($_); $pend = 0 if $open <= 0; }
	elsif (/$re/g) {
		my $at = pos($_); my $pre = substr($_, 0, $at);
		my $d = depth(substr($_, $at - 1));
		if ($d > 0) { $old = vcol($pre); $open = $d; $pend = 1; }
	}
	print;
' "${files[@]}"

sed -i -E 's/\bmzr_(warn|info|debug|log|err_ptr|opts_valid)\b/mzri_\1/g; s/\bMZR_OPTS_(VALID|GET)\b/MZRI_OPTS_\1/g' "${files[@]}"
