#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Endpoints keep the offloads a container runtime leaves on (checksum,
# TSO, GSO): TCP moves 1 MiB intact each way on the direct path, through
# a bouncer on the sender's own host, and on the routed path
# (bouncer -> divider -> bouncer, the last one on the receiver's host);
# UDP arrives with checksums tshark
# verifies; path MTU discovery works; and with an NF at agent egress
# (the XDP agent, which completes checksums itself) TCP still works.
# With TOPO_TRANSIT=tc (the transit in tc on the veth underlays): GSO
# super-packets cross the underlay and reach the endpoint whole, and an
# NF at a transit hook brings the XDP transit back (and TCP still works).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools iperf3 nc ss tshark dumpcap ethtool

NF_OBJ=${MZR_MINIMAL_NF:-$MZR_BUILD_DIR/examples/minimal-nf/minimal_nf.bpf.o}
[ -r "$NF_OBJ" ] || { echo "SKIP: $NF_OBJ missing (build first)"; exit 77; }

topo_step "setup: a@h1, b@h2, e@h3 (10.0.1.0/24, bouncer h3); d@h2 (10.0.2.0/24, bouncer h2); divider h4"
topo_init
for h in h1 h2 h3 h4; do topo_host_add $h; done
topo_vpc_add 100 h4
topo_net_add 100 10.0.1.0/24 h3
topo_net_add 100 10.0.2.0/24 h2
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add d h2 100 10.0.2.4/24
topo_ep_add e h3 100 10.0.1.5/24

# expect_offload EP FEATURE: FEATURE is on at EP's eth0.
expect_offload() {
	if topo_exec "$1" ethtool -k eth0 | grep -q "^$2: on"; then
		topo_ok "$1: $2 on"
	else
		topo_fail "$1: $2 not on: $(topo_exec "$1" ethtool -k eth0 | grep "^$2")"
	fi
}
# expect_no_xdp HOST DEV / expect_xdp HOST DEV
expect_no_xdp() {
	if topo_exec "$1" ip link show "$2" | grep -q "prog/xdp"; then
		topo_fail "$2 on $1 runs an XDP program (the agent should be in tc)"
	else
		topo_ok "$2 on $1: no XDP program (tc agent)"
	fi
}
expect_xdp() {
	if topo_exec "$1" ip link show "$2" | grep -q "prog/xdp"; then
		topo_ok "$2 on $1: XDP agent attached"
	else
		topo_fail "$2 on $1: no XDP agent"
	fi
}

topo_step "endpoints keep their default offloads; the agent runs in tc"
for e in a b d e; do
	expect_offload $e tx-checksumming
	expect_offload $e tcp-segmentation-offload
	expect_offload $e generic-segmentation-offload
done
expect_no_xdp h1 ve-a
expect_no_xdp h2 ve-b

