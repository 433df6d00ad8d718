#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Packet trace: `mizarctl trace -w` on each host while a ping crosses
# agent (h1) -> bouncer (h3) -> deliver (h2); tshark reads each pcapng
# and finds every hook's packet with its comment (hook, verdict, VNI) and
# the ICMP echo decoded inside; `-w -` piped into `tshark -r -` works; a
# second run with a spoofed source shows the drop and its reason; SIGINT
# leaves a complete file; filters keep other traffic out. Also run with
# the transit in tc (e2e_tc_trace): its hooks are traced with their VNI.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools tshark

topo_step "setup: h1 (a), h2 (b), h3 bouncer of 10.0.1.0/24"
topo_init
topo_host_add h1
topo_host_add h2
topo_host_add h3
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24

# trace_start HOST FILE ARGS...: `mizarctl trace -w FILE ARGS` in the
# background on HOST, returning once the kernel side is on.
declare -A TRACE_PID
trace_start() {
	local h=$1 f=$2 i
	shift 2
	topo_bg "$h" "$MZR_MIZARCTL" -r "$(topo_pin_root "$h")" trace -w "$f" \
		"$@" 2>"$f.err"
	TRACE_PID[$h]=$TOPO_LAST_PID
	for i in $(seq 50); do
		grep -q capturing "$f.err" 2>/dev/null && return 0
		sleep 0.1
	done
	topo_fail "[$h] trace did not start: $(cat "$f.err")"
}

# trace_stop HOST: SIGINT, then the exit status must be 0.
trace_stop() {
	local h=$1 rc
	kill -INT "${TRACE_PID[$h]}"
	wait "${TRACE_PID[$h]}"
	rc=$?
	[ $rc = 0 ] || topo_fail "[$h] trace exited $rc after SIGINT"
}

# fields FILE: "comment<TAB>icmp.type<TAB>ip.src<TAB>ip.dst" per packet
# (the innermost IP header), from tshark reading the whole file.
fields() {
	tshark -r "$1" -T fields -E occurrence=l -e frame.comment -e icmp.type \
		-e ip.src -e ip.dst 2>"$1.tshark"
}

