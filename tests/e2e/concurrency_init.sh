#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Two `host init` at once on one pin root, 50 times: exactly one loads the
# back-plane (the other reuses it, or fails with one line and touches
# nothing), the pins name the program attached to the underlay, `host
# show` reopens the state, and `host reset` leaves no XDP program and no
# pin behind, every round.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools bpftool

ROUNDS=${ROUNDS:-50}

topo_step "setup: host h1 with underlay ul0, not initialised"
topo_init
topo_host_add h1 noinit
ns=$(topo_ns h1)
root=$(topo_pin_root h1)
ctl() { ip netns exec "$ns" timeout 60 "$MZR_MIZARCTL" -r "$root" "$@"; }
xdp_id() {
	ip -n "$ns" -d -j link show dev ul0 |
		jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id // empty'
}
TOPO_HOST_INIT[h1]=1 # cleanup resets whatever a failed round left

topo_step "$ROUNDS rounds of two concurrent host init on $root"
bad=0
for r in $(seq 1 "$ROUNDS"); do
	why=""
	for i in 1 2; do
		ctl host init dev ul0 >"$TOPO_TMP/out$i" 2>"$TOPO_TMP/err$i" &
		eval "pid$i=\$!"
	done
	wait "$pid1"
	rc1=$?
	wait "$pid2"
	rc2=$?
	loaded=$(cat "$TOPO_TMP/out1" "$TOPO_TMP/out2" | grep -c "^back-plane loaded at")
	[ "$loaded" = 1 ] || why+=" $loaded inits loaded a back-plane;"
	for i in 1 2; do
		eval "rc=\$rc$i"
		if [ "$rc" -ne 0 ] && [ "$(wc -l <"$TOPO_TMP/err$i")" != 1 ]; then
			why+=" init $i failed (exit $rc) without one error line;"
		fi
	done
	[ "$rc1" -eq 0 ] || [ "$rc2" -eq 0 ] || why+=" both inits failed;"
	if ! ctl --json host show >"$TOPO_TMP/show" 2>&1 ||
		[ "$(jq -r .dev "$TOPO_TMP/show")" != ul0 ]; then
		why+=" host show: $(tr '\n' ' ' <"$TOPO_TMP/show");"
	fi
	pinned=$(bpftool -j prog show pinned "$root/progs/mzr_transit" 2>/dev/null | jq -r .id)
	attached=$(xdp_id)
	[ -n "$attached" ] && [ "$attached" = "$pinned" ] ||
		why+=" XDP program on ul0 is '${attached:-none}', pinned transit '${pinned:-none}';"
	left=$(find "$root" -name 'mzr-init-tmp-*' 2>/dev/null | wc -l)
	[ "$left" = 0 ] || why+=" $left temporary directories left;"
	ctl host reset >"$TOPO_TMP/reset" 2>&1 || why+=" host reset: $(tr '\n' ' ' <"$TOPO_TMP/reset");"
	attached=$(xdp_id)
	[ -z "$attached" ] || why+=" XDP program $attached left on ul0 after reset;"
	if [ -d "$root" ] && [ -n "$(find "$root" -mindepth 1 | head -1)" ]; then
		why+=" pins left after reset: $(find "$root" -mindepth 1 | head -3 | tr '\n' ' ');"
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		[ $bad -le 3 ] && echo "  round $r:$why" >&2
		# start the next round clean whatever this one left
		ctl host reset >/dev/null 2>&1
		ip -n "$ns" link set dev ul0 xdp off 2>/dev/null
		ip -n "$ns" link set dev ul0 xdpgeneric off 2>/dev/null
		rm -rf "$root" 2>/dev/null
	fi
	mkdir -p "$root"
done
if [ "$bad" = 0 ]; then
	topo_ok "$ROUNDS rounds: one init loaded, the state reopened and reset cleanly"
else
	topo_fail "$bad of $ROUNDS rounds went wrong (first ones above)"
fi

topo_finish
