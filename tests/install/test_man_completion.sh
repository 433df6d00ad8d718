#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The man pages render without warnings and cover every command the tools'
# --help lists; the bash completion offers every command and sub-command
# mizarctl's --help lists, and the values it knows (hooks, modes, NF
# keywords). Both follow the tools: a command added without its page or
# its completion fails here.
set -uo pipefail

build=${MZR_BUILD_DIR:?MZR_BUILD_DIR not set}
src=${MZR_SOURCE_DIR:?MZR_SOURCE_DIR not set}
failures=0
checks=0
ok() { checks=$((checks + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); checks=$((checks + 1)); }
command -v man >/dev/null || { echo "FAIL: man not installed"; exit 1; }

tool() {	# the built binary of a tool
	local t
	for t in "$build/tools/$1" "$build/tools/mizarctl/$1" "$build/nf/$1"; do
		[ -x "$t" ] && { echo "$t"; return 0; }
	done
	echo "missing-$1"
}

page_text() {	# rendered text of a built page
	MANWIDTH=200 man -l "$build/man/$1" 2>/dev/null | col -b
}

# ---- Man pages ------------------------------------------------------------
pages=(mizarctl.8 mizar-lb.8 mizar-acl.8 mizar-nat.8 mizar-ratelimit.8 libmizar.3)
for p in "${pages[@]}"; do
	if [ ! -s "$build/man/$p" ]; then
		fail "$p not built"
		continue
	fi
	warn=$(MANWIDTH=80 man --warnings -l "$build/man/$p" 2>&1 >/dev/null)
	[ -z "$warn" ] && ok || fail "$p renders with warnings: $warn"
done

# mizarctl(8): "GROUP SUB" for every sub-command of every group's --help.
ctl=$(tool mizarctl)
text=$(page_text mizarctl.8)
groups=$("$ctl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF {print $1}' |
	grep -v '^Commands:' | sort -u)
[ -n "$groups" ] || fail "no commands in mizarctl --help"
for g in $groups; do
	grep -qw -- "$g" <<<"$text" && ok || fail "mizarctl.8 lacks command '$g'"
	subs=$("$ctl" "$g" --help 2>/dev/null | awk -v g="$g" \
		'$1 == "mizarctl" && $2 == g && $3 !~ /^[-\[]/ && $3 != "" {print $3}' | sort -u)
	for s in $subs; do
		grep -q -- "$g $s" <<<"$text" && ok ||
			fail "mizarctl.8 lacks '$g $s' (from mizarctl $g --help)"
	done
done
for opt in --pin-root --json --verbose --version --dry-run MIZAR_PIN_ROOT; do
	grep -q -- "$opt" <<<"$text" && ok || fail "mizarctl.8 lacks '$opt'"
done

# Each NF tool's page: every command word of its --help.
for t in mizar-lb mizar-acl mizar-nat mizar-ratelimit; do
	text=$(page_text "$t.8")
	cmds=$("$(tool "$t")" --help | sed -n '/^Commands:/,/^$/p' |
		awk '$1 ~ /^[a-z]+$/ {print $1}' | sort -u)
	[ -n "$cmds" ] || fail "no commands in $t --help"
	for c in $cmds; do
		grep -qw -- "$c" <<<"$text" && ok || fail "$t.8 lacks command '$c'"
	done
done

# ---- Bash completion ---------------------------------------------------------
comp=$src/scripts/completion/mizarctl
# shellcheck source=../../scripts/completion/mizarctl
. "$comp" || fail "cannot source $comp"

complete_words() {	# complete_words WORD... : COMPREPLY for the last word
	COMP_WORDS=("$ctl" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_mizarctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

expect_comp() {	# expect_comp "WANTED..." WORD...
	local want=$1 got w
	shift
	got=" $(complete_words "$@")"
	for w in $want; do
		[[ $got == *" $w "* ]] || { fail "completing '$*' offers '$got', not '$w'"; return; }
	done
	ok
}

expect_comp "$groups" ""
for g in $groups; do
	subs=$("$ctl" "$g" --help 2>/dev/null | awk -v g="$g" \
		'$1 == "mizarctl" && $2 == g && $3 ~ /^[a-z]+$/ {print $3}' | sort -u)
	[ "$g" = stats ] && subs="reset"
	[ "$g" = metrics ] && subs="serve"
	[ -n "$subs" ] && expect_comp "$subs" "$g" ""
done
expect_comp "-f --dry-run" apply ""
expect_comp "add del show" host peer ""
expect_comp "native generic dispatcher tc" host init dev eth0 mode ""
expect_comp "agent-egress bouncer divider deliver external" nf add x obj a.o hook ""
expect_comp "obj hook prog pos" -r /tmp nf add x ""
expect_comp "mac host dev bypass-decap" ep add vni 1 ip 10.0.0.2 ""
got=$(complete_words ep add vni 1 "")
[[ " $got" != *" vni "* ]] && ok || fail "completion offers 'vni' twice: $got"
expect_comp "lo" host init dev l

# ---- Installed where the tools look ------------------------------------------
prefix=$(mktemp -d /tmp/mzr-man.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
if cmake --install "$build" --prefix "$prefix" >/dev/null; then
	for f in share/man/man8/mizarctl.8 share/man/man8/mizar-lb.8 \
		share/man/man8/mizar-acl.8 share/man/man8/mizar-nat.8 \
		share/man/man8/mizar-ratelimit.8 share/man/man3/libmizar.3 \
		share/bash-completion/completions/mizarctl \
		lib/systemd/system/mizar-host@.service \
		share/doc/mizar/examples/host.env share/doc/mizar/deploy.md \
		share/doc/mizar/config-schema.md share/doc/mizar/CHANGELOG.md; do
		[ -s "$prefix/$f" ] && ok || fail "not installed: $f"
	done
	MANPATH=$prefix/share/man man -w mizarctl >/dev/null 2>&1 && ok ||
		fail "man -w mizarctl does not find the installed page"
else
	fail "cmake --install failed"
fi

if [ "$failures" -eq 0 ] && [ "$checks" -gt 0 ]; then
	echo "PASS: man pages and completion ($checks checks)"
	exit 0
fi
echo "FAIL: $failures of $checks checks"
exit 1
