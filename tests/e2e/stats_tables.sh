#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What an operator reads: `mizarctl stats` lists the non-zero counters
# (every one with `all`; JSON always complete), `stats watch` prints
# per-second rates until SIGINT, per-VPC/per-endpoint selectors answer
# for that VPC or endpoint only (tests/e2e/traffic.sh checks the numbers); `host show` prints each table's fill level and
# warns from 90% on, in text, JSON and metrics alike.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3

topo_step "setup: h1 (endpoint table of 10), h2; VPC 100, 10.0.1.0/24 bounced by h1"
topo_init
topo_host_add h1 noinit
topo_ctl h1 host init dev ul0 max-endpoints 10 || topo_die "host init on h1"
TOPO_HOST_INIT[h1]=1
topo_host_add h2
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h1
h2ip=$(topo_host_ip h2)

# ep_add N: remote endpoint 10.0.1.N (on h2) in h1's table.
ep_add() {
	topo_ctl h1 ep add vni 100 ip "10.0.1.$1" \
		mac "02:00:0a:00:01:$(printf %02x "$1")" host "$h2ip"
}

# run_ctl OUT ERR ARGS...: mizarctl on h1, stdout/stderr to files; the
# exit status is returned (unlike topo_ctl, nothing is printed).
run_ctl() {
	local out=$1 err=$2
	shift 2
	topo_exec h1 timeout 20 "$MZR_MIZARCTL" -r "$TOPO_BPFFS/h1" "$@" \
		>"$out" 2>"$err"
}

topo_step "table fill: 8 of 10 endpoints, no warning"
for i in 2 3 4 5 6 7 8 9; do ep_add $i || topo_fail "ep add 10.0.1.$i"; done
topo_ctl h1 host show >"$TOPO_TMP/show8"
if grep -Eq '^  endpoints +8 +10 +80%$' "$TOPO_TMP/show8" &&
	! grep -q '^warning:' "$TOPO_TMP/show8"; then
	topo_ok "host show: endpoints 8 of 10 (80%), no warning line"
else
	topo_fail "host show at 8/10: $(grep -E 'endpoints|warning' "$TOPO_TMP/show8" | tr '\n' '|')"
fi
for t in local_endpoints networks vpcs direct_path; do
	if grep -Eq "^  $t +[0-9]+ +[1-9][0-9]* +[0-9]+%$" "$TOPO_TMP/show8"; then
		topo_ok "host show lists table $t"
	else
		topo_fail "host show has no line for table $t"
	fi
done
if [ "$(topo_ctl h1 --json host show | jq -c '.warnings')" = "[]" ]; then
	topo_ok "host show --json: no warnings at 80%"
else
	topo_fail "host show --json at 80%: warnings $(topo_ctl h1 --json host show | jq -c .warnings)"
fi

topo_step "table fill: 9 of 10 endpoints (90%): a warning in text, JSON and metrics"
ep_add 10 || topo_fail "ep add 10.0.1.10"
topo_ctl h1 host show >"$TOPO_TMP/show9"
if grep -qx 'warning: table endpoints is 90% full (9 of 10): inserts fail when it is full' \
	"$TOPO_TMP/show9"; then
	topo_ok "host show: $(grep '^warning:' "$TOPO_TMP/show9")"
else
	topo_fail "host show at 9/10: no warning line: $(grep -E 'endpoints|warning' "$TOPO_TMP/show9" | tr '\n' '|')"
