#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The bouncer set of a network changes (h3 -> h4, `net set`) while a ping
# runs: the ping carries on, and new flows and ARP go through the new
# bouncer while the old one has forgotten the network's endpoints.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

topo_step "setup: a@h1, b@h2, c@h2, bouncer h3 (h4 idle)"
topo_init
for h in h1 h2 h3 h4; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add c h2 100 10.0.1.4/24
expect_ping a 10.0.1.3 2

topo_step "ping a -> b every 50 ms while the bouncers change to h4"
log=$TOPO_TMP/ping.log
topo_bg a timeout 20 ping -n -i 0.05 -c 120 -W 1 10.0.1.3 >"$log" 2>&1
ping_pid=$TOPO_LAST_PID
sleep 1.5
if topo_net_set 100 10.0.1.0/24 h4; then
	topo_ok "net set vni 100 prefix 10.0.1.0/24 bouncers $(topo_host_ip h4) on every host"
else
	topo_fail "net set failed"
fi

topo_step "fresh ARP and a new flow a -> c go through h4"
topo_exec a ip neigh flush dev eth0
arp4=$(topo_counter h4 bouncer_arp)
fwd4=$(topo_counter h4 bouncer_fwd)
fwd3=$(topo_counter h3 bouncer_fwd)
expect_ping a 10.0.1.4
expect_counter_gt h4 bouncer_arp "$arp4"
expect_counter_gt h4 bouncer_fwd "$fwd4"
expect_counter_le h3 bouncer_fwd "$fwd3"

{ wait "$ping_pid"; } 2>/dev/null
res=$(awk '/packets transmitted/ {print $1, $4}' "$log")
sent=${res% *}
rcvd=${res#* }
if [ -n "$res" ] && [ "$sent" -ge 100 ] && [ $((sent - rcvd)) -le 3 ]; then
	topo_ok "ping under the change: $rcvd/$sent replies"
else
	topo_fail "ping under the change: ${rcvd:-?}/${sent:-?} replies (<= 3 lost allowed)"
	tail -n 3 "$log"
fi
expect_ping b 10.0.1.2

topo_finish
