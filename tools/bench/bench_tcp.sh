#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# End-to-end TCP throughput through the overlay against a floor measured in
# the same run (DESIGN.md §7). A program that prints numbers: it never
# judges them, and exits non-zero only when it could not measure.
#
# Usage: bench_tcp.sh [-t SECONDS] [-P STREAMS] [-T xdp|tc]
#        (root; default -t 5 -P 4 -T xdp)
#
# -T: where the overlay hosts run the transit: xdp (`host init` default,
#   native XDP on ul0) or tc (`host init ... mode tc`: the tc transit,
#   switch ports without XDP, so super-packets stay whole end to end;
#   docs/architecture.md, "Where each role runs").
#
# Overlay (scripts/lib/topo.sh, the real back-plane on every host):
#   direct  a@h1 -> b@h2, same network (bouncer h3). The first exchange
#           goes through the bouncer; from then on both agents send
#           straight to the peer's host (the steady state of any flow of
#           one network; checked with the agent_direct / bouncer_fwd
#           counters and printed).
#   routed  d@h1 -> c@h2, another network: bouncer(net1) h3 -> divider h5
#           -> bouncer(net2) h4 -> h2, both ways, for the whole flow (a
#           divider-routed packet is never learned from, so this is the
#           sustained path through transit devices: 3 extra underlay hops).
#           Within one network the bouncer carries a flow only until its
#           first reply (one RTT), so no sustained "via one bouncer" rate
#           exists to measure. d and c talk to nobody else: a direct
#           entry is keyed by the sender's address alone, so a peer that
#           went direct with one of them would take the other's flow
#           direct too.
# Reference ("kernel"): what a user has without Mizar: the same veth
#   topology (host netns with ul0 on the underlay bridge, endpoint netns
#   behind veths, MTU 1434) with plain kernel IPv4 forwarding on the
#   hosts, no XDP anywhere and default offloads everywhere: fa@f1 -> fb@f2,
#   routed f1 -> f2 over the same bridge.
# Endpoints keep their default offloads (checksum, TSO, GSO) in both; the
#   overlay's agent runs in tc (bpf-core/agent_tc.h) and sends GSO
#   super-packets. The switch ports of the endpoints' hosts (h1, h2) run
#   no XDP, so super-packets cross the underlay whole, as through a NIC
#   that keeps TSO, and are cut into MTU-sized frames (checksums finalised
#   in software) on the port towards the receiving host, whose transit
#   XDP program takes frames. The bouncers' and divider's ports keep
#   xdp_pass (XDP_TX into a veth needs an XDP program on its peer).
# Receiver GRO: for each single-stream run, the average size of the skbs
#   the receiver's IP layer took (IpExtInOctets / IpInReceives, nstat): ~64
#   KB when frames were aggregated (GRO) or never cut (GSO), ~1.4 KB when
#   the receiver saw every MTU-sized frame on its own.
#
# Output: a table, then one JSON line (the last line):
#   {"bench":"tcp","seconds":T,"streams":P,"overlay_bps":N,"floor_bps":N,
#    "transit":"xdp"|"tc","ratio":R,"paths":{"direct":{"p1":N,"pN":N},...},
#    "ratios":{...},
#    "rx_avg_skb":{"direct":N,"routed":N,"floor":N}}
# overlay_bps / floor_bps / ratio: the direct path, single stream; floor
# is the kernel-routing reference.
# shellcheck disable=SC2034 # topo.sh globals, read by the library
set -u -o pipefail

SECS=5
STREAMS=4
TRANSIT=
while getopts "t:P:T:h" o; do
	case $o in
	t) SECS=$OPTARG ;;
	P) STREAMS=$OPTARG ;;
	T) TRANSIT=$OPTARG ;;
	*) sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_tcp: bad -t '$SECS'" >&2; exit 2; }
[[ "$STREAMS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_tcp: bad -P '$STREAMS'" >&2; exit 2; }
case $TRANSIT in
''|xdp) TOPO_TRANSIT= ;;
tc) TOPO_TRANSIT=tc ;;
*) echo "bench_tcp: bad -T '$TRANSIT' (xdp or tc)" >&2; exit 2 ;;
esac

# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
TOPO_NAME=bench_tcp
topo_require_root
topo_require_tools iperf3 jq ss
[ -n "${MZR_XDP_PASS:-}" ] || MZR_XDP_PASS=$MZR_BUILD_DIR/tests/bpf/xdp_pass.bpf.o
[ -f "$MZR_XDP_PASS" ] ||
	topo_die "no pass-through XDP object ($MZR_XDP_PASS): build the tests, or set MZR_XDP_PASS"

