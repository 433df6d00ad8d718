#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# mizar-ratelimit on real TCP: an endpoint capped at RATE sends at about
# RATE (iperf3, loose bounds: this checks that the cap acts, it is not a
# benchmark); its receive direction and another endpoint of the same host
# are not capped; `show -j` lists the cap with its drops; `del` lifts it;
# bad input fails with one line and a non-zero exit and changes nothing.
set -u -o pipefail
# shellcheck source=../../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../common/nf_e2e.sh
. "$(dirname "$0")/../common/nf_e2e.sh"
topo_require_root
topo_require_tools iperf3 jq

RL=${MZR_RATELIMIT:-$MZR_BUILD_DIR/tools/mizar-ratelimit}
[ -x "$RL" ] || topo_die "missing $RL (build first)"
RATE_MBIT=${MZR_RL_RATE_MBIT:-20}
SECS=3

# rl HOST ARGS...: mizar-ratelimit on HOST's pin root, inside its netns.
rl() { nf_e2e_run "$RL" "$@"; }

# rl_fails HOST ARGS...: the command must fail with exactly one line on
# stderr and leave `show -j` as it was.
rl_fails() {
	local h=$1 before after
	shift
	before=$(rl "$h" -j show 2>/dev/null | jq -c '[.limits[] | del(.tokens)]')
	nf_e2e_fails "'$*' fails" "" rl "$h" "$@"
	after=$(rl "$h" -j show 2>/dev/null | jq -c '[.limits[] | del(.tokens)]')
	[ "$before" = "$after" ] || topo_fail "'$*' changed show"
}

PORT=5300
# iperf_mbit FROM TO [-R]: Mbit/s received in a SECS-second iperf3 TCP run
# (with -R, TO sends to FROM). Prints 0 on failure.
iperf_mbit() {
	local from=$1 to=$2 rev=${3:-} out bps
	PORT=$((PORT + 1))
	topo_bg "$to" timeout $((SECS + 20)) iperf3 -s -1 -p "$PORT" >/dev/null 2>&1
	topo_wait_listen "$to" "$PORT" || { echo 0; return; }
	out=$(topo_exec "$from" timeout $((SECS + 15)) iperf3 -c "$(topo_ep_ip "$to")" \
		-p "$PORT" -t "$SECS" $rev -J 2>/dev/null)
	bps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	echo $(( ${bps%.*} / 1000000 ))
}

# udp_mbit FROM TO OFFERED_MBIT: Mbit/s that arrive of a SECS-second iperf3
# UDP stream offered at OFFERED_MBIT (1300-byte datagrams: no fragments).
udp_mbit() {
	local from=$1 to=$2 offered=$3 out
	PORT=$((PORT + 1))
	topo_bg "$to" timeout $((SECS + 20)) iperf3 -s -1 -p "$PORT" >/dev/null 2>&1
	topo_wait_listen "$to" "$PORT" || { echo 0; return; }
	out=$(topo_exec "$from" timeout $((SECS + 15)) iperf3 -c "$(topo_ep_ip "$to")" \
		-p "$PORT" -t "$SECS" -u -l 1300 -b "${offered}M" -J 2>/dev/null)
	echo "$out" | jq -r '(.end.sum_received.bits_per_second //
		(.end.sum.bits_per_second * (1 - .end.sum.lost_percent / 100))
		// 0) / 1000000 | floor' 2>/dev/null || echo 0
}

# expect_mbit WHAT VALUE MIN MAX
expect_mbit() {
	if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
		topo_ok "$1: $2 Mbit/s (expected $3..$4)"
	else
		topo_fail "$1: $2 Mbit/s (expected $3..$4)"
	fi
}

# cap_json HOST VNI IP: the show -j entry of a cap ("null" when absent).
cap_json() {
	rl "$1" -j show | jq -c --argjson v "$2" --arg ip "$3" \
		'first(.limits[] | select(.vni == $v and .ip == $ip)) // null'
}

topo_step "setup: a and c on h1, b on h2, bouncer h3"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add c h1 100 10.0.1.4/24
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3
expect_ping c 10.0.1.3

topo_step "before attach: commands that need the NF fail"
rl h1 set vni 100 ip 10.0.1.2 rate 1mbit 2>"$TOPO_TMP/e" &&
	topo_fail "set before attach succeeded" ||
	topo_ok "set before attach fails: $(cat "$TOPO_TMP/e")"

topo_step "baseline, no cap"
base=$(iperf_mbit a b)
topo_log "  a -> b uncapped: $base Mbit/s"
[ "$base" -gt 0 ] && topo_ok "a -> b moves data uncapped ($base Mbit/s)" ||
	topo_fail "a -> b: no TCP throughput at all"
# The "not capped" checks need the path to be clearly faster than the cap.
if [ "$base" -lt $((RATE_MBIT * 4)) ]; then
	RATE_MBIT=$((base / 8))
	[ "$RATE_MBIT" -ge 1 ] || topo_die "TCP over the overlay too slow here ($base Mbit/s)"
	topo_warn "path only $base Mbit/s: capping at ${RATE_MBIT}mbit instead"
fi
RATE=${RATE_MBIT}mbit

topo_step "attach, cap a at $RATE"
rl h1 attach && topo_ok "attach" || topo_fail "attach"
rl h1 set vni 100 ip 10.0.1.2 rate "$RATE" && topo_ok "set vni 100 ip 10.0.1.2 rate $RATE" ||
	topo_fail "set rate $RATE"
