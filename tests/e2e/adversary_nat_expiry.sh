#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Attack: an outside host that an endpoint contacted once keeps using the
# SNAT mapping to reach the endpoint long after the endpoint stopped
# talking to it. h3, the VPC's divider, runs mizar-nat with the UDP
# timeout set to 10 s. a (on h1) sends one datagram from port 40000 to
# an outside host (a netns on the underlay, no Mizar), which learns the
# mapping h3:PORT from the reply. Within the timeout the reply, and a
# datagram the outside host sends afterwards through the mapping, reach
# a. Once the mapping has been idle past its timeout, the outside host's
# datagrams through it are dropped (counter drop_expired) and a never
# sees them; a speaking again opens a new mapping whose replies work.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../examples/common/nf_e2e.sh
. "$(dirname "$0")/../examples/common/nf_e2e.sh"
topo_require_root
topo_require_tools jq python3 ss

NAT=${MZR_NAT:-$MZR_BUILD_DIR/tools/mizar-nat}
[ -x "$NAT" ] || topo_die "missing $NAT (build first, or set MZR_NAT)"

OUT_IP=172.31.0.200	# the outside host, on the underlay, no Mizar
H3_IP=172.31.0.3	# topo gives host N 172.31.0.N
OUT_PORT=7001		# the outside host's service
EP_PORT=40000		# a's source port
TIMEOUT=10		# the UDP timeout this test sets

nat() { nf_e2e_run "$NAT" "$@"; }
nat_json() { nat "$1" -j show | jq -r "$2"; }
out() { ip netns exec "$OUT_NS" "$@"; }

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
	# Complete checksums, as a host on a wire sends them.
	out ethtool -K eth0 tx off tso off gso off >/dev/null 2>&1 ||
		topo_warn "cannot turn off offloads outside"
	ip -n "$OUT_NS" link set eth0 up
	ip -n "$TOPO_UL_NS" link set p-out master br0 up ||
		topo_die "cannot plug the outside host into the bridge"
	topo_xdp_pass "$TOPO_UL_NS" p-out
}

# The outside service: answers one datagram with "peer IP:PORT MSG".
ECHO_ONCE='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(30)
d, a = s.recvfrom(65535)
s.sendto(b"peer %s:%d %s" % (a[0].encode(), a[1], d.strip()), a)
'
# The outside host sending MSG to IP:PORT from its service's port.
SEND_FROM='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
'
# The endpoint: from one socket, says "hello" to the service, then logs
# every datagram it receives; says "again" whenever the TRIGGER file
# appears.
EP_CLIENT='
import os, socket, sys, time
dst = (sys.argv[1], int(sys.argv[2]))
log, trigger = sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(0.1)
s.sendto(b"hello", dst)
end = time.time() + 240
with open(log, "a") as f:
    while time.time() < end:
        if os.path.exists(trigger):
            os.unlink(trigger)
            s.sendto(b"again", dst)
        try:
            d, a = s.recvfrom(65535)
        except socket.timeout:
            continue
        f.write("%s:%d %s\n" % (a[0], a[1], d.decode(errors="replace").strip()))
        f.flush()
'

# echo_once: start the outside service, wait until it is bound.
echo_once() {
	ip netns exec "$OUT_NS" timeout 40 python3 -c "$ECHO_ONCE" $OUT_PORT &
	TOPO_PIDS+=("$!")
	for _ in $(seq 1 50); do
		out ss -Huan "sport = :$OUT_PORT" | grep -q . && return 0
		sleep 0.1
	done
	topo_die "the outside service did not start"
}