# iperf3 FROM (endpoint) -> DST_IP served by TO, STREAMS: bits/s received
# (0 when the run failed; iperf3's error on stderr).
measure() {
	local from=$1 to=$2 dst=$3 streams=$4 port=5201 out bps
	topo_bg "$to" timeout $((SECS + 20)) iperf3 -s -1 -p "$port" >/dev/null 2>&1
	topo_wait_listen "$to" "$port" || { echo "bench_tcp: iperf3 server on $to did not start" >&2; echo 0; return; }
	out=$(topo_exec "$from" timeout $((SECS + 15)) iperf3 -c "$dst" -p "$port" \
		-t "$SECS" -P "$streams" -J 2>/dev/null)
	bps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	bps=${bps%.*}
	if ! [ "${bps:-0}" -gt 0 ] 2>/dev/null; then
		echo "bench_tcp: iperf3 $from -> $dst (-P $streams): $(echo "$out" | jq -r '.error // "no result"' 2>/dev/null | head -c 200)" >&2
		bps=0
	fi
	# let the one-shot server exit before the next run takes the port
	wait "$TOPO_LAST_PID" 2>/dev/null
	echo "$bps"
}

# rx_snap NAME: "IpInReceives IpExtInOctets" of NAME's netns so far.
rx_snap() {
	topo_exec "$1" nstat -asz IpInReceives IpExtInOctets 2>/dev/null |
		awk '/^IpInReceives/ { r = $2 } /^IpExtInOctets/ { o = $2 }
		     END { printf "%d %d\n", r, o }'
}

# measure_gro FROM TO DST: as measure with 1 stream; also sets RX_AVG, the
# average skb the receiver TO's IP layer took during the run (bytes).
measure_gro() {
	local before after bps
	before=$(rx_snap "$2")
	bps=$(measure "$1" "$2" "$3" 1)
	after=$(rx_snap "$2")
	RX_AVG=$(awk -v b="$before" -v a="$after" 'BEGIN {
		split(b, x, " "); split(a, y, " ");
		n = y[1] - x[1]; printf "%d", (n > 0 ? (y[2] - x[2]) / n : 0) }')
	echo "$bps"
}

# ---- The reference: same namespaces and veths, kernel forwarding ---------

