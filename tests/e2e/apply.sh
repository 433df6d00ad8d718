#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Declarative configuration: every host's state comes from its own JSON
# file through `mizarctl apply`. A second apply changes nothing and says
# so; `dump | apply --dry-run -f -` finds nothing to do; an edited file
# (an endpoint moved to another host, a network deleted, an NF added)
# converges and the datapath follows; --dry-run changes nothing; a bad
# file or a step the kernel refuses leaves the host as it was.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

MINIMAL_NF=$MZR_BUILD_DIR/examples/minimal-nf/minimal_nf.bpf.o
[ -f "$MINIMAL_NF" ] || topo_die "missing $MINIMAL_NF (build the examples)"

topo_step "setup: hosts h1-h4 initialised, endpoint netns a@h1 b@h2 c@h3 (not registered)"
topo_init
for h in h1 h2 h3 h4; do topo_host_add $h; done
topo_ep_add a h1 100 10.0.1.2/24 noreg gw 10.0.1.1
topo_ep_add b h2 100 10.0.1.3/24 noreg gw 10.0.1.1
topo_ep_add c h3 100 10.0.2.2/24 noreg gw 10.0.2.1

# ---- The cluster model, and each host's file derived from it ------------
# VPC 100 on every host (divider h4); each network on every host; an
# endpoint on its own host with dev, and on each bouncer of its network
# without (docs/deploy.md, "Which object goes where").
DIVIDERS=h4
declare -A NET_BNC=([10.0.1.0/24]=h1 [10.0.2.0/24]=h2)
declare -A EP_AT=([a]=h1 [b]=h2 [c]=h3)	# endpoint netns -> its host
declare -A NF_AT=()			# host -> "name hook obj"

