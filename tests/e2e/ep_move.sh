#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An endpoint deleted is unreachable; re-created with the same address on
# another host it is reachable again at once: the peer's direct-path entry
# still points to the old host, which hands the packet back to a bouncer
# (stale_direct), and the reply from the new host heals the entry.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

topo_step "setup: a@h1, b@h2, bouncer h3, spare host h4"
topo_init
for h in h1 h2 h3 h4; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24

topo_step "a <-> b; h1 learns the direct path to b"
expect_ping a 10.0.1.3
expect_counter_gt h1 agent_direct

topo_step "b deleted: unreachable"
topo_ep_del b
expect_no_ping a 10.0.1.3 3

topo_step "b re-created on h4 (same IP and MAC): reachable again, via h2's stale_direct"
stale=$(topo_counter h2 stale_direct)
topo_ep_add b h4 100 10.0.1.3/24
expect_ping a 10.0.1.3
expect_counter_gt h2 stale_direct "$stale"
expect_counter_gt h4 deliver

topo_step "the direct path healed: h1 goes straight to h4, h2 sees nothing more"
stale=$(topo_counter h2 stale_direct)
direct=$(topo_counter h1 agent_direct)
deliver=$(topo_counter h4 deliver)
expect_ping a 10.0.1.3 10
expect_counter_le h2 stale_direct "$stale"
expect_counter_gt h1 agent_direct $((direct + 5))
expect_counter_gt h4 deliver $((deliver + 5))
expect_ping b 10.0.1.2

topo_finish
