#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Per-VPC and per-endpoint counters: an iperf3 UDP transfer a (h1) -> b
# (h2) makes /metrics on h1 (scraped over HTTP) show the VPC's tx bytes,
# and on h2 its rx bytes, grown by what iperf3 sent (within 5%: frames
# count their 42 bytes of Ethernet/IP/UDP headers, 3.2% of 1300; UDP, as
# a TCP test's end discards what its socket buffers still held); `stats vpc N` and `stats ep vni N ip
# IP` show the same; another VPC's counters stay where they were. The
# counters are opt-in: `stats counters on` first, and off they stay still.
# A spoofed source from a counts as a drop of its VPC and endpoint (stats,
# /metrics), never of VPC 200.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 iperf3 jq ss

PORT=9469
BYTES=$((20 * 1024 * 1024))

topo_step "setup: h1 (a, c), h2 (b), h3 bouncer; c in another VPC"
topo_init
topo_host_add h1
topo_host_add h2
topo_host_add h3
topo_vpc_add 100
topo_vpc_add 200
topo_net_add 100 10.0.1.0/24 h3
topo_net_add 200 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add c h1 200 10.0.1.2/24
for h in h1 h2; do
	out=$(topo_ctl $h stats counters on)
	[ "$out" = "per-VPC/endpoint counters: on" ] || topo_fail "[$h] stats counters on: $out"
done
expect_ping a 10.0.1.3 2

# scrape HOST FILE: GET /metrics from `metrics serve` on HOST.
scrape() {
	topo_exec "$1" python3 -c '
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end="")' \
		"http://127.0.0.1:$PORT/metrics" >"$2"
}
value() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }

for h in h1 h2; do
	topo_bg $h "$MZR_MIZARCTL" -r "$(topo_pin_root $h)" metrics serve \
		>"$TOPO_TMP/serve.$h" 2>&1
	topo_wait_listen $h $PORT || topo_fail "[$h] metrics serve did not listen"
	scrape $h "$TOPO_TMP/$h.m0"
done

topo_step "iperf3 UDP: $BYTES bytes a -> b"
topo_bg b timeout 60 iperf3 -s -1 -p 5201 >/dev/null 2>&1
topo_wait_listen b 5201 || topo_fail "iperf3 server did not start"
out=$(topo_exec a timeout 50 iperf3 -c 10.0.1.3 -p 5201 -u -b 100M -l 1300 \
	-n "$BYTES" -J 2>/dev/null)
sent=$(echo "$out" | jq -r '.end.sum.bytes // 0')
lost=$(echo "$out" | jq -r '.end.sum.lost_packets // 0')
topo_log "  iperf3 sent $sent bytes ($lost datagrams lost)"
[ "${sent:-0}" -gt 0 ] || topo_fail "iperf3 failed: $(echo "$out" | jq -r '.error // "no result"')"
for h in h1 h2; do
	scrape $h "$TOPO_TMP/$h.m1"
done

# expect_grown HOST SERIES: the series grew by sent bytes +-5%.
expect_grown() {
	local v0 v1 d
	v0=$(value "$TOPO_TMP/$1.m0" "$2")
	v1=$(value "$TOPO_TMP/$1.m1" "$2")
	d=$((v1 - v0))
	if [ "$d" -ge $((sent * 95 / 100)) ] && [ "$d" -le $((sent * 105 / 100)) ]; then
		topo_ok "[$1] $2 grew by $d (iperf3 sent $sent: $((d * 1000 / sent))/1000)"
	else
		topo_fail "[$1] $2 grew by $d, iperf3 sent $sent"
	fi
}
expect_grown h1 'mizar_vpc_bytes_total{vni="100",dir="tx"}'
expect_grown h2 'mizar_vpc_bytes_total{vni="100",dir="rx"}'
expect_grown h1 'mizar_endpoint_bytes_total{vni="100",ip="10.0.1.2",dir="tx"}'
expect_grown h2 'mizar_endpoint_bytes_total{vni="100",ip="10.0.1.3",dir="rx"}'
d=$(($(value "$TOPO_TMP/h1.m1" 'mizar_vpc_bytes_total{vni="200",dir="tx"}') - \
	$(value "$TOPO_TMP/h1.m0" 'mizar_vpc_bytes_total{vni="200",dir="tx"}')))
if [ "$d" = 0 ]; then
	topo_ok "[h1] VPC 200 did not move"
else
	topo_fail "[h1] VPC 200 tx grew by $d"
fi
if promtool check metrics <"$TOPO_TMP/h1.m1" >/dev/null 2>&1 || ! command -v promtool >/dev/null; then
	topo_ok "[h1] promtool accepts the scrape"