ips_json() {	# "h1,h2" -> ["172.31.0.1","172.31.0.2"]
	local h out=""
	for h in ${1//,/ }; do out+="${out:+,}\"$(topo_host_ip "$h")\""; done
	echo "[$out]"
}

gen() {	# gen HOST > file
	local h=$1 p e nets="" eps="" net nf=""
	for p in "${!NET_BNC[@]}"; do
		nets+="${nets:+,}{\"prefix\":\"$p\",\"bouncers\":$(ips_json "${NET_BNC[$p]}")}"
	done
	for e in "${!EP_AT[@]}"; do
		net=""
		for p in "${!NET_BNC[@]}"; do
			topo_in_prefix "$(topo_ep_ip "$e")" "$p" && net=$p
		done
		[ -n "$net" ] || continue
		if [ "${EP_AT[$e]}" = "$h" ]; then
			eps+="${eps:+,}{\"ip\":\"$(topo_ep_ip "$e")\",\"mac\":\"${TOPO_EP_MAC[$e]}\",\"dev\":\"ve-$e\"}"
		elif [[ ",${NET_BNC[$net]}," == *",$h,"* ]]; then
			eps+="${eps:+,}{\"ip\":\"$(topo_ep_ip "$e")\",\"mac\":\"${TOPO_EP_MAC[$e]}\",\"host\":\"$(topo_host_ip "${EP_AT[$e]}")\"}"
		fi
	done
	if [ -n "${NF_AT[$h]:-}" ]; then
		read -r n k o <<<"${NF_AT[$h]}"
		nf="{\"name\":\"$n\",\"hook\":\"$k\",\"obj\":\"$o\"}"
	fi
	jq . <<EOF
{"version": 1,
 "vpcs": [{"vni": 100, "dividers": $(ips_json "$DIVIDERS"),
           "networks": [$nets], "endpoints": [$eps]}],
 "nf": [$nf]}
EOF
}

CFG=$TOPO_TMP/cfg
mkdir -p "$CFG"
OUT=$TOPO_TMP/out

# apply_host HOST [ARGS...]: write HOST's file and apply it there; the
# output is in $OUT, stderr in $OUT.err.
apply_host() {
	local h=$1
	shift
	gen "$h" >"$CFG/$h.json" || return 1
	ip netns exec "$(topo_ns "$h")" timeout 30 "$MZR_MIZARCTL" \
		-r "$(topo_pin_root "$h")" apply -f "$CFG/$h.json" "$@" \
		>"$OUT" 2>"$OUT.err"
}

dump_host() {
	topo_ctl "$1" dump
}

expect_applied() {	# expect_applied HOST WHAT
	if apply_host "$1" && grep -q '^applied ' "$OUT"; then
		[ -s "$OUT.err" ] &&
			topo_fail "$2 ($1): a successful apply wrote to stderr: $(tr '\n' '|' <"$OUT.err")"
		topo_ok "$2 ($1: $(tail -n 1 "$OUT"))"
	else
		topo_fail "$2 ($1: $(cat "$OUT" "$OUT.err" | tail -n 3 | tr '\n' ' '))"
	fi
}

expect_no_change() {	# expect_no_change HOST WHAT
	if apply_host "$1" && grep -q '^no change' "$OUT" && [ "$(wc -l <"$OUT")" -eq 1 ]; then
		topo_ok "$2 ($1: $(cut -c1-60 "$OUT")...)"
	else
		topo_fail "$2 ($1: $(cat "$OUT" "$OUT.err" | head -n 3 | tr '\n' ' '))"
	fi
}

expect_round_trip() {	# `dump | apply --dry-run -f -` finds nothing to do
	local h=$1 out
	out=$(dump_host "$h" | ip netns exec "$(topo_ns "$h")" "$MZR_MIZARCTL" \
		-r "$(topo_pin_root "$h")" apply --dry-run -f - 2>&1)
	if [ $? -eq 0 ] && [[ "$out" == "no change"* ]]; then
		topo_ok "dump | apply --dry-run -f - on $h: no change"
	else
		topo_fail "dump | apply --dry-run -f - on $h: $out"
	fi
}

expect_out() {	# expect_out PATTERN WHAT: a line of the last output matches
	if grep -qE -- "$1" "$OUT"; then
		topo_ok "$2: '$(grep -E -- "$1" "$OUT" | head -n 1)'"
	else
		topo_fail "$2: no line matching '$1' in: $(tr '\n' '|' <"$OUT")"
	fi
}

topo_step "first apply on every host: objects created, traffic flows"
for h in h1 h2 h3 h4; do expect_applied $h "first apply"; done
expect_ping a 10.0.1.3
expect_ping a 10.0.2.2
expect_ping c 10.0.1.3

topo_step "the same files again: nothing to change, and it says so"
for h in h1 h2 h3 h4; do expect_no_change $h "second apply"; done

topo_step "dump is the same state: dump | apply --dry-run -f - changes nothing"
for h in h1 h2 h3 h4; do expect_round_trip $h; done

topo_step "edit: b moves to h3, network 10.0.2.0/24 goes, an NF joins h3's deliver chain"
ip netns del "$(topo_ns b)"	# its veth goes with it
topo_ep_add b2 h3 100 10.0.1.3/24 noreg gw 10.0.1.1
unset 'EP_AT[b]'
EP_AT[b2]=h3
unset 'NET_BNC[10.0.2.0/24]'
NF_AT[h3]="count deliver $MINIMAL_NF"

topo_step "--dry-run prints the diff and changes nothing"
before=$(dump_host h3)
if apply_host h3 --dry-run && grep -q '^dry run: ' "$OUT"; then
	topo_ok "dry run on h3: $(tail -n 1 "$OUT")"
else
	topo_fail "dry run on h3: $(cat "$OUT" "$OUT.err" | tr '\n' ' ')"
fi
expect_out '^\+ ep vni 100 ip 10.0.1.3 .* dev ve-b2$' "dry run lists the moved endpoint"
expect_out '^- net vni 100 prefix 10.0.2.0/24$' "dry run lists the deleted network"
expect_out '^\+ nf count hook deliver pos 0 ' "dry run lists the new NF"
after=$(dump_host h3)
if [ "$before" = "$after" ] && [ -n "$before" ]; then
	topo_ok "dry run left h3 as it was (dump unchanged)"
else
	topo_fail "dry run changed h3: $(diff <(echo "$before") <(echo "$after") | head -n 5 | tr '\n' ' ')"
fi

topo_step "apply the edited files: the datapath follows"
for h in h3 h1 h2 h4; do expect_applied $h "apply after the edit"; done
apply_host h3 --dry-run
expect_out '^no change' "h3 converged"
expect_ping a 10.0.1.3
expect_ping b2 10.0.1.2
expect_no_ping a 10.0.2.2 3
expect_counter_gt h3 nf_run
if topo_ctl h3 nf show | grep -q ' count '; then
	topo_ok "nf show on h3 lists the NF 'count'"
else
	topo_fail "nf show on h3 does not list 'count'"
fi
if topo_ctl h2 ep show | grep -q .; then
	topo_fail "h2 still holds endpoints: $(topo_ctl h2 ep show | tr '\n' ' ')"
else
	topo_ok "h2 holds no endpoint any more (b moved, net 10.0.2.0/24 gone)"
fi

topo_step "converged: applies change nothing, round trips hold"
for h in h1 h2 h3 h4; do expect_no_change $h "apply after convergence"; done
for h in h1 h2 h3 h4; do expect_round_trip $h; done

topo_step "the NF leaves the chain when the file drops it"
unset 'NF_AT[h3]'
expect_applied h3 "apply without the NF"
expect_out '^- nf count hook deliver pos 0$' "the NF is removed"
expect_ping a 10.0.1.3

topo_step "a failing apply leaves the host as it was"
# A step the file check cannot foresee: a foreign tc filter holds the
# place of the core's tc agent on the endpoint's interface, so the library
# refuses the endpoint (EBUSY) after the new VPC 200 and its network were
# made; both must be undone.
TC_PASS=$(dirname "$MZR_XDP_PASS")/tc_pass.bpf.o
[ -f "$TC_PASS" ] || topo_die "$TC_PASS missing"
ip link add name ve-x netns "$(topo_ns h1)" type veth peer name eth0x \
	netns "$(topo_ns h1)"
ip -n "$(topo_ns h1)" link set ve-x up
ip netns exec "$(topo_ns h1)" tc qdisc add dev ve-x clsact &&
	ip netns exec "$(topo_ns h1)" tc filter add dev ve-x ingress prio 1 \
		handle 0x4d5a bpf da obj "$TC_PASS" sec tc ||
	topo_die "cannot put a foreign tc filter on ve-x"
before=$(dump_host h1)
gen h1 | jq '.vpcs += [{"vni": 200, "networks": [{"prefix": "10.9.0.0/24",
	"bouncers": ["172.31.0.1"]}], "endpoints": [{"ip": "10.9.0.5",
	"mac": "0e:00:00:00:09:05", "dev": "ve-x"}]}]' >"$CFG/h1-bad.json"
