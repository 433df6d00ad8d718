#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Prometheus metrics: `mizarctl metrics serve` answers GET /metrics over
# HTTP on the host's loopback with a valid text exposition (promtool and a
# strict parser agree), whose packet counters grow by the pings sent
# through the overlay, whose drop reasons and table fill levels are those
# of `stats` and `host show`; other paths get 404, SIGINT ends it cleanly.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 ss

PROM_CHECK=${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/prom_check.py
PORT=9469 # the default listen address is 127.0.0.1:9469
PINGS=20

topo_step "setup: h1 (a), h2 (b), h3 bouncer of 10.0.1.0/24"
topo_init
topo_host_add h1
topo_host_add h2
topo_host_add h3
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24

# http HOST PATH [METHOD]: "CODE" then the body, fetched with urllib
# from 127.0.0.1:$PORT inside HOST's netns.
http() {
	topo_exec "$1" python3 - "http://127.0.0.1:$PORT$2" "${3:-GET}" <<'EOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method=sys.argv[2],
                             data=b"x" if sys.argv[2] == "POST" else None)
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
EOF
}

scrape() { http h1 /metrics | tail -n +2; }

# value METRICS_FILE SERIES: the value of one series ('name{labels}').
value() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "" }' "$1"; }

# expect_valid FILE WHAT: promtool and the strict parser accept FILE.
expect_valid() {
	local out
	if [ ! -s "$1" ]; then
		topo_fail "$2: empty"
		return
	fi
	if command -v promtool >/dev/null; then
		if out=$(promtool check metrics <"$1" 2>&1); then
			topo_ok "$2: promtool check metrics accepts it"
		else
			topo_fail "$2: promtool: $out"
		fi
	else
		topo_log "  note: promtool missing (Debian package prometheus, scripts/install-deps.sh): strict parser only"
	fi
	if out=$(python3 "$PROM_CHECK" <"$1" 2>&1); then
		topo_ok "$2: strict parser accepts $(grep -vc '^#' "$1") samples"
	else
		topo_fail "$2: $(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
}

# expect_grew FILE0 FILE1 SERIES MIN MAX [WHERE]: the series grew by
# MIN..MAX.
expect_grew() {
	local v0 v1 d w=${6:-h1}
	v0=$(value "$1" "$3")
	v1=$(value "$2" "$3")
	if [ -z "$v0" ] || [ -z "$v1" ]; then
		topo_fail "$3: missing (before '${v0}', after '${v1}')"
		return
	fi
	d=$((v1 - v0))
	if [ "$d" -ge "$4" ] && [ "$d" -le "$5" ]; then
		topo_ok "$w: $3 grew by $d ($v0 -> $v1; expected $4..$5)"
	else
		topo_fail "$w: $3 grew by $d ($v0 -> $v1; expected $4..$5)"
	fi
}

topo_step "metrics serve on h1 (default listen address 127.0.0.1:$PORT)"
topo_bg h1 "$MZR_MIZARCTL" -r "$TOPO_BPFFS/h1" metrics serve \
	>"$TOPO_TMP/serve.out" 2>&1
srv=$TOPO_LAST_PID
if topo_wait_listen h1 $PORT; then
	topo_ok "listening: $(cat "$TOPO_TMP/serve.out")"
else
	topo_fail "nothing listens on $PORT in h1: $(cat "$TOPO_TMP/serve.out")"
fi
addr=$(topo_exec h1 ss -Hltn "sport = :$PORT" | awk '{print $4}')
if [ "$addr" = "127.0.0.1:$PORT" ]; then
	topo_ok "bound to loopback only ($addr)"
else
	topo_fail "bound to '$addr' (expected 127.0.0.1:$PORT)"
fi

expect_ping a 10.0.1.3 # ARP and the first exchange, before counting
scrape >"$TOPO_TMP/m0"
topo_ctl h2 metrics >"$TOPO_TMP/h2m0"
expect_valid "$TOPO_TMP/m0" "GET /metrics on h1"
expect_valid "$TOPO_TMP/h2m0" "mizarctl metrics on h2"

topo_step "families, drop reasons and table fill levels"
for fam in mizar_packets_total:counter mizar_hook_packets_total:counter \
	mizar_drops_total:counter mizar_missed_tail_calls_total:counter \
	mizar_table_entries:gauge mizar_table_capacity:gauge; do
	if grep -qx "# TYPE ${fam%:*} ${fam#*:}" "$TOPO_TMP/m0" &&
		grep -q "^# HELP ${fam%:*} ." "$TOPO_TMP/m0"; then
		topo_ok "family ${fam%:*} (${fam#*:}) with HELP and TYPE"
	else
		topo_fail "family ${fam%:*}: no HELP/TYPE ${fam#*:}"
	fi
done
want=$(topo_stats_json h1 | jq -r '.drops | keys[]' | sort | tr '\n' ' ')
got=$(sed -n 's/^mizar_drops_total{reason="\([a-z_0-9]*\)"}.*/\1/p' \
	"$TOPO_TMP/m0" | sort | tr '\n' ' ')
if [ -n "$want" ] && [ "$want" = "$got" ]; then
	topo_ok "mizar_drops_total has every drop reason of stats ($(echo "$got" | wc -w))"
