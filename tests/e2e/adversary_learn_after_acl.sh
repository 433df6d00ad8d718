#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# docs/security.md rule 3: learning happens only after the deliver hook's
# NF chain accepted the frame. A poisoning frame (inner source a, from a
# known peer h4 that does not host a) that h2's ACL drops teaches h2
# nothing: `learned` does not move and b's traffic to a does not go to h4.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3 jq
SEND=$(readlink -f "$(dirname "$0")/geneve_send.py")
ACL=${MZR_ACL:-$MZR_BUILD_DIR/tools/mizar-acl}
X_IP=172.31.0.200

acl() {
	local h=$1
	shift
	ip netns exec "$(topo_ns "$h")" timeout "$TOPO_CMD_TIMEOUT" "$ACL" \
		-r "$(topo_pin_root "$h")" "$@"
}

topo_step "setup: a@h1, b@h2, bouncer h3, h4 a Mizar host; ACL on h2 denies a's UDP to port 9"
topo_init
[ -x "$ACL" ] || topo_die "missing $ACL (build first, or set MZR_ACL)"
for h in h1 h2 h3 h4; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
topo_outsider_add x $X_IP
acl h2 attach >/dev/null && topo_ok "mizar-acl attach on h2" ||
	topo_fail "mizar-acl attach"
acl h2 rule add vni 100 prio 10 src 10.0.1.2/32 proto udp dport 9 action deny &&
	topo_ok "rule: deny 10.0.1.2 -> udp 9" || topo_fail "acl rule add"

topo_step "a frame from h4 (RTS h4) claiming a, to a denied port of b"
l0=$(topo_counter h2 learned)
n0=$(topo_counter h2 drop_nf)
topo_exec x python3 "$SEND" raw "$(topo_host_ip h4)" "$(topo_host_ip h2)" \
	--vni 100 --rts "$(topo_host_ip h4)" --inner-src 10.0.1.2 \
	--inner-dst 10.0.1.3 --inner-smac "${TOPO_EP_MAC[a]}" \
	--inner-dmac "${TOPO_EP_MAC[b]}" --proto udp --dport 9 >/dev/null ||
	topo_fail "geneve_send.py failed"
expect_counter_gt h2 drop_nf "${n0:-0}"
expect_counter_le h2 learned "${l0:-0}"

topo_step "b's traffic to a goes to a's bouncer, never through h4"
s0=$(topo_counter h4 stale_direct)
expect_ping b 10.0.1.2
expect_counter_le h4 stale_direct "${s0:-0}"

topo_finish
