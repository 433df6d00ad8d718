#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Unresolved underlay neighbours: when bpf_fib_lookup finds no neighbour
# for the next host, the packet is handed to the kernel, which forwards it
# and resolves the neighbour; traffic flows from the first packet on.
# Checked separately for the transit program (a bouncer forwarding) and
# for the transit agent (an endpoint's first packets).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

topo_step "setup: a@h1, b@h2, bouncer h3; every underlay neighbour known but h3 -> h2"
export TOPO_UL_COLD=1
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
for p in "h1 h2" "h1 h3" "h2 h1" "h2 h3" "h3 h1"; do
	topo_ul_neigh $p || topo_die "cannot add neighbour $p"
done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24

topo_step "transit: the bouncer h3 has not resolved h2 and goes through its kernel"
expect_ping a 10.0.1.3
expect_counter_gt h3 kernel_fwd
if topo_exec h3 ip -4 neigh show 172.31.0.2 dev ul0 | grep -q lladdr; then
	topo_ok "h3 resolved h2 (172.31.0.2)"
else
	topo_fail "h3 did not resolve h2"
fi

topo_step "agent: h1 forgets every underlay neighbour; a's next packets go through h1's kernel"
topo_exec h1 ip neigh flush dev ul0 nud all
topo_exec h1 ip -4 neigh show dev ul0 | sed 's/^/  left: /'
expect_ping a 10.0.1.3
expect_counter_gt h1 agent_kernel
if topo_exec h1 ip -4 neigh show 172.31.0.2 dev ul0 | grep -q lladdr; then
	topo_ok "h1 resolved h2 (172.31.0.2)"
else
	topo_fail "h1 did not resolve h2"
fi
expect_ping b 10.0.1.2

topo_finish
