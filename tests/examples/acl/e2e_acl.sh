#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# mizar-acl on real traffic: a@h1 talks to b@h2 (bouncer h3) while h2's
# ACL says, in turn: nothing (all passes); default deny (ping and TCP
# fail, drops counted); allow a -> b tcp/5201 (iperf3 both ways works,
# ping still fails, b cannot open a connection to a: replies of allowed
# connections pass, new ones from b do not); allow a's ICMP (a pings b, b
# still cannot ping a); a rule deleted under a running ping cuts it; rules
# deleted restore the default; default allow restores everything. Bad
# command lines fail with one line and change nothing.
set -u -o pipefail
# shellcheck source=../../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../common/nf_e2e.sh
. "$(dirname "$0")/../common/nf_e2e.sh"
topo_require_root
topo_require_tools iperf3 nc jq ss

ACL=${MZR_ACL:-$MZR_BUILD_DIR/tools/mizar-acl}
[ -x "$ACL" ] || topo_die "missing $ACL (build the mizar-acl target first)"

# acl HOST ARGS...: mizar-acl on HOST's pin root, inside its netns.
acl() { nf_e2e_run "$ACL" "$@"; }

# acl_ok DESC HOST ARGS...: the command succeeds.
acl_ok() {
	local desc=$1 err
	shift
	if err=$(acl "$@" 2>&1 >/dev/null); then
		topo_ok "$desc"
	else
		topo_fail "$desc: $err"
	fi
}

# acl_json HOST JQ: a value of `mizar-acl -j show` on HOST.
acl_json() { acl "$1" -j show | jq -r "$2"; }

# acl_bad DESC WORD ARGS...: mizar-acl on h2 fails with a non-zero status
# and exactly one line on stderr that mentions WORD.
acl_bad() {
	local desc=$1 word=$2
	shift 2
	nf_e2e_fails "$desc" "$word" acl h2 "$@"
}

expect_no_tcp() { nf_e2e_tcp "$1" "$2" "$3" no; }
expect_tcp_port() { nf_e2e_tcp "$1" "$2" "$3" yes; }

# expect_iperf_reverse FROM TO: iperf3 -R (TO sends the data on the
# connection FROM opened) moves data.
expect_iperf_reverse() {
	local from=$1 to=$2 dst out bps
	dst=$(topo_ep_ip "$to")
	topo_bg "$to" timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1
	topo_wait_listen "$to" 5201 || { topo_fail "iperf3 server on $to"; return 1; }
	out=$(topo_exec "$from" timeout 12 iperf3 -c "$dst" -p 5201 -t 2 -R -J 2>/dev/null)
	bps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	bps=${bps%.*}
	if [ -n "$bps" ] && [ "$bps" -gt 0 ] 2>/dev/null; then
		topo_ok "tcp $to -> $from on $from's connection (iperf3 -R): $((bps / 1000000)) Mbit/s"
	else
		topo_fail "iperf3 -R $from -> $to failed"
	fi
}

topo_step "setup: a@h1 (10.0.1.2), b@h2 (10.0.1.3), bouncer h3"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3

topo_step "errors before attach"
acl_bad "rule add before attach" "not attached" rule add vni 100 prio 1 action deny

topo_step "attached with no policy: everything passes"
acl_ok "mizar-acl attach on h2" h2 attach
[ "$(acl_json h2 .attached)" = true ] && topo_ok "show: attached" ||
	topo_fail "show: not attached"
expect_ping a 10.0.1.3
nf_e2e_expect_gt "no_policy on h2" "$(acl_json h2 .counters.no_policy)" 0

topo_step "default deny at b's host: a cannot reach b"
drops0=$(topo_counter h2 nf)
acl_ok "default vni 100 deny" h2 default vni 100 deny
expect_no_ping a 10.0.1.3
expect_no_tcp a b 5201
expect_counter_gt h2 nf "$drops0"
nf_e2e_expect_gt "default_hits of vni 100" \
	"$(acl_json h2 '.vpcs[] | select(.vni == 100) | .default_hits')" 0
nf_e2e_expect_gt "denied" "$(acl_json h2 .counters.denied)" 0

topo_step "allow tcp/5201 from a: iperf3 works, ping does not"
acl_ok "rule add prio 10 a -> b tcp 5201 allow" h2 rule add vni 100 prio 10 \
	src 10.0.1.2/32 dst 10.0.1.3 proto tcp dport 5201 action allow
expect_tcp a b 2
expect_iperf_reverse a b
expect_no_ping a 10.0.1.3
nf_e2e_expect_gt "hits of prio 10" \
	"$(acl_json h2 '.vpcs[0].rules[] | select(.prio == 10) | .hits')" 0
nf_e2e_expect_gt "ct_pass (replies through h2's agent-egress)" \
	"$(acl_json h2 .counters.ct_pass)" 0

topo_step "port ranges: tcp 6000-6010 allowed, 6011 and 5202 not"
acl_ok "rule add prio 15 tcp 6000-6010 allow" h2 rule add vni 100 prio 15 \
	proto tcp dport 6000-6010 action allow
expect_tcp_port a b 6005
expect_tcp_port a b 6010
expect_no_tcp a b 6011
expect_no_tcp a b 5202
acl_ok "rule del prio 15" h2 rule del vni 100 prio 15

topo_step "stateful: b opening a connection to a is denied"
expect_no_tcp b a 7777
expect_no_tcp b a 5201
expect_no_ping b 10.0.1.2

