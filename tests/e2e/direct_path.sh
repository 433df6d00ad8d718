#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# After the first exchange through the bouncer, both agents send straight
# to the peer's host (agent_direct rises) and the bouncer sees no more of
# the flow.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools iperf3 nc ss

topo_step "setup: a@h1, b@h2, bouncer h3"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24

topo_step "first exchange goes through the bouncer"
expect_ping a 10.0.1.3 1
expect_counter_gt h3 bouncer_fwd
expect_counter_gt h2 learned

topo_step "then the agents go direct"
fwd=$(topo_counter h3 bouncer_fwd)
d1=$(topo_counter h1 agent_direct)
d2=$(topo_counter h2 agent_direct)
expect_ping a 10.0.1.3 10
expect_counter_gt h1 agent_direct $((d1 + 9))
expect_counter_gt h2 agent_direct $((d2 + 9))
expect_counter_le h3 bouncer_fwd "$fwd"
expect_transfer a b 1024
expect_counter_le h3 bouncer_fwd "$fwd"

topo_finish
