#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# NF chains on the real back-plane, driven by mizarctl: pass-through NFs at
# agent-egress keep traffic flowing; an NF that drops ICMP stops pings
# (counted under drop reason "nf") until it is deleted; and replacing the
# middle NF of a 3-NF chain MZR_NF_REPLACES times (default 1000) under TCP
# traffic loses no packet to a missed tail call and corrupts no transfer.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools nc jq

NFO=${MZR_BUILD_DIR}/tests/nf
REPLACES=${MZR_NF_REPLACES:-1000}
for o in nf_append_1 nf_append_2 nf_append_3 nf_append_5 nf_drop_icmp; do
	[ -f "$NFO/$o.bpf.o" ] || topo_die "missing $NFO/$o.bpf.o (build first)"
done

topo_step "setup: a@h1, b@h2, bouncer h3"
topo_init
for h in h1 h2 h3; do topo_host_add $h; done
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h3
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h2 100 10.0.1.3/24
expect_ping a 10.0.1.3

topo_step "a chain of three pass-through NFs at h1's agent-egress"
topo_ctl h1 nf add first obj "$NFO/nf_append_1.bpf.o" hook agent-egress &&
topo_ctl h1 nf add last obj "$NFO/nf_append_3.bpf.o" hook agent-egress &&
topo_ctl h1 nf add mid obj "$NFO/nf_append_2.bpf.o" hook agent-egress pos 1 &&
	topo_ok "nf add first, last, mid (pos 1)" || topo_fail "nf add"
order=$(topo_ctl h1 --json nf show | jq -r '[.nfs[] | "\(.hook):\(.pos):\(.name)"] | join(" ")')
[ "$order" = "agent-egress:0:first agent-egress:1:mid agent-egress:2:last" ] &&
	topo_ok "nf show lists the chain in order: $order" ||
	topo_fail "nf show: '$order'"
expect_ping a 10.0.1.3
expect_counter_gt h1 nf_run

topo_step "an NF dropping ICMP stops pings, counted, until deleted"
drops0=$(topo_counter h1 drop_nf)
topo_ctl h1 nf add noicmp obj "$NFO/nf_drop_icmp.bpf.o" hook agent-egress pos 2 &&
	topo_ok "nf add noicmp" || topo_fail "nf add noicmp"
expect_no_ping a 10.0.1.3
expect_counter_gt h1 drop_nf "$drops0"
topo_ctl h1 nf del noicmp && topo_ok "nf del noicmp" || topo_fail "nf del noicmp"
expect_ping a 10.0.1.3
topo_ctl h1 nf del noicmp 2>/dev/null && topo_fail "nf del twice succeeded" ||
	topo_ok "nf del of a deleted NF fails"

topo_step "replace the middle NF $REPLACES times under TCP traffic"
missed0=$(topo_counter h1 drop_missed_tail_call)
drops_h1=$(topo_counter h1 drops_total)
drops_h2=$(topo_counter h2 drops_total)
done_file=$TOPO_TMP/replaces

# One connection that lives through every replacement: a's nc reads a FIFO
# that is fed a chunk after each short transfer and closed at the end.
long_fifo=$TOPO_TMP/long.fifo
long_src=$TOPO_TMP/long.src
long_out=$TOPO_TMP/long.out
mkfifo "$long_fifo"
: >"$long_src"
topo_bg b timeout 600 sh -c "nc -l -N 7778 > '$long_out'"
long_srv=$TOPO_LAST_PID
topo_wait_listen b 7778 || topo_die "long-lived connection: listener did not start"
topo_bg a timeout 600 sh -c "nc -N -w 30 10.0.1.3 7778 < '$long_fifo'"
long_cli=$TOPO_LAST_PID
exec 9>"$long_fifo"
long_chunk() {
	head -c 65536 /dev/urandom | tee -a "$long_src" >&9
}
long_chunk
(
	n=0
	for i in $(seq 1 "$REPLACES"); do
		if [ $((i % 2)) = 1 ]; then o=nf_append_5; else o=nf_append_2; fi
		topo_ctl h1 nf replace mid obj "$NFO/$o.bpf.o" || break
		n=$i
		echo "$n" >"$done_file"
	done
) &
loop=$!
TOPO_PIDS+=("$loop")
xfers=0
while kill -0 "$loop" 2>/dev/null; do
	expect_transfer a b 2048 || break
	long_chunk || break
	xfers=$((xfers + 1))
done
wait "$loop"
exec 9>&-
for _ in $(seq 1 100); do
	kill -0 "$long_srv" 2>/dev/null || kill -0 "$long_cli" 2>/dev/null || break
	sleep 0.1
done
s1=$(sha256sum <"$long_src" | cut -c1-16)
s2=$(sha256sum <"$long_out" 2>/dev/null | cut -c1-16)
[ "$s1" = "$s2" ] && [ -s "$long_src" ] &&
	topo_ok "one TCP connection lived through all replacements: $(($(stat -c %s "$long_src") / 1024)) KiB intact" ||
	topo_fail "long-lived connection: sent sha256 $s1, received $s2 ($(stat -c %s "$long_out" 2>/dev/null || echo 0) bytes)"
n=$(cat "$done_file" 2>/dev/null || echo 0)
[ "$n" = "$REPLACES" ] && topo_ok "$n replacements of 'mid' succeeded" ||
	topo_fail "only $n of $REPLACES replacements succeeded"
[ "$xfers" -gt 0 ] && topo_ok "$xfers TCP transfers ran during the replacements" ||
	topo_fail "no TCP transfer ran during the replacements"
expect_counter_le h1 drop_missed_tail_call "$missed0"
expect_counter_le h1 drops_total "$drops_h1"
expect_counter_le h2 drops_total "$drops_h2"
order=$(topo_ctl h1 --json nf show | jq -r '[.nfs[] | "\(.pos):\(.name)"] | join(" ")')
[ "$order" = "0:first 1:mid 2:last" ] && topo_ok "chain intact: $order" ||
	topo_fail "chain after replacements: '$order'"
expect_ping a 10.0.1.3

topo_finish
