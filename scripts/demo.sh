#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# libmizar demo: a five-host cluster simulated with network namespaces on
# this machine, one VPC with two networks, traffic through a bouncer, a
# divider and the direct path, then each host's counters.
#
#   sudo scripts/demo.sh            (after a build; build dir: MZR_BUILD_DIR,
#                                    default ./build)
#
# Everything it creates (namespaces, a bpffs under /run) is removed at the
# end, on Ctrl-C and on failure. Exit 0 when every step worked.
set -u -o pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root for network namespaces and XDP: sudo $0" >&2
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
topo_require_tools iperf3 ss
topo_init
topo_on_cleanup on_exit
for h in h1 h2 h3 h4 h5; do topo_host_add $h; done

say "VPC 100: network 10.0.1.0/24 bounced by h1, 10.0.2.0/24 by h2, divider h3"
topo_vpc_add 100 h3
topo_net_add 100 10.0.1.0/24 h1
topo_net_add 100 10.0.2.0/24 h2

say "Endpoints: a 10.0.1.2 and c 10.0.2.2 on h4; b 10.0.1.3 and d 10.0.2.3 on h5"
topo_ep_add a h4 100 10.0.1.2/24
topo_ep_add c h4 100 10.0.2.2/24
topo_ep_add b h5 100 10.0.1.3/24
topo_ep_add d h5 100 10.0.2.3/24

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

say "Counters of every host (mizarctl stats)"
for h in "${TOPO_HOSTS[@]}"; do
	echo "--- $h ($(topo_host_ip "$h"))"
	must topo_ctl "$h" stats
done

exit 0
