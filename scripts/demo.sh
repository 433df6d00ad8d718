#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# libmizar demo: a five-host cluster simulated with network namespaces on
# this machine (h1, h2 bouncers, h3 divider, h4 and h5 with two endpoints
# each), one VPC with two networks, traffic through a bouncer, a divider
# and the direct path, what moved in each host's counters, and as its last
# act an example network function: mizar-lb with a VIP in front of two
# endpoints.
#
#   scripts/demo.sh                 (as root, after a build; build dir:
#                                    MZR_BUILD_DIR, default ./build)
#
# Everything it creates (namespaces, a bpffs under /run) is removed at the
# end, on Ctrl-C and on failure. Exit 0 when every step worked.
set -u -o pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root for network namespaces and XDP (run it as root)" >&2
	exit 1
fi

MZR_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MZR_BUILD_DIR=${MZR_BUILD_DIR:-./build}
[ -d "$MZR_BUILD_DIR" ] || MZR_BUILD_DIR=$MZR_SOURCE_DIR/build
MZR_BUILD_DIR=$(cd "$MZR_BUILD_DIR" 2>/dev/null && pwd) || {
	echo "demo: no build directory (build first: cmake -S . -B build && cmake --build build)" >&2
	exit 1
}
export MZR_SOURCE_DIR MZR_BUILD_DIR
# shellcheck disable=SC2034 # read by topo.sh
TOPO_NAME=demo
# shellcheck source=lib/topo.sh
. "$MZR_SOURCE_DIR/scripts/lib/topo.sh"


STEP=""
BOLD="" PLAIN=""
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; fi
say() { STEP=$*; printf '\n%s>>> %s%s\n' "$BOLD" "$*" "$PLAIN"; }
# must CMD...: run a check; the first failure ends the demo.
must() {
	"$@" && return 0
	printf '\ndemo: FAILED during "%s": %s\n' "$STEP" "$*" >&2
	exit 1
}
show_counters() {	# HOST NAME...
	local h=$1 n line=""
	shift
	for n in "$@"; do line+="$n=$(topo_counter "$h" "$n")  "; done
	echo "    $h: $line"
}
# snapshot TAG: every host's counters and drops, kept for deltas.
snapshot() {
	local h
	for h in "${TOPO_HOSTS[@]}"; do
		topo_ctl "$h" --json stats |
			jq -c '(.counters // {}) + (.drops // {})' >"$TOPO_TMP/snap-$1-$h"
	done
}
# deltas FROM TO: one line per host, only the counters that moved.
deltas() {
	local h line
	for h in "${TOPO_HOSTS[@]}"; do
		line=$(jq -rn --slurpfile a "$TOPO_TMP/snap-$1-$h" \
			--slurpfile b "$TOPO_TMP/snap-$2-$h" '
			$a[0] as $x | $b[0] | to_entries
			| map(select(.value > ($x[.key] // 0)))
			| map("\(.key)+\(.value - ($x[.key] // 0))") | join(" ")')
		printf '    %-3s %s\n' "$h" "${line:-(nothing moved)}"
	done
}
on_exit() {
	local rc=${TOPO_EXIT_RC:-1}
	if [ "$rc" -eq 0 ]; then
		echo
		echo "demo: all steps passed; removing the cluster"
	else
		echo "demo: removing the cluster (exit $rc)" >&2
	fi
}

say "Building the cluster: 5 hosts on an underlay bridge, back-plane loaded on each"
topo_require_tools iperf3 ss python3 jq
topo_init
topo_on_cleanup on_exit
for h in h1 h2 h3 h4 h5; do topo_host_add $h; done
VIP=10.99.0.1

say "VPC 100: network 10.0.1.0/24 bounced by h1, 10.0.2.0/24 by h2, divider h3"
topo_vpc_add 100 h3
topo_net_add 100 10.0.1.0/24 h1
topo_net_add 100 10.0.2.0/24 h2

say "Endpoints: a 10.0.1.2 and c 10.0.2.2 on h4; b 10.0.1.3 and d 10.0.2.3 on h5"
topo_ep_add a h4 100 10.0.1.2/24
topo_ep_add c h4 100 10.0.2.2/24
topo_ep_add b h5 100 10.0.1.3/24
topo_ep_add d h5 100 10.0.2.3/24

snapshot start

say "Same network, different hosts: a (h4) -> b (h5) through bouncer h1"
must expect_ping a 10.0.1.3 3
show_counters h1 bouncer_arp bouncer_fwd
must expect_tcp a b 3

say "Different networks: a 10.0.1.2 (h4) -> d 10.0.2.3 (h5) through divider h3"
must expect_ping a 10.0.2.3 3
show_counters h3 divider_fwd
show_counters h1 bouncer_to_divider
must expect_tcp d a 3

say "Direct path: after the first exchange h4 sends straight to h5"
show_counters h4 agent_direct
show_counters h1 bouncer_fwd
before=$(topo_counter h4 agent_direct)
must expect_ping a 10.0.1.3 10
after=$(topo_counter h4 agent_direct)
show_counters h4 agent_direct
show_counters h1 bouncer_fwd
if ! [ "${after:-0}" -gt "${before:-0}" ] 2>/dev/null; then
	echo "demo: FAILED: agent_direct on h4 did not rise ($before -> $after)" >&2
	exit 1
fi
echo "    agent_direct on h4 rose by $((after - before)); the bouncer was skipped"

say "What moved on each host since the cluster was built (counter deltas)"
snapshot end
deltas start end

say "A network function: mizar-lb on h4, VIP $VIP:80 in front of b and d"
# Each backend answers with its own name (the lb example's test peer).
PEER=$MZR_SOURCE_DIR/tests/examples/lb/lb_peer.py
LB=$MZR_BUILD_DIR/tools/mizar-lb
must test -x "$LB"
topo_bg b python3 "$PEER" serve b 80 tcp
topo_bg d python3 "$PEER" serve d 80 tcp
must topo_wait_listen b 80
must topo_wait_listen d 80
lb() { ip netns exec "$(topo_ns h4)" "$LB" -r "$(topo_pin_root h4)" "$@"; }
echo "    [h4] mizar-lb attach"
must lb attach
echo "    [h4] mizar-lb vip add vni 100 vip $VIP port 80 proto tcp backends 10.0.1.3,10.0.2.3"
must lb vip add vni 100 vip $VIP port 80 proto tcp backends 10.0.1.3,10.0.2.3
r=$(topo_exec a timeout 60 python3 "$PEER" conns "$VIP" 80 20)
ok=$(jq -r '.ok' <<<"$r")
nb=$(jq -r '.by.b // 0' <<<"$r")
nd=$(jq -r '.by.d // 0' <<<"$r")
echo "    a -> $VIP:80, 20 connections: $ok answered, b served $nb, d served $nd"
must test "$ok" = 20 -a "$nb" -gt 0 -a "$nd" -gt 0
# The NF's own view, in the show style every tool shares.
echo "    [h4] mizar-lb show"
lbshow=$(lb show) || must false "mizar-lb show failed"
printf '%s\n' "$lbshow" | sed 's/^/      /'
exit 0
