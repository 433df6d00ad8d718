#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Unresolved underlay neighbours: when bpf_fib_lookup finds no neighbour
# for the next host, the XDP program passes the finished frame up with a
# mark in its XDP metadata, and the core's tc ingress program sends it out
# of the underlay with bpf_redirect_neigh(): the kernel's neighbour
# subsystem resolves the next hop (queueing the frame meanwhile) and
# traffic flows from the first packet on. The kernel never IP-forwards
# these frames. Checked separately for the transit program (a bouncer
# forwarding) and for the transit agent (an endpoint's first packets).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools tc

# ip_forwarded HOST: datagrams HOST's kernel has IP-forwarded so far.
ip_forwarded() {
	topo_exec "$1" awk '/^Ip:/ { if (!h) { split($0, k); h = 1 } else {
		split($0, v); for (i in k) if (k[i] == "ForwDatagrams") print v[i] } }' \
		/proc/net/snmp
}

# expect_tc HOST DEV: the core's tc program is on DEV's ingress.
expect_tc() {
	if topo_exec "$1" tc filter show dev "$2" ingress | grep -q mzr_neigh; then
		topo_ok "$1: mzr_neigh on $2's tc ingress"
	else
		topo_fail "$1: no mzr_neigh on $2's tc ingress"
	fi
}

# expect_first_ping FROM DST: the very first echo request is answered.
expect_first_ping() {
	local res
	res=$(topo_ping "$1" "$2" 1)
	if [ "$res" = "1 1" ]; then
		topo_ok "first ping $1 -> $2 answered"
	else
		topo_fail "first ping $1 -> $2: ${res#* }/${res% *} replies"
	fi
}

# expect_unchanged WHAT BEFORE AFTER: two equal numbers.
expect_unchanged() {
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" = "$3" ]; then
		topo_ok "$1: $2 before, $3 after"
	else
		topo_fail "$1: $2 before, $3 after (expected no change)"
	fi
}

topo_step "setup: a@h1, b@h2, bouncer h3; every underlay neighbour known but h3 -> h2"
export TOPO_UL_COLD=1
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
# Nothing of the hand-off goes through ip_rcv: it needs neither
# accept_local (our own outer source) nor a loose rp_filter.
for h in h1 h2 h3; do
	topo_sysctl "$(topo_ns $h)" net.ipv4.conf.all.accept_local=0 \
		net.ipv4.conf.default.accept_local=0 \
		net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1
done
for p in "h1 h2" "h1 h3" "h2 h1" "h2 h3" "h3 h1"; do
	topo_ul_neigh $p || topo_die "cannot add neighbour $p"
done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
expect_tc h3 ul0
expect_tc h1 ve-a

topo_step "transit: the bouncer h3 has not resolved h2; its tc program has the kernel resolve it"
fwd0=$(ip_forwarded h3)
expect_first_ping a 10.0.1.3
expect_ping a 10.0.1.3
expect_counter_gt h3 kernel_fwd
expect_counter_le h3 fib 0
expect_unchanged "datagrams IP-forwarded by h3's kernel" "$fwd0" "$(ip_forwarded h3)"
if topo_exec h3 ip -4 neigh show 172.31.0.2 dev ul0 | grep -q lladdr; then
	topo_ok "h3 resolved h2 (172.31.0.2)"
else
	topo_fail "h3 did not resolve h2"
fi

topo_step "agent: h1 forgets every underlay neighbour; a's next packets go out through h1's tc program"
topo_exec h1 ip neigh flush dev ul0 nud all
topo_exec h1 ip -4 neigh show dev ul0 | sed 's/^/  left: /'
fwd0=$(ip_forwarded h1)
expect_first_ping a 10.0.1.3
expect_ping a 10.0.1.3
# The tc agent (no agent-egress NF here) sends every frame through the
# kernel's neighbour output (bpf_redirect_neigh): no separate hand-off to
# count (agent_kernel counts the XDP agent's). The neighbour is resolved:
expect_counter_le h1 fib 0
expect_unchanged "datagrams IP-forwarded by h1's kernel" "$fwd0" "$(ip_forwarded h1)"
if topo_exec h1 ip -4 neigh show 172.31.0.2 dev ul0 | grep -q lladdr; then
	topo_ok "h1 resolved h2 (172.31.0.2)"
else
	topo_fail "h1 did not resolve h2"
fi
expect_ping b 10.0.1.2

topo_step "reset: host reset on h1 takes the tc program off the underlay and the veth"
topo_ctl h1 host reset || topo_fail "host reset on h1"
for dev in ul0 ve-a; do
	if topo_exec h1 tc filter show dev "$dev" ingress | grep -q mzr_neigh; then
		topo_fail "h1: mzr_neigh still on $dev after host reset"
	else
		topo_ok "h1: no mzr_neigh on $dev after host reset"
	fi
done

topo_finish
