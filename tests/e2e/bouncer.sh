#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two endpoints of one network on different hosts reach each other through
# the network's single bouncer (ICMP, TCP); two endpoints on one host reach
# each other without leaving it.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools iperf3 nc ss

topo_step "setup: h1 (a, c), h2 (b), h3 bouncer of 10.0.1.0/24"
topo_init
topo_host_add h1
topo_host_add h2
topo_host_add h3
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add c h1 100 10.0.1.4/24

topo_step "a (h1) <-> b (h2) through the bouncer h3"
expect_ping a 10.0.1.3
expect_ping b 10.0.1.2
expect_counter_gt h3 bouncer_arp
expect_counter_gt h3 bouncer_fwd
expect_counter_gt h2 deliver
expect_counter_gt h1 deliver

topo_step "TCP a -> b (iperf3) and b -> a (nc, 1 MiB, checksum)"
expect_tcp a b 2
expect_transfer b a 1024

topo_step "MTU: full-size frames (1434-byte IP) fit the 1500-byte underlay once encapsulated"
expect_ping_size a 10.0.1.3 1406

# Endpoints with a too-large MTU (1500): the agent drops their too-big
# frames, answering those with DF with ICMP Fragmentation Needed from the
# gateway, next-hop MTU 1434; path MTU discovery does the rest.
topo_step "MTU 1500 on a and b: ICMP frag needed (mtu 1434) from the gateway, then PMTU discovery"
set_ep_mtu() { # EP HOST MTU
	topo_exec "$1" ip link set eth0 mtu "$3"
	topo_exec "$2" ip link set "ve-$1" mtu "$3"
}
set_ep_mtu a h1 1500
set_ep_mtu b h2 1500
before=$(topo_counter h1 too_big)
before_fn=$(topo_counter h1 agent_frag_needed)
out=$(topo_exec a timeout 5 ping -n -M "do" -s 1472 -c 2 -W 1 10.0.1.3 2>&1)
route=$(topo_exec a ip route get 10.0.1.3 2>&1)
if echo "$out" | grep -q "Frag needed and DF set (mtu = 1434)" &&
	echo "$route" | grep -q "mtu 1434"; then
	topo_ok "ping -M do -s 1472: frag needed (mtu = 1434); route cache: mtu 1434"
else
	topo_fail "ping -M do -s 1472: no frag needed with mtu 1434: $(echo "$out" | grep -m1 -i "mtu\|from") / route: $route"
fi
expect_counter_gt h1 too_big "$before"
expect_counter_gt h1 agent_frag_needed "$before_fn"
# Forget what ping taught a: TCP must find the path MTU itself, each way
# (each side's MSS is 1460, so 1500-byte segments are sent; a learned path
# MTU would lower the receiver's MSS too: flush before each).
flush_pmtu() {
	topo_exec a ip route flush cache
	topo_exec b ip route flush cache
}
before_fn=$(topo_counter h1 agent_frag_needed)
before_fn2=$(topo_counter h2 agent_frag_needed)
flush_pmtu
expect_transfer a b 1024
flush_pmtu
expect_transfer b a 1024
expect_counter_gt h1 agent_frag_needed "$before_fn"
expect_counter_gt h2 agent_frag_needed "$before_fn2"
set_ep_mtu a h1 1434
set_ep_mtu b h2 1434

topo_step "a -> c on the same host h1: local hairpin"
expect_ping a 10.0.1.4
expect_counter_gt h1 agent_local
expect_transfer c a 256

topo_step "ep add with dev needs no host: it is this host"
topo_ctl h1 ep del vni 100 ip 10.0.1.4 || topo_fail "ep del c"
if topo_ctl h1 ep add vni 100 ip 10.0.1.4 mac "${TOPO_EP_MAC[c]}" dev ve-c; then
	topo_ok "ep add ... dev ve-c without host accepted"
else
	topo_fail "ep add ... dev ve-c without host refused"
fi
host=$(topo_ctl h1 --json ep show vni 100 |
	jq -r '.endpoints[] | select(.ip == "10.0.1.4") | .host' 2>/dev/null)
[ "$host" = "$(topo_host_ip h1)" ] && topo_ok "c's host is h1 ($host)" ||
	topo_fail "c's host is '$host', not h1's $(topo_host_ip h1)"
expect_ping a 10.0.1.4

topo_finish