if ip netns exec "$(topo_ns h1)" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" \
	apply -f "$CFG/h1-bad.json" >"$OUT" 2>"$OUT.err"; then
	topo_fail "apply with a refused endpoint succeeded"
elif [ "$(wc -l <"$OUT.err")" -eq 1 ] && grep -q 'undone' "$OUT.err"; then
	topo_ok "refused endpoint: exit non-zero, one line: $(cat "$OUT.err")"
else
	topo_fail "refused endpoint: stderr is not one line saying it was undone: $(tr '\n' '|' <"$OUT.err")"
fi
after=$(dump_host h1)
if [ "$before" = "$after" ]; then
	topo_ok "h1 is as before the failed apply (dump unchanged)"
else
	topo_fail "h1 changed by the failed apply: $(diff <(echo "$before") <(echo "$after") | head -n 8 | tr '\n' ' ')"
fi
expect_ping a 10.0.1.3

topo_step "a local endpoint whose veth does not exist: refused, or left alone with --skip-missing-dev"
gen h1 | jq '.vpcs[0].endpoints += [{"ip": "10.0.1.20", "mac": "0e:00:00:00:01:20", "dev": "ve-later"}]' >"$CFG/h1-later.json"
if ip netns exec "$(topo_ns h1)" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" \
	apply -f "$CFG/h1-later.json" >"$OUT" 2>"$OUT.err"; then
	topo_fail "a missing dev was accepted"
elif grep -q "no interface 've-later'" "$OUT.err"; then
	topo_ok "missing dev refused: $(cat "$OUT.err")"
else
	topo_fail "missing dev: $(tr '\n' '|' <"$OUT.err")"
