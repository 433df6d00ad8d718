#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# mizar-nat on a simulated cluster with an outside host: a netns on the
# underlay bridge that is no Mizar host. h3 is the VPC's divider and runs
# mizar-nat.
#
#   SNAT: endpoints reach the outside host by TCP, UDP and ICMP; the
#   outside sees the connections come from h3's address, replies reach the
#   endpoints. Three paths into the divider are covered: a@h1 (bouncer h2
#   forwards to the divider), b@h2 (h2 is its own bouncer) and d@h3 (the
#   divider host is d's bouncer).
#   Path MTU discovery through SNAT: the outside host routes to a far
#   host over a 1200-byte link; its "fragmentation needed" about a's
#   1328-byte DF ping, sent to h3, reaches a translated, and a's kernel
#   learns the path MTU.
#   DNAT: the outside host reaches a's servers through h3:8080 (TCP) and
#   h3:5353 (UDP), and a sees the real client address.
#   Without a rule nothing leaves (no_route); the host's own traffic is
#   untouched; bad command lines fail with one line and change nothing;
#   detach stops it all.
set -u -o pipefail
# shellcheck source=../../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../common/nf_e2e.sh
. "$(dirname "$0")/../common/nf_e2e.sh"
topo_require_root
topo_require_tools nc jq python3 iperf3 ss

NAT=${MZR_NAT:-$MZR_BUILD_DIR/tools/mizar-nat}
PEER_ECHO=$(readlink -f "$(dirname "$0")/peer_echo.py")
[ -x "$NAT" ] || topo_die "missing $NAT (build first, or set MZR_NAT)"
[ -f "$PEER_ECHO" ] || topo_die "missing $PEER_ECHO"

OUT_IP=172.31.0.200	# the outside host, on the underlay, no Mizar
H3_IP=172.31.0.3	# topo gives host N 172.31.0.N
ECHO_PORT=7000

# nat HOST ARGS...: mizar-nat on HOST's pin root, bounded in time.
nat() {
	local h=$1
	shift
	[ "${TOPO_VERBOSE:-0}" = 1 ] && echo "  [$h] mizar-nat $*" >&2
	nf_e2e_run "$NAT" "$h" "$@"
}

# out CMD...: run CMD on the outside host.
out() { ip netns exec "$OUT_NS" "$@"; }

out_bg() {
	ip netns exec "$OUT_NS" "$@" &
	TOPO_PIDS+=("$!")
}

# out_add: the outside host, plugged into the underlay bridge.
out_add() {
	OUT_NS=$TOPO_PFX-x-out
	TOPO_NETNS+=("$OUT_NS")
	ip netns add "$OUT_NS" || topo_die "ip netns add $OUT_NS failed"
	topo_sysctl "$OUT_NS" net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$OUT_NS" link set lo up
	ip link add name eth0 netns "$OUT_NS" type veth peer name p-out \
		netns "$TOPO_UL_NS" || topo_die "cannot create the outside veth"
	ip -n "$OUT_NS" addr add "$OUT_IP/24" dev eth0 ||
		topo_die "cannot address the outside host"
	# A host on a wire sends complete checksums; over a veth its stack
	# would leave them to an offload that our XDP frames never meet.
	ip netns exec "$OUT_NS" ethtool -K eth0 tx off tso off gso off \
		>/dev/null 2>&1 || topo_warn "cannot turn off offloads outside"
	ip -n "$OUT_NS" link set eth0 up
	ip -n "$TOPO_UL_NS" link set p-out master br0 up ||
		topo_die "cannot plug the outside host into the bridge"
	topo_xdp_pass "$TOPO_UL_NS" p-out
	topo_log "topo: outside host = $OUT_IP (netns $OUT_NS, no Mizar)"
}

