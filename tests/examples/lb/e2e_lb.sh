#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# mizar-lb between endpoint namespaces, judged by the kernels' own TCP and
# UDP stacks. Client a on h1; backends b1 (h2, port 8080), b2 (h3, the
# bouncer, the VIP's port) and b3 (h1, next to the client, port 8080).
# Connections to the VIP land on every backend, see the VIP as their peer
# (connected sockets accept nothing else) and the backends see the client's
# own address; held connections keep their backend across backend add/del;
# a deleted backend gets no new connection; a deleted VIP and a detached
# NF leave nothing answering; bad command lines fail with one line.
set -u -o pipefail
# shellcheck source=../../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../common/nf_e2e.sh
. "$(dirname "$0")/../common/nf_e2e.sh"
topo_require_root
topo_require_tools python3 jq

HERE=$(cd "$(dirname "$0")" && pwd)
PEER="$HERE/lb_peer.py"
LB=${MZR_LB:-$MZR_BUILD_DIR/tools/mizar-lb}
[ -x "$LB" ] || topo_die "missing $LB (build first)"
VIP=10.99.0.1

# lb HOST ARGS...: mizar-lb on HOST's pin root (stderr kept in $LB_ERR).
LB_ERR=""
lb() {
	local h=$1 rc
	shift
	LB_ERR=$(nf_e2e_run "$LB" "$h" "$@" 2>&1 >"$TOPO_TMP/lb.out")
	rc=$?
	cat "$TOPO_TMP/lb.out"
	[ $rc -ne 0 ] && [ "${LB_QUIET:-0}" != 1 ] &&
		echo "  [$h] mizar-lb $* -> exit $rc: $LB_ERR" >&2
	return $rc
}

# expect_lb_error DESC ARGS...: mizar-lb on h1 fails with one line.
expect_lb_error() {
	local desc=$1
	shift
	nf_e2e_fails "$desc" "" nf_e2e_run "$LB" h1 "$@"
}

serve() {	# serve EP NAME PORT tcp|udp
	topo_bg "$1" python3 "$PEER" serve "$2" "$3" "$4"
}

# conns N [PORT]: N short TCP connections from a to the VIP (JSON).
conns() { topo_exec a timeout 120 python3 "$PEER" conns "$VIP" "${2:-80}" "$1"; }

topo_step "setup: client a@h1; backends b1@h2, b2@h3 (bouncer), b3@h1"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b1 h2 100 10.0.1.3/24
topo_ep_add b2 h3 100 10.0.1.4/24
topo_ep_add b3 h1 100 10.0.1.5/24
topo_ep_add b4 h2 100 10.0.1.6/24
for e in b1 b2 b3 b4; do expect_ping a "$(topo_ep_ip $e)" 2; done
serve b1 b1 8080 tcp
serve b2 b2 80 tcp
serve b3 b3 8080 tcp
serve b4 b4 80 tcp
for e in b1 b2 b3 b4; do serve $e $e 5353 udp; done
for e in b1:8080 b2:80 b3:8080 b4:80; do
	topo_wait_listen "${e%:*}" "${e#*:}" || topo_die "server ${e%:*} did not start"
done

topo_step "command line before attach"
[ "$(lb h1 show)" = "lb: not attached" ] && topo_ok "show before attach: lb: not attached" ||
	topo_fail "show before attach: '$(lb h1 show 2>&1)'"
expect_lb_error "vip add before attach" vip add vni 100 vip $VIP port 80 proto tcp backends 10.0.1.3
lb h1 attach >/dev/null && topo_ok "mizar-lb attach" || topo_fail "mizar-lb attach"
chains=$(topo_ctl h1 --json nf show | jq -r '[.nfs[] | "\(.hook):\(.name)"] | sort | join(" ")')
[ "$chains" = "agent-egress:lb-agent-egress deliver:lb-deliver" ] &&
	topo_ok "nf show: $chains" || topo_fail "nf show: '$chains'"

topo_step "vip add: three backends (remote with port, remote bouncer, local)"
lb h1 vip add vni 100 vip $VIP port 80 proto tcp \
	backends 10.0.1.3:8080,10.0.1.4,10.0.1.5:8080 &&
	topo_ok "vip add tcp" || topo_fail "vip add tcp"
