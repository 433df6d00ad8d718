#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# mizarctl under valgrind memcheck: every main command (host init/show/
# reset, vpc/net/ep add/show/del, nf add/show/del, stats, dump/apply, and
# a few refused commands, whose error paths free too) on a real two-host
# topology. Each run must report zero errors and no definite leak
# (--errors-for-leak-kinds=definite --error-exitcode=99). bpf_syscall.supp
# holds only the bpf(2) false positives: bpf_attr bytes libbpf leaves
# unset and the NULL key of a first get_next_key.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind is not installed (scripts/install-deps.sh installs it)"
	exit 77
fi

SUPP=$MZR_SOURCE_DIR/tests/valgrind/bpf_syscall.supp
MINIMAL_NF=$MZR_BUILD_DIR/examples/minimal-nf/minimal_nf.bpf.o
[ -f "$MINIMAL_NF" ] || topo_die "missing $MINIMAL_NF (build the examples)"
MZR_MIZARCTL=${MZR_MIZARCTL:-$MZR_BUILD_DIR/tools/mizarctl}
[ -x "$MZR_MIZARCTL" ] || topo_die "missing $MZR_MIZARCTL"
REAL=$(readlink -f "$MZR_MIZARCTL")
VGLOG=$(mktemp -d /tmp/mzr-valgrind.XXXXXX)
SCANNED=0
# The logs of runs with errors or definite leaks, printed; their count.
bad_logs() {
	local f bad=0
	for f in "$VGLOG"/vg.*.log; do
		[ -e "$f" ] || continue
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f" ||
			grep -q 'definitely lost: [1-9]' "$f"; then
			bad=$((bad + 1))
			echo "==== $f" >&2
			cat "$f" >&2
		fi
	done
	SCANNED=1
	return $bad
}
# On a setup failure the logs still tell why.
topo_on_cleanup 'if [ $SCANNED = 0 ]; then bad_logs; fi; rm -rf "$VGLOG"'
# Every topo_ctl below (and inside topo_host_add / topo_ep_add) runs
# mizarctl through this wrapper.
cat >"$VGLOG/mizarctl" <<EOW
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
	--suppressions=$SUPP --log-file=$VGLOG/vg.%p.log "$REAL" "\$@"
EOW
chmod +x "$VGLOG/mizarctl"
export MZR_MIZARCTL=$VGLOG/mizarctl
export TOPO_CMD_TIMEOUT=180	# valgrind: ~20x slower

RUNS=0
# vg HOST RC ARGS...: mizarctl ARGS on HOST exits RC (never 99: memcheck).
vg() {
	local h=$1 want=$2 rc
	shift 2
	topo_ctl "$h" "$@" >"$VGLOG/out" 2>&1
	rc=$?
	RUNS=$((RUNS + 1))
	if [ "$rc" = "$want" ]; then
		topo_ok "mizarctl $* -> $rc"
	else
		topo_fail "mizarctl $* -> $rc, expected $want$([ $rc = 99 ] && echo ' (memcheck errors)')"
		cat "$VGLOG/out"
	fi
}

topo_step "two hosts, initialised under memcheck"
topo_init
topo_host_add h1
topo_host_add h2

topo_step "objects: add, show, set, refused commands"
vg h1 0 host show
vg h1 0 --json host show
# vpc add and net add on both hosts (topo records them for the endpoints)
topo_vpc_add 100 h2
topo_net_add 100 10.0.1.0/24 h1
vg h1 0 vpc set vni 100 dividers "$(topo_host_ip h1),$(topo_host_ip h2)"
vg h1 0 net set vni 100 prefix 10.0.1.0/24 bouncers "$(topo_host_ip h1),$(topo_host_ip h2)"
vg h1 0 ep add vni 100 ip 10.0.1.7 mac 02:00:00:00:01:07 host "$(topo_host_ip h2)"
topo_ep_add a h1 100 10.0.1.2/24
vg h1 0 vpc show
vg h1 0 --json vpc show vni 100
vg h1 0 net show
vg h1 0 --json net show vni 100
vg h1 0 ep show
vg h1 0 --json ep show vni 100
vg h1 2 vpc add vni 0
vg h1 1 vpc add vni 100
vg h1 1 ep del vni 100 ip 10.0.1.99
vg h1 1 net del vni 100 prefix 10.0.1.0/24
vg h1 2 net add vni 100 prefix 10.0.1.0/33 bouncers 1.2.3.4

topo_step "NF chains"
vg h1 0 nf add mini obj "$MINIMAL_NF" hook bouncer
vg h1 0 nf show
vg h1 0 --json nf show
vg h1 1 nf add mini obj "$MINIMAL_NF" hook deliver
vg h1 1 nf add bad obj /nonexistent.o hook deliver

topo_step "traffic, stats, dump and apply"
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3
vg h1 0 stats
vg h1 0 --json stats
vg h1 0 stats all
vg h1 0 dump
topo_ctl h1 dump >"$VGLOG/state.json" 2>/dev/null
vg h1 0 apply -f "$VGLOG/state.json" --dry-run
vg h1 0 apply -f "$VGLOG/state.json"
echo '{"version": 1, "vpcs": [ {"vni": 0} ]}' >"$VGLOG/bad.json"
vg h1 1 apply -f "$VGLOG/bad.json"
vg h1 0 stats reset

topo_step "deletes and reset"
vg h1 0 nf del mini
vg h1 1 nf del mini
vg h1 0 ep del vni 100 ip 10.0.1.7
vg h1 0 ep del vni 100 ip 10.0.1.3
topo_ep_del a
vg h1 0 net del vni 100 prefix 10.0.1.0/24
vg h1 0 vpc del vni 100
vg h1 0 host reset
vg h1 1 host show
vg h1 1 vpc show

topo_step "memcheck logs"
n=$(find "$VGLOG" -name 'vg.*.log' | wc -l)
bad_logs
bad=$?
if [ "$bad" = 0 ] && [ "$n" -ge "$RUNS" ]; then
	topo_ok "$n mizarctl runs under memcheck: 0 errors, no definite leak"
else
	topo_fail "$bad of $n memcheck logs report errors or definite leaks"
fi
topo_finish
