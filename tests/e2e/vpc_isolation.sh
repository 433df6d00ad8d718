#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two VPCs (vni 100, 200) reuse the same addresses and MACs on the same
# hosts. Each works on its own; nothing from VPC A ever reaches VPC B: its
# endpoints capture no packet while A talks, and an address that exists
# only in B is unreachable from A.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools iperf3 ss dumpcap tshark

topo_step "setup: VPC 100 {a1@h1, a2@h2} and VPC 200 {b1@h1, b2@h2, b3@h2}, same IPs and MACs"
topo_init
topo_host_add h1
topo_host_add h2
topo_host_add h3
topo_vpc_add 100
topo_vpc_add 200
topo_net_add 100 10.0.1.0/24 h3
topo_net_add 200 10.0.1.0/24 h3
topo_ep_add a1 h1 100 10.0.1.2/24 mac 0e:00:00:00:00:02
topo_ep_add a2 h2 100 10.0.1.3/24 mac 0e:00:00:00:00:03
topo_ep_add b1 h1 200 10.0.1.2/24 mac 0e:00:00:00:00:02
topo_ep_add b2 h2 200 10.0.1.3/24 mac 0e:00:00:00:00:03
topo_ep_add b3 h2 200 10.0.1.9/24 mac 0e:00:00:00:00:09

topo_step "VPC A talks while VPC B's endpoints listen"
topo_capture_start b2 eth0 ""
cap_b2=$TOPO_CAP_FILE pid_b2=$TOPO_CAP_PID
topo_capture_start b3 eth0 ""
cap_b3=$TOPO_CAP_FILE pid_b3=$TOPO_CAP_PID
rx_b2=$(topo_exec b2 cat /sys/class/net/eth0/statistics/rx_packets)
expect_ping a1 10.0.1.3
expect_tcp a1 a2 2
expect_no_ping a1 10.0.1.9 3
topo_capture_stop "$pid_b2"
topo_capture_stop "$pid_b3"
rx_b2_after=$(topo_exec b2 cat /sys/class/net/eth0/statistics/rx_packets)
n2=$(topo_capture_count "$cap_b2")
n3=$(topo_capture_count "$cap_b3")
if [ "$n2" -eq 0 ] && [ "$n3" -eq 0 ]; then
	topo_ok "VPC B captured nothing (b2: $n2, b3: $n3 packets)"
else
	topo_fail "VPC B saw VPC A's traffic (b2: $n2, b3: $n3 packets)"
	timeout 10 tshark -n -r "$cap_b2" 2>/dev/null | head -5
fi
if [ "$rx_b2_after" -eq "$rx_b2" ]; then
	topo_ok "b2 eth0 rx_packets unchanged ($rx_b2)"
else
	topo_fail "b2 eth0 rx_packets $rx_b2 -> $rx_b2_after"
fi

topo_step "VPC B works on its own, with the same addresses"
topo_capture_start b2 eth0 icmp
expect_ping b1 10.0.1.3
topo_capture_stop
n=$(topo_capture_count "$TOPO_CAP_FILE")
if [ "$n" -gt 0 ]; then
	topo_ok "b2's capture does see VPC B's pings ($n packets): the listener works"
else
	topo_fail "b2's capture saw none of VPC B's pings"
fi
expect_ping b1 10.0.1.9
expect_ping a2 10.0.1.2

topo_finish