show=$(lb h1 --json show)
n=$(echo "$show" | jq '[.vips[] | select(.vip == "'$VIP'" and .port == 80)
	| .backends[].slots] | add')
[ "$n" = 65537 ] && topo_ok "show: the three backends share all 65537 slots ($(echo "$show" |
	jq -c '[.vips[0].backends[] | "\(.ip):\(.port)=\(.slots)"]'))" ||
	topo_fail "show: slots sum to '$n'"

topo_step "60 connections to $VIP:80 spread over b1, b2, b3"
r=$(conns 60)
echo "  $r"
[ "$(echo "$r" | jq .ok)" = 60 ] && topo_ok "60/60 connections answered" ||
	topo_fail "connections: $(echo "$r" | jq -c '{ok, fail, errors}')"
[ "$(echo "$r" | jq .peer_ok)" = 60 ] && topo_ok "every socket's peer is $VIP:80" ||
	topo_fail "peer check: $(echo "$r" | jq .peer_ok)/60"
for b in b1 b2 b3; do
	c=$(echo "$r" | jq ".by.$b // 0")
	[ "$c" -gt 0 ] && topo_ok "$b served $c connections" || topo_fail "$b served none"
done
[ "$(echo "$r" | jq -c .client_seen)" = '["10.0.1.2"]' ] &&
	topo_ok "backends see the client's own address" ||
	topo_fail "backends saw $(echo "$r" | jq -c .client_seen)"

topo_step "held connections keep their backend across backend add and del"
hd=$TOPO_TMP/hold
mkdir -p "$hd"
topo_bg a timeout 60 sh -c "python3 '$PEER' hold $VIP 80 12 '$hd' > '$hd/out'"
hold_pid=$TOPO_LAST_PID
for _ in $(seq 1 100); do [ -e "$hd/ready" ] && break; sleep 0.1; done
[ -e "$hd/ready" ] || topo_fail "held connections did not start"
lb h1 backend add vni 100 vip $VIP port 80 proto tcp backend 10.0.1.6 &&
	topo_ok "backend add 10.0.1.6 (b4)" || topo_fail "backend add b4"
lb h1 backend del vni 100 vip $VIP port 80 proto tcp backend 10.0.1.3:8080 &&
	topo_ok "backend del 10.0.1.3:8080 (b1)" || topo_fail "backend del b1"
touch "$hd/go"
wait "$hold_pid"
h=$(cat "$hd/out")
echo "  $h"
if [ -n "$h" ] && [ "$(echo "$h" | jq '.first | map(select(. != null)) | length')" = 12 ] &&
	[ "$(echo "$h" | jq '.first == .second')" = true ]; then
	topo_ok "12 held connections answered by the same backend before and after ($(echo "$h" | jq -c '.first | group_by(.) | map("\(.[0])=\(length)")'))"
else
	topo_fail "held connections changed or failed: $h"
fi

topo_step "new connections avoid the deleted backend and reach the new one"
r=$(conns 60)
echo "  $r"
[ "$(echo "$r" | jq .ok)" = 60 ] && topo_ok "60/60 connections answered" ||
	topo_fail "connections: $(echo "$r" | jq -c '{ok, fail, errors}')"
[ "$(echo "$r" | jq '.by.b1 // 0')" = 0 ] && topo_ok "b1 (deleted) got none" ||
	topo_fail "b1 (deleted) got $(echo "$r" | jq .by.b1)"
[ "$(echo "$r" | jq '.by.b4 // 0')" -gt 0 ] && topo_ok "b4 (added) got $(echo "$r" | jq .by.b4)" ||
	topo_fail "b4 (added) got none"

topo_step "a UDP VIP: flows spread, replies come from the VIP"
lb h1 vip add vni 100 vip $VIP port 53 proto udp \
	backends 10.0.1.3:5353,10.0.1.4:5353@2,10.0.1.5:5353 &&
	topo_ok "vip add udp (weights 1,2,1)" || topo_fail "vip add udp"
r=$(topo_exec a timeout 120 python3 "$PEER" udp "$VIP" 53 40)
echo "  $r"
[ "$(echo "$r" | jq .ok)" = 40 ] && topo_ok "40/40 UDP flows answered from $VIP:53" ||
	topo_fail "UDP: $(echo "$r" | jq -c '{ok, fail}')"