else
	topo_fail "drop reasons: metrics '$got', stats '$want'"
fi
missed=$(grep -c '^mizar_missed_tail_calls_total{hook="[a-z-]*",pos="[0-9a-z]*"} ' \
	"$TOPO_TMP/m0")
if [ "$missed" -eq 85 ]; then # 5 hooks x (16 NF slots + continuation)
	topo_ok "mizar_missed_tail_calls_total: every hook and position ($missed)"
else
	topo_fail "mizar_missed_tail_calls_total: $missed series (expected 85)"
fi
topo_ctl h1 --json host show >"$TOPO_TMP/show.json"
for t in endpoints local_endpoints networks vpcs direct_path; do
	e=$(jq -r --arg t "$t" '.tables[] | select(.name == $t) | .entries' "$TOPO_TMP/show.json")
	c=$(jq -r --arg t "$t" '.tables[] | select(.name == $t) | .capacity' "$TOPO_TMP/show.json")
	me=$(value "$TOPO_TMP/m0" "mizar_table_entries{table=\"$t\"}")
	mc=$(value "$TOPO_TMP/m0" "mizar_table_capacity{table=\"$t\"}")
	if [ -n "$e" ] && [ "$e" = "$me" ] && [ -n "$c" ] && [ "$c" = "$mc" ] &&
		[ "$c" -gt 0 ]; then
		topo_ok "table $t: $me of $mc, as host show says"
	else
		topo_fail "table $t: metrics $me of $mc, host show $e of $c"
	fi
done
# h1 holds a (local) and learns b; networks and VPCs: one each.
if [ "$(value "$TOPO_TMP/m0" 'mizar_table_entries{table="local_endpoints"}')" = 1 ] &&
	[ "$(value "$TOPO_TMP/m0" 'mizar_table_entries{table="vpcs"}')" = 1 ]; then
	topo_ok "h1: 1 local endpoint, 1 VPC"
else
	topo_fail "h1: local endpoints / VPCs not 1 / 1"
fi

topo_step "$PINGS pings a -> b: the scraped counters grow by the pings"
res=$(topo_ping a 10.0.1.3 $PINGS)
if [ "$res" = "$PINGS $PINGS" ]; then
	topo_ok "ping a -> b: $PINGS/$PINGS replies"
else
	topo_fail "ping a -> b: ${res#* }/${res% *} replies"
fi
scrape >"$TOPO_TMP/m1"
topo_ctl h2 metrics >"$TOPO_TMP/h2m1"
expect_valid "$TOPO_TMP/m1" "GET /metrics on h1 after the pings"
# The echo requests leave through a's agent on h1 and are delivered on
# h2; the replies come back and are delivered on h1. A few more frames
# (ARP refresh) may be counted, never fewer.
slack=6
expect_grew "$TOPO_TMP/m0" "$TOPO_TMP/m1" \
	'mizar_packets_total{role="agent",counter="agent_rx"}' $PINGS $((PINGS + slack))
expect_grew "$TOPO_TMP/m0" "$TOPO_TMP/m1" \
	'mizar_hook_packets_total{hook="agent-egress"}' $PINGS $((PINGS + slack))
expect_grew "$TOPO_TMP/m0" "$TOPO_TMP/m1" \
	'mizar_packets_total{role="host",counter="deliver"}' $PINGS $((PINGS + slack))
expect_grew "$TOPO_TMP/h2m0" "$TOPO_TMP/h2m1" \
	'mizar_packets_total{role="host",counter="deliver"}' $PINGS $((PINGS + slack)) h2
expect_grew "$TOPO_TMP/m0" "$TOPO_TMP/m1" 'mizar_drops_total{reason="spoofed"}' 0 0

topo_step "other paths and methods"
for p in / /metric /metrics/x /favicon.ico; do
	code=$(http h1 "$p" | head -n 1)
	if [ "$code" = 404 ]; then
		topo_ok "GET $p: 404"
	else
		topo_fail "GET $p: '$code' (expected 404)"
	fi
done
code=$(http h1 /metrics POST | head -n 1)
if [ "$code" = 405 ]; then
	topo_ok "POST /metrics: 405"
else
	topo_fail "POST /metrics: '$code' (expected 405)"
fi
code=$(http h1 "/metrics?x=1" | head -n 1)
if [ "$code" = 200 ]; then
	topo_ok "GET /metrics?x=1: 200 (query ignored)"
else
	topo_fail "GET /metrics?x=1: '$code'"
fi

topo_step "SIGINT ends the server cleanly"
kill -INT "$srv"
rc=timeout
for _ in $(seq 1 30); do
	if ! kill -0 "$srv" 2>/dev/null; then
		wait "$srv"
		rc=$?
		break
	fi
	sleep 0.1
done
if [ "$rc" = 0 ]; then
	topo_ok "metrics serve exited 0 on SIGINT"
else
	topo_fail "metrics serve on SIGINT: exit $rc"
fi
if topo_exec h1 ss -Hltn "sport = :$PORT" | grep -q .; then
	topo_fail "port $PORT still listening"
else
	topo_ok "port $PORT closed"
fi

topo_finish
