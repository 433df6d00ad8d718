#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# host init on an existing back-plane: the same options again change
# nothing and succeed; an option that differs (dev, ip, mode,
# max-endpoints) is refused in one line naming the difference, and the
# back-plane stays as it was.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_init
topo_host_add h1 noinit
NS=$(topo_ns h1)
TOPO_HOST_INIT[h1]=1
ip -n "$NS" link add ul1 type veth peer name ul1-p && ip -n "$NS" link set ul1 up
IP=$(topo_host_ip h1)

topo_step "first init, then the same options again"
topo_ctl h1 host init dev ul0 mode generic max-endpoints 1000 >/dev/null ||
	topo_die "first host init"
for args in "dev ul0 mode generic max-endpoints 1000" "dev ul0" \
	"dev ul0 ip $IP mode generic"; do
	if out=$(topo_ctl h1 host init $args 2>&1); then
		topo_ok "host init $args: $out"
	else
		topo_fail "host init $args (identical) failed: $out"
	fi
done

topo_step "options that differ are refused, naming the difference"
# refused ARGS WORD: host init ARGS fails with one line containing WORD.
refused() {
	local err rc
	err=$(ip netns exec "$NS" "$MZR_MIZARCTL" -r "$(topo_pin_root h1)" \
		host init $1 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [[ "$err" == *"$2"* ]] &&
		[ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; then
		topo_ok "host init $1: $err"
	else
		topo_fail "host init $1: exit $rc, '$err' (wanted '$2')"
	fi
}
refused "dev ul0 max-endpoints 2000" "max-endpoints 1000 there, 2000 asked"
refused "dev ul0 mode native" "mode generic there, native asked"
refused "dev ul0 ip 172.31.0.99" "ip $IP there, 172.31.0.99 asked"
refused "dev ul1" "dev ul0 there, ul1 asked"

show=$(topo_ctl h1 --json host show)
if [ "$(jq -r '"\(.dev) \(.mode) \(.max_endpoints) \(.ip)"' <<<"$show")" = "ul0 generic 1000 $IP" ]; then
	topo_ok "host show unchanged: ul0 generic 1000 $IP"
else
	topo_fail "host show after the refusals: $show"
fi
topo_finish
