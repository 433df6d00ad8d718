#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# VM endpoints on tap devices: two "VMs" (tests/e2e/tap_vm.py on each
# tap's fd, answering ARP and ICMP echo as a guest's NIC would) on two
# hosts, with the same agent as veth endpoints (`ep add ... dev TAP`),
# reach each other and a veth endpoint on a third host through the
# bouncer, both ways.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }

VM=$MZR_SOURCE_DIR/tests/e2e/tap_vm.py

topo_step "topology: bouncer hb, VMs on h1 and h2 (tap), a veth endpoint on h3"
topo_init
for h in hb h1 h2 h3; do topo_host_add "$h"; done
topo_vpc_add 100 hb
topo_net_add 100 10.0.1.0/24 hb
topo_tap_ep_add vm1 h1 100 10.0.1.21/24
topo_tap_ep_add vm2 h2 100 10.0.1.22/24
topo_ep_add e h3 100 10.0.1.30/24

# vm_start VM: the guest on VM's tap (one process holds a tap's fd).
declare -A VM_PID=()
vm_start() {
	topo_bg "$(topo_ep_host $1)" python3 "$VM" "ve-$1" "${TOPO_EP_MAC[$1]}" \
		"$(topo_ep_ip $1)"
	VM_PID[$1]=$TOPO_LAST_PID
}
vm_start vm1
vm_start vm2
sleep 0.5

topo_step "the veth endpoint reaches both VMs"
expect_ping e 10.0.1.21
expect_ping e 10.0.1.22

topo_step "the VMs reach each other and the veth endpoint"
vm_ping() {	# vm_ping VM DST: the guest, restarted to ping DST (it answers too)
	local v=$1 dst=$2 out
	kill "${VM_PID[$v]}" && wait "${VM_PID[$v]}" 2>/dev/null
	out=$(topo_exec "$(topo_ep_host $v)" timeout 30 python3 "$VM" "ve-$v" \
		"${TOPO_EP_MAC[$v]}" "$(topo_ep_ip $v)" ping "$dst" 5 2>&1)
	[ $? = 0 ] && topo_ok "$v -> $dst: $out" || topo_fail "$v -> $dst: $out"
	vm_start "$v"
}
vm_ping vm1 10.0.1.22
vm_ping vm2 10.0.1.21
vm_ping vm1 10.0.1.30
expect_counter_gt hb bouncer_fwd 0
expect_counter_gt h1 deliver 0
expect_counter_gt h1 agent_rx 0
topo_finish