topo_step "allow a's ICMP: a pings b (replies tracked), b cannot ping a"
acl_ok "rule add prio 20 icmp from a allow" h2 rule add vni 100 prio 20 \
	src 10.0.1.2 proto icmp action allow
expect_ping a 10.0.1.3
expect_no_ping b 10.0.1.2

topo_step "first match decides: a deny before the allow wins"
acl_ok "rule add prio 5 icmp from 10.0.1.0/24 deny" h2 rule add vni 100 \
	prio 5 src 10.0.1.0/24 proto icmp action deny
expect_no_ping a 10.0.1.3
order=$(acl_json h2 '[.vpcs[0].rules[].prio] | map(tostring) | join(",")')
[ "$order" = "5,10,20" ] && topo_ok "rules listed in match order: $order" ||
	topo_fail "rule order: '$order'"
acl_ok "rule del prio 5" h2 rule del vni 100 prio 5
expect_ping a 10.0.1.3

topo_step "a rule deleted under a running ping stops it (tracked flows re-checked)"
revoked0=$(acl_json h2 .counters.revoked)
out=$TOPO_TMP/ping-cut
topo_exec a ping -n -c 25 -i 0.2 -W 1 10.0.1.3 >"$out" 2>&1 &
pinger=$!
TOPO_PIDS+=("$pinger")
sleep 1.5
acl_ok "rule del prio 20 under traffic" h2 rule del vni 100 prio 20
wait "$pinger"
rcvd=$(awk '/packets transmitted/ {print $4}' "$out")
if [ -n "$rcvd" ] && [ "$rcvd" -gt 0 ] && [ "$rcvd" -lt 15 ]; then
	topo_ok "ping cut after the rule went: $rcvd/25 replies"
else
	topo_fail "ping under rule deletion: ${rcvd:-?}/25 replies (expected 1..14)"
fi
nf_e2e_expect_gt "revoked" "$(acl_json h2 .counters.revoked)" "$revoked0"

topo_step "rule del restores the default"
acl_ok "rule del prio 10" h2 rule del vni 100 prio 10
expect_no_tcp a b 5201
[ "$(acl_json h2 '.vpcs[0].rules | length')" = 0 ] &&
	topo_ok "no rules left" || topo_fail "rules left after del"

topo_step "bad command lines: one line, non-zero exit, no change"
acl_ok "rule add prio 30 (for the checks below)" h2 rule add vni 100 prio 30 \
	dst 10.0.1.0/24 proto udp dport 53-54 action allow
acl_bad "duplicate prio" "prio 30" rule add vni 100 prio 30 action deny
acl_bad "host bits set" "host bits" rule add vni 100 prio 31 src 10.0.1.1/24 action deny
acl_bad "dport without tcp/udp" "dport" rule add vni 100 prio 31 proto icmp dport 80 action deny
acl_bad "dport without proto" "dport" rule add vni 100 prio 31 dport 80 action deny
acl_bad "reversed port range" "dport" rule add vni 100 prio 31 proto tcp dport 90-80 action deny
acl_bad "port 0" "dport" rule add vni 100 prio 31 proto tcp dport 0 action deny
acl_bad "prio 0" "prio" rule add vni 100 prio 0 action deny
acl_bad "prio 65536" "prio" rule add vni 100 prio 65536 action deny
acl_bad "bad proto" "proto" rule add vni 100 prio 31 proto sctp action deny
acl_bad "bad action" "action" rule add vni 100 prio 31 action reject
acl_bad "missing action" "action" rule add vni 100 prio 31
acl_bad "bad vni" "vni" rule add vni 0 prio 31 action deny
acl_bad "unknown argument" "sport" rule add vni 100 prio 31 sport 5 action deny
acl_bad "rule del of a VPC without rules" "vni 4242" rule del vni 4242 prio 1
acl_bad "rule del of a missing prio" "prio 77" rule del vni 100 prio 77
acl_bad "default without allow/deny" "allow or deny" default vni 100
acl_bad "default with both" "allow or deny" default vni 100 allow deny
acl_bad "show with an argument" "unexpected" show vni 100
acl_bad "unknown command" "unknown" frobnicate
n=$(acl_json h2 '.vpcs[0].rules | length')
[ "$n" = 1 ] && topo_ok "policy unchanged by the failures (1 rule)" ||
	topo_fail "policy changed by failed commands: $n rules"
for c in "" "rule" "rule add" "rule del" "default" "show" "attach" "detach"; do
	# shellcheck disable=SC2086
	if acl h2 $c --help | grep -q Usage; then
		topo_ok "mizar-acl $c --help"
	else
		topo_fail "mizar-acl $c --help"
	fi
done
acl_ok "rule del prio 30" h2 rule del vni 100 prio 30

topo_step "default allow: everything passes again, the VPC's entry goes"
acl_ok "default vni 100 allow" h2 default vni 100 allow
expect_ping a 10.0.1.3
expect_ping b 10.0.1.2
[ "$(acl_json h2 '.vpcs | length')" = 0 ] && topo_ok "no policy left" ||
	topo_fail "policy left: $(acl h2 -j show)"

topo_step "detach"
acl_ok "default deny again, then detach" h2 default vni 100 deny
expect_no_ping a 10.0.1.3
acl_ok "mizar-acl detach" h2 detach
expect_ping a 10.0.1.3
[ "$(acl h2 show)" = "acl: not attached" ] && topo_ok "show after detach: acl: not attached" ||
	topo_fail "show after detach: '$(acl h2 show 2>&1)'"

topo_finish
