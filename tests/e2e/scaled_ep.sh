#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A scaled endpoint: 10.0.1.100 served by copies on three hosts (one
# address, one MAC). 30 concurrent TCP connections from clients on two
# other hosts each move 1 MiB (checked), spread over the three copies by
# the bouncer's rendezvous hash (each gets >= 5). Removing one host from
# the endpoint (`ep set`) mid-transfer breaks that host's connections
# only: the others complete intact, and new connections meet the two
# remaining copies only.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3

PY=$MZR_SOURCE_DIR/tests/e2e/scaled_ep.py
SC=10.0.1.100
SC_MAC=02:5c:00:00:01:64
PORT=5000

topo_step "topology: bouncer hb, copies on s1h s2h s3h, clients on c1h c2h"
topo_init
for h in hb s1h s2h s3h c1h c2h; do topo_host_add "$h"; done
topo_vpc_add 100 hb
topo_net_add 100 10.0.1.0/24 hb
topo_ep_add c1 c1h 100 10.0.1.11/24
topo_ep_add c2 c2h 100 10.0.1.12/24
topo_scaled_ep_add 100 $SC/24 $SC_MAC s1:s1h,s2:s2h,s3:s3h

out=$(topo_ctl hb ep show vni 100 | grep " $SC ")
ips=$(topo_hosts_to_ips s1h,s2h,s3h)
[[ "$out" == *"host $ips"* ]] && topo_ok "ep show lists the three hosts: $out" ||
	topo_fail "ep show: '$out' (want host $ips)"
n=$(topo_ctl hb -j ep show vni 100 | jq -r --arg ip $SC \
	'.endpoints[] | select(.ip == $ip) | .hosts | length')
[ "$n" = 3 ] && topo_ok "ep show --json: hosts has 3 entries" ||
	topo_fail "ep show --json: hosts has '${n:-none}' entries"

for s in s1 s2 s3; do
	topo_bg "$s" python3 "$PY" serve "$s" $PORT
done
for s in s1 s2 s3; do
	for _ in $(seq 50); do
		topo_exec "$s" ss -ltn "sport = :$PORT" | grep -q LISTEN && break
		sleep 0.1
	done
done
expect_ping c1 $SC
expect_ping c2 $SC

