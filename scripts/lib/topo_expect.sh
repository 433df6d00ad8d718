# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# shellcheck disable=SC2034 # globals are read by the scripts sourcing this
#
# The checks of the e2e topologies: topo_ok/topo_fail, the verdict
# (topo_finish), the expect_* assertions (ping, TCP, transfers,
# counters) and packet captures. Sourced by topo.sh, which it needs
# (topo_exec, topo_ctl...); tests source topo.sh only.

[ -n "${_MZR_TOPO_EXPECT_SH:-}" ] && return 0
_MZR_TOPO_EXPECT_SH=1

# ---- Checks -----------------------------------------------------------------

topo_ok() {
	TOPO_CHECKS=$((TOPO_CHECKS + 1))
	printf '  ok: %s\n' "$*"
}
topo_fail() {
	TOPO_CHECKS=$((TOPO_CHECKS + 1))
	TOPO_FAILS=$((TOPO_FAILS + 1))
	printf '  FAILED: %s\n' "$*"
}

# topo_finish: the verdict line; exits 0 only when every check passed and
# at least one ran.
topo_finish() {
	if [ "$TOPO_FAILS" -eq 0 ] && [ "$TOPO_CHECKS" -gt 0 ]; then
		printf '\nPASS: %s (%d checks)\n' "$TOPO_NAME" "$TOPO_CHECKS"
		exit 0
	fi
	printf '\nFAIL: %s (%d of %d checks failed)\n' "$TOPO_NAME" \
		"$TOPO_FAILS" "$TOPO_CHECKS"
	exit 1
}

# topo_ping FROM DST [COUNT]: print "sent received"; bounded in time.
topo_ping() {
	local from=$1 dst=$2 count=${3:-5} out
	out=$(topo_exec "$from" timeout $((count + 5)) \
		ping -n -q -c "$count" -i 0.2 -W 1 "$dst" 2>&1)
	echo "$out" | awk '/packets transmitted/ {print $1, $4; f=1} END {if (!f) print 0, 0}'
}