# expect_hook FILE HOST HOOK VERDICT: tshark shows an ICMP echo a -> b
# whose comment names HOOK, VERDICT and vni=100.
expect_hook() {
	local out
	out=$(fields "$1" | awk -F'\t' -v h="hook=$3 " -v v="verdict=$4 " \
		'index($1, h) && index($1, v) && index($1, "vni=100") &&
		 $2 == 8 && $3 == "10.0.1.2" && $4 == "10.0.1.3"' | head -n 1)
	if [ -n "$out" ]; then
		topo_ok "[$2] tshark: ICMP echo a -> b with '${out%%	*}'"
	else
		topo_fail "[$2] no ICMP echo a -> b with hook=$3 verdict=$4 vni=100 in: $(fields "$1" | head -n 8 | tr '\t\n' '| ') $(cat "$1.tshark")"
	fi
}

topo_step "trace a ping crossing agent (h1) -> bouncer (h3) -> deliver (h2)"
for h in h1 h2 h3; do
	trace_start $h "$TOPO_TMP/$h.pcapng" proto icmp vni 100
done
# The first echo goes through the bouncer (no direct path learnt yet).
topo_exec a ping -n -c 3 -i 0.2 -W 1 10.0.1.3 >/dev/null ||
	topo_fail "ping a -> b failed"
for h in h1 h2 h3; do
	trace_stop $h
done
expect_hook "$TOPO_TMP/h1.pcapng" h1 agent-egress redirect
# The tc transit (TOPO_TRANSIT=tc) sends a forwarded frame on with
# bpf_redirect_neigh(): redirect where XDP transmits (tx).
fwd_verdict=tx
[ "${TOPO_TRANSIT:-}" = tc ] && fwd_verdict=redirect
expect_hook "$TOPO_TMP/h3.pcapng" h3 bouncer $fwd_verdict
expect_hook "$TOPO_TMP/h2.pcapng" h2 deliver redirect
# The first echo reached h2 through the bouncer, which keeps the frame's
# outer source: the deliver packet's comment names the sending host h1
# (decapsulated, the packet itself no longer carries it).
if fields "$TOPO_TMP/h2.pcapng" | awk -F'\t' '$2 == 8' | head -n 1 |
	grep -q "^hook=deliver verdict=redirect .* outer=$(topo_host_ip h1)	"; then
	topo_ok "[h2] the first delivered echo: outer=$(topo_host_ip h1) (h1)"
else
	topo_fail "[h2] no outer=$(topo_host_ip h1) on the first delivered echo: $(fields "$TOPO_TMP/h2.pcapng" | head -n 2 | tr '\t\n' '| ')"
fi
# One interface block per (device, hook): named DEV:HOOK.
if tshark -r "$TOPO_TMP/h3.pcapng" -T fields -e frame.interface_name 2>/dev/null |
	grep -q ':bouncer$'; then
	topo_ok "[h3] the interface block is named after its device and hook"
else
	topo_fail "[h3] no interface named DEV:bouncer"
fi
if capinfos "$TOPO_TMP/h1.pcapng" >/dev/null 2>&1 || ! command -v capinfos >/dev/null; then
	topo_ok "[h1] the file SIGINT ended is complete"
else
	topo_fail "[h1] capinfos: $(capinfos "$TOPO_TMP/h1.pcapng" 2>&1 | tail -n 1)"
fi

topo_step "trace -w - | tshark -r -, ended by count"
topo_bg h2 sh -c "\"$MZR_MIZARCTL\" -r \"$(topo_pin_root h2)\" trace -w - proto icmp count 2 2>\"$TOPO_TMP/pipe.err\" | tshark -r - -T fields -e frame.comment -e icmp.type >\"$TOPO_TMP/pipe.out\" 2>/dev/null"
pipe_pid=$TOPO_LAST_PID
for i in $(seq 50); do
	grep -q capturing "$TOPO_TMP/pipe.err" 2>/dev/null && break
	sleep 0.1
done
topo_exec a ping -n -c 3 -i 0.2 -W 1 10.0.1.3 >/dev/null
wait $pipe_pid
n=$(grep -c '^hook=.* verdict=.*	[08]$' "$TOPO_TMP/pipe.out")
if [ "$n" = 2 ] && grep -q '^hook=deliver verdict=redirect' "$TOPO_TMP/pipe.out"; then
	topo_ok "[h2] tshark -r - decoded the 2 ICMP packets of count 2"
else
	topo_fail "[h2] tshark -r - saw $n deliver packets: $(tr '\n' '|' <"$TOPO_TMP/pipe.out")"
fi

topo_step "filters run in the kernel: udp finds no ping"
trace_start h2 "$TOPO_TMP/udp.pcapng" proto udp port 9 vni 100
topo_exec a ping -n -c 3 -i 0.2 -W 1 10.0.1.3 >/dev/null
trace_stop h2
n=$(fields "$TOPO_TMP/udp.pcapng" | grep -c .)
if [ "$n" = 0 ]; then
	topo_ok "[h2] proto udp port 9: no packet captured"
else
	topo_fail "[h2] proto udp port 9 captured $n packets"
fi

topo_step "a spoofed source: the drop and its reason"
trace_start h1 "$TOPO_TMP/drop.pcapng" drops
topo_exec a ip addr add 10.0.1.99/32 dev eth0
topo_exec a ping -n -c 2 -i 0.2 -W 1 -I 10.0.1.99 10.0.1.3 >/dev/null
trace_stop h1
out=$(fields "$TOPO_TMP/drop.pcapng" | awk -F'\t' \
	'index($1, "verdict=drop") && index($1, "reason=spoofed") &&
	 $2 == 8 && $3 == "10.0.1.99"' | head -n 1)
if [ -n "$out" ]; then
	topo_ok "[h1] tshark: the spoofed echo with '${out%%	*}'"
else
	topo_fail "[h1] no drop with reason=spoofed in: $(fields "$TOPO_TMP/drop.pcapng" | head -n 5 | tr '\t\n' '| ')"
fi
n=$(fields "$TOPO_TMP/drop.pcapng" | grep -vc 'verdict=drop')
if [ "$n" = 0 ]; then
	topo_ok "[h1] drops: only drops captured"
else
	topo_fail "[h1] drops: $n packets that were not dropped"
fi

topo_step "bad arguments: one error line"
if out=$(topo_ctl h1 trace proto sctp 2>&1); then
	topo_fail "trace proto sctp succeeded"
else
	topo_ok "trace proto sctp: $(echo "$out" | tail -n 1 | sed 's/.*-> //')"
fi

topo_finish