# far_add: a far host (FAR_IP) behind the outside host, which routes to it
# over a 1200-byte link; h3 routes to it through the outside host.
FAR_IP=192.0.2.2
far_add() {
	FAR_NS=$TOPO_PFX-x-far
	TOPO_NETNS+=("$FAR_NS")
	ip netns add "$FAR_NS" || topo_die "ip netns add $FAR_NS failed"
	ip -n "$FAR_NS" link set lo up
	ip link add name r-far netns "$OUT_NS" mtu 1200 type veth peer name \
		eth0 netns "$FAR_NS" mtu 1200 || topo_die "cannot create the far veth"
	ip -n "$OUT_NS" addr add 192.0.2.1/24 dev r-far &&
		ip -n "$OUT_NS" link set r-far up &&
		ip -n "$FAR_NS" addr add "$FAR_IP/24" dev eth0 &&
		ip -n "$FAR_NS" link set eth0 up &&
		ip -n "$FAR_NS" route add default via 192.0.2.1 ||
		topo_die "cannot address the far link"
	topo_sysctl "$OUT_NS" net.ipv4.ip_forward=1
	ip -n "$(topo_ns h3)" route add 192.0.2.0/24 via "$OUT_IP" ||
		topo_die "cannot route h3 to the far host"
	ip netns exec "$(topo_ns h3)" ping -c 1 -W 2 "$FAR_IP" >/dev/null 2>&1 ||
		topo_warn "h3 cannot ping the far host itself"
}