# run_clients DIR PORT0 PORT1: 15 connections from c1 (source ports
# PORT0..) and 15 from c2 (PORT1..), in the background.
run_clients() {
	mkdir -p "$1"
	topo_bg c1 python3 "$PY" client "$1" c1 "$2" 15 $SC $PORT
	P1=$TOPO_LAST_PID
	topo_bg c2 python3 "$PY" client "$1" c2 "$3" 15 $SC $PORT
	P2=$TOPO_LAST_PID
}
wait_files() {	# wait_files DIR PATTERN N: up to 60 s for N files
	for _ in $(seq 600); do
		[ "$(find "$1" -name "$2" | wc -l)" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
count_id() { cat "$1"/$2 2>/dev/null | awk -v id="$3" '$1 == id' | wc -l; }

topo_step "30 connections, 1 MiB each, spread over the three copies"
D1=$TOPO_TMP/phase1
run_clients "$D1" 41000 42000
wait_files "$D1" 'half.*' 30 && topo_ok "30 connections got their server's id and 512 KiB" ||
	topo_fail "only $(find "$D1" -name 'half.*' | wc -l) of 30 connections reached half way"
for s in s1 s2 s3; do
	n=$(count_id "$D1" 'half.*' $s)
	[ "$n" -ge 5 ] && topo_ok "copy $s serves $n connections (>= 5)" ||
		topo_fail "copy $s serves $n connections (want >= 5)"
done

topo_step "s3h leaves the endpoint mid-transfer (ep set on the bouncer)"
topo_ctl hb ep set vni 100 ip $SC host "$(topo_hosts_to_ips s1h,s2h)" &&
	topo_ok "ep set vni 100 ip $SC host s1h,s2h" || topo_fail "ep set failed"
touch "$D1/go"
wait "$P1" "$P2"
wait_files "$D1" 'done.*' 30 || topo_fail "not every connection ended"
for s in s1 s2; do
	n=$(count_id "$D1" 'half.*' $s)
	ok=$(grep -h "^$s ok" "$D1"/done.* | wc -l)
	[ "$ok" = "$n" ] && topo_ok "all $n connections of $s completed 1 MiB intact" ||
		topo_fail "$ok of $n connections of $s completed: $(grep -h "^$s fail" "$D1"/done.* | head -3 | tr '\n' ' ')"
done
n=$(count_id "$D1" 'half.*' s3)
bad=$(grep -h "^s3 fail" "$D1"/done.* | wc -l)
[ "$bad" = "$n" ] && topo_ok "all $n connections of s3 broke ($(grep -h '^s3' "$D1"/done.* | head -1))" ||
	topo_fail "$bad of $n connections of s3 broke"

topo_step "new connections meet s1 and s2 only"
D2=$TOPO_TMP/phase2
mkdir -p "$D2" && touch "$D2/go"
run_clients "$D2" 43000 44000
wait "$P1" "$P2"
ok=$(grep -h " ok$" "$D2"/done.* 2>/dev/null | wc -l)
[ "$ok" = 30 ] && topo_ok "30 new connections completed 1 MiB intact" ||
	topo_fail "$ok of 30 new connections completed: $(grep -h fail "$D2"/done.* | head -3 | tr '\n' ' ')"
n3=$(count_id "$D2" 'done.*' s3)
n1=$(count_id "$D2" 'done.*' s1)
n2=$(count_id "$D2" 'done.*' s2)
[ "$n3" = 0 ] && [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] &&
	topo_ok "new connections: s1 $n1, s2 $n2, s3 none" ||
	topo_fail "new connections: s1 $n1, s2 $n2, s3 $n3"

topo_step "apply/dump carry the host list"
n=$(topo_ctl hb dump | jq --arg ip $SC '[.vpcs[].endpoints[] | select(.ip == $ip) | .hosts[]] | length')
[ "$n" = 2 ] && topo_ok "dump on hb: the endpoint has its 2 hosts" ||
	topo_fail "dump on hb: ${n:-no} hosts"
for h in hb s1h; do
	ctl="$MZR_MIZARCTL -r $(topo_pin_root $h)"
	out=$(topo_exec $h bash -c "$ctl dump | $ctl apply --dry-run -f -" 2>&1)
	[[ "$out" == "no change"* ]] && topo_ok "$h: dump | apply --dry-run: no change" ||
		topo_fail "$h: dump | apply --dry-run: $out"
done
# s1h still lists s3h (ep set ran on the bouncer only): apply drops it.
topo_ctl s1h dump >"$TOPO_TMP/s1.json"
jq --arg ip $SC --arg h "$(topo_host_ip s3h)" \
	'(.vpcs[].endpoints[] | select(.ip == $ip) | .hosts) -= [$h]' \
	"$TOPO_TMP/s1.json" >"$TOPO_TMP/s1b.json"
out=$(topo_ctl s1h apply -f "$TOPO_TMP/s1b.json" 2>&1)
n=$(topo_ctl s1h ep show vni 100 | grep " $SC ")
[[ "$n" == *"host $(topo_hosts_to_ips s1h,s2h) dev ve-s1"* ]] &&
	topo_ok "apply with s3h left out of \"hosts\" on s1h: $n" ||
	topo_fail "apply with s3h left out: $out / $n"

topo_step "the scaled endpoint's hosts learned no direct path to it"
for c in c1h c2h; do
	n=$(topo_counter "$c" learned)
	# The clients' hosts learn nothing at all: every frame they get
	# comes from a copy (flagged SCALED).
	[ "${n:-0}" = 0 ] && topo_ok "$c learned no direct path (learned $n)" ||
		topo_fail "$c learned $n direct paths"
done
expect_counter_gt hb bouncer_fwd 0
topo_finish