# expect_ping FROM DST [COUNT]: after at most 3 warm-up tries (ARP, first
# exchange), COUNT pings in a row must all be answered.
expect_ping() {
	local from=$1 dst=$2 count=${3:-5} i res sent rcvd
	for i in 1 2 3; do
		res=$(topo_ping "$from" "$dst" 1)
		[ "${res#* }" = 1 ] && break
	done
	res=$(topo_ping "$from" "$dst" "$count")
	sent=${res% *}
	rcvd=${res#* }
	if [ "$sent" -gt 0 ] && [ "$rcvd" = "$sent" ]; then
		topo_ok "ping $from -> $dst: $rcvd/$sent replies"
		return 0
	fi
	topo_fail "ping $from -> $dst: $rcvd/$sent replies"
	return 1
}

# expect_ping_size FROM DST SIZE: ICMP payload SIZE with DF set (no
# fragmentation anywhere) is answered.
expect_ping_size() {
	local from=$1 dst=$2 size=$3 out rcvd
	out=$(topo_exec "$from" timeout 8 ping -n -q -M "do" -s "$size" -c 3 \
		-i 0.2 -W 1 "$dst" 2>&1)
	rcvd=$(echo "$out" | awk '/packets transmitted/ {print $4}')
	if [ "${rcvd:-0}" -eq 3 ]; then
		topo_ok "ping $from -> $dst, $size-byte payload, DF: 3/3 replies"
		return 0
	fi
	topo_fail "ping $from -> $dst, $size-byte payload, DF: ${rcvd:-0}/3 replies ($(echo "$out" | tail -n 1))"
	return 1
}

# expect_no_ping FROM DST [COUNT]: no reply at all.
expect_no_ping() {
	local from=$1 dst=$2 count=${3:-3} res
	res=$(topo_ping "$from" "$dst" "$count")
	if [ "${res#* }" = 0 ] && [ "${res% *}" -gt 0 ]; then
		topo_ok "no ping $from -> $dst: 0/${res% *} replies"
		return 0
	fi
	topo_fail "no ping $from -> $dst: ${res#* }/${res% *} replies (expected none)"
	return 1
}

# Wait (<= 5 s) until a TCP port listens in NAME's netns.
topo_wait_listen() {
	local name=$1 port=$2 i
	for i in $(seq 1 50); do
		topo_exec "$name" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# expect_tcp FROM TO [SECONDS]: an iperf3 run (TO serves) must move data.
expect_tcp() {
	local from=$1 to=$2 secs=${3:-2} dst port=5201 out bps
	dst=$(topo_ep_ip "$to")
	topo_bg "$to" timeout $((secs + 15)) iperf3 -s -1 -p "$port" >/dev/null 2>&1
	if ! topo_wait_listen "$to" "$port"; then
		topo_fail "tcp $from -> $to: iperf3 server did not start"
		return 1
	fi
	out=$(topo_exec "$from" timeout $((secs + 10)) iperf3 -c "$dst" -p "$port" \
		-t "$secs" -J 2>/dev/null)
	bps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	bps=${bps%.*}
	if [ -n "$bps" ] && [ "$bps" -gt 0 ] 2>/dev/null; then
		topo_ok "tcp $from -> $to ($dst): iperf3 $((bps / 1000000)) Mbit/s for ${secs}s"
		return 0
	fi
	topo_fail "tcp $from -> $to ($dst): iperf3 failed: $(echo "$out" | jq -r '.error // "no result"' 2>/dev/null | head -c 200)"
	return 1
}

# expect_transfer FROM TO [KIB]: a file sent with nc arrives intact
# (sha256 compared).
expect_transfer() {
	local from=$1 to=$2 kib=${3:-1024} dst port=7777 src out s1 s2
	dst=$(topo_ep_ip "$to")
	src=$TOPO_TMP/xfer-$from-$to.bin
	out=$TOPO_TMP/xfer-$from-$to.out
	head -c $((kib * 1024)) /dev/urandom >"$src"
	rm -f "$out"
	topo_bg "$to" timeout 20 sh -c "nc -l -N $port > '$out'"
	local srv=$TOPO_LAST_PID
	if ! topo_wait_listen "$to" "$port"; then
		topo_fail "transfer $from -> $to: nc listener did not start"
		return 1
	fi
	topo_exec "$from" timeout 15 nc -N -w 5 "$dst" "$port" <"$src" >/dev/null 2>&1
	# the listener exits at EOF
	for _ in $(seq 1 50); do
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.1
	done
	s1=$(sha256sum <"$src" | cut -c1-16)
	s2=$(sha256sum <"$out" 2>/dev/null | cut -c1-16)
	if [ "$s1" = "$s2" ]; then
		topo_ok "transfer $from -> $to ($dst): ${kib} KiB intact (sha256 $s1)"
		return 0
	fi
	topo_fail "transfer $from -> $to ($dst): sent sha256 $s1, received $s2 ($(stat -c %s "$out" 2>/dev/null || echo 0) bytes)"
	return 1
}

# topo_stats_json HOST: `mizarctl --json stats` of HOST.
topo_stats_json() { topo_ctl "$1" --json stats; }

# topo_counter HOST NAME: counter or drop reason NAME ("agent_direct",
# "ttl_expired"; `mizarctl --json stats` has them under .counters, drops
# under .drops, and per role under .roles); empty when there is no such
# counter, so that a misspelt name fails every check.
topo_counter() {
	topo_stats_json "$1" | jq -r --arg n "$2" '
		(.counters[$n]? // .drops[$n]? //
		 ([.. | objects | .[$n]? | numbers] | first)) // empty'
}

# expect_counter_gt HOST NAME [MIN]: counter NAME on HOST is > MIN (0).
expect_counter_gt() {
	local h=$1 name=$2 min=${3:-0} v
	v=$(topo_counter "$h" "$name")
	if [ -n "$v" ] && [ "$v" -gt "$min" ] 2>/dev/null; then
		topo_ok "counter $name on $h = $v (> $min)"
		return 0
	fi
	topo_fail "counter $name on $h = ${v:-?} (expected > $min)"
	return 1
}

# expect_counter_le HOST NAME MAX
expect_counter_le() {
	local h=$1 name=$2 max=$3 v
	v=$(topo_counter "$h" "$name")
	if [ -n "$v" ] && [ "$v" -le "$max" ] 2>/dev/null; then
		topo_ok "counter $name on $h = $v (<= $max)"
		return 0
	fi
	topo_fail "counter $name on $h = ${v:-?} (expected <= $max)"
	return 1
}

# topo_capture_start NAME IFACE FILTER: dumpcap in NAME's netns. Sets
# TOPO_CAP_FILE and TOPO_CAP_PID (call it directly, not in $(...)); returns
# once the capture runs.
topo_capture_start() {
	local name=$1 dev=$2 filter=$3 f log
	f=$TOPO_TMP/cap-$name-$RANDOM.pcapng
	log=$f.log
	topo_bg "$name" timeout 60 dumpcap -q -i "$dev" ${filter:+-f "$filter"} -w "$f" 2>"$log"
	TOPO_CAP_PID=$TOPO_LAST_PID
	TOPO_CAP_FILE=$f
	for _ in $(seq 1 50); do
		grep -q "Capturing on" "$log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
}

# topo_capture_stop [PID]: stop a capture (default: the last one) after
# letting the packets in flight reach the file.
topo_capture_stop() {
	local pid=${1:-$TOPO_CAP_PID}
	sleep 1	# dumpcap reads in batches
	kill -INT "$pid" 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	{ wait "$pid"; } 2>/dev/null
	return 0
}

# topo_capture_count FILE [DISPLAY_FILTER]: packets in a capture.
topo_capture_count() {
	timeout 20 tshark -n -r "$1" ${2:+-Y "$2"} 2>/dev/null | wc -l
}

# topo_counter_sum NAME HOST...: a counter summed over hosts.
topo_counter_sum() {
	local name=$1 h v sum=0
	shift
	for h in "$@"; do
		v=$(topo_counter "$h" "$name")
		[ -n "$v" ] || { echo "?"; return 1; }
		sum=$((sum + v))
	done
	echo "$sum"
}
