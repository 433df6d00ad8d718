#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Attack: slip a datagram past a port rule by having it fragmented. b's
# host (h2) runs mizar-acl with default allow and udp/5353 denied; a (on
# h1) sends b 3000-byte UDP datagrams, which a's kernel fragments (the
# endpoint MTU is 1434). The ACL must judge the first fragment by its
# real ports and make the later ones follow: the datagram to 5353 never
# arrives (drops counted: denied, frag_follow, core reason nf), while
# small and large datagrams to an allowed port do.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../examples/common/nf_e2e.sh
. "$(dirname "$0")/../examples/common/nf_e2e.sh"
topo_require_root
topo_require_tools jq python3

ACL=${MZR_ACL:-$MZR_BUILD_DIR/tools/mizar-acl}
[ -x "$ACL" ] || topo_die "missing $ACL (build the mizar-acl target first)"
DENIED=5353
ALLOWED=6000
B_IP=10.0.1.3

acl() { nf_e2e_run "$ACL" "$@"; }
acl_json() { acl "$1" -j show | jq -r "$2"; }
acl_ok() {
	local desc=$1 err
	shift
	if err=$(acl "$@" 2>&1 >/dev/null); then
		topo_ok "$desc"
	else
		topo_fail "$desc: $err"
	fi
}

# A UDP server that logs "LENGTH TAG" for every datagram it receives.
UDP_LOG='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
with open(sys.argv[2], "a") as f:
    while True:
        d, _ = s.recvfrom(65535)
        f.write("%d %s\n" % (len(d), d[:12].decode(errors="replace")))
        f.flush()
'
# Send one datagram of LENGTH bytes starting with TAG (12 characters).
UDP_SEND='
import socket, sys
tag = sys.argv[4].encode().ljust(12, b".")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(tag + b"x" * (int(sys.argv[3]) - len(tag)), (sys.argv[1], int(sys.argv[2])))
'

# send PORT LENGTH TAG: a sends b three datagrams (one lost to a cold
# neighbour cache must not decide the test).
send() {
	for _ in 1 2 3; do
		topo_exec a python3 -c "$UDP_SEND" "$B_IP" "$1" "$2" "$3" ||
			topo_fail "a could not send to $B_IP:$1"
		sleep 0.2
	done
}

# expect_rx LOG LENGTH TAG: b logged TAG at LENGTH bytes (waits <= 5 s).
expect_rx() {
	for _ in $(seq 1 50); do
		grep -q "^$2 $3" "$1" 2>/dev/null && {
			topo_ok "b received the $2-byte datagram $3"
			return 0
		}
		sleep 0.1
	done
	topo_fail "b did not receive the $2-byte datagram $3 ($(wc -l <"$1") logged)"
}

# expect_no_rx LOG TAG: after 2 s, b has not logged TAG.
expect_no_rx() {
	sleep 2
	if grep -q " $2" "$1" 2>/dev/null; then
		topo_fail "b received $2: $(grep " $2" "$1" | head -1)"
	else
		topo_ok "b did not receive $2"
	fi
}

topo_step "setup: a@h1 (10.0.1.2), b@h2 ($B_IP), bouncer h3"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 "$B_IP/24"
expect_ping a "$B_IP"
LOG_DENIED=$TOPO_TMP/udp-$DENIED.log
LOG_ALLOWED=$TOPO_TMP/udp-$ALLOWED.log
: >"$LOG_DENIED"
: >"$LOG_ALLOWED"
topo_bg b timeout 300 python3 -c "$UDP_LOG" $DENIED "$LOG_DENIED"
topo_bg b timeout 300 python3 -c "$UDP_LOG" $ALLOWED "$LOG_ALLOWED"
sleep 0.5

topo_step "b's host: mizar-acl, default allow, udp/$DENIED denied"
acl_ok "attach on h2" h2 attach
acl_ok "rule add prio 10 proto udp dport $DENIED deny" h2 rule add vni 100 \
	prio 10 proto udp dport $DENIED action deny
[ "$(acl_json h2 '.vpcs[0].default')" = allow ] &&
	topo_ok "the VPC's default is allow" || topo_fail "default is not allow"

topo_step "datagrams to the allowed port arrive, fragmented or not"
send $ALLOWED 100 small-ok
expect_rx "$LOG_ALLOWED" 100 small-ok
frags0=$(acl_json h2 .counters.fragments)
follow0=$(acl_json h2 .counters.frag_follow)
send $ALLOWED 3000 big-ok
expect_rx "$LOG_ALLOWED" 3000 big-ok
nf_e2e_expect_gt "fragments seen by h2's ACL" \
	"$(acl_json h2 .counters.fragments)" "$((frags0 + 3))"
nf_e2e_expect_gt "frag_follow (later fragments after an allowed first)" \
	"$(acl_json h2 .counters.frag_follow)" "$follow0"

topo_step "attack: a 3000-byte datagram to the denied port, in fragments"
denied0=$(acl_json h2 .counters.denied)
follow0=$(acl_json h2 .counters.frag_follow)
nf0=$(topo_counter h2 nf)
send $DENIED 3000 big-denied
expect_no_rx "$LOG_DENIED" big-denied
nf_e2e_expect_gt "denied (first fragments judged by port $DENIED)" \
	"$(acl_json h2 .counters.denied)" "$((denied0 + 2))"
nf_e2e_expect_gt "frag_follow (later fragments dropped with their first)" \
	"$(acl_json h2 .counters.frag_follow)" "$follow0"
expect_counter_gt h2 nf "$nf0"

topo_step "and unfragmented to the denied port, as before"
send $DENIED 100 small-denied
expect_no_rx "$LOG_DENIED" small-denied
[ -s "$LOG_DENIED" ] && topo_fail "b received on $DENIED: $(head -3 "$LOG_DENIED")" ||
	topo_ok "nothing at all reached b's port $DENIED"

acl_ok "detach" h2 detach
topo_finish
