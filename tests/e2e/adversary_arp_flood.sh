#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A tenant floods ARP requests (docs/security.md: endpoints are untrusted):
# its agent lets at most the per-endpoint burst and rate through to the
# bouncer and drops the rest as `arp_rate`; other endpoints and the flooder
# itself, once it calms down, resolve addresses as before.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3

FLOOD=$(dirname "$0")/arp_flood.py
COUNT=3000
# The agent's bucket (bpf-core/agent.h): MZR_ARP_BURST deep, MZR_ARP_RATE/s.
BURST=100
RATE=50

topo_step "setup: a@h1, c@h1, b@h2; bouncer h2"
topo_init
topo_host_add h1
topo_host_add h2
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h2
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add c h1 100 10.0.1.4/24
topo_ep_add b h2 100 10.0.1.3/24

topo_step "a sends $COUNT ARP requests as fast as it can"
arp0=$(topo_counter h1 agent_arp)
bnc0=$(topo_counter h2 bouncer_arp)
secs=$(topo_exec a timeout 60 python3 "$FLOOD" eth0 10.0.1.2 10.0.1.0 "$COUNT")
topo_log "  flood took ${secs:-?} s"
sleep 0.5
# What the bucket lets through in that time (plus the settle time above
# and a second of slack): derived from the flood's own duration.
cap=$(awk -v s="${secs:-0}" -v b=$BURST -v r=$RATE 'BEGIN { printf "%d", b + r * (s + 1.5) }')
expect_counter_gt h1 arp_rate $((COUNT / 2))
expect_counter_le h1 agent_arp $((arp0 + cap))
expect_counter_le h2 bouncer_arp $((bnc0 + cap))

topo_step "another endpoint of the same host is not limited by a's flood"
topo_exec c ip neigh flush dev eth0
expect_ping c 10.0.1.3

topo_step "a resolves addresses again once its bucket refills"
sleep 1
topo_exec a ip neigh flush dev eth0
expect_ping a 10.0.1.3

topo_finish
