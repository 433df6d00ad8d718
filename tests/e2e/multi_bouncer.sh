#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A network served by three bouncers: every bouncer holds every endpoint of
# the network, and every pair of endpoints reaches each other whichever
# bouncer their flows hash to (one endpoint lives on a bouncer host).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools iperf3 ss

topo_step "setup: 5 hosts, 10.0.1.0/24 bounced by h3,h4,h5; a@h1 b@h2 c@h3 d@h4"
topo_init
for h in h1 h2 h3 h4 h5; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3,h4,h5
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_ep_add c h3 100 10.0.1.4/24
topo_ep_add d h4 100 10.0.1.5/24

topo_step "every bouncer holds the 4 endpoints"
for h in h3 h4 h5; do
	n=$(topo_ctl $h --json ep show |
		jq '[.. | strings | select(test("^10\\.0\\.1\\.[2-5]$"))] | unique | length')
	if [ "${n:-0}" -eq 4 ]; then
		topo_ok "$h holds 4 endpoints"
	else
		topo_fail "$h holds ${n:-?} of the 4 endpoints"
	fi
done

topo_step "full mesh of pings"
eps=(a b c d)
for i in 0 1 2 3; do
	for j in 0 1 2 3; do
		[ $i -eq $j ] && continue
		expect_ping "${eps[$i]}" "$(topo_ep_ip "${eps[$j]}")" 3
	done
done

topo_step "bouncers used"
total=0
used=0
for h in h3 h4 h5; do
	v=$(topo_counter $h bouncer_fwd)
	v=${v:-0}
	echo "  bouncer_fwd on $h: $v"
	total=$((total + v))
	[ "$v" -gt 0 ] && used=$((used + 1))
done
if [ $total -gt 0 ]; then
	topo_ok "bouncers forwarded $total packets ($used of 3 bouncers used)"
else
	topo_fail "no bouncer forwarded anything"
fi

topo_step "TCP a -> d"
expect_tcp a d 2

topo_finish
