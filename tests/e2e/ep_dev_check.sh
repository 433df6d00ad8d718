#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An endpoint's dev must be a veth (host side) or a tap: lo, a bridge, a
# tun or another kind of device is refused in one line naming what it is,
# and nothing is attached to it. A veth whose peer (in this netns) has
# neither GRO nor an XDP program gets the endpoint, with a note saying
# what the peer lacks; with GRO on, no note.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools bpftool
topo_init
topo_host_add h1
NS=$(topo_ns h1)
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h1
ctl() { ip netns exec "$NS" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" "$@"; }

ip -n "$NS" link add br-x type bridge && ip -n "$NS" link set br-x up
ip -n "$NS" link add vx0 type vxlan id 5 dstport 4789 && ip -n "$NS" link set vx0 up
ip -n "$NS" tuntap add dev tun0 mode tun && ip -n "$NS" link set tun0 up
ip -n "$NS" tuntap add dev tap0 mode tap && ip -n "$NS" link set tap0 up
ip -n "$NS" link add ve-n type veth peer name ve-n-p
ip -n "$NS" link set ve-n up && ip -n "$NS" link set ve-n-p up
ip netns exec "$NS" ethtool -K ve-n-p gro off >/dev/null
ip -n "$NS" link add ve-g type veth peer name ve-g-p
ip -n "$NS" link set ve-g up && ip -n "$NS" link set ve-g-p up
ip netns exec "$NS" ethtool -K ve-g-p gro on >/dev/null

topo_step "lo, a bridge, a vxlan, a tun: refused"
n=2
for dev in lo:loopback br-x:bridge vx0:vxlan tun0:tun; do
	d=${dev%%:*} want=${dev#*:}
	n=$((n + 1))
	err=$(ctl ep add vni 100 ip 10.0.1.$n mac 02:00:00:00:01:0$n dev "$d" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [[ "$err" == *"$want"* ]] && [[ "$err" == *"veth"* ]] &&
		[ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; then
		topo_ok "dev $d refused: $err"
	else
		topo_fail "dev $d: exit $rc, '$err'"
	fi
	progs=$(ip netns exec "$NS" bpftool -j net show dev "$d" |
		jq '[.[] | (.xdp[]?, .tc[]?, .tcx[]?)] | length')
	[ "$progs" = 0 ] && topo_ok "nothing attached to $d" ||
		topo_fail "$progs programs attached to $d"
done
if ctl ep show | grep -q '10\.0\.1\.[3-6] '; then
	topo_fail "a refused endpoint is in ep show: $(ctl ep show)"
else
	topo_ok "no refused endpoint in ep show"
fi

topo_step "a tap and veths are accepted"
out=$(ctl ep add vni 100 ip 10.0.1.10 mac 02:00:00:00:01:10 dev tap0 2>&1) &&
	topo_ok "dev tap0 accepted ${out:+($out)}" || topo_fail "dev tap0: $out"
out=$(ctl ep add vni 100 ip 10.0.1.11 mac 02:00:00:00:01:11 dev ve-n 2>&1)
rc=$?
if [ $rc -eq 0 ] && [[ "$out" == *note:*ve-n-p*GRO* ]]; then
	topo_ok "veth whose peer lacks GRO/XDP: accepted with a note: $out"
else
	topo_fail "dev ve-n: exit $rc, '$out' (wanted a note about ve-n-p)"
fi
out=$(ctl ep add vni 100 ip 10.0.1.12 mac 02:00:00:00:01:12 dev ve-g 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && topo_ok "veth whose peer has GRO: accepted, silent" ||
	topo_fail "dev ve-g: exit $rc, '$out'"
topo_finish
