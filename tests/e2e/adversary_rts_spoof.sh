#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# docs/security.md rule 3: an underlay machine spoofs a known host's
# address (h1) and sends a frame whose RTS option claims itself, with the
# inner source of a victim (a). The delivering host (h2) must not learn
# "a lives at x" (learn_refused): b's traffic to a is not redirected to x.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 dumpcap tshark
SEND=$(readlink -f "$(dirname "$0")/geneve_send.py")
X_IP=172.31.0.200

topo_step "setup: victim a@h1, b@h2, bouncer h3; attacker x ($X_IP) on the underlay"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_outsider_add x $X_IP

topo_step "x, spoofing h1's address, sends a's frames to b with RTS = x"
r0=$(topo_counter h2 learn_refused)
topo_exec x python3 "$SEND" raw "$(topo_host_ip h1)" "$(topo_host_ip h2)" \
	--vni 100 --rts $X_IP --inner-src 10.0.1.2 --inner-dst 10.0.1.3 \
	--inner-smac "${TOPO_EP_MAC[a]}" --inner-dmac "${TOPO_EP_MAC[b]}" \
	--proto udp --dport 9 >/dev/null || topo_fail "geneve_send.py failed"
expect_counter_gt h2 learn_refused "${r0:-0}"

topo_step "b's traffic to a is not redirected to x"
topo_capture_start x eth0 "udp port 6081"
expect_ping b 10.0.1.2
topo_capture_stop
n=$(topo_capture_count "$TOPO_CAP_FILE")
[ "$n" -eq 0 ] && topo_ok "x received no tunnel frame" ||
	topo_fail "x received $n tunnel frame(s) meant for a"

topo_finish
