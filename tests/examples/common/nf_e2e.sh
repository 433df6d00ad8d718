# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What the example NFs' e2e scripts share, on top of scripts/lib/topo.sh
# (source that first): running an NF tool on a host, checking that a bad
# command line fails with one line, and TCP reachability through an NF.

# nf_e2e_run TOOL HOST ARGS...: the NF tool on HOST's pin root, inside
# HOST's netns, bounded in time.
nf_e2e_run() {
	local tool=$1 h=$2
	shift 2
	ip netns exec "$(topo_ns "$h")" timeout "$TOPO_CMD_TIMEOUT" "$tool" \
		-r "$(topo_pin_root "$h")" "$@"
}

# nf_e2e_fails DESC WORD CMD...: CMD exits non-zero with exactly one line
# on stderr, which mentions WORD (any line when WORD is empty).
nf_e2e_fails() {
	local desc=$1 word=$2 err rc lines
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	lines=$(printf '%s\n' "$err" | grep -c .)
	if [ $rc -ne 0 ] && [ "$lines" = 1 ] && [[ "$err" == *"$word"* ]]; then
		topo_ok "$desc: exit $rc, '$err'"
		return 0
	fi
	topo_fail "$desc: exit $rc, $lines stderr line(s): '$err'"
	return 1
}

# nf_e2e_expect_gt DESC VALUE MIN: VALUE is a number above MIN.
nf_e2e_expect_gt() {
	if [ -n "$2" ] && [ "$2" -gt "$3" ] 2>/dev/null; then
		topo_ok "$1 = $2 (> $3)"
	else
		topo_fail "$1 = ${2:-?} (expected > $3)"
	fi
}

# nf_e2e_stop_listener PID NAME PORT: end a listener started with topo_bg
# and wait until the port is free again.
nf_e2e_stop_listener() {
	local i
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for i in $(seq 1 50); do
		topo_exec "$2" ss -Hltn "sport = :$3" 2>/dev/null | grep -q . ||
			return 0
		sleep 0.1
	done
}

# nf_e2e_tcp FROM TO PORT yes|no: a connection from FROM to a listener on
# TO:PORT opens (yes) or is dropped (no).
nf_e2e_tcp() {
	local from=$1 to=$2 port=$3 want=$4 dst srv got=no
	dst=$(topo_ep_ip "$to")
	topo_bg "$to" timeout 15 nc -l -k "$port" >/dev/null 2>&1
	srv=$TOPO_LAST_PID
	if ! topo_wait_listen "$to" "$port"; then
		topo_fail "listener $to:$port did not start"
		nf_e2e_stop_listener "$srv" "$to" "$port"
		return 1
	fi
	topo_exec "$from" timeout 5 nc -z -w 2 "$dst" "$port" && got=yes
	if [ "$got" = "$want" ] && [ "$want" = yes ]; then
		topo_ok "tcp $from -> $to:$port connects"
	elif [ "$got" = "$want" ]; then
		topo_ok "no tcp $from -> $to:$port: the connection is dropped"
	else
		topo_fail "tcp $from -> $to:$port: connects $got, expected $want"
	fi
	nf_e2e_stop_listener "$srv" "$to" "$port"
}
