#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# VPC peering: VPC 100 (10.0.1.0/24) and VPC 200 (10.1.1.0/24, plus an
# unpeered 10.1.2.0/24) peered on 10.0.1.0/24 <-> 10.1.1.0/24. Ping and a
# TCP transfer work both ways, through the divider of each VPC (both
# divider hooks count). VPC 300 reuses 10.1.1.0/24 and stays unreachable
# both ways; so does VPC 200's unpeered network (docs/security.md, rule
# 11: the source must be peered too). Overlapping peerings are refused.
# A peering removed on the receiving divider only is refused there
# (not_peered); removed everywhere, no packet crosses one second later.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools nc

topo_step "topology: dividers d1 (VPC 100, 300) d2 (VPC 200), bouncers b1 b2"
topo_init
for h in d1 d2 b1 b2 h1 h2 h3; do topo_host_add "$h"; done
topo_vpc_add 100 d1
topo_vpc_add 200 d2
topo_vpc_add 300 d1
topo_net_add 100 10.0.1.0/24 b1
topo_net_add 200 10.1.1.0/24 b2
topo_net_add 200 10.1.2.0/24 b2
topo_net_add 300 10.1.1.0/24 b1
topo_ep_add a h1 100 10.0.1.10/24
topo_ep_add b h2 200 10.1.1.10/24
topo_ep_add bx h2 200 10.1.2.10/24
topo_ep_add c h3 300 10.1.1.10/24

expect_no_ping a 10.1.1.10 2

topo_step "peer 100 and 200 on both dividers"
for d in d1 d2; do
	topo_ctl $d vpc peer add vni 100 vni 200 prefix 10.0.1.0/24,10.1.1.0/24 &&
		topo_ok "$d: vpc peer add vni 100 vni 200" || topo_fail "$d: vpc peer add"
done
out=$(topo_ctl d1 vpc peer show)
[ "$out" = "vni 100 vni 200 prefix 10.0.1.0/24,10.1.1.0/24" ] &&
	topo_ok "vpc peer show: $out" || topo_fail "vpc peer show: '$out'"
n=$(topo_ctl d2 -j vpc peer show | jq -r '.peerings[0].prefixes_b[0]')
[ "$n" = 10.1.1.0/24 ] && topo_ok "vpc peer show --json: VPC 200 side $n" ||
	topo_fail "vpc peer show --json: '$n'"

topo_step "overlapping peerings are refused"
if out=$(topo_ctl d1 vpc peer add vni 200 vni 300 2>&1); then
	topo_fail "200 <-> 300 (both hold 10.1.1.0/24) was accepted"
else
	topo_ok "200 <-> 300 refused: ${out##*: }"
fi
if out=$(topo_ctl d1 vpc peer add vni 100 vni 300 prefix 10.0.1.0/24,10.1.1.0/24 2>&1); then
	topo_fail "100 <-> 300 on 10.1.1.0/24 (100 reaches it in 200 already) was accepted"
else
	topo_ok "100 <-> 300 on 10.1.1.0/24 refused: ${out##*: }"
fi
if out=$(topo_ctl d1 vpc peer add vni 100 vni 200 2>&1); then
	topo_fail "a second 100 <-> 200 peering was accepted"
else
	topo_ok "a second 100 <-> 200 peering refused: ${out##*: }"
fi

topo_step "traffic both ways through both dividers"
topo_ctl d1 stats reset >/dev/null
topo_ctl d2 stats reset >/dev/null
expect_ping a 10.1.1.10
expect_ping b 10.0.1.10
expect_transfer a b 1024
expect_transfer b a 1024
for d in d1 d2; do
	expect_counter_gt $d hook_divider 0
	expect_counter_gt $d divider_peer 0
done
for h in h1 h2; do
	n=$(topo_counter $h learned)
	[ "${n:-0}" = 0 ] && topo_ok "$h learned no direct path across VPCs" ||
		topo_fail "$h learned $n direct paths"
done

topo_step "VPC 300 (10.1.1.0/24 too) and VPC 200's unpeered network stay apart"
d3=$(topo_counter h3 deliver)
expect_ping a 10.1.1.10 3
[ "$(topo_counter h3 deliver)" = "$d3" ] &&
	topo_ok "a's pings to 10.1.1.10 reached VPC 200's b, never VPC 300's c" ||
	topo_fail "VPC 300's host delivered something"
expect_no_ping c 10.0.1.10
expect_counter_gt d1 no_route 0
expect_no_ping a 10.1.2.10
# Adversarial: an endpoint of the unpeered 10.1.2.0/24 aims at a peered
# destination; the peering must not carry it (the source is checked).
np=$(topo_counter d2 not_peered)
d1=$(topo_counter h1 deliver)
expect_no_ping bx 10.0.1.10
expect_counter_gt d2 not_peered "${np:-0}"
[ "$(topo_counter h1 deliver)" = "$d1" ] &&
	topo_ok "nothing from the unpeered 10.1.2.0/24 reached a's host" ||
	topo_fail "a's host delivered $(($(topo_counter h1 deliver) - d1)) frames from the unpeered network"

topo_step "peering deleted on the receiving divider only: refused there"
topo_ctl d2 vpc peer del vni 200 vni 100 && topo_ok "d2: vpc peer del" ||
	topo_fail "d2: vpc peer del"
np=$(topo_counter d2 not_peered)
expect_no_ping a 10.1.1.10
expect_counter_gt d2 not_peered "${np:-0}"

topo_step "peering deleted everywhere: no packet crosses 1 s later"
topo_ctl d2 vpc peer add vni 100 vni 200 prefix 10.0.1.0/24,10.1.1.0/24 >/dev/null
expect_ping a 10.1.1.10 3
topo_bg a sh -c "exec ping -n -q -i 0.05 -W 1 10.1.1.10 >/dev/null 2>&1"
pinger=$TOPO_LAST_PID
sleep 0.5
topo_ctl d1 vpc peer del vni 100 vni 200 && topo_ctl d2 vpc peer del vni 100 vni 200 &&
	topo_ok "vpc peer del on d1 and d2" || topo_fail "vpc peer del"
sleep 1
d2b=$(topo_counter h2 deliver)
sleep 1
[ "$(topo_counter h2 deliver)" = "$d2b" ] &&
	topo_ok "nothing delivered to VPC 200's host from 1 s after the delete on ($d2b before)" ||
	topo_fail "h2 delivered $(($(topo_counter h2 deliver) - d2b)) frames after the delete"
kill "$pinger" 2>/dev/null
out=$(topo_ctl d1 vpc peer show)
[ -z "$out" ] && topo_ok "vpc peer show: empty" || topo_fail "vpc peer show: '$out'"
topo_finish
