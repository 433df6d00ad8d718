#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# iproute2/bpftool habits on a live back-plane: delete/list/ls aliases,
# unique-prefix abbreviations of commands and keywords (an ambiguous one
# is refused), -p pretty JSON, "did you mean" on a typo; the full command
# lines of CONTRACT.md mean what they meant.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_init
topo_host_add h1
ctl() { topo_ctl h1 "$@"; }
# same DESC OUT1 OUT2
same() { [ "$2" = "$3" ] && topo_ok "$1" || topo_fail "$1: '$2' vs '$3'"; }
# fails1 DESC WORD ARGS...: exit != 0, one stderr line containing WORD.
fails1() {
	local desc=$1 word=$2 err rc
	shift 2
	err=$(ip netns exec "$(topo_ns h1)" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [[ "$err" == *"$word"* ]] &&
		[ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; then
		topo_ok "$desc: $err"
	else
		topo_fail "$desc: exit $rc, '$err'"
	fi
}

topo_step "abbreviations and aliases"
ctl vpc a vni 7 dividers "$(topo_host_ip h1)" && topo_ok "vpc a vni 7 (add)" ||
	topo_fail "vpc a vni 7"
ctl ne add v 7 pre 10.7.0.0/24 b "$(topo_host_ip h1)" && topo_ok "ne add v 7 pre ... b ... (net add vni prefix bouncers)" ||
	topo_fail "net add with abbreviated keywords"
full=$(ctl vpc show)
same "vpc ls = vpc show" "$(ctl vpc ls)" "$full"
same "vpc list = vpc show" "$(ctl vpc list)" "$full"
same "v sh = vpc show" "$(ctl v sh)" "$full"
same "ne l = net show" "$(ctl ne l)" "$(ctl net show)"
same "stat = stats" "$(ctl -j stat | jq -c 'keys')" "$(ctl -j stats | jq -c 'keys')"
fails1 "ambiguous 'n'" "ambiguous" n show
fails1 "ambiguous 'vpc s'" "set, show" vpc s

topo_step "-p pretty JSON"
p=$(ctl -p vpc show)
j=$(ctl -j vpc show)
same "-p and -j carry the same document" "$(jq -cS . <<<"$p")" "$(jq -cS . <<<"$j")"
[ "$(wc -l <<<"$p")" -gt 3 ] && [ "$(wc -l <<<"$j")" = 1 ] &&
	topo_ok "-p indents ($(wc -l <<<"$p") lines), -j stays one line" ||
	topo_fail "-p: $(wc -l <<<"$p") lines, -j: $(wc -l <<<"$j") lines"

topo_step "did you mean"
fails1 "vpc add vnii" "did you mean 'vni'?" vpc add vnii 8
fails1 "hots show" "did you mean 'host'?" hots show
fails1 "vpc shwo" "did you mean 'show'?" vpc shwo

topo_step "delete, and the contract's full lines"
ctl net delete vni 7 prefix 10.7.0.0/24 && topo_ok "net delete" || topo_fail "net delete"
ctl vpc delete vni 7 && topo_ok "vpc delete" || topo_fail "vpc delete"
[ "$(ctl -j vpc show | jq '.vpcs | length')" = 0 ] && topo_ok "vpc 7 gone" ||
	topo_fail "vpc show after delete: $(ctl -j vpc show)"
ctl vpc add vni 9 >/dev/null && ctl vpc show vni 9 >/dev/null &&
	ctl net add vni 9 prefix 10.9.0.0/24 bouncers "$(topo_host_ip h1)" >/dev/null &&
	ctl net del vni 9 prefix 10.9.0.0/24 && ctl vpc del vni 9 && ctl host show >/dev/null &&
	topo_ok "full command lines" || topo_fail "a full command line failed"
topo_finish