# default burst: 250 ms at the rate, at least 16 KiB
burst=$((RATE_MBIT * 1000000 / 32))
[ "$burst" -ge 16384 ] || burst=16384
j=$(cap_json h1 100 10.0.1.2)
[ "$(echo "$j" | jq -r '.rate_bits_per_sec')" = $((RATE_MBIT * 1000000)) ] &&
	[ "$(echo "$j" | jq -r '.rate')" = "$RATE" ] &&
	[ "$(echo "$j" | jq -r '.burst')" = "$burst" ] &&
	topo_ok "show -j lists the cap: $j" || topo_fail "show -j: $j"
rl h1 show | grep -q "10.0.1.2 .*$RATE" && topo_ok "show lists it as text" ||
	topo_fail "show (text): $(rl h1 show | tr '\n' '|')"
[ "$(nf=$(topo_ctl h1 --json nf show) && echo "$nf" |
	jq -r '[.nfs[] | select(.name == "ratelimit-agent-egress") | .hook] | first')" = agent-egress ] &&
	topo_ok "mizarctl nf show: ratelimit-agent-egress at agent-egress" ||
	topo_fail "ratelimit not in the agent-egress chain: $(topo_ctl h1 --json nf show)"

topo_step "bad input: one line, non-zero exit, nothing changed"
rl_fails h1 set vni 100 ip 10.0.1.2 rate 20furlongs
rl_fails h1 set vni 100 ip 10.0.1.2 rate 0mbit
rl_fails h1 set vni 100 ip 10.0.1.2 rate 99999999999999999999999gbit
rl_fails h1 set vni 100 ip 10.0.1.2 rate 1mbit burst 100
rl_fails h1 set vni 0 ip 10.0.1.2 rate 1mbit
rl_fails h1 set vni 100 ip 10.0.1.300 rate 1mbit
rl_fails h1 set vni 100 ip 10.0.1.2
rl_fails h1 del vni 100 ip 10.0.1.9
rl_fails h1 show vni x

topo_step "a's egress is capped at $RATE"
drops0=$(topo_counter h1 drop_nf)
got=$(iperf_mbit a b)
expect_mbit "a -> b capped at $RATE" "$got" $((RATE_MBIT * 3 / 10)) $((RATE_MBIT * 13 / 10))
j=$(cap_json h1 100 10.0.1.2)
[ "$(echo "$j" | jq -r '.dropped_packets')" -gt 0 ] &&
	[ "$(echo "$j" | jq -r '.passed_bytes')" -gt $((RATE_MBIT * 1000000 / 8)) ] &&
	topo_ok "show -j counts passed and dropped frames: $(echo "$j" | jq -c '{passed_packets, passed_bytes, dropped_packets, dropped_bytes}')" ||
	topo_fail "show -j counters: $j"
expect_counter_gt h1 drop_nf "${drops0:-0}"
expect_ping a 10.0.1.3
got=$(udp_mbit a b $((RATE_MBIT * 5)))
expect_mbit "a -> b UDP offered at $((RATE_MBIT * 5)) Mbit/s, capped at $RATE" "$got" \
	$((RATE_MBIT * 7 / 10)) $((RATE_MBIT * 13 / 10))

topo_step "what is not capped: a's receive direction, endpoint c"
got=$(iperf_mbit a b -R)
expect_mbit "b -> a (a receives) not capped" "$got" $((RATE_MBIT * 3)) 1000000
got=$(iperf_mbit c b)
expect_mbit "c -> b (c has no cap) not capped" "$got" $((RATE_MBIT * 3)) 1000000

topo_step "set again with a larger burst replaces the cap, counters kept"
d0=$(echo "$j" | jq -r '.dropped_packets')
rl h1 set vni 100 ip 10.0.1.2 rate "$RATE" burst 512k && topo_ok "set burst 512k" ||
	topo_fail "set burst 512k"
j=$(cap_json h1 100 10.0.1.2)
[ "$(echo "$j" | jq -r '.burst')" = 524288 ] && [ "$(echo "$j" | jq -r '.dropped_packets')" -ge "$d0" ] &&
	[ "$(rl h1 -j show | jq '.limits | length')" = 1 ] &&
	topo_ok "one cap, burst 524288, drops kept ($d0)" || topo_fail "after set: $(rl h1 -j show)"

topo_step "del lifts the cap"
rl h1 del vni 100 ip 10.0.1.2 && topo_ok "del vni 100 ip 10.0.1.2" || topo_fail "del"
[ "$(cap_json h1 100 10.0.1.2)" = null ] && topo_ok "show -j no longer lists it" ||
	topo_fail "still listed: $(cap_json h1 100 10.0.1.2)"
got=$(iperf_mbit a b)
expect_mbit "a -> b after del" "$got" $((RATE_MBIT * 3)) 1000000
rl_fails h1 del vni 100 ip 10.0.1.2

topo_step "detach"
rl h1 set vni 100 ip 10.0.1.2 rate 1mbit && rl h1 detach && topo_ok "detach" ||
	topo_fail "detach"
[ "$(rl h1 show)" = "ratelimit: not attached" ] &&
	topo_ok "show after detach: ratelimit: not attached" ||
	topo_fail "show after detach: '$(rl h1 show 2>&1)'"
got=$(iperf_mbit a b)
expect_mbit "a -> b after detach (the 1mbit cap went with it)" "$got" $((RATE_MBIT * 3)) 1000000

topo_finish
