#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One `show` style across the example NF tools (docs/host-api.md, "Output
# of show"): on one host, before and after attaching mizar-lb, mizar-acl,
# mizar-nat and mizar-ratelimit, every tool's text starts with
# "NAME: attached (hooks H,H)" or "NAME: not attached", continues with
# "Section:" headers each followed by a lower-case column row (or "none"),
# ends with "Counters:"; its JSON (-j and -p) starts with "attached" and
# "hooks" and ends with "counters" (every counter a number). The hooks
# shown are the ones `mizarctl nf show` lists for the tool's chain entries.
set -u -o pipefail
# shellcheck source=../../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=nf_e2e.sh
. "$(dirname "$0")/nf_e2e.sh"
topo_require_root
topo_require_tools jq

TOOLS="lb acl nat ratelimit"
declare -A BIN
for t in $TOOLS; do
	BIN[$t]=$MZR_BUILD_DIR/tools/mizar-$t
	[ -x "${BIN[$t]}" ] || topo_die "missing ${BIN[$t]} (build first)"
done
# A section each tool lists, as a JSON array.
declare -A SECTION=([lb]=vips [acl]=vpcs [nat]=snat [ratelimit]=limits)

nf() { local t=$1; shift; nf_e2e_run "${BIN[$t]}" h1 "$@"; }

# check_text TOOL: the text layout after the first line.
check_text() {
	local t=$1 out
	out=$(nf "$t" show) || { topo_fail "$t show: exit $?"; return; }
	topo_log "$(printf '%s\n' "$out" | sed 's/^/    /')"
	printf '%s\n' "$out" | awk -v t="$t" '
		NR == 1 { next }
		/^[A-Z][a-z]*:$/ { hdr = $0; want_cols = 1; last = $0; next }
		/^[A-Z][a-z]*: [^ ]+$/ { last = $0; next }	# "Name: value"
		want_cols && hdr == "Counters:" { want_cols = 0 }
		want_cols && /^  none$/ { want_cols = 0; next }
		want_cols {
			if ($0 !~ /^  [a-z][a-z_()\/]*( +[a-z][a-z_()\/]*)*$/) {
				print t ": not a lower-case column row: " $0
				bad = 1
			}
			want_cols = 0; next
		}
		/^  [^ ]/ { next }
		{ print t ": not in a section: " $0; bad = 1 }
		END {
			if (last != "Counters:") {
				print t ": last section is not Counters: (" last ")"
				bad = 1
			}
			exit bad
		}' >"$TOPO_TMP/text.$t" &&
		topo_ok "$t show: sections with lower-case columns, Counters: last" ||
		topo_fail "$(cat "$TOPO_TMP/text.$t") in: $(printf '%s' "$out" | tr '\n' '|')"
}

# check_json TOOL ATTACHED: the top-level keys of -j and -p.
check_json() {
	local t=$1 on=$2 opt j keys
	for opt in -j -p; do
		j=$(nf "$t" "$opt" show) || { topo_fail "$t $opt show: exit $?"; continue; }
		keys=$(jq -c '[keys_unsorted | first, .[1], last]' <<<"$j")
		[ "$keys" = '["attached","hooks","counters"]' ] &&
			[ "$(jq -r '.attached' <<<"$j")" = "$on" ] &&
			[ "$(jq -r '.hooks | type' <<<"$j")" = array ] &&
			[ "$(jq -r '.counters | type' <<<"$j")" = object ] &&
			[ "$(jq '[.counters[] | select(type != "number")] | length' <<<"$j")" = 0 ] &&
			topo_ok "$t $opt show: attached $on, hooks, ..., counters" ||
			topo_fail "$t $opt show: keys $keys in $(jq -c . <<<"$j")"
	done
}

topo_step "setup: one host h1 with an endpoint"
topo_init
topo_host_add h1
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h1
topo_ep_add a h1 100 10.0.1.2/24

topo_step "not attached: one line, and JSON without hooks"
for t in $TOOLS; do
	out=$(nf "$t" show)
	[ "$out" = "$t: not attached" ] && topo_ok "$t show: '$out'" ||
		topo_fail "$t show before attach: '$out'"
	check_json "$t" false
	[ "$(nf "$t" -j show | jq -c .hooks)" = '[]' ] ||
		topo_fail "$t -j show: hooks of a detached NF"
done

topo_step "attach the four, one entry each"
for t in $TOOLS; do
	nf "$t" attach >/dev/null && topo_ok "$t attach" || topo_fail "$t attach"
done
nf lb vip add vni 100 vip 10.0.1.100 port 80 proto tcp backends 10.0.1.2 &&
	nf acl default vni 100 allow &&
	nf acl rule add vni 100 prio 10 proto icmp action allow &&
	nf nat snat add vni 100 src 10.0.1.0/24 to "$(topo_host_ip h1)" &&
	nf ratelimit set vni 100 ip 10.0.1.2 rate 100mbit &&
	topo_ok "configured" || topo_fail "configuration"

topo_step "attached: the shared first line, sections, JSON keys"
chains=$(topo_ctl h1 --json nf show)
for t in $TOOLS; do
	first=$(nf "$t" show | head -1)
	want=$(jq -r --arg t "$t" '[.nfs[] | select(.name | startswith($t + "-")) |
		.hook] | join(",")' <<<"$chains")
	[ -n "$want" ] && [ "$first" = "$t: attached (hooks $want)" ] &&
		topo_ok "$t show: '$first'" ||
		topo_fail "$t show: '$first', chains say hooks '$want'"
	[ "$(nf "$t" -j show | jq -r '.hooks | join(",")')" = "$want" ] &&
		topo_ok "$t -j show: hooks $want" ||
		topo_fail "$t -j show: hooks $(nf "$t" -j show | jq -c .hooks)"
	[ "$(nf "$t" -j show | jq -r --arg s "${SECTION[$t]}" '.[$s] | length')" -ge 1 ] &&
		topo_ok "$t -j show: section ${SECTION[$t]} listed" ||
		topo_fail "$t -j show: no ${SECTION[$t]}"
	check_json "$t" true
	check_text "$t"
done

topo_step "detach: not attached again"
for t in $TOOLS; do
	nf "$t" detach >/dev/null || topo_fail "$t detach"
	[ "$(nf "$t" show)" = "$t: not attached" ] && topo_ok "$t: not attached" ||
		topo_fail "$t show after detach: '$(nf "$t" show 2>&1)'"
done

topo_finish