fi
topo_ctl h1 --json host show >"$TOPO_TMP/show9.json"
ep=$(jq -c '.tables[] | select(.name == "endpoints") |
	[.entries, .capacity, .fill_pct, .warning, .kind]' "$TOPO_TMP/show9.json")
if [ "$ep" = '[9,10,90,true,"core"]' ]; then
	topo_ok "host show --json: endpoints $ep"
else
	topo_fail "host show --json: endpoints $ep (expected [9,10,90,true,\"core\"])"
fi
if jq -e '(.warnings | length) == 1 and (.warnings[0] | startswith("table endpoints is 90% full"))' \
	"$TOPO_TMP/show9.json" >/dev/null; then
	topo_ok "host show --json: one warning, for the endpoints"
else
	topo_fail "host show --json warnings: $(jq -c .warnings "$TOPO_TMP/show9.json")"
fi
topo_ctl h1 metrics >"$TOPO_TMP/metrics"
if grep -qx 'mizar_table_entries{table="endpoints"} 9' "$TOPO_TMP/metrics" &&
	grep -qx 'mizar_table_capacity{table="endpoints"} 10' "$TOPO_TMP/metrics"; then
	topo_ok "metrics: mizar_table_entries 9, mizar_table_capacity 10 for endpoints"
else
	topo_fail "metrics: $(grep 'table="endpoints"' "$TOPO_TMP/metrics" | tr '\n' '|')"
fi

topo_step "table fill: an NF's tables are listed once it is attached"
nat=$MZR_BUILD_DIR/tools/mizar-nat
if topo_exec h1 "$nat" -r "$TOPO_BPFFS/h1" attach >/dev/null &&
	topo_exec h1 "$nat" -r "$TOPO_BPFFS/h1" snat add vni 100 \
		src 10.0.1.0/24 to "$(topo_host_ip h1)" >/dev/null 2>&1; then
	topo_ok "mizar-nat attached on h1, one snat rule"
else
	topo_fail "mizar-nat attach / snat add on h1"
fi
topo_ctl h1 --json host show >"$TOPO_TMP/shownf.json"
nf=$(jq -c '[.tables[] | select(.kind == "nf") | select(.name | startswith("nfcfg/nat/")) |
	{(.name): [.entries, .capacity]}] | add' "$TOPO_TMP/shownf.json")
if jq -e '.["nfcfg/nat/nat_snat"][0] == 1 and .["nfcfg/nat/nat_ct_out"][1] > 0' \
	<<<"$nf" >/dev/null; then
	topo_ok "host show --json: NAT tables $nf"
else
	topo_fail "host show --json: NAT tables '$nf'"
fi
topo_ctl h1 metrics >"$TOPO_TMP/metricsnf"
if grep -qx 'mizar_table_entries{table="nfcfg/nat/nat_snat"} 1' "$TOPO_TMP/metricsnf"; then
	topo_ok "metrics: mizar_table_entries{table=\"nfcfg/nat/nat_snat\"} 1"
else
	topo_fail "metrics: no nat_snat entries: $(grep nat_snat "$TOPO_TMP/metricsnf" | tr '\n' '|')"
fi

topo_step "stats: non-zero counters by default, every one with 'all'"
topo_ctl h1 stats reset || topo_fail "stats reset"
out=$(topo_exec h2 ping -n -q -c 5 -i 0.2 -W 1 "$(topo_host_ip h1)" 2>&1)
echo "$out" | grep -q " 5 received" || topo_fail "underlay ping h2 -> h1: $out"
topo_ctl h1 stats >"$TOPO_TMP/stats"
topo_ctl h1 stats all >"$TOPO_TMP/stats_all"
topo_ctl h1 stats --all >"$TOPO_TMP/stats_all2"
topo_ctl h1 --json stats >"$TOPO_TMP/stats.json"
rx=$(jq '.counters.transit_rx' "$TOPO_TMP/stats.json")
if grep -Eq "^ +transit_rx +$rx\$" "$TOPO_TMP/stats" && [ "$rx" -ge 5 ]; then
	topo_ok "stats: transit_rx $rx listed"
else
	topo_fail "stats: no 'transit_rx $rx' line: $(tr '\n' '|' <"$TOPO_TMP/stats")"
fi
zeros=$(grep -E '^ +[a-z_-]+ +0$' "$TOPO_TMP/stats" | grep -v ' total ' | wc -l)
if [ "$zeros" -eq 0 ]; then
	topo_ok "stats: no zero counter listed ($(wc -l <"$TOPO_TMP/stats") lines)"
else
	topo_fail "stats: $zeros zero counters listed"
fi
if grep -Eq '^ +total +[0-9]+$' "$TOPO_TMP/stats" &&
	grep -q "^Drops by reason:" "$TOPO_TMP/stats"; then
	topo_ok "stats: the drop total is always there"
else
	topo_fail "stats: no drop total"
fi
missing=""
for n in $(jq -r '.roles[] | keys[]' "$TOPO_TMP/stats.json") \
	$(jq -r '.drops | keys[]' "$TOPO_TMP/stats.json"); do
	grep -Eq "^ +$n +[0-9]+\$" "$TOPO_TMP/stats_all" || missing+=" $n"
done
total=$(( $(jq '[.roles[] | keys[]] | length' "$TOPO_TMP/stats.json") +
	$(jq '.drops | length' "$TOPO_TMP/stats.json") ))
if [ -z "$missing" ] && [ "$total" -gt 40 ]; then
	topo_ok "stats all: each of the $total counters and drop reasons, zeros included"
else
	topo_fail "stats all: missing$missing"
fi
if cmp -s "$TOPO_TMP/stats_all" "$TOPO_TMP/stats_all2"; then
	topo_ok "stats --all = stats all"
else
	topo_fail "stats --all differs from stats all"
fi
if jq -e '(.drops | length) == (.drops | keys | length) and
	([.counters[] | select(. == 0)] | length) > 0 and
	(.counters | has("transit_rx")) and (.hooks | length) == 5' \
	"$TOPO_TMP/stats.json" >/dev/null; then
	topo_ok "--json stats: complete, zero counters included"
else
	topo_fail "--json stats incomplete: $(head -c 300 "$TOPO_TMP/stats.json")"
fi

topo_step "stats vpc / ep: that VPC's or endpoint's own counters"
for args in "vpc 100:^vpc 100:" "ep vni 100 ip 10.0.1.2:^ep vni 100 ip 10.0.1.2:" \
	"vpc 100 watch count 1:^vpc 100: tx [0-9.]* pkt/s"; do
	want=${args#*:}
	args=${args%%:*}
	# shellcheck disable=SC2086
	run_ctl "$TOPO_TMP/o" "$TOPO_TMP/e" stats $args
	rc=$?
	if [ $rc -eq 0 ] && grep -q "$want" "$TOPO_TMP/o"; then
		topo_ok "stats $args: $(head -n 1 "$TOPO_TMP/o")"
	else
		topo_fail "stats $args: exit $rc, stderr '$(cat "$TOPO_TMP/e")', stdout '$(head -c 200 "$TOPO_TMP/o")'"
	fi
done
for args in "vpc 0" "vpc" "ep vni 100" "bogus"; do
	# shellcheck disable=SC2086
	run_ctl "$TOPO_TMP/o" "$TOPO_TMP/e" stats $args
	rc=$?
	if [ $rc -ne 0 ] && [ "$(wc -l <"$TOPO_TMP/e")" -eq 1 ]; then
		topo_ok "stats $args: exit $rc, $(cat "$TOPO_TMP/e")"
	else
		topo_fail "stats $args: exit $rc, stderr '$(cat "$TOPO_TMP/e")'"
	fi
done

topo_step "stats watch: per-second rates"
# Pings every 50 ms for longer than the watch runs.
topo_bg h2 ping -n -q -c 100 -i 0.05 "$(topo_host_ip h1)" >/dev/null 2>&1
pinger=$TOPO_LAST_PID
run_ctl "$TOPO_TMP/watch" "$TOPO_TMP/e" stats watch interval 0.5 count 3
rc=$?
blocks=$(grep -Ec '^[0-9]{2}:[0-9]{2}:[0-9]{2}$' "$TOPO_TMP/watch")
rate=$(awk '$1 == "transit_rx" { sub("/s", "", $2); print $2; exit }' "$TOPO_TMP/watch")
if [ $rc -eq 0 ] && [ "$blocks" -eq 3 ] &&
	awk -v r="${rate:-0}" 'BEGIN { exit !(r > 0) }'; then
	topo_ok "stats watch interval 0.5 count 3: 3 samples, transit_rx ${rate}/s"
else
	topo_fail "stats watch: exit $rc, $blocks samples, transit_rx rate '${rate}': $(head -n 8 "$TOPO_TMP/watch" | tr '\n' '|') $(cat "$TOPO_TMP/e")"
fi
run_ctl "$TOPO_TMP/watch.json" "$TOPO_TMP/e" --json stats watch interval 0.3 count 2
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$TOPO_TMP/watch.json")" -eq 2 ] &&
	jq -se 'all(.[]; (.rates | type) == "object" and (.time > 0))' \
		"$TOPO_TMP/watch.json" >/dev/null; then
	topo_ok "--json stats watch count 2: two JSON lines with rates"
else
	topo_fail "--json stats watch: exit $rc: $(head -c 300 "$TOPO_TMP/watch.json")"
fi
topo_bg h1 "$MZR_MIZARCTL" -r "$TOPO_BPFFS/h1" stats --watch \
	>"$TOPO_TMP/watch_int" 2>&1
w=$TOPO_LAST_PID
for _ in $(seq 1 50); do
	grep -q '^[0-9][0-9]:' "$TOPO_TMP/watch_int" && break
	sleep 0.1
done
kill -INT "$w"
rc=timeout
for _ in $(seq 1 30); do
	if ! kill -0 "$w" 2>/dev/null; then
		wait "$w"
		rc=$?
		break
	fi
	sleep 0.1
done
if [ "$rc" = 0 ] && grep -q '^per-second rates every 1s' "$TOPO_TMP/watch_int" &&
	grep -q '^[0-9][0-9]:' "$TOPO_TMP/watch_int"; then
	topo_ok "stats --watch: rates until SIGINT, then exit 0"
else
	topo_fail "stats --watch on SIGINT: exit $rc: $(head -n 4 "$TOPO_TMP/watch_int" | tr '\n' '|')"
fi
wait "$pinger" 2>/dev/null

topo_step "stats reset still zeroes every counter"
before=$(topo_counter h1 transit_rx)
topo_ctl h1 stats reset || topo_fail "stats reset"
after=$(topo_counter h1 transit_rx)
if [ -n "$after" ] && [ "$after" -lt "$before" ] && [ "$after" -le 2 ]; then
	topo_ok "transit_rx $before -> $after after reset"
else
	topo_fail "transit_rx $before -> ${after:-?} after reset"
fi

topo_finish