# expect_transit HOST tc|native: the transit mode `host show` reports.
expect_transit() {
	local m
	m=$(topo_ctl "$1" -j host show | jq -r '.mode')
	if [ "$m" = "$2" ]; then
		topo_ok "$1: transit in $2"
	else
		topo_fail "$1: transit in '$m', want $2"
	fi
}
# wire_csum HOST: the switch port towards HOST finalises checksums in
# software, as a real NIC does in hardware (topo_host_add does this for
# every port unless TOPO_TRANSIT=tc, whose ports pass offload state on).
wire_csum() {
	ip netns exec "$TOPO_UL_NS" ethtool -K "p-$1" tx off >/dev/null ||
		topo_fail "cannot turn checksum offload off on p-$1"
}
# ul0_rx HOST: "packets bytes" received on HOST's underlay so far.
ul0_rx() {
	ip -n "${TOPO_HOST_NS[$1]}" -s -j link show ul0 |
		jq -r '.[0].stats64.rx | "\(.packets) \(.bytes)"'
}
# veth_tx HOST DEV: packets DEV on HOST transmitted so far.
veth_tx() {
	ip -n "${TOPO_HOST_NS[$1]}" -s -j link show "$2" |
		jq -r '.[0].stats64.tx.packets'
}
if [ "${TOPO_TRANSIT:-}" = tc ]; then
	topo_step "tc transit: super-packets cross the underlay and reach b whole"
	for h in h1 h2 h3 h4; do expect_transit $h tc; done
	read -r p0 b0 <<<"$(ul0_rx h2)"
	v0=$(veth_tx h2 ve-b)
	expect_transfer a b 4096
	read -r p1 b1 <<<"$(ul0_rx h2)"
	v1=$(veth_tx h2 ve-b)
	avg=$(( (b1 - b0) / (p1 - p0 > 0 ? p1 - p0 : 1) ))
	if [ "$avg" -gt 3000 ]; then
		topo_ok "h2's underlay took $((p1 - p0)) frames of $avg bytes on average (super-packets)"
	else
		topo_fail "h2's underlay took $((p1 - p0)) frames of $avg bytes on average: cut to the MTU"
	fi
	# Delivered into b's ingress (bpf_redirect_peer), not sent out of
	# ve-b, whose transmit would cut each super-packet (4 MiB: ~3000
	# segments).
	if [ $((v1 - v0)) -lt 100 ]; then
		topo_ok "ve-b transmitted $((v1 - v0)) frames: super-packets went straight to b"
	else
		topo_fail "ve-b transmitted $((v1 - v0)) frames: super-packets cut on their way to b"
	fi
fi

topo_step "TCP through the bouncer on the sender's host (e@h3 -> a@h1), 1 MiB each way"
fwd=$(topo_counter h3 bouncer_fwd)
expect_transfer e a 1024
expect_transfer a e 1024
expect_counter_gt h3 bouncer_fwd "$fwd"

topo_step "TCP on the direct path a@h1 <-> b@h2, 1 MiB each way"
expect_ping a 10.0.1.3 2
d1=$(topo_counter h1 agent_direct)
d2=$(topo_counter h2 agent_direct)
expect_transfer a b 1024
expect_transfer b a 1024
# At least one frame per 64 KiB (GSO super-packets): 1 MiB each way took
# the direct path, however the segments were aggregated (an idle machine
# sends fewer, larger ones).
expect_counter_gt h1 agent_direct "$((d1 + 16))"
expect_counter_gt h2 agent_direct "$((d2 + 16))"
expect_tcp a b 2

topo_step "TCP on the routed path a (10.0.1.0/24) <-> d (10.0.2.0/24), 1 MiB each way"
div=$(topo_counter h4 divider_fwd)
expect_transfer a d 1024
expect_transfer d a 1024
expect_counter_gt h4 divider_fwd "$((div + 100))"

topo_step "UDP a -> b: the checksums that arrive are valid (tshark)"
[ "${TOPO_TRANSIT:-}" = tc ] && wire_csum h2
# At b's eth0, and on the wire: the switch port towards h2, whose egress
# finalises checksums as a NIC would (topo_host_add).
topo_capture_start b eth0 "udp port 9999"
cap_b=$TOPO_CAP_FILE
pid_b=$TOPO_CAP_PID
cap_ul=$TOPO_TMP/cap-ul-p-h2.pcapng
ip netns exec "$TOPO_UL_NS" timeout 60 dumpcap -q -i p-h2 -f "udp port 6081" \
	-w "$cap_ul" 2>"$cap_ul.log" &
pid_ul=$!
TOPO_PIDS+=("$pid_ul")
for _ in $(seq 1 50); do
	grep -q "Capturing on" "$cap_ul.log" 2>/dev/null && break
	sleep 0.1
done
sleep 0.2
for i in $(seq 1 20); do
	head -c 1000 /dev/urandom | topo_exec a timeout 2 nc -u -w 0 -q 0 10.0.1.3 9999 2>/dev/null