else
	topo_fail "[h1] promtool: $(promtool check metrics <"$TOPO_TMP/h1.m1" 2>&1 | head -n 3)"
fi

topo_step "stats vpc / ep selectors"
j=$(topo_ctl h1 --json stats vpc 100)
v=$(echo "$j" | jq -r .tx_bytes)
if [ "$v" = "$(value "$TOPO_TMP/h1.m1" 'mizar_vpc_bytes_total{vni="100",dir="tx"}')" ] ||
	[ "$v" -gt "$(value "$TOPO_TMP/h1.m1" 'mizar_vpc_bytes_total{vni="100",dir="tx"}')" ]; then
	topo_ok "[h1] stats vpc 100: $j"
else
	topo_fail "[h1] stats vpc 100: $j"
fi
out=$(topo_ctl h2 stats ep vni 100 ip 10.0.1.3)
if echo "$out" | grep -q '^ep vni 100 ip 10.0.1.3:' && echo "$out" | grep -q '^    rx .* [1-9][0-9]* bytes'; then
	topo_ok "[h2] stats ep vni 100 ip 10.0.1.3: $(echo "$out" | tr '\n' ' ')"
else
	topo_fail "[h2] stats ep: $out"
fi

topo_step "drops by reason: a's spoofed source counts in its VPC and endpoint"
topo_exec a ip addr add 10.0.1.99/32 dev eth0
topo_exec a ping -n -c 3 -i 0.2 -W 1 -I 10.0.1.99 10.0.1.3 >/dev/null
topo_exec a ip addr del 10.0.1.99/32 dev eth0
vj=$(topo_ctl h1 --json stats vpc 100)
ej=$(topo_ctl h1 --json stats ep vni 100 ip 10.0.1.2)
if [ "$(echo "$vj" | jq -r '.drops.spoofed // 0')" -ge 3 ] &&
	[ "$(echo "$ej" | jq -r '.drops.spoofed // 0')" -ge 3 ]; then
	topo_ok "[h1] stats vpc 100 / ep 10.0.1.2: $(echo "$ej" | jq -c .drops)"
else
	topo_fail "[h1] no spoofed drops: vpc $vj, ep $ej"
fi
if [ "$(topo_ctl h1 --json stats vpc 200 | jq -r .drops_total)" = 0 ]; then
	topo_ok "[h1] VPC 200 dropped nothing"
else
	topo_fail "[h1] VPC 200: $(topo_ctl h1 --json stats vpc 200)"
fi
out=$(topo_ctl h1 stats ep vni 100 ip 10.0.1.2)
if echo "$out" | grep -Eq '^    drop spoofed +[0-9]+ packets$'; then
	topo_ok "[h1] stats ep: '$(echo "$out" | grep drop)'"
else
	topo_fail "[h1] stats ep shows no drop line: $out"
fi
scrape h1 "$TOPO_TMP/h1.m2"
vm=$(value "$TOPO_TMP/h1.m2" 'mizar_vpc_drops_total{vni="100",reason="spoofed"}')
em=$(value "$TOPO_TMP/h1.m2" 'mizar_endpoint_drops_total{vni="100",ip="10.0.1.2",reason="spoofed"}')
if [ "$vm" = "$(echo "$vj" | jq -r .drops.spoofed)" ] && [ "$em" = "$vm" ]; then
	topo_ok "[h1] /metrics: mizar_vpc_drops_total and mizar_endpoint_drops_total spoofed $vm"
else
	topo_fail "[h1] /metrics: vpc $vm, endpoint $em; stats $vj"
fi
if promtool check metrics <"$TOPO_TMP/h1.m2" >/dev/null 2>&1 || ! command -v promtool >/dev/null; then
	topo_ok "[h1] promtool accepts the scrape with drops"
else
	topo_fail "[h1] promtool: $(promtool check metrics <"$TOPO_TMP/h1.m2" 2>&1 | head -n 3)"
fi

topo_step "counters off: nothing counted"
topo_ctl h1 stats counters off >/dev/null
t0=$(topo_ctl h1 --json stats vpc 100 2>/dev/null | jq -r .tx_packets)
topo_exec a ping -n -c 3 -i 0.2 -W 1 10.0.1.3 >/dev/null
t1=$(topo_ctl h1 --json stats vpc 100 2>/dev/null | jq -r .tx_packets)
if [ "$t0" = "$t1" ] && [ "$(topo_ctl h1 stats counters)" = "per-VPC/endpoint counters: off" ]; then
	topo_ok "[h1] counters off: tx_packets stays at $t1"
else
	topo_fail "[h1] counters off: tx_packets $t0 -> $t1"
fi

topo_finish
