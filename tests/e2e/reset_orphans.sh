#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A back-plane whose pins are gone (its bpffs unmounted) leaves XDP and tc
# programs attached with no owner. Plain `host reset` must not call that
# clean (non-zero, naming the interfaces); `host reset dev IF --force`
# removes our programs, found by name and maps, and leaves a foreign XDP
# program alone.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools bpftool
topo_init
[ -n "$MZR_XDP_PASS" ] || topo_die "needs tests/bpf/xdp_pass.bpf.o (build first)"

topo_host_add h1 noinit
NS=$(topo_ns h1)
# This host's pins live on their own bpffs, so that they can be lost.
LOST=/run/mizar-e2e-$TOPO_ID-lost
mkdir -p "$LOST" && mount -t bpf bpf "$LOST" || topo_die "cannot mount $LOST"
topo_on_cleanup "umount -l $LOST 2>/dev/null; rmdir $LOST 2>/dev/null"
ctl() { ip netns exec "$NS" timeout 15 "$MZR_MIZARCTL" -r "$LOST/h1" "$@"; }

# ours DEV: names of the mzr_* programs bpftool sees on DEV (XDP, tc,
# tcx), by program id (bpftool's XDP entries carry no name).
ours() {
	local id names=()
	for id in $(ip netns exec "$NS" bpftool -j net show dev "$1" |
		jq -r '.[] | (.xdp[]?, .tc[]?, .tcx[]?) | .id'); do
		names+=("$(bpftool -j prog show id "$id" | jq -r .name)")
	done
	printf '%s\n' "${names[@]}" | grep '^mzr_' | sort | paste -sd, -
}

topo_step "a back-plane with an endpoint veth, and a foreign XDP program"
ctl host init dev ul0 >/dev/null || topo_die "host init"
ctl vpc add vni 100 >/dev/null || topo_die "vpc add"
ctl net add vni 100 prefix 10.0.1.0/24 bouncers "$(topo_host_ip h1)" >/dev/null ||
	topo_die "net add"
ip -n "$NS" link add ve-a type veth peer name ve-a-p || topo_die "veth"
ip -n "$NS" link set ve-a up && ip -n "$NS" link set ve-a-p up
ctl ep add vni 100 ip 10.0.1.2 mac 02:00:00:00:01:02 dev ve-a >/dev/null 2>&1 ||
	topo_die "ep add"
ip -n "$NS" link add fx0 type veth peer name fx0-p && ip -n "$NS" link set fx0 up
ip -n "$NS" link set dev fx0 xdpgeneric obj "$MZR_XDP_PASS" sec xdp ||
	topo_die "cannot attach the foreign xdp_pass to fx0"
foreign=$(ip netns exec "$NS" bpftool -j net show dev fx0 | jq -r '.[0].xdp[0].id')
[ -n "$(ours ul0)" ] && [ -n "$(ours ve-a)" ] ||
	topo_die "programs not attached: ul0 '$(ours ul0)' ve-a '$(ours ve-a)'"
topo_ok "attached: ul0 $(ours ul0), ve-a $(ours ve-a), fx0 foreign id $foreign"

topo_step "the pins are lost (bpffs unmounted); the programs stay attached"
umount "$LOST" || topo_die "umount $LOST"
[ -n "$(ours ul0)" ] || topo_die "the programs went with the pins: nothing to test"

out=$(ctl host reset 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *ul0* ]] && [[ "$out" == *--force* ]] &&
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ]; then
	topo_ok "plain host reset fails with one line naming ul0: $out"
else
	topo_fail "plain host reset: exit $rc, '$out'"
fi

out=$(ctl host reset dev ul0 2>&1)
rc=$?
[ $rc -ne 0 ] && [[ "$out" == *--force* ]] &&
	topo_ok "dev without --force refused: $out" ||
	topo_fail "host reset dev ul0 without --force: exit $rc, '$out'"

for dev in ul0 ve-a; do
	if out=$(ctl host reset dev "$dev" --force 2>&1); then
		topo_ok "host reset dev $dev --force: ${out:-(silent)}"
	else
		topo_fail "host reset dev $dev --force: $out"
	fi
	left=$(ours "$dev")
	[ -z "$left" ] && topo_ok "no program of ours on $dev (bpftool net)" ||
		topo_fail "left on $dev: $left"
done
if ip -n "$NS" -d link show ul0 | grep -q 'prog/xdp'; then
	topo_fail "ip link still shows an XDP program on ul0"
else
	topo_ok "ip link shows no XDP program on ul0"
fi
if ip -n "$NS" tc filter show dev ul0 ingress 2>/dev/null | grep -q mzr_; then
	topo_fail "tc still shows our filter on ul0"
else
	topo_ok "tc shows no filter of ours on ul0"
fi
now=$(ip netns exec "$NS" bpftool -j net show dev fx0 | jq -r '.[0].xdp[0].id')
[ "$now" = "$foreign" ] && topo_ok "foreign XDP program $foreign still on fx0" ||
	topo_fail "foreign XDP program on fx0: was $foreign, now '$now'"
out=$(ctl host reset dev fx0 --force 2>&1) || topo_fail "reset dev fx0: $out"
now=$(ip netns exec "$NS" bpftool -j net show dev fx0 | jq -r '.[0].xdp[0].id')
[ "$now" = "$foreign" ] && topo_ok "host reset dev fx0 --force leaves the foreign program" ||
	topo_fail "foreign XDP program on fx0 after reset dev fx0: '$now'"

out=$(ctl host reset 2>&1) && topo_ok "plain host reset now clean" ||
	topo_fail "plain host reset after the cleanup: $out"
topo_finish