fi
# Also a change the flag must not hide: VPC 100's dividers.
jq '.vpcs[0].dividers = ["172.31.0.4", "172.31.0.3"]' "$CFG/h1-later.json" >"$CFG/h1-later2.json"
if ip netns exec "$(topo_ns h1)" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" \
	apply --skip-missing-dev -f "$CFG/h1-later2.json" >"$OUT" 2>"$OUT.err"; then
	topo_ok "--skip-missing-dev: $(tail -n 1 "$OUT")"
else
	topo_fail "--skip-missing-dev: $(tr '\n' '|' <"$OUT.err")"
fi
expect_out '^skipped: ep vni 100 ip 10.0.1.20 dev ve-later' "the endpoint is reported skipped"
expect_out '^~ vpc vni 100 dividers 172.31.0.4,172.31.0.3' "the rest is applied"
if topo_ctl h1 ep show | grep -q '10.0.1.20'; then
	topo_fail "the skipped endpoint was created"
else
	topo_ok "the skipped endpoint was not created"
fi
expect_applied h1 "back to h1's file"
expect_ping a 10.0.1.3
before=$(dump_host h1)

topo_step "bad files are refused with one line naming the culprit"
bad() {	# bad JQ_EDIT PATTERN WHAT
	gen h1 | jq "$1" >"$CFG/h1-bad.json"
	if ip netns exec "$(topo_ns h1)" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" \
		apply -f "$CFG/h1-bad.json" >"$OUT" 2>"$OUT.err"; then
		topo_fail "$3: accepted"
	elif [ "$(wc -l <"$OUT.err")" -eq 1 ] && grep -qE -- "$2" "$OUT.err"; then
		topo_ok "$3: $(cat "$OUT.err")"
	else
		topo_fail "$3: $(tr '\n' '|' <"$OUT.err")"
	fi
}
bad '.vpcs[0].networks[0].bouncer = []' 'vpcs\[0\]\.networks\[0\]\.bouncer: unknown key' "a misspelt key"
bad '.vpcs[0].endpoints += [{"ip": "10.7.0.1", "mac": "0e:00:00:00:00:01", "host": "172.31.0.2"}]' 'outside every network' "an endpoint outside every network"
if ! topo_ctl h1 host peer show >/dev/null 2>&1; then
	# A libmizar without the known-peer calls: the trust lists are
	# refused, never ignored.
	bad '.peers = ["172.31.0.2"]' "'peers' is not supported by this build" "the peers list (this build has no peer calls)"
	bad '.protect = ["172.31.0.0/24"]' "'protect' is not supported by this build" "the protect list (this build has no protect calls)"
fi
bad '.nf = [{"name": "x", "hook": "deliver", "obj": "/nonexistent.o"}]' 'nf x: cannot read object' "a missing NF object"
after=$(dump_host h1)
[ "$before" = "$after" ] && topo_ok "h1 unchanged by the bad files" ||
	topo_fail "h1 changed by a bad file"

if topo_ctl h1 host peer show >/dev/null 2>&1; then
	topo_step "trust lists: peers and protect follow the file; a file without them leaves them alone"
	peers_of() { topo_ctl h1 dump | jq -c '[.peers, .protect]'; }
	gen h1 | jq '.peers = ["172.31.0.9"] | .protect = ["192.168.0.0/16"]' >"$CFG/h1-trust.json"
	ip netns exec "$(topo_ns h1)" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" \
		apply -f "$CFG/h1-trust.json" >"$OUT" 2>"$OUT.err"
	expect_out '^\+ peer 172.31.0.9$' "an explicit peer added"
	expect_out '^\+ protect 192.168.0.0/16$' "a protected prefix added"
	# topo_host_add gave h1 the other hosts as explicit peers: the file
	# is the list now, so they go (last).
	expect_out '^- peer 172.31.0.2$' "explicit peers not in the file removed"
	v=$(peers_of)
	[ "$v" = '[["172.31.0.9"],["192.168.0.0/16"]]' ] && topo_ok "dump: $v" ||
		topo_fail "dump after the trust apply: $v"
	expect_round_trip h1
	expect_no_change h1 "a file without peers/protect leaves them alone"
	v=$(peers_of)
	[ "$v" = '[["172.31.0.9"],["192.168.0.0/16"]]' ] && topo_ok "still: $v" ||
		topo_fail "trust lists changed by a file without them: $v"
fi

topo_finish
