#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two networks of one VPC on one host: traffic between them is routed as on
# the wire (docs/security.md): it meets the divider hook (and its NFs) and
# the inner TTL decrement, even though it never leaves the host; with
# TTL 1 it dies (`ttl_expired`). Within one network the hairpin stays a
# plain local delivery (TTL untouched).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

NF_OBJ=${MZR_MINIMAL_NF:-$MZR_BUILD_DIR/examples/minimal-nf/minimal_nf.bpf.o}
[ -r "$NF_OBJ" ] || { echo "SKIP: $NF_OBJ missing (build first)"; exit 77; }

topo_step "setup: a, c (10.0.1.0/24) and d (10.0.2.0/24) on h1; bouncer h2, divider h2"
topo_init
topo_host_add h1
topo_host_add h2
topo_vpc_add 100 h2
topo_net_add 100 10.0.1.0/24 h2
topo_net_add 100 10.0.2.0/24 h2
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add c h1 100 10.0.1.4/24
topo_ep_add d h1 100 10.0.2.4/24

# expect_ttl FROM DST TTL: FROM's ping to DST is answered with TTL.
expect_ttl() {
	local out
	out=$(topo_exec "$1" timeout 5 ping -n -c 2 -W 1 "$2" 2>&1)
	if echo "$out" | grep -q "ttl=$3 "; then
		topo_ok "ping $1 -> $2: replies with ttl=$3"
	else
		topo_fail "ping $1 -> $2: no reply with ttl=$3: $(echo "$out" | grep -m1 "ttl=\|loss")"
	fi
}

topo_step "same network: a -> c stays a local delivery, TTL untouched"
div=$(topo_counter h1 hook_divider)
expect_ttl a 10.0.1.4 64
expect_counter_le h1 hook_divider "$div"

topo_step "across networks: a -> d meets the divider hook and the TTL decrement"
div=$(topo_counter h1 hook_divider)
loc=$(topo_counter h1 agent_local)
expect_ttl a 10.0.2.4 63
expect_ttl d 10.0.1.2 63
expect_counter_gt h1 hook_divider "$((div + 3))"
expect_counter_gt h1 agent_local "$loc"
expect_counter_le h2 divider_fwd 0

topo_step "TTL 1 across networks dies as on the wire"
ttl0=$(topo_counter h1 ttl_expired)
expect_no_ping_ttl1() {
	local out
	out=$(topo_exec a timeout 5 ping -n -c 2 -W 1 -t 1 10.0.2.4 2>&1)
	if echo "$out" | grep -q " 0 received"; then
		topo_ok "ping -t 1 a -> d: no reply"
	else
		topo_fail "ping -t 1 a -> d: $(echo "$out" | grep -m1 "received")"
	fi
}
expect_no_ping_ttl1
expect_counter_gt h1 ttl_expired "$ttl0"

topo_step "an NF at h1's divider hook sees the hairpin (XDP agent)"
topo_ctl h1 nf add pass obj "$NF_OBJ" hook divider || topo_fail "nf add"
run0=$(topo_counter h1 nf_run)
expect_ttl a 10.0.2.4 63
expect_counter_gt h1 nf_run "$((run0 + 3))"
topo_ctl h1 nf del pass || topo_fail "nf del"

topo_finish
