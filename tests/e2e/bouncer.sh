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
topo_exec a ip link set eth0 mtu 1500
topo_exec h1 ip link set ve-a mtu 1500
before=$(topo_counter h1 too_big)
topo_exec a timeout 5 ping -n -q -M "do" -s 1472 -c 2 -W 1 10.0.1.3 >/dev/null 2>&1
expect_counter_gt h1 too_big "$before"
topo_exec a ip link set eth0 mtu 1434
topo_exec h1 ip link set ve-a mtu 1434

topo_step "a -> c on the same host h1: local hairpin"
expect_ping a 10.0.1.4
expect_counter_gt h1 agent_local
expect_transfer c a 256

topo_finish