done
topo_capture_stop "$pid_b"
topo_capture_stop "$pid_ul"
# udp_csum FILE FILTER: "GOOD NOT_GOOD" UDP checksums among FILTER's.
udp_csum() {
	local g n
	g=$(timeout 20 tshark -n -r "$1" -o udp.check_checksum:TRUE \
		-Y "$2 && udp.checksum.status == 1" 2>/dev/null | wc -l)
	n=$(timeout 20 tshark -n -r "$1" -o udp.check_checksum:TRUE \
		-Y "$2 && udp.checksum.status != 1" 2>/dev/null | wc -l)
	echo "$g $n"
}
read -r good bad <<<"$(udp_csum "$cap_b" "udp.dstport == 9999")"
if [ "$good" -ge 10 ] && [ "$bad" -eq 0 ]; then
	topo_ok "b received $good UDP datagrams with a good checksum, none bad"
else
	topo_fail "b: $good UDP datagrams with a good checksum, $bad not good"
fi
# (b's ICMP port unreachable replies quote a datagram: not counted)
read -r good bad <<<"$(udp_csum "$cap_ul" "geneve && !icmp && udp.dstport == 9999")"
if [ "$good" -ge 10 ] && [ "$bad" -eq 0 ]; then
	topo_ok "wire to h2: $good Geneve frames, inner UDP checksum good, none bad"
else
	topo_fail "wire to h2: $good Geneve frames with a good inner UDP checksum, $bad not good"
fi

topo_step "path MTU discovery: MTU 1500 on a and b, 1 MiB each way"
set_ep_mtu() { # EP HOST MTU
	topo_exec "$1" ip link set eth0 mtu "$3"
	topo_exec "$2" ip link set "ve-$1" mtu "$3"
}
set_ep_mtu a h1 1500
set_ep_mtu b h2 1500
# Each side forgets what the other direction taught it (a learned path
# MTU lowers the MSS it advertises too).
flush_pmtu() {
	topo_exec a ip route flush cache
	topo_exec b ip route flush cache
}
fn1=$(topo_counter h1 agent_frag_needed)
fn2=$(topo_counter h2 agent_frag_needed)
flush_pmtu
expect_transfer a b 1024
if topo_exec a ip route get 10.0.1.3 | grep -q "mtu 1434"; then
	topo_ok "a learned the path MTU 1434"
else
	topo_fail "a did not learn the path MTU: $(topo_exec a ip route get 10.0.1.3)"
fi
flush_pmtu
expect_transfer b a 1024
expect_counter_gt h1 agent_frag_needed "$fn1"
expect_counter_gt h2 agent_frag_needed "$fn2"
set_ep_mtu a h1 1434
set_ep_mtu b h2 1434

topo_step "an NF at agent egress on h1 and h2: the XDP agent, same default offloads"
topo_ctl h1 nf add pass obj "$NF_OBJ" hook agent-egress || topo_fail "nf add on h1"
topo_ctl h2 nf add pass obj "$NF_OBJ" hook agent-egress || topo_fail "nf add on h2"
expect_xdp h1 ve-a
expect_xdp h2 ve-b
expect_transfer a b 1024
expect_transfer b a 1024
expect_transfer a d 1024
expect_counter_gt h1 nf_run 100
topo_ctl h1 nf del pass || topo_fail "nf del on h1"
topo_ctl h2 nf del pass || topo_fail "nf del on h2"
expect_no_xdp h1 ve-a
expect_no_xdp h2 ve-b
expect_transfer a b 256

if [ "${TOPO_TRANSIT:-}" = tc ]; then
	topo_step "tc transit: an NF at the deliver hook brings the XDP transit back on h2"
	# (An XDP transit takes frames, not skbs: their checksums must be
	# complete, as from a NIC.)
	topo_ctl h2 nf add pass obj "$NF_OBJ" hook deliver || topo_fail "nf add on h2"
	expect_transit h2 native
	expect_transit h1 tc
	n0=$(topo_counter h2 nf_run)
	expect_transfer a b 1024
	expect_transfer b a 1024
	expect_counter_gt h2 nf_run "$((n0 + 100))"
	topo_ctl h2 nf del pass || topo_fail "nf del on h2"
	expect_transit h2 tc
	expect_transfer a b 1024
fi

topo_finish
