#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# docs/security.md rule 4: a tenant of VPC 100, whose VPC has SNAT on its
# divider h3, sends a plain UDP datagram to another host's underlay
# address, port 6081, whose payload is Geneve (VNI 200, a Mizar option)
# around an ICMP echo for v, an endpoint of VPC 200. Without the rule the
# NAT NF sends it to h2 from h3's own (trusted) address and h2 delivers it
# into VPC 200. With it, the NAT drops it as to_underlay; SNAT to a host
# that is not on Mizar's underlay still works.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 dumpcap tshark nc ss
SEND=$(readlink -f "$(dirname "$0")/geneve_send.py")
PEER_ECHO=$(readlink -f "$(dirname "$0")/../examples/nat/peer_echo.py")
NAT=${MZR_NAT:-$MZR_BUILD_DIR/tools/mizar-nat}
X_IP=172.31.0.200

nat() {
	local h=$1
	shift
	ip netns exec "$(topo_ns "$h")" timeout "$TOPO_CMD_TIMEOUT" "$NAT" \
		-r "$(topo_pin_root "$h")" "$@"
}

topo_step "setup: t@h1 in VPC 100 (SNAT on divider h3), v@h2 in VPC 200, outsider x"
topo_init
[ -x "$NAT" ] || topo_die "missing $NAT (build first, or set MZR_NAT)"
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100 h3
topo_vpc_add 200 h3
topo_net_add 100 10.0.1.0/24 h2
topo_net_add 200 10.0.2.0/24 h2
topo_ep_add t h1 100 10.0.1.2/24
topo_ep_add v h2 200 10.0.2.5/24
topo_outsider_add x $X_IP
nat h3 attach >/dev/null && topo_ok "mizar-nat attach on h3" ||
	topo_fail "mizar-nat attach"
nat h3 snat add vni 100 src 10.0.1.0/24 to "$(topo_host_ip h3)" &&
	topo_ok "snat add vni 100 src 10.0.1.0/24" || topo_fail "snat add"
topo_bg x timeout 300 python3 "$PEER_ECHO" 7000
for _ in $(seq 1 50); do
	topo_exec x ss -Hlun "sport = :7000" 2>/dev/null | grep -q . && break
	sleep 0.1
done

topo_step "SNAT works: t reaches the outsider x, seen from h3"
reply=$(echo hello | topo_exec t timeout 5 nc -u -w 2 $X_IP 7000 2>/dev/null)
[[ "$reply" == "peer $(topo_host_ip h3):"*" hello" ]] &&
	topo_ok "t -> x: '$reply'" || topo_fail "t -> x: reply '$reply'"

topo_step "t sends Geneve-in-UDP for VPC 200 to h2's port 6081"
d0=$(topo_counter h3 drop_to_underlay)
topo_capture_start v eth0 "icmp and host 10.0.2.66"
topo_exec t python3 "$SEND" udp "$(topo_host_ip h2)" --vni 200 \
	--rts "$(topo_host_ip h3)" --inner-src 10.0.2.66 --inner-dst 10.0.2.5 \
	--inner-dmac "${TOPO_EP_MAC[v]}" --count 5 >/dev/null ||
	topo_fail "geneve_send.py failed"
topo_capture_stop
n=$(topo_capture_count "$TOPO_CAP_FILE")
[ "$n" -eq 0 ] && topo_ok "v (VPC 200) received nothing" ||
	topo_fail "v (VPC 200) received $n injected frame(s)"
expect_counter_gt h3 drop_to_underlay "${d0:-0}"
expect_counter_le h2 deliver 0

topo_step "an operator-protected prefix is not reached either"
topo_ctl h3 host protect add 172.31.0.192/27 &&
	topo_ok "host protect add 172.31.0.192/27" || topo_fail "host protect add"
[ "$(topo_ctl h3 --json host protect show | jq -r '.protected | join(",")')" = 172.31.0.192/27 ] &&
	topo_ok "host protect show lists it" || topo_fail "host protect show"
d1=$(topo_counter h3 drop_to_underlay)
reply=$(echo again | topo_exec t timeout 5 nc -u -w 2 $X_IP 7000 2>/dev/null)
[ -z "$reply" ] && topo_ok "t -> x (protected): no reply" ||
	topo_fail "t -> x (protected) answered: '$reply'"
expect_counter_gt h3 drop_to_underlay "${d1:-0}"
topo_ctl h3 host protect del 172.31.0.192/27 &&
	topo_ok "host protect del" || topo_fail "host protect del"

topo_finish