[ "$(echo "$r" | jq '.by | length')" = 3 ] && topo_ok "UDP flows on 3 backends" ||
	topo_fail "UDP flows on $(echo "$r" | jq -c .by)"

topo_step "counters"
cnt=$(lb h1 --json show | jq -c .counters)
echo "  $cnt"
for c in new_conn conn_hit reply reply_local; do
	[ "$(echo "$cnt" | jq ".$c")" -gt 0 ] && topo_ok "counter $c > 0" ||
		topo_fail "counter $c = $(echo "$cnt" | jq ".$c")"
done
[ "$(echo "$cnt" | jq .no_backend)" = 0 ] && topo_ok "no no_backend drop" ||
	topo_fail "no_backend = $(echo "$cnt" | jq .no_backend)"

topo_step "bad command lines: one line, non-zero exit, nothing changed"
before=$(lb h1 --json show | jq -c .vips)
expect_lb_error "existing VIP" vip add vni 100 vip $VIP port 80 proto tcp backends 10.0.1.3
expect_lb_error "bad proto" vip add vni 100 vip $VIP port 81 proto sctp backends 10.0.1.3
expect_lb_error "bad vni" vip add vni 0 vip $VIP port 81 proto tcp backends 10.0.1.3
expect_lb_error "bad port" vip add vni 100 vip $VIP port 65536 proto tcp backends 10.0.1.3
expect_lb_error "bad vip" vip add vni 100 vip 10.99.0 port 81 proto tcp backends 10.0.1.3
expect_lb_error "bad backend" vip add vni 100 vip $VIP port 81 proto tcp backends 10.0.1.3:99999
expect_lb_error "bad weight" vip add vni 100 vip $VIP port 81 proto tcp backends 10.0.1.3@0
expect_lb_error "duplicate backend" vip add vni 100 vip $VIP port 81 proto tcp backends 10.0.1.3,10.0.1.3:81
expect_lb_error "missing backends" vip add vni 100 vip $VIP port 81 proto tcp
expect_lb_error "unknown argument" vip add vni 100 vip $VIP port 81 proto tcp backends 10.0.1.3 color red
expect_lb_error "unknown VIP" vip del vni 100 vip 10.99.0.2 port 80 proto tcp
expect_lb_error "VIP of another VPC" vip del vni 200 vip $VIP port 80 proto tcp
expect_lb_error "existing backend" backend add vni 100 vip $VIP port 80 proto tcp backend 10.0.1.4:80
expect_lb_error "unknown backend" backend del vni 100 vip $VIP port 80 proto tcp backend 10.0.1.3:8080
expect_lb_error "unknown sub-command" vip move vni 100
after=$(lb h1 --json show | jq -c .vips)
[ "$before" = "$after" ] && topo_ok "configuration unchanged by the failures" ||
	topo_fail "configuration changed: $before -> $after"
lb h1 vip add --help | grep -q "backends IP\[:PORT\]\[@WEIGHT\]" &&
	topo_ok "vip add --help" || topo_fail "vip add --help"

topo_step "vip del: connections to the VIP fail"
lb h1 vip del vni 100 vip $VIP port 80 proto tcp && topo_ok "vip del tcp" ||
	topo_fail "vip del tcp"
r=$(conns 5)
[ "$(echo "$r" | jq .ok)" = 0 ] && topo_ok "0/5 connections after vip del" ||
	topo_fail "after vip del: $(echo "$r" | jq -c '{ok, by}')"
[ "$(lb h1 --json show | jq '.vips | length')" = 1 ] && topo_ok "show: only the UDP VIP left" ||
	topo_fail "show after vip del: $(lb h1 --json show | jq -c .vips)"

topo_step "detach"
lb h1 detach >/dev/null && topo_ok "mizar-lb detach" || topo_fail "mizar-lb detach"
r=$(topo_exec a timeout 60 python3 "$PEER" udp "$VIP" 53 3)
[ "$(echo "$r" | jq .ok)" = 0 ] && topo_ok "UDP VIP unanswered after detach" ||
	topo_fail "after detach: $r"
[ "$(lb h1 -j show | jq -c '[.attached, .hooks]')" = '[false,[]]' ] &&
	topo_ok "show after detach: not attached" ||
	topo_fail "show after detach: '$(lb h1 -j show 2>&1)'"
expect_ping a 10.0.1.3 2

topo_finish
