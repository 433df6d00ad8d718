#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Drop monitor: `mizarctl monitor --json drops` on h1 prints, within a
# second, one JSON object for a UDP datagram endpoint a sends with a
# spoofed source: hook, verdict drop, reason spoofed, VNI, 5-tuple. The
# plain monitor prints one line per decision; a rate cap of 1 event per
# second suppresses the rest and says how many.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 jq

topo_step "setup: h1 (a), h2 (b), h3 bouncer of 10.0.1.0/24"
topo_init
topo_host_add h1
topo_host_add h2
topo_host_add h3
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3 2

# mon_start FILE ARGS...: mizarctl ARGS on h1 in the background, stdout
# to FILE; returns once it listens.
mon_start() {
	local f=$1 i
	shift
	topo_bg h1 "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" "$@" >"$f" 2>"$f.err"
	MON_PID=$TOPO_LAST_PID
	for i in $(seq 50); do
		grep -q listening "$f.err" 2>/dev/null && return 0
		sleep 0.1
	done
	topo_fail "monitor did not start: $(cat "$f.err")"
}

mon_stop() {
	local rc
	kill -INT "$MON_PID"
	wait "$MON_PID"
	rc=$?
	[ $rc = 0 ] || topo_fail "monitor exited $rc after SIGINT"
}

topo_step "monitor --json drops: a spoofed UDP datagram"
mon_start "$TOPO_TMP/drops.json" monitor --json drops
topo_exec a ip addr add 10.0.1.99/32 dev eth0
topo_exec a python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.1.99", 4444))
s.sendto(b"spoofed", ("10.0.1.3", 5555))'
# The event must be there within a second of the send.
for i in $(seq 10); do
	[ -s "$TOPO_TMP/drops.json" ] && break
	sleep 0.1
done
seen=$(grep -c . "$TOPO_TMP/drops.json")
mon_stop
ev=$(jq -c 'select(.reason == "spoofed" and .proto == "udp")' "$TOPO_TMP/drops.json" | head -n 1)
if [ "$seen" -gt 0 ] && [ -n "$ev" ]; then
	topo_ok "an event within 1 s: $ev"
else
	topo_fail "no spoofed UDP drop within 1 s ($seen lines): $(head -c 600 "$TOPO_TMP/drops.json")"
fi
if [ -n "$ev" ] && echo "$ev" | jq -e '.verdict == "drop" and .hook == "agent" and
	.src == "10.0.1.99" and .sport == 4444 and .dst == "10.0.1.3" and
	.dport == 5555 and .vni == 100 and .host == "'"$(topo_host_ip h1)"'"' >/dev/null; then
	topo_ok "hook agent, verdict drop, vni 100, 10.0.1.99:4444 > 10.0.1.3:5555, host h1"
else
	topo_fail "wrong fields: $ev"
fi
if jq -e 'select(.verdict != "drop")' "$TOPO_TMP/drops.json" | grep -q .; then
	topo_fail "drops: an event that is not a drop"
else
	topo_ok "drops: only drops"
fi
if jq -e . "$TOPO_TMP/drops.json" >/dev/null; then
	topo_ok "each line is one JSON object"
else
	topo_fail "not JSON lines: $(head -c 300 "$TOPO_TMP/drops.json")"
fi
topo_exec a ip addr del 10.0.1.99/32 dev eth0

topo_step "monitor: every decision, one line each"
mon_start "$TOPO_TMP/all.txt" monitor proto icmp
topo_exec a ping -n -c 2 -i 0.2 -W 1 10.0.1.3 >/dev/null
mon_stop
if grep -q "hook=agent-egress verdict=redirect vni=100 icmp 10.0.1.2 > 10.0.1.3 outer=$(topo_host_ip h1) " "$TOPO_TMP/all.txt" &&
	grep -q 'hook=deliver verdict=redirect vni=100 icmp 10.0.1.3 > 10.0.1.2 ' "$TOPO_TMP/all.txt"; then
	topo_ok "the echo leaving a and the reply delivered to a, one line each"
else
	topo_fail "missing lines: $(head -n 4 "$TOPO_TMP/all.txt" | tr '\n' '|')"
fi

# The reply was decapsulated at h1's deliver: its line still names the
# host that sent the frame (the outer source the transit received).
# Every ping so far went a -> b directly (the direct path is learnt on
# the first one), so the reply came from b's host, h2.
if grep -q "hook=deliver verdict=redirect vni=100 icmp 10.0.1.3 > 10.0.1.2 outer=$(topo_host_ip h2) len=" "$TOPO_TMP/all.txt"; then
	topo_ok "the delivered reply names its sending host h2 as outer source"
else
	topo_fail "no outer=$(topo_host_ip h2) on the deliver line: $(grep 'hook=deliver' "$TOPO_TMP/all.txt" | head -n 2 | tr '\n' '|')"
fi

topo_step "rate cap: 1 event per second per CPU"
mon_start "$TOPO_TMP/cap.txt" monitor proto icmp rate 1
topo_exec a ping -n -c 20 -i 0.01 -W 1 10.0.1.3 >/dev/null
mon_stop
n=$(grep -vc '^#' "$TOPO_TMP/cap.txt")
sup=$(sed -n 's/.* \([0-9]*\) suppressed by the rate cap.*/\1/p' "$TOPO_TMP/cap.txt.err")
if [ "${sup:-0}" -gt 0 ] && [ "$n" -lt 40 ]; then
	topo_ok "$n events shown, ${sup} suppressed (counted in the kernel)"
else
	topo_fail "rate 1: $n events, '${sup}' suppressed"
fi

topo_finish
