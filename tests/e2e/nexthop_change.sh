#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The next-hop cache (bpf-core/fib.h) follows the underlay: h2's underlay
# MAC changes (h2 announces it, the switch forgets the old one), then h1's
# route to h2 changes to go through h3's kernel. After each change, once
# the cache's age (MZR_NH_AGE_S, 1 s) and 1 s more have passed, a -> b
# works again over the new next hop. Pings during the change are only
# reported (how many were lost), never judged.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools bridge

NH_AGE=1 # seconds, MZR_NH_AGE_S

# ip_forwarded HOST: datagrams HOST's kernel has IP-forwarded so far.
ip_forwarded() {
	topo_exec "$1" awk '/^Ip:/ { if (!h) { split($0, k); h = 1 } else {
		split($0, v); for (i in k) if (k[i] == "ForwDatagrams") print v[i] } }' \
		/proc/net/snmp
}

ul_mac() { topo_exec "$1" cat /sys/class/net/ul0/address; }

# expect_ping_after SECONDS WHAT: after SECONDS, 5 pings a -> b in a row
# are answered (no warm-up tries).
expect_ping_after() {
	local res
	sleep "$1"
	res=$(topo_ping a 10.0.1.3 5)
	if [ "$res" = "5 5" ]; then
		topo_ok "$2: ping a -> b 5/5 after ${1} s"
	else
		topo_fail "$2: ping a -> b ${res#* }/${res% *} after ${1} s"
	fi
}

# lost_during CMD...: run CMD while a -> b pings every 50 ms; print the
# replies lost around it (a number, not a verdict).
lost_during() {
	local log=$TOPO_TMP/ping.$RANDOM.log res
	topo_bg a timeout 10 ping -n -i 0.05 -c 60 -W 1 10.0.1.3 >"$log" 2>&1
	local pid=$TOPO_LAST_PID
	sleep 0.5
	"$@"
	{ wait "$pid"; } 2>/dev/null
	res=$(awk '/packets transmitted/ {print $1, $4}' "$log")
	topo_log "  pings every 50 ms around the change: ${res#* }/${res% *} answered"
}

topo_step "setup: a@h1, b@h2, bouncer h3; a -> b goes direct h1 -> h2"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3 5
d1=$(topo_counter h1 agent_direct)
expect_ping a 10.0.1.3 5
expect_counter_gt h1 agent_direct "$((d1 + 4))"

topo_step "h2's underlay MAC changes; the switch no longer floods to h2"
old=$(ul_mac h2)
new=02:4e:48:00:00:02
# Unknown unicast is not flooded to h2: a frame still addressed to the old
# MAC is lost, as on a switch that has aged it out.
ip -n "$TOPO_UL_NS" link set dev "p-h2" type bridge_slave flood off ||
	topo_die "cannot turn flooding off on p-h2"
topo_sysctl "$(topo_ns h2)" net.ipv4.conf.ul0.arp_notify=1
change_mac() {
	topo_exec h2 ip link set dev ul0 address "$new"
	bridge -n "$TOPO_UL_NS" fdb del "$old" dev p-h2 master 2>/dev/null
	true
}
lost_during change_mac
[ "$(ul_mac h2)" = "$new" ] || topo_die "h2's MAC did not change"
if topo_exec h1 ip -4 neigh show "$(topo_host_ip h2)" dev ul0 |
	grep -q "$new"; then
	topo_ok "h1's kernel learned h2's new MAC (gratuitous ARP)"
else
	topo_fail "h1's kernel still has $(topo_exec h1 ip -4 neigh show "$(topo_host_ip h2)" dev ul0)"
fi
expect_ping_after $((NH_AGE + 1)) "neighbour MAC change"
d1=$(topo_counter h1 agent_direct)
expect_ping a 10.0.1.3 5
expect_counter_gt h1 agent_direct "$((d1 + 4))"

topo_step "h1's route to h2 changes: through h3's kernel"
fwd0=$(ip_forwarded h3)
change_route() {
	topo_exec h1 ip route add "$(topo_host_ip h2)/32" \
		via "$(topo_host_ip h3)" dev ul0
}
lost_during change_route
expect_ping_after $((NH_AGE + 1)) "route change"
fwd1=$(ip_forwarded h3)
expect_ping a 10.0.1.3 10
fwd2=$(ip_forwarded h3)
if [ $((fwd2 - fwd1)) -ge 10 ]; then
	topo_ok "h3's kernel forwarded a's packets to h2 ($((fwd2 - fwd1)) datagrams for 10 pings)"
else
	topo_fail "h3's kernel forwarded $((fwd2 - fwd1)) datagrams for 10 pings (since the change: $((fwd2 - fwd0)))"
fi

topo_finish
