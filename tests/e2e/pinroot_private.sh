#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `ip netns exec` runs its command in a private mount namespace with a
# fresh /sys: a bpffs the library mounted on /sys/fs/bpf there would die
# with the command, pins and all, leaving XDP and tc attached with no
# owner. host init must refuse, in one line naming `nsenter --net` and a
# shared bpffs, and leave nothing attached; MIZAR_ALLOW_PRIVATE_BPFFS=1
# is the explicit opt-out. Through nsenter --net (the host's mount
# namespace) the same command works.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools nsenter bpftool
topo_init
topo_host_add h1 noinit
NS=$(topo_ns h1)
FRESH=/sys/fs/bpf/mzr-fresh-$TOPO_ID

attached() {
	ip netns exec "$NS" bpftool -j net show dev ul0 |
		jq -r '[.[] | (.xdp[]?, .tc[]?, .tcx[]?) | .id] | length'
}

topo_step "ip netns exec mizarctl -r $FRESH host init: refused"
err=$(ip netns exec "$NS" "$MZR_MIZARCTL" -r "$FRESH" host init dev ul0 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] &&
	[[ "$err" == *"nsenter --net"* ]] && [[ "$err" == *"bpffs shared"* ]]; then
	topo_ok "refused in one line: $err"
else
	topo_fail "exit $rc, stderr: $err"
fi
n=$(attached)
[ "$n" = 0 ] && topo_ok "nothing attached to ul0" ||
	topo_fail "$n programs attached to ul0 after the refused init"

topo_step "the opt-out, and nsenter --net, still work"
# The opt-out mounts the private bpffs: it dies at once, so reset the
# orphans it leaves by device.
if ip netns exec "$NS" env MIZAR_ALLOW_PRIVATE_BPFFS=1 "$MZR_MIZARCTL" \
	-r "$FRESH" host init dev ul0 >/dev/null 2>&1; then
	topo_ok "MIZAR_ALLOW_PRIVATE_BPFFS=1: host init runs"
else
	topo_fail "MIZAR_ALLOW_PRIVATE_BPFFS=1: host init failed"
fi
ip netns exec "$NS" "$MZR_MIZARCTL" -r "$FRESH" host reset dev ul0 --force \
	>/dev/null 2>&1 || topo_fail "reset dev ul0 --force after the opt-out"
if mountpoint -q /sys/fs/bpf; then
	topo_on_cleanup "nsenter --net=/run/netns/$NS $MZR_MIZARCTL -r $FRESH host reset >/dev/null 2>&1; rmdir $FRESH 2>/dev/null"
	if out=$(nsenter --net="/run/netns/$NS" "$MZR_MIZARCTL" -r "$FRESH" \
		host init dev ul0 2>&1); then
		topo_ok "nsenter --net: $out"
	else
		topo_fail "nsenter --net host init: $out"
	fi
	nsenter --net="/run/netns/$NS" "$MZR_MIZARCTL" -r "$FRESH" host reset ||
		topo_fail "nsenter --net host reset"
else
	topo_log "  (no bpffs on /sys/fs/bpf in this mount namespace: nsenter case not run)"
fi
n=$(attached)
[ "$n" = 0 ] && topo_ok "nothing attached to ul0 at the end" ||
	topo_fail "$n programs attached to ul0 at the end"
topo_finish
