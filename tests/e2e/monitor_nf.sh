#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Drops inside an NF reach the drop monitor: b's host (h2) runs mizar-acl
# at the deliver hook with udp/5353 denied; `mizarctl monitor --json
# drops` on h2 prints, within a second of a's datagram, the ACL's drop:
# hook deliver, verdict drop, the ACL's reason, VNI 100, the 5-tuple, the
# host h2 and the sending host h1 as outer source (a bouncer keeps it).
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
# shellcheck source=../examples/common/nf_e2e.sh
. "$(dirname "$0")/../examples/common/nf_e2e.sh"
topo_require_root
topo_require_tools jq python3

ACL=${MZR_ACL:-$MZR_BUILD_DIR/tools/mizar-acl}
[ -x "$ACL" ] || topo_die "missing $ACL (build the mizar-acl target first)"
DENIED=5353
B_IP=10.0.1.3

acl() { nf_e2e_run "$ACL" "$@"; }

topo_step "setup: a@h1 (10.0.1.2), b@h2 ($B_IP), bouncer h3; ACL on h2"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 "$B_IP/24"
expect_ping a "$B_IP"
err=$(acl h2 attach 2>&1 >/dev/null) || topo_fail "acl attach on h2: $err"
err=$(acl h2 rule add vni 100 prio 10 proto udp dport $DENIED action deny 2>&1 >/dev/null) ||
	topo_fail "acl rule add: $err"

topo_step "monitor --json drops on h2: the ACL's drop"
f=$TOPO_TMP/drops.json
topo_bg h2 "$MZR_MIZARCTL" -r "$(topo_pin_root h2)" monitor --json drops >"$f" 2>"$f.err"
mon=$TOPO_LAST_PID
for _ in $(seq 50); do
	grep -q listening "$f.err" 2>/dev/null && break
	sleep 0.1
done
grep -q listening "$f.err" || topo_fail "monitor did not start: $(cat "$f.err")"
topo_exec a python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.1.2", 4444))
s.sendto(b"denied", ("'"$B_IP"'", '"$DENIED"'))'
# The event must be there within a second of the send.
for _ in $(seq 10); do
	[ -s "$f" ] && break
	sleep 0.1
done
seen=$(grep -c . "$f")
kill -INT "$mon"
wait "$mon" || topo_fail "monitor exited $? after SIGINT"
ev=$(jq -c "select(.proto == \"udp\" and .dport == $DENIED)" "$f" | head -n 1)
if [ "$seen" -gt 0 ] && [ -n "$ev" ]; then
	topo_ok "an event within 1 s: $ev"
else
	topo_fail "no ACL drop within 1 s ($seen lines): $(head -c 600 "$f") $(cat "$f.err")"
fi
if [ -n "$ev" ] && echo "$ev" | jq -e '.verdict == "drop" and .hook == "deliver" and
	.reason == "nf" and .vni == 100 and .src == "10.0.1.2" and
	.sport == 4444 and .dst == "'"$B_IP"'" and .dport == '"$DENIED"' and
	.host == "'"$(topo_host_ip h2)"'" and
	.outer_src == "'"$(topo_host_ip h1)"'"' >/dev/null; then
	topo_ok "hook deliver, drop, reason nf, vni 100, 10.0.1.2:4444 > $B_IP:$DENIED, host h2, outer h1"
else
	topo_fail "wrong fields: $ev"
fi

topo_finish