# wait_log PATTERN: a's log has a line matching PATTERN (<= 5 s); prints it.
wait_log() {
	for _ in $(seq 1 50); do
		grep -m1 -E "$1" "$EP_LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# send_in MSG: the outside host sends MSG to h3:$PORT, three times.
send_in() {
	for _ in 1 2 3; do
		out python3 -c "$SEND_FROM" $OUT_PORT "$H3_IP" "$PORT" "$1" ||
			topo_fail "the outside host could not send $1"
		sleep 0.2
	done
}

topo_step "setup: a@h1 in 10.0.1.0/24 (bouncer h2), divider h3 with" \
	"mizar-nat (SNAT to $H3_IP, UDP timeout ${TIMEOUT}s); an outside host"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
[ "$(topo_host_ip h3)" = "$H3_IP" ] || topo_die "h3 is $(topo_host_ip h3)"
topo_vpc_add 100 h3
topo_net_add 100 10.0.1.0/24 h2
topo_ep_add a h1 100 10.0.1.2/24
out_add
nat h3 attach >/dev/null && topo_ok "attach" || topo_fail "attach"
nat h3 snat add vni 100 src 10.0.1.0/24 to "$H3_IP" && topo_ok "snat add" ||
	topo_fail "snat add"
nat h3 timeout udp $TIMEOUT && topo_ok "timeout udp $TIMEOUT" ||
	topo_fail "timeout udp $TIMEOUT"
t=$(nat_json h3 '"\(.timeouts.udp) \(.timeouts.tcp) \(.timeouts.icmp)"')
[ "$t" = "$TIMEOUT 7440 30" ] &&
	topo_ok "show: udp ${TIMEOUT}s, tcp and icmp at their defaults ($t)" ||
	topo_fail "show: timeouts udp/tcp/icmp '$t'"
for bad in "udp 0" "udp 2592001" "udp soon" "sctp 5" "udp"; do
	# shellcheck disable=SC2086
	nf_e2e_fails "timeout $bad is refused" "" nat h3 timeout $bad
done
[ "$(nat_json h3 .timeouts.udp)" = $TIMEOUT ] &&
	topo_ok "timeouts unchanged by the failures" ||
	topo_fail "timeouts changed: $(nat_json h3 .timeouts)"

topo_step "a opens a UDP mapping; within the timeout it works both ways"
EP_LOG=$TOPO_TMP/a.log
TRIGGER=$TOPO_TMP/a.again
: >"$EP_LOG"
echo_once
topo_bg a timeout 250 python3 -c "$EP_CLIENT" "$OUT_IP" $OUT_PORT $EP_PORT \
	"$EP_LOG" "$TRIGGER"
line=$(wait_log "^$OUT_IP:$OUT_PORT peer $H3_IP:[0-9]+ hello\$")
PORT=$(echo "$line" | sed -nE 's/.* peer [0-9.]+:([0-9]+) hello$/\1/p')
if [ -n "$PORT" ] && [ "$PORT" -ge 61000 ]; then
	topo_ok "the reply reached a; the outside saw it as $H3_IP:$PORT"
else
	topo_die "no reply through the mapping (a's log: $(head -3 "$EP_LOG"))"
fi
send_in early
wait_log " early\$" >/dev/null &&
	topo_ok "within the timeout the outside host reaches a through $H3_IP:$PORT" ||
	topo_fail "the outside host could not reach a through a live mapping"

topo_step "attack: after $TIMEOUT idle seconds, the outside host tries again"
sleep $((TIMEOUT + 4))
exp0=$(nat_json h3 .counters.drop_expired)
send_in late
sleep 2
if grep -q " late\$" "$EP_LOG"; then
	topo_fail "the outside host reached a through the expired mapping"
else
	topo_ok "a received nothing through the expired mapping"
fi
nf_e2e_expect_gt "drop_expired on h3" "$(nat_json h3 .counters.drop_expired)" \
	"$((exp0 + 2))"

topo_step "a speaking again opens a new mapping, whose replies work"
echo_once
touch "$TRIGGER"
wait_log "^$OUT_IP:$OUT_PORT peer $H3_IP:[0-9]+ again\$" >/dev/null &&
	topo_ok "a's new datagram got its reply" ||
	topo_fail "a's new datagram got no reply (log: $(tail -3 "$EP_LOG"))"
nat h3 timeout udp default && [ "$(nat_json h3 .timeouts.udp)" = 180 ] &&
	topo_ok "timeout udp default: back to 180 s" ||
	topo_fail "timeout udp default: $(nat_json h3 .timeouts.udp)"
nat h3 timeout --help | grep -q Usage && topo_ok "timeout --help" ||
	topo_fail "timeout --help"
nat h3 detach >/dev/null && topo_ok "detach" || topo_fail "detach"

topo_finish
