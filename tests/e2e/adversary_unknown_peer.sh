#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# docs/security.md rule 2: a machine on the underlay that is no Mizar host
# sends Mizar Geneve with a valid VNI (24 bits, visible on the wire) to a
# host's port 6081. It is dropped as unknown_peer, never delivered. The
# same frame is delivered once its sender is made a known peer: the
# endpoint's capture does see such frames.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 dumpcap tshark jq
SEND=$(readlink -f "$(dirname "$0")/geneve_send.py")
X_IP=172.31.0.200

topo_step "setup: a@h1, b@h2, bouncer h3; outsider x ($X_IP) on the underlay"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_outsider_add x $X_IP
expect_ping a 10.0.1.3

# inject: x sends 3 Geneve frames (VNI 100, RTS x) carrying an ICMP echo
# from 10.0.1.66 to b, to h2's port 6081; prints what b captured.
inject() {
	topo_capture_start b eth0 "icmp and host 10.0.1.66"
	topo_exec x python3 "$SEND" udp "$(topo_host_ip h2)" --vni 100 \
		--rts $X_IP --inner-src 10.0.1.66 --inner-dst 10.0.1.3 \
		--inner-dmac "${TOPO_EP_MAC[b]}" >/dev/null ||
		topo_fail "geneve_send.py failed"
	topo_capture_stop
	topo_capture_count "$TOPO_CAP_FILE"
}

topo_step "Geneve from x, not a Mizar host: dropped as unknown_peer"
d0=$(topo_counter h2 drop_unknown_peer)
n=$(inject)
[ "$n" -eq 0 ] && topo_ok "b received none of x's frames" ||
	topo_fail "b received $n of x's frames"
expect_counter_gt h2 drop_unknown_peer "${d0:-0}"
topo_ctl h2 --json host peer show |
	jq -e --arg x $X_IP '[.peers[].ip] | index($x) == null' >/dev/null &&
	topo_ok "x is not in h2's known peers" ||
	topo_fail "x is listed as a known peer of h2"

topo_step "the same frames once x is an explicit peer: delivered"
topo_ctl h2 host peer add $X_IP && topo_ok "host peer add $X_IP" ||
	topo_fail "host peer add $X_IP"
n=$(inject)
[ "$n" -gt 0 ] && topo_ok "b received $n frame(s) from the known peer" ||
	topo_fail "b received nothing even from a known peer (the check cannot fail)"
topo_ctl h2 host peer del $X_IP && topo_ok "host peer del $X_IP" ||
	topo_fail "host peer del $X_IP"
d1=$(topo_counter h2 drop_unknown_peer)
n=$(inject)
[ "$n" -eq 0 ] && expect_counter_gt h2 drop_unknown_peer "$d1" ||
	topo_fail "b received $n frame(s) after x was removed"

topo_step "the overlay still works"
expect_ping a 10.0.1.3

topo_finish
