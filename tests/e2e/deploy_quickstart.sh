#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# docs/deploy.md's two-machine quick start, verbatim: its command blocks
# (marked <!-- quickstart:NAME -->) are extracted from the doc and run on
# two network namespaces standing in for machines A and B (entered with
# nsenter --net, as the doc says, so they share this mount namespace),
# with the doc's variables set for them; then ep1 and ep2 ping each other.
# Then machine A "reboots" (host reset: pins and attachments gone) and the
# boot unit's commands (scripts/systemd/mizar-host@.service, as built)
# bring it back: traffic flows again.
#
# The doc's endpoint netns names (ep1, ep2) are global in /run/netns: the
# test runs in a private mount namespace with its own /run/netns, so
# parallel runs never collide and nothing outlives the test.
set -u -o pipefail

if [ -z "${MZR_QS_PRIVATE:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: deploy_quickstart needs root (network namespaces, XDP, bpffs)"
		exit 77
	fi
	mkdir -p /run/netns
	export MZR_QS_PRIVATE=1
	exec unshare --mount --propagation private bash -c \
		'mount -t tmpfs -o mode=0755 mzr-qs /run/netns && exec bash "$0" "$@"' \
		"$0" "$@"
fi

# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
DOC=$MZR_SOURCE_DIR/docs/deploy.md
UNIT=$MZR_BUILD_DIR/scripts/systemd/mizar-host@.service
[ -f "$DOC" ] || topo_die "missing $DOC"
[ -f "$UNIT" ] || topo_die "missing $UNIT (configure the build)"
topo_require_tools nsenter unshare awk

# block NAME: the shell block after <!-- quickstart:NAME --> in the doc.
block() {
	awk -v m="<!-- quickstart:$1 -->" '
		$0 == m { found = 1; next }
		found == 1 && /^```sh$/ { found = 2; next }
		found == 2 && /^```$/ { exit }
		found == 2 { print }' "$DOC"
}

topo_step "machines A and B: two hosts on one underlay, nothing loaded"
topo_init
topo_host_add qa noinit
topo_host_add qb noinit
# Back-planes first, while the endpoints' veths still exist.
topo_on_cleanup 'for m in qa qb; do on $m "mizarctl host reset" || echo "host reset on $m: $(cat "$LOG")" >&2; done; ip netns del ep1 2>/dev/null; ip netns del ep2 2>/dev/null'
# topo_cleanup resets the back-planes (the pin roots the doc's commands
# use through MIZAR_PIN_ROOT).
TOPO_HOST_INIT[qa]=1
TOPO_HOST_INIT[qb]=1
PATH=$(dirname "$MZR_MIZARCTL"):$PATH
LOG=$TOPO_TMP/qs.log

# on MACHINE SCRIPT: run SCRIPT on machine qa|qb as root would, with the
# quick start's variables set for that machine.
on() {
	local m=$1 script=$2
	nsenter --net="/run/netns/$(topo_ns "$m")" env \
		DEV=ul0 A="$(topo_host_ip qa)" B="$(topo_host_ip qb)" \
		CONF="$TOPO_TMP/etc-$m/mizar/host.json" \
		MIZAR_PIN_ROOT="$(topo_pin_root "$m")" PATH="$PATH" \
		bash -e -c "$script" >"$LOG" 2>&1
}

run_block() {	# run_block MACHINE NAME
	local m=$1 name=$2 script
	script=$(block "$name")
	if [ -z "$script" ]; then
		topo_fail "docs/deploy.md has no quickstart:$name block"
		return 1
	fi
	if on "$m" "$script"; then
		topo_ok "block quickstart:$name on $m ($(echo "$script" | wc -l) lines)"
	else
		topo_fail "block quickstart:$name on $m: $(tail -n 5 "$LOG" | tr '\n' '|')"
		return 1
	fi
}

# The doc's endpoints: pings from inside them, after a warm-up.
ep_ping() {	# ep_ping NETNS DST: 5 answered in a row
	local ns=$1 dst=$2 out
	ip netns exec "$ns" ping -n -q -c 3 -i 0.2 -W 1 "$dst" >/dev/null 2>&1
	out=$(ip netns exec "$ns" ping -n -q -c 5 -i 0.2 -W 1 "$dst" 2>&1 |
		awk '/packets transmitted/ {print $4 "/" $1}')
	if [ "$out" = 5/5 ]; then
		topo_ok "ping $ns -> $dst: $out replies"
	else
		topo_fail "ping $ns -> $dst: ${out:-0/0} replies"
	fi
}

topo_step "the quick start, as written"
run_block qa both
run_block qb both
run_block qa A
run_block qb B
if run_block qa check; then
	n=$(grep -c '^no change' "$LOG")
	if [ "$n" -eq 2 ]; then
		topo_ok "second apply and dump round trip: 'no change' twice"
	else
		topo_fail "expected 'no change' twice from the check block, got $n: $(tr '\n' '|' <"$LOG" | head -c 400)"
	fi
fi
ep_ping ep1 10.0.1.3
ep_ping ep2 10.0.1.2
# TCP too: 256 KiB from ep1 to ep2, intact.
head -c 262144 /dev/urandom >"$TOPO_TMP/xfer"
ip netns exec ep2 timeout 20 sh -c "nc -l -N 7777 >'$TOPO_TMP/xfer.out'" &
srv=$!
TOPO_PIDS+=("$srv")
for _ in $(seq 1 50); do
	ip netns exec ep2 ss -Hltn 'sport = :7777' | grep -q . && break
	sleep 0.1
done
ip netns exec ep1 timeout 15 nc -N -w 5 10.0.1.3 7777 <"$TOPO_TMP/xfer" >/dev/null 2>&1
wait "$srv" 2>/dev/null
if cmp -s "$TOPO_TMP/xfer" "$TOPO_TMP/xfer.out"; then
	topo_ok "tcp ep1 -> ep2: 256 KiB intact"
else
	topo_fail "tcp ep1 -> ep2: $(stat -c %s "$TOPO_TMP/xfer.out" 2>/dev/null || echo 0) of 262144 bytes arrived intact"
fi

topo_step "machine A reboots: its pins, attachments and containers are gone"
on qa 'mizarctl host reset' || topo_fail "host reset on qa: $(cat "$LOG")"
ip netns del ep1	# its veth goes with it; it comes back after boot
if on qa 'mizarctl host show'; then
	topo_fail "A still has a back-plane after the reset: $(tr '\n' '|' <"$LOG")"
else
	topo_ok "A has no back-plane: $(cat "$LOG")"
fi

topo_step "the boot unit's commands bring A back; the container later"
if ! command -v systemd-analyze >/dev/null; then
	echo "  note: systemd-analyze not installed: the unit's syntax is not verified"
elif unit_check=$(systemd-analyze verify "$UNIT" 2>&1 |
	grep -v -e 'is not executable' -e "Command 'man " -e '^$'); then
	topo_fail "systemd-analyze verify mizar-host@.service: $unit_check"
else
	topo_ok "systemd-analyze verify mizar-host@.service: no complaint (beyond the binary not being installed)"
fi
# The settings file as installed, with this machine's configuration.
ENVF=$TOPO_TMP/host.env
sed "s|^MIZAR_CONFIG=.*|MIZAR_CONFIG=$TOPO_TMP/etc-qa/mizar/host.json|" \
	"$MZR_SOURCE_DIR/scripts/systemd/host.env" >"$ENVF"
# unit_script KEY: what systemd runs for KEY (ExecStart, ExecReload):
# Environment=, then EnvironmentFile=, then each KEY= line in order with
# %I the instance (the NIC) and $VAR split into words; the installed path
# of mizarctl stands for the built one.
unit_script() {
	local line script
	script="set -a; $(grep '^Environment=' "$UNIT" | sed 's/^Environment=//'); . '$ENVF'; set +a"
	while IFS= read -r line; do
		line=${line#"$1"=}
		line=${line//%I/ul0}
		line=$(sed -E "s|[^ ']*/sbin/mizarctl|$MZR_MIZARCTL|g" <<<"$line")
		script+=$'\n'"$line"
	done < <(grep "^$1=" "$UNIT")
	echo "$script"
}
if on qa "$(unit_script ExecStart)"; then
	topo_ok "unit ExecStart lines on qa: $(tail -n 1 "$LOG")"
else
	topo_fail "unit ExecStart lines on qa: $(tail -n 5 "$LOG" | tr '\n' '|')"
fi
grep -q '^skipped: ep vni 100 ip 10.0.1.2 dev ve-ep1' "$LOG" &&
	topo_ok "boot: ep1 (no veth yet) skipped, the rest applied" ||
	topo_fail "boot: ep1 not reported skipped: $(tr '\n' '|' <"$LOG")"
on qa 'mizarctl ep show'
grep -q '10.0.1.3' "$LOG" && topo_ok "A bounces for ep2 again: $(grep 10.0.1.3 "$LOG")" ||
	topo_fail "A does not hold ep2 after boot: $(tr '\n' '|' <"$LOG")"
# The container comes back: the quick start's ep1 commands (up to its
# configuration), then the unit's reload.
on qa "$(block A | sed '/^cat >/,$d')" || topo_fail "re-creating ep1: $(cat "$LOG")"
if on qa "$(unit_script ExecReload)"; then
	topo_ok "unit ExecReload on qa: $(tail -n 1 "$LOG")"
else
	topo_fail "unit ExecReload on qa: $(tail -n 5 "$LOG" | tr '\n' '|')"
fi
ep_ping ep1 10.0.1.3
ep_ping ep2 10.0.1.2
on qa 'mizarctl apply --dry-run -f "$CONF"'
grep -q '^no change' "$LOG" && topo_ok "A after reboot matches its file (apply --dry-run: no change)" ||
	topo_fail "A after reboot differs from its file: $(tr '\n' '|' <"$LOG")"

topo_finish
