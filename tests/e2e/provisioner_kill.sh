#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The process provisioning a host is killed with SIGKILL in the middle of
# its work, several times, while a ping runs through the host: traffic is
# not interrupted, and the pinned state stays usable by the next process.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

topo_step "setup: a@h1, b@h2, bouncer h3"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3 2

topo_step "ping a -> b every 50 ms; a provisioning loop on h1 and h3 killed -9 repeatedly"
log=$TOPO_TMP/ping.log
topo_bg a timeout 20 ping -n -i 0.05 -c 140 -W 1 10.0.1.3 >"$log" 2>&1
ping_pid=$TOPO_LAST_PID
ctl=$MZR_MIZARCTL
kills=0
pids=()
for _ in 1 2 3 4; do
	for h in h1 h3; do
		# one provisioner: endpoints added and removed as fast as it can
		topo_bg $h bash -c "
			i=0
			while :; do
				echo >>$TOPO_TMP/rounds
				i=\$(( (i % 200) + 10 ))
				$ctl -r $TOPO_BPFFS/$h ep add vni 100 ip 10.0.1.\$i \
					mac 0e:00:00:00:01:\$(printf %02x \$i) host 172.31.0.99
				$ctl -r $TOPO_BPFFS/$h --json stats >/dev/null
				$ctl -r $TOPO_BPFFS/$h ep del vni 100 ip 10.0.1.\$i
			done >/dev/null 2>&1"
		pids+=("$TOPO_LAST_PID")
	done
	sleep 0.$((3 + RANDOM % 5))
	for p in "${pids[@]}"; do
		kill -9 "$p" $(pgrep -P "$p") 2>/dev/null && kills=$((kills + 1))
		{ wait "$p"; } 2>/dev/null
	done
	pids=()
done
rounds=$(wc -l <"$TOPO_TMP/rounds" 2>/dev/null || echo 0)
if [ "$rounds" -gt 0 ] && [ "$kills" -ge 8 ]; then
	topo_ok "$kills provisioning processes killed -9 after $rounds rounds of ep add/stats/ep del"
else
	topo_fail "the provisioners did not run ($rounds rounds, $kills killed)"
fi

{ wait "$ping_pid"; } 2>/dev/null
res=$(awk '/packets transmitted/ {print $1, $4}' "$log")
sent=${res% *}
rcvd=${res#* }
if [ -n "$res" ] && [ "$sent" -ge 100 ] && [ $((sent - rcvd)) -le 2 ]; then
	topo_ok "ping during the kills: $rcvd/$sent replies"
else
	topo_fail "ping during the kills: ${rcvd:-?}/${sent:-?} replies (<= 2 lost allowed)"
	tail -n 3 "$log"
fi

topo_step "the next process finds the state intact"
for h in h1 h3; do
	if topo_ctl $h --json ep show >/dev/null; then
		topo_ok "ep show on $h"
	else
		topo_fail "ep show on $h"
	fi
	# leftovers of the killed loop may or may not exist: remove them all
	for i in $(seq 10 209); do
		topo_ctl $h ep del vni 100 ip 10.0.1.$i >/dev/null 2>&1
	done
done
topo_ep_add c h1 100 10.0.1.4/24
expect_ping c 10.0.1.3
expect_ping a 10.0.1.3 5

topo_finish
