#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An endpoint flagged bypass-decap receives tunnel packets as they are: a
# capture in its netns shows Geneve on UDP 6081 (VNI 100, Mizar option
# class 0x0111) carrying the inner ICMP sent to it, decoded by tshark,
# addressed to the endpoint's own MAC. With the SDK's example NF
# (examples/bypass-decap) on its interface, the endpoint answers: the
# sender gets every reply.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools dumpcap tshark
BYPASS_OBJ=${MZR_BYPASS_OBJ:-$MZR_BUILD_DIR/examples/bypass-decap/bypass_decap.bpf.o}

topo_step "setup: a@h1, bypass-decap nf@h2, plain b@h2, bouncer h3"
topo_init
[ -f "$BYPASS_OBJ" ] || topo_die "missing $BYPASS_OBJ (build first, or set MZR_BYPASS_OBJ)"
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add nf h2 100 10.0.1.5/24 bypass
topo_ep_add b h2 100 10.0.1.3/24

topo_step "a pings nf; nf's netns captures the tunnel frames"
topo_capture_start nf eth0 "udp port 6081"
topo_ping a 10.0.1.5 4 >/dev/null
topo_capture_stop
n=$(topo_capture_count "$TOPO_CAP_FILE" "geneve && icmp")
if [ "$n" -gt 0 ]; then
	topo_ok "nf received $n Geneve frames carrying ICMP"
else
	topo_fail "nf received no Geneve frame (all captured: $(topo_capture_count "$TOPO_CAP_FILE"))"
fi
fields=$(timeout 20 tshark -n -r "$TOPO_CAP_FILE" -Y "geneve && icmp" \
	-T fields -E separator=' ' -e udp.dstport -e geneve.vni \
	-e geneve.option.class -e ip.dst -e eth.dst 2>/dev/null | head -1)
echo "  first frame: udp.dstport vni option.class ip.dst(outer,inner) eth.dst(outer,inner) = $fields"
read -r dport vni class ipdst ethdst <<<"$fields"
[ "${dport:-}" = 6081 ] && topo_ok "outer UDP port 6081" ||
	topo_fail "outer UDP port '${dport:-}'"
[ "$((${vni:-0}))" -eq 100 ] && topo_ok "VNI 100" || topo_fail "VNI '${vni:-}'"
[[ "${class:-}" == *0x0111* || "${class:-}" == *273* ]] &&
	topo_ok "Mizar option class 0x0111 ($class)" ||
	topo_fail "option classes '${class:-}' lack 0x0111"
[[ "${ipdst:-}" == *10.0.1.5* ]] && topo_ok "inner destination 10.0.1.5 ($ipdst)" ||
	topo_fail "inner destination '${ipdst:-}'"
nf_mac=${TOPO_EP_MAC[nf]}
[[ "${ethdst:-}" == "$nf_mac"* ]] &&
	topo_ok "outer destination MAC is the endpoint's ($nf_mac)" ||
	topo_fail "outer destination MAC '${ethdst%%,*}', not the endpoint's $nf_mac (its kernel drops it)"
expect_counter_gt h2 deliver_bypass

topo_step "the example bypass-decap NF on nf's eth0: nf answers a"
topo_exec nf ip link set dev eth0 xdp off &&
	topo_exec nf ip link set dev eth0 xdp obj "$BYPASS_OBJ" sec xdp ||
	topo_die "cannot attach $BYPASS_OBJ to nf's eth0"
expect_ping a 10.0.1.5

topo_step "a plain endpoint on the same host still gets decapsulated traffic"
expect_ping a 10.0.1.3

topo_finish