# Wait (<= 5 s) until something listens on PORT (tcp) in netns NS.
wait_listen_ns() {
	local ns=$1 port=$2
	for _ in $(seq 1 50); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null |
			grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# nat_counter HOST NAME: a counter of `mizar-nat show -j`.
nat_counter() {
	nat "$1" -j show | jq -r --arg n "$2" '.counters[$n] // empty'
}

# expect_peer WHAT REPLY WANT_IP WANT_MSG [PORT_MIN]: REPLY is the peer
# echo "peer IP:PORT MSG"; the peer must be WANT_IP (and its port >=
# PORT_MIN).
expect_peer() {
	local what=$1 reply=$2 ip=$3 msg=$4 pmin=${5:-1} got port
	got=$(echo "$reply" | awk '/^peer / {print $2; exit}')
	port=${got##*:}
	if [ "${got%:*}" = "$ip" ] && [ "$port" -ge "$pmin" ] 2>/dev/null &&
		echo "$reply" | grep -q " $msg\$"; then
		topo_ok "$what: the server saw $got, the reply came back"
		return 0
	fi
	topo_fail "$what: reply '$reply' (want peer $ip, port >= $pmin, '$msg')"
	return 1
}

tcp_ask() {	# NAME|out DST PORT MSG: one line over TCP, the reply
	local who=$1 dst=$2 port=$3 msg=$4
	if [ "$who" = out ]; then
		echo "$msg" | out timeout 8 nc -N -w 5 "$dst" "$port" 2>/dev/null
	else
		echo "$msg" | topo_exec "$who" timeout 8 nc -N -w 5 "$dst" \
			"$port" 2>/dev/null
	fi
}

udp_ask() {	# NAME|out DST PORT MSG: one datagram, the reply
	local who=$1 dst=$2 port=$3 msg=$4
	if [ "$who" = out ]; then
		echo "$msg" | out timeout 5 nc -u -w 2 "$dst" "$port" 2>/dev/null
	else
		echo "$msg" | topo_exec "$who" timeout 5 nc -u -w 2 "$dst" \
			"$port" 2>/dev/null
	fi
}

# iperf WHO DST PORT [-R]: bytes received by an iperf3 run, 0 on failure.
iperf() {
	local who=$1 dst=$2 port=$3 rev=${4:-} run
	if [ "$who" = out ]; then run=(out); else run=(topo_exec "$who"); fi
	"${run[@]}" timeout 20 iperf3 -c "$dst" -p "$port" -t 2 $rev -J \
		2>/dev/null | jq -r '.end.sum_received.bytes // 0' 2>/dev/null ||
		echo 0
}

# expect_cli_fail WHAT HOST ARGS...: mizar-nat fails with exactly one
# line on stderr.
expect_cli_fail() {
	local what=$1
	shift
	nf_e2e_fails "$what" "" nat "$@"
}

topo_step "setup: a@h1, b@h2 in 10.0.1.0/24 (bouncer h2), d@h3 in" \
	"10.0.2.0/24 (bouncer h3), divider h3; an outside host"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
[ "$(topo_host_ip h3)" = "$H3_IP" ] || topo_die "h3 is $(topo_host_ip h3)"
topo_vpc_add 100 h3
topo_net_add 100 10.0.1.0/24 h2
topo_net_add 100 10.0.2.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add d h3 100 10.0.2.2/24
out_add
expect_ping a 10.0.2.2
out_bg timeout 600 python3 "$PEER_ECHO" "$ECHO_PORT"
wait_listen_ns "$OUT_NS" "$ECHO_PORT" || topo_die "peer echo did not start"
out_bg timeout 600 iperf3 -s -p 5201
wait_listen_ns "$OUT_NS" 5201 || topo_die "iperf3 server did not start"

topo_step "without NAT nothing leaves the VPC (no_route on the divider)"
nr0=$(topo_counter h3 drop_no_route)
reply=$(tcp_ask a "$OUT_IP" $ECHO_PORT before-nat)
[ -z "$reply" ] && topo_ok "a -> outside: no answer" ||
	topo_fail "a -> outside answered without NAT: '$reply'"
expect_counter_gt h3 drop_no_route "$nr0"

topo_step "attach mizar-nat on h3, SNAT 10.0.1.0/24 and 10.0.2.0/24 to h3"
nat h3 attach >/dev/null && topo_ok "attach" || topo_fail "attach"
nat h3 snat add vni 100 src 10.0.1.0/24 to "$H3_IP" &&
	nat h3 snat add vni 100 src 10.0.2.0/24 to "$H3_IP" &&
	topo_ok "snat add x2" || topo_fail "snat add"
hooks=$(topo_ctl h3 --json nf show | jq -r '[.nfs[] | "\(.hook):\(.name)"] | sort | join(" ")')
[ "$hooks" = "divider:nat-divider external:nat-external" ] &&
	topo_ok "mizarctl nf show: $hooks" || topo_fail "nf show: '$hooks'"

topo_step "SNAT: TCP, UDP and ping from a@h1 to the outside host"
reply=$(tcp_ask a "$OUT_IP" $ECHO_PORT hello-tcp)
expect_peer "tcp a -> outside" "$reply" "$H3_IP" hello-tcp 61000
reply=$(udp_ask a "$OUT_IP" $ECHO_PORT hello-udp)
expect_peer "udp a -> outside" "$reply" "$H3_IP" hello-udp 61000
expect_ping a "$OUT_IP"
bytes=$(iperf a "$OUT_IP" 5201)
[ "${bytes%.*}" -gt 1000000 ] 2>/dev/null &&
	topo_ok "iperf3 a -> outside: $((${bytes%.*} / 1000000)) MB received" ||
	topo_fail "iperf3 a -> outside: '$bytes' bytes"
bytes=$(iperf a "$OUT_IP" 5201 -R)
[ "${bytes%.*}" -gt 1000000 ] 2>/dev/null &&
	topo_ok "iperf3 outside -> a (reverse): $((${bytes%.*} / 1000000)) MB received" ||
	topo_fail "iperf3 outside -> a (reverse): '$bytes' bytes"
conn=$(nat h3 -j show | jq -r '[.connections[] | select(.kind == "snat" and
	(.endpoint | startswith("10.0.1.2:")) and
	(.remote == "'"$OUT_IP:$ECHO_PORT"'"))] | length')
[ "${conn:-0}" -ge 2 ] &&
	topo_ok "show lists a's connections to the echo server ($conn)" ||
	topo_fail "show: $conn connections of a to the echo server"
for c in snat_new snat_out snat_in; do
	v=$(nat_counter h3 $c)
	[ "${v:-0}" -gt 0 ] && topo_ok "nat counter $c = $v" ||
		topo_fail "nat counter $c = ${v:-?}"
done

topo_step "SNAT: b@h2 (its own bouncer) and d@h3 (on the divider)"
reply=$(tcp_ask b "$OUT_IP" $ECHO_PORT from-b)
expect_peer "tcp b -> outside" "$reply" "$H3_IP" from-b 61000
reply=$(tcp_ask d "$OUT_IP" $ECHO_PORT from-d)
expect_peer "tcp d -> outside" "$reply" "$H3_IP" from-d 61000
reply=$(udp_ask d "$OUT_IP" $ECHO_PORT from-d-udp)
expect_peer "udp d -> outside" "$reply" "$H3_IP" from-d-udp 61000
expect_ping d "$OUT_IP"

topo_step "path MTU discovery through SNAT: a 1200-byte link beyond the outside host"
far_add
expect_ping a "$FAR_IP"
icmp0=$(nat_counter h3 icmp_err_in)
topo_exec a ping -n -c 3 -i 0.3 -W 1 -M do -s 1300 "$FAR_IP" >/dev/null 2>&1
pmtu=$(topo_exec a ip route get "$FAR_IP" | grep -o 'mtu [0-9]*')
[ "$pmtu" = "mtu 1200" ] &&
	topo_ok "a learnt the path MTU to $FAR_IP from the translated error: $pmtu" ||
	topo_fail "a's route to $FAR_IP: '$(topo_exec a ip route get "$FAR_IP" | tr '\n' ' ')'"
v=$(nat_counter h3 icmp_err_in)
[ "${v:-0}" -gt "${icmp0:-0}" ] &&
	topo_ok "nat counter icmp_err_in ${icmp0:-0} -> $v" ||
	topo_fail "nat counter icmp_err_in ${icmp0:-0} -> ${v:-?}"
out=$(topo_exec a ping -n -c 1 -W 2 -M do -s 1300 "$FAR_IP" 2>&1)
echo "$out" | grep -qi "message too long.*1200" &&
	topo_ok "a's next 1328-byte DF ping fails locally: mtu 1200" ||
	topo_fail "a's next 1328-byte DF ping: '$(echo "$out" | tr '\n' ' ' | head -c 200)'"

topo_step "DNAT: the outside host reaches a's servers through h3"
topo_bg a timeout 600 python3 "$PEER_ECHO" 80
topo_wait_listen a 80 || topo_fail "peer echo on a did not start"
topo_bg a timeout 600 iperf3 -s -p 5201
topo_wait_listen a 5201 || topo_fail "iperf3 server on a did not start"
nat h3 dnat add vni 100 ext "$H3_IP:8080" proto tcp to 10.0.1.2:80 &&
	nat h3 dnat add vni 100 ext "$H3_IP:5353" proto udp to 10.0.1.2:80 &&
	nat h3 dnat add vni 100 ext "$H3_IP:5201" proto tcp to 10.0.1.2:5201 &&
	topo_ok "dnat add x3" || topo_fail "dnat add"
reply=$(tcp_ask out "$H3_IP" 8080 hello-dnat)
expect_peer "tcp outside -> h3:8080 -> a:80" "$reply" "$OUT_IP" hello-dnat
reply=$(udp_ask out "$H3_IP" 5353 hello-dnat-udp)
expect_peer "udp outside -> h3:5353 -> a:80" "$reply" "$OUT_IP" hello-dnat-udp
bytes=$(iperf out "$H3_IP" 5201)
[ "${bytes%.*}" -gt 1000000 ] 2>/dev/null &&
	topo_ok "iperf3 outside -> h3:5201 -> a: $((${bytes%.*} / 1000000)) MB received" ||
	topo_fail "iperf3 outside -> h3:5201 -> a: '$bytes' bytes"
for c in dnat_new dnat_in dnat_out; do
	v=$(nat_counter h3 $c)
	[ "${v:-0}" -gt 0 ] && topo_ok "nat counter $c = $v" ||
		topo_fail "nat counter $c = ${v:-?}"
done

topo_step "the host's own traffic is untouched"
out timeout 5 ping -n -q -c 2 -W 1 "$H3_IP" >/dev/null 2>&1 &&
	topo_ok "outside pings h3 itself" || topo_fail "outside cannot ping h3"
out timeout 5 nc -z -w 2 "$H3_IP" 9999 2>/dev/null &&
	topo_fail "h3:9999 (no rule, no listener) accepted a connection" ||
	topo_ok "h3:9999 without a rule is the kernel's (refused)"

topo_step "bad command lines: one line, non-zero exit, no change"
before=$(nat h3 -j show | jq -c '{snat, dnat}')
expect_cli_fail "vni 0" h3 snat add vni 0 src 10.0.1.0/24 to "$H3_IP"
expect_cli_fail "src without length" h3 snat add vni 100 src 10.0.3.0 to "$H3_IP"
expect_cli_fail "to not of this host" h3 snat add vni 100 src 10.0.3.0/24 to 172.31.0.99
expect_cli_fail "duplicate snat" h3 snat add vni 100 src 10.0.1.0/24 to "$H3_IP"
expect_cli_fail "unknown vpc" h3 snat add vni 999 src 10.0.3.0/24 to "$H3_IP"
expect_cli_fail "missing to" h3 snat add vni 100 src 10.0.3.0/24
expect_cli_fail "del of no rule" h3 snat del vni 100 src 10.9.9.0/24
expect_cli_fail "proto sctp" h3 dnat add vni 100 ext "$H3_IP:8081" proto sctp to 10.0.1.2:80
expect_cli_fail "ext without port" h3 dnat add vni 100 ext "$H3_IP" proto tcp to 10.0.1.2:80
expect_cli_fail "port 0" h3 dnat add vni 100 ext "$H3_IP:0" proto tcp to 10.0.1.2:80
expect_cli_fail "duplicate dnat" h3 dnat add vni 100 ext "$H3_IP:8080" proto tcp to 10.0.1.3:80
expect_cli_fail "to outside the vpc" h3 dnat add vni 100 ext "$H3_IP:8081" proto tcp to 10.0.9.2:80
expect_cli_fail "dnat del of no rule" h3 dnat del vni 100 ext "$H3_IP:9999" proto tcp
expect_cli_fail "dnat del, wrong vpc" h3 dnat del vni 7 ext "$H3_IP:8080" proto tcp
expect_cli_fail "unknown sub-command" h3 snat frob
expect_cli_fail "not attached on h1" h1 snat add vni 100 src 10.0.1.0/24 to 172.31.0.1
after=$(nat h3 -j show | jq -c '{snat, dnat}')
[ "$before" = "$after" ] && topo_ok "rules unchanged by the failures" ||
	topo_fail "rules changed: $before -> $after"
for a in "--help" "snat --help" "snat add --help" "dnat del --help" \
	"show --help" "attach --help"; do
	# shellcheck disable=SC2086
	nat h3 $a 2>/dev/null | grep -q Usage && topo_ok "mizar-nat $a" ||
		topo_fail "mizar-nat $a"
done

topo_step "rules go away: snat del stops new connections, detach all"
nat h3 snat del vni 100 src 10.0.2.0/24 && topo_ok "snat del 10.0.2.0/24" ||
	topo_fail "snat del"
nr0=$(nat_counter h3 no_rule)
reply=$(tcp_ask d "$OUT_IP" $ECHO_PORT after-del)
[ -z "$reply" ] && topo_ok "d -> outside: no answer without its rule" ||
	topo_fail "d -> outside answered: '$reply'"
v=$(nat_counter h3 no_rule)
[ "${v:-0}" -gt "${nr0:-0}" ] && topo_ok "nat counter no_rule $nr0 -> $v" ||
	topo_fail "nat counter no_rule $nr0 -> ${v:-?}"
reply=$(tcp_ask a "$OUT_IP" $ECHO_PORT still)
expect_peer "tcp a -> outside, its rule kept" "$reply" "$H3_IP" still 61000
nat h3 detach >/dev/null && topo_ok "detach" || topo_fail "detach"
reply=$(tcp_ask a "$OUT_IP" $ECHO_PORT after-detach)
[ -z "$reply" ] && topo_ok "a -> outside: no answer after detach" ||
	topo_fail "a -> outside answered after detach: '$reply'"
reply=$(tcp_ask out "$H3_IP" 8080 after-detach)
[ -z "$reply" ] && topo_ok "outside -> h3:8080: no answer after detach" ||
	topo_fail "outside -> h3:8080 answered after detach: '$reply'"
[ "$(nat h3 -j show | jq -r .attached)" = false ] &&
	topo_ok "show: not attached" || topo_fail "show after detach"
expect_ping a 10.0.2.2

topo_finish