# floor_ep NAME HOST IP/24 GW: as topo_ep_add (MTU, MAC, default offloads)
# with the gateway on the host-side peer; no XDP program anywhere.
floor_ep() {
	local e=$1 h=$2 cidr=$3 gw=$4 ns hns mac
	ns=$TOPO_PFX-e-$e
	hns=${TOPO_HOST_NS[$h]}
	mac=$(topo_mac_for 200 "${cidr%/*}")
	TOPO_EP_NS[$e]=$ns
	TOPO_EP_IP[$e]=${cidr%/*}
	TOPO_EP_HOST[$e]=$h
	TOPO_NETNS+=("$ns")
	ip netns add "$ns" || topo_die "ip netns add $ns failed"
	topo_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
	ip link add name "ve-$e" netns "$hns" type veth peer name eth0 netns "$ns" ||
		topo_die "cannot create the veth of $e"
	ip -n "$ns" link set eth0 address "$mac" mtu "$TOPO_EP_MTU" || topo_die "mtu $e"
	ip -n "$ns" addr add "$cidr" dev eth0 || topo_die "cannot address $e"
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$gw" dev eth0 || topo_die "cannot route $e"
	ip -n "$hns" addr add "$gw/24" dev "ve-$e" || topo_die "cannot address ve-$e"
	ip -n "$hns" link set "ve-$e" mtu "$TOPO_EP_MTU" up || topo_die "cannot bring ve-$e up"
}

# plain_port HOST: HOST's switch port without XDP, with checksum offload
# (super-packets cross it whole).
plain_port() {
	ip -n "$TOPO_UL_NS" link set dev "p-$1" xdp off ||
		topo_die "cannot take xdp_pass off p-$1"
	ip netns exec "$TOPO_UL_NS" ethtool -K "p-$1" tx on >/dev/null ||
		topo_die "cannot turn checksum offload on for p-$1"
}

topo_step "setup"
topo_init
# Overlay: endpoints' hosts h1, h2; bouncers h3 (net1), h4 (net2); divider h5.
for h in h1 h2 h3 h4 h5; do topo_host_add $h; done
topo_vpc_add 100 h5
topo_net_add 100 10.0.1.0/24 h3
topo_net_add 100 10.0.2.0/24 h4
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add c h2 100 10.0.2.2/24
topo_ep_add d h1 100 10.0.1.4/24
# The endpoints' hosts take super-packets from the agent on their port;
# the port towards them still finalises checksums and cuts segments.
for h in h1 h2; do
	ip -n "$TOPO_UL_NS" link set dev "p-$h" xdp off ||
		topo_die "cannot take xdp_pass off p-$h"
done
# Reference: f1, f2 on the same bridge, no back-plane, no XDP.
for h in f1 f2; do topo_host_add $h noinit; done
for h in f1 f2; do
	topo_sysctl "${TOPO_HOST_NS[$h]}" net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	plain_port "$h"
done
floor_ep fa f1 10.1.1.2/24 10.1.1.1
floor_ep fb f2 10.1.2.2/24 10.1.2.1
ip -n "${TOPO_HOST_NS[f1]}" route add 10.1.2.0/24 via "$(topo_host_ip f2)" dev ul0 ||
	topo_die "floor route on f1"
ip -n "${TOPO_HOST_NS[f2]}" route add 10.1.1.0/24 via "$(topo_host_ip f1)" dev ul0 ||
	topo_die "floor route on f2"
topo_log "reference: fa 10.1.1.2 @f1 -> fb 10.1.2.2 @f2, kernel forwarding, no XDP, default offloads"

topo_step "warm-up (ARP, direct path learned)"
for p in "a 10.0.1.3" "d 10.0.2.2" "fa 10.1.2.2"; do
	# shellcheck disable=SC2086
	set -- $p
	ok=0
	for _ in 1 2 3 4 5; do
		[ "$(topo_ping "$1" "$2" 2)" = "2 2" ] && { ok=1; break; }
	done
	[ $ok = 1 ] || topo_die "no ping $1 -> $2 before measuring"
done

topo_step "iperf3 TCP, ${SECS}s per run, 1 and $STREAMS streams"
fwd0=$(topo_counter h3 bouncer_fwd)
dir0=$(topo_counter h1 agent_direct)
div0=$(topo_counter h5 divider_fwd)
declare -A R G
# (measure_gro sets RX_AVG: not in a subshell)
measure_gro a b 10.0.1.3 >"$TOPO_TMP/bps"; R[direct_p1]=$(cat "$TOPO_TMP/bps"); G[direct]=$RX_AVG
R[direct_pN]=$(measure a b 10.0.1.3 "$STREAMS")
fwd1=$(topo_counter h3 bouncer_fwd)
dir1=$(topo_counter h1 agent_direct)
measure_gro d c 10.0.2.2 >"$TOPO_TMP/bps"; R[routed_p1]=$(cat "$TOPO_TMP/bps"); G[routed]=$RX_AVG
R[routed_pN]=$(measure d c 10.0.2.2 "$STREAMS")
div1=$(topo_counter h5 divider_fwd)
measure_gro fa fb 10.1.2.2 >"$TOPO_TMP/bps"; R[floor_p1]=$(cat "$TOPO_TMP/bps"); G[floor]=$RX_AVG
R[floor_pN]=$(measure fa fb 10.1.2.2 "$STREAMS")

topo_log "direct runs: h1 agent_direct +$((dir1 - dir0)), h3 bouncer_fwd +$((fwd1 - fwd0)) (bouncer bypassed)"
topo_log "routed runs: h5 divider_fwd +$((div1 - div0))"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "0" }'; }
mbit() { awk -v a="$1" 'BEGIN { printf "%.0f", a / 1e6 }'; }

printf '\ntransit: %s\n%-28s %14s %14s %18s\n' "${TOPO_TRANSIT:-xdp}" "path (MTU 1434)" "1 stream" "$STREAMS streams" "rx avg skb (1 st.)"
for p in direct routed floor; do
	printf '%-28s %9s Mbit/s %7s Mbit/s %12s bytes\n' "$p" "$(mbit "${R[${p}_p1]}")" \
		"$(mbit "${R[${p}_pN]}")" "${G[$p]}"
done
for p in direct routed; do
	printf '%-28s %14s %14s\n' "$p / floor" "$(ratio "${R[${p}_p1]}" "${R[floor_p1]}")" \
		"$(ratio "${R[${p}_pN]}" "${R[floor_pN]}")"
done
echo
jq -cn --argjson t "$SECS" --argjson n "$STREAMS" \
	--argjson d1 "${R[direct_p1]}" --argjson dn "${R[direct_pN]}" \
	--argjson r1 "${R[routed_p1]}" --argjson rn "${R[routed_pN]}" \
	--argjson f1 "${R[floor_p1]}" --argjson fn "${R[floor_pN]}" \
	--argjson gd "${G[direct]:-0}" --argjson gr "${G[routed]:-0}" \
	--argjson gf "${G[floor]:-0}" --arg tr "${TOPO_TRANSIT:-xdp}" '
	def q(a; b): if b > 0 then ((a / b) * 1000 | round) / 1000 else 0 end;
	{bench: "tcp", seconds: $t, streams: $n, mtu: 1434, transit: $tr,
	 overlay_bps: $d1, floor_bps: $f1, ratio: q($d1; $f1),
	 paths: {direct: {p1: $d1, pN: $dn}, routed: {p1: $r1, pN: $rn},
		 floor: {p1: $f1, pN: $fn}},
	 ratios: {direct_p1: q($d1; $f1), direct_pN: q($dn; $fn),
		  routed_p1: q($r1; $f1), routed_pN: q($rn; $fn)},
	 rx_avg_skb: {direct: $gd, routed: $gr, floor: $gf}}'

for k in "${!R[@]}"; do
	[ "${R[$k]}" -gt 0 ] || { echo "bench_tcp: could not measure $k" >&2; exit 1; }
done
exit 0
