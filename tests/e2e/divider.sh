#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two networks of one VPC reach each other through the VPC's divider
# (bouncer(net1) -> divider -> bouncer(net2)); an address no bouncer knows
# dies after one round with a named drop, never ping-pongs until the TTL
# runs out.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools iperf3 nc ss

topo_step "setup: bouncers h1 (10.0.1.0/24), h2 (10.0.2.0/24), divider h3; a@h4 b@h5"
topo_init
for h in h1 h2 h3 h4 h5; do topo_host_add $h; done
topo_vpc_add 100 h3
topo_net_add 100 10.0.1.0/24 h1
topo_net_add 100 10.0.2.0/24 h2
topo_ep_add a h4 100 10.0.1.2/24
topo_ep_add b h5 100 10.0.2.2/24
all=(h1 h2 h3 h4 h5)

topo_step "a (10.0.1.2) <-> b (10.0.2.2) across networks"
expect_ping a 10.0.2.2
expect_ping b 10.0.1.2
expect_counter_gt h3 divider_fwd
expect_counter_gt h1 bouncer_to_divider
expect_counter_gt h5 deliver

topo_step "TCP across the divider"
expect_tcp a b 2
expect_transfer b a 1024

topo_step "an unknown address in 10.0.2.0/24 is dropped after one round"
before=$(topo_counter_sum no_endpoint "${all[@]}")
expect_no_ping a 10.0.2.99 3
after=$(topo_counter_sum no_endpoint "${all[@]}")
if [ "$after" -gt "$before" ]; then
	topo_ok "dropped as no_endpoint ($before -> $after)"
else
	topo_fail "no no_endpoint drop counted ($before -> $after)"
fi
ttl=$(topo_counter_sum ttl_expired "${all[@]}")
if [ "$ttl" -eq 0 ]; then
	topo_ok "no ttl_expired drop anywhere (no bouncer/divider ping-pong)"
else
	topo_fail "$ttl ttl_expired drops: packets looped"
fi

topo_step "an address outside every network has no route"
expect_no_ping a 10.0.9.9 2

topo_finish
