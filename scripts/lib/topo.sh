# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# shellcheck disable=SC2034 # globals are read by the scripts sourcing this
#
# A simulated multi-host Mizar cluster in network namespaces, for the demo
# and the end-to-end tests. Source this file, then:
#
#   topo_init                          # bpffs, underlay bridge, cleanup trap
#   topo_host_add h1                   # netns + ul0 on the underlay, host init
#   topo_vpc_add 100 [h4,...]          # VPC on every host, dividers by name
#   topo_net_add 100 10.0.1.0/24 h1,h2 # network on every host, bouncers
#   topo_ep_add a h3 100 10.0.1.2/24   # endpoint netns behind a veth on h3
#   expect_ping a 10.0.1.3
#   topo_finish                        # PASS/FAIL line and exit status
#
# Layout (every name carries a per-run prefix mzXXXX so parallel or aborted
# runs never collide; interface names stay within 15 characters):
#
#   netns mzXXXX-ul      bridge br0, one port p-<host> per host (xdp_pass)
#   netns mzXXXX-h-<h>   ul0 = 172.31.0.N/24, the host's underlay NIC
#                        ve-<ep>: host-side peer of each local endpoint
#   netns mzXXXX-e-<ep>  eth0: MAC set, MTU 1434, default via the gateway,
#                        xdp_pass attached (XDP_REDIRECT target), GRO on,
#                        other offloads at their defaults
#
# All host state is pinned on one private bpffs mounted at
# /run/mizar-e2e-XXXX (visible inside `ip netns exec`, unlike /sys/fs/bpf);
# host <h> uses the pin root /run/mizar-e2e-XXXX/<h>.
#
# Environment: MZR_BUILD_DIR (default <source>/build), MZR_MIZARCTL,
# MZR_XDP_PASS (override the binaries), TOPO_VERBOSE=1 (echo every mizarctl
# command), TOPO_KEEP=1 (leave everything in place at exit, for debugging;
# the next run removes it), TOPO_UL_COLD=1 (do not pre-resolve underlay
# neighbours), TOPO_TRANSIT=tc (hosts run the transit in tc: `host init
# ... mode tc`, switch ports plain, see topo_host_add).

[ -n "${_MZR_TOPO_SH:-}" ] && return 0
_MZR_TOPO_SH=1

: "${MZR_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MZR_BUILD_DIR:=$MZR_SOURCE_DIR/build}"

TOPO_UL_NET=172.31.0	# underlay /24 (private; never leaves the netns)
TOPO_EP_MTU=1434	# 1500 underlay - 66 bytes of encapsulation
TOPO_CMD_TIMEOUT=${TOPO_CMD_TIMEOUT:-15}

TOPO_ID=""
TOPO_PFX=""
TOPO_BPFFS=""
TOPO_TMP=""
TOPO_UL_NS=""
TOPO_FAILS=0
TOPO_CHECKS=0
TOPO_CLEANED=0
TOPO_MOUNTED=0
TOPO_NAME=${TOPO_NAME:-$(basename "$0" .sh)}
TOPO_HOSTS=()		# host names, in order
TOPO_NETNS=()		# every netns this run created (or tried to)
TOPO_PIDS=()		# background processes to reap at cleanup
TOPO_ON_CLEANUP=()	# extra commands run first at cleanup
declare -gA TOPO_HOST_IP=() TOPO_HOST_NS=() TOPO_HOST_INIT=()
declare -gA TOPO_EP_NS=() TOPO_EP_HOST=() TOPO_EP_VNI=() TOPO_EP_IP=()
declare -gA TOPO_EP_PLEN=() TOPO_EP_MAC=() TOPO_EP_BYPASS=()
declare -gA TOPO_VPC_DIV=()	# vni -> divider host names (comma list)
declare -gA TOPO_NET_BNC=()	# "vni prefix" -> bouncer host names
declare -gA TOPO_NET_GW=()	# "vni prefix" -> gateway IP
declare -gA TOPO_X_NS=()	# outsider name -> netns (on the underlay, no Mizar)

# ---- Messages ------------------------------------------------------------

topo_log() { printf '%s\n' "$*"; }
topo_step() { printf '\n== %s\n' "$*"; }
topo_warn() { printf 'topo: warning: %s\n' "$*" >&2; }
topo_die() {
	printf 'topo: ERROR: %s\n' "$*" >&2
	printf 'FAIL: %s (setup error: %s)\n' "$TOPO_NAME" "$*"
	exit 1
}

# ---- Address arithmetic --------------------------------------------------

topo_ip2int() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

topo_int2ip() {
	local n=$1
	echo "$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255)).$((n & 255))"
}

# topo_in_prefix IP A.B.C.D/LEN: true when IP is inside the prefix.
topo_in_prefix() {
	local ip n len mask
	ip=$(topo_ip2int "$1")
	n=$(topo_ip2int "${2%/*}")
	len=${2#*/}
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	[ $((ip & mask)) -eq $((n & mask)) ]
}

# topo_first_host A.B.C.D/LEN: the first host address (default gateway).
topo_first_host() {
	local n len mask
	n=$(topo_ip2int "${1%/*}")
	len=${1#*/}
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	topo_int2ip $(((n & mask) + 1))
}

# topo_mac_for VNI IP: a stable, locally administered MAC for an endpoint.
topo_mac_for() {
	local a b c d
	IFS=. read -r a b c d <<<"$2"
	printf '0e:%02x:%02x:%02x:%02x:%02x' $(($1 & 255)) "$a" "$b" "$c" "$d"
}

# ---- Prerequisites --------------------------------------------------------

# Exit 77 (CTest's "skipped") with a reason when not root.
topo_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $TOPO_NAME needs root (network namespaces, XDP, bpffs)"
		exit 77
	fi
}

# topo_require_tools TOOL...: fail loudly (not skip) when a tool is missing;
# scripts/install-deps.sh installs all of them.
topo_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			topo_die "missing tool '$t' (run scripts/install-deps.sh)"
	done
}

topo_find_bins() {
	local b=$MZR_BUILD_DIR c
	if [ -z "${MZR_MIZARCTL:-}" ]; then
		for c in "$b/tools/mizarctl/mizarctl" "$b/tools/mizarctl" \
			"$b/bin/mizarctl" "$(command -v mizarctl 2>/dev/null)"; do
			if [ -n "$c" ] && [ -f "$c" ] && [ -x "$c" ]; then
				MZR_MIZARCTL=$c
				break
			fi
		done
	fi
	[ -n "${MZR_MIZARCTL:-}" ] && [ -x "$MZR_MIZARCTL" ] ||
		topo_die "mizarctl not found under $b (build first, or set MZR_BUILD_DIR / MZR_MIZARCTL)"
	MZR_MIZARCTL=$(readlink -f "$MZR_MIZARCTL")
	: "${MZR_XDP_PASS:=$b/tests/bpf/xdp_pass.bpf.o}"
	if [ -f "$MZR_XDP_PASS" ]; then
		MZR_XDP_PASS=$(readlink -f "$MZR_XDP_PASS")
	else
		topo_warn "$MZR_XDP_PASS missing: using GRO instead of xdp_pass on veth peers"
		MZR_XDP_PASS=""
	fi
}

# ---- Running things -------------------------------------------------------

# topo_ns NAME: the netns of a host or an endpoint.
topo_ns() {
	if [ -n "${TOPO_HOST_NS[$1]:-}" ]; then
		echo "${TOPO_HOST_NS[$1]}"
	elif [ -n "${TOPO_EP_NS[$1]:-}" ]; then
		echo "${TOPO_EP_NS[$1]}"
	elif [ -n "${TOPO_X_NS[$1]:-}" ]; then
		echo "${TOPO_X_NS[$1]}"
	elif [ "$1" = ul ]; then
		echo "$TOPO_UL_NS"
	else
		echo "topo: no host or endpoint named '$1'" >&2
		return 1
	fi
}

# topo_exec NAME CMD...: run CMD inside the netns of host/endpoint NAME.
topo_exec() {
	local ns
	ns=$(topo_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

topo_host_ip() { echo "${TOPO_HOST_IP[$1]:?unknown host $1}"; }
topo_ep_ip() { echo "${TOPO_EP_IP[$1]:?unknown endpoint $1}"; }
topo_ep_host() { echo "${TOPO_EP_HOST[$1]:?unknown endpoint $1}"; }
topo_pin_root() { echo "$TOPO_BPFFS/$1"; }

# topo_ctl HOST ARGS...: mizarctl on HOST's pin root, inside HOST's netns,
# bounded in time. Prints the command and its stderr on failure.
topo_ctl() {
	local h=$1 ns rc err
	shift
	ns=${TOPO_HOST_NS[$h]:-}
	[ -n "$ns" ] || { echo "topo_ctl: unknown host '$h'" >&2; return 1; }
	[ "${TOPO_VERBOSE:-0}" = 1 ] && echo "  [$h] mizarctl $*" >&2
	err=$(mktemp "$TOPO_TMP/err.XXXXXX")
	ip netns exec "$ns" timeout "$TOPO_CMD_TIMEOUT" \
		"$MZR_MIZARCTL" -r "$TOPO_BPFFS/$h" "$@" 2>"$err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "topo: [$h] mizarctl -r $TOPO_BPFFS/$h $* -> exit $rc: $(tr '\n' ' ' <"$err")" >&2
	elif grep -q '^libbpf: ' "$err"; then
		# A successful command keeps libbpf's chatter to itself
		# (docs/host-api.md); every e2e test checks it here.
		echo "topo: [$h] mizarctl $* succeeded but printed libbpf lines: $(grep '^libbpf: ' "$err" | tr '\n' ' ')" >&2
		rc=1
	elif [ -s "$err" ] && [ "${TOPO_VERBOSE:-0}" = 1 ]; then
		cat "$err" >&2
	fi
	rm -f "$err"
	return $rc
}

# topo_bg NAME CMD...: start CMD in the background inside NAME's netns;
# the PID is in TOPO_LAST_PID and the process is reaped at cleanup.
topo_bg() {
	local ns
	ns=$(topo_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@" &
	TOPO_LAST_PID=$!
	TOPO_PIDS+=("$TOPO_LAST_PID")
}

# Hosts names given as "h1,h2" -> their underlay IPs "172.31.0.1,...".
topo_hosts_to_ips() {
	local out="" h
	local IFS=,
	for h in $1; do
		[ -n "${TOPO_HOST_IP[$h]:-}" ] || { echo "topo: unknown host '$h'" >&2; return 1; }
		out+="${out:+,}${TOPO_HOST_IP[$h]}"
	done
	echo "$out"
}

topo_sysctl() {	# topo_sysctl NS key=value...
	local ns=$1 kv
	shift
	for kv in "$@"; do
		ip netns exec "$ns" sysctl -qw "$kv" >/dev/null 2>&1 ||
			topo_warn "sysctl $kv failed in $ns"
	done
}

# Make DEV (in NS) a valid XDP_REDIRECT / XDP_TX target.
topo_xdp_pass() {
	local ns=$1 dev=$2
	if [ -n "$MZR_XDP_PASS" ]; then
		ip -n "$ns" link set dev "$dev" xdp obj "$MZR_XDP_PASS" sec xdp ||
			topo_die "cannot attach xdp_pass to $dev in $ns"
	else
		ip netns exec "$ns" ethtool -K "$dev" gro on >/dev/null ||
			topo_die "cannot enable GRO on $dev in $ns"
	fi
}

# ---- Setup ----------------------------------------------------------------

# Remove what runs killed without cleanup left behind (their owner is dead).
topo_gc() {
	local f id pid ns
	for f in /run/mizar-e2e-*.owner; do
		[ -e "$f" ] || continue
		id=${f#/run/mizar-e2e-}
		id=${id%.owner}
		pid=$(cat "$f" 2>/dev/null)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			continue
		fi
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^mz$id-"); do
			ip netns del "$ns" 2>/dev/null
		done
		umount -l "/run/mizar-e2e-$id" 2>/dev/null
		rmdir "/run/mizar-e2e-$id" 2>/dev/null
		rm -rf "/tmp/mizar-e2e-$id".*
		rm -f "$f"
	done
}

# topo_init: private bpffs, underlay bridge netns, cleanup trap.
topo_init() {
	topo_require_root
	topo_require_tools ip timeout jq ping ethtool
	topo_find_bins
	topo_gc
	local i
	for i in 1 2 3 4 5 6 7 8; do
		TOPO_ID=$(printf '%04x' $(((RANDOM ^ ($$ << 3) ^ (RANDOM << 7)) & 0xffff)))
		[ ! -e "/run/mizar-e2e-$TOPO_ID" ] && [ ! -e "/run/mizar-e2e-$TOPO_ID.owner" ] && break
	done
	TOPO_PFX=mz$TOPO_ID
	TOPO_BPFFS=/run/mizar-e2e-$TOPO_ID
	TOPO_UL_NS=$TOPO_PFX-ul
	trap 'topo_cleanup' EXIT
	trap 'echo "topo: interrupted" >&2; exit 130' INT
	trap 'echo "topo: terminated" >&2; exit 143' TERM
	echo $$ >"/run/mizar-e2e-$TOPO_ID.owner"
	TOPO_TMP=$(mktemp -d "/tmp/mizar-e2e-$TOPO_ID.XXXXXX") ||
		topo_die "mktemp failed"
	mkdir -p "$TOPO_BPFFS" || topo_die "mkdir $TOPO_BPFFS failed"
	mount -t bpf bpf "$TOPO_BPFFS" || topo_die "cannot mount bpffs on $TOPO_BPFFS"
	TOPO_MOUNTED=1
	TOPO_NETNS+=("$TOPO_UL_NS")
	ip netns add "$TOPO_UL_NS" || topo_die "ip netns add $TOPO_UL_NS failed"
	topo_sysctl "$TOPO_UL_NS" net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$TOPO_UL_NS" link set lo up
	ip -n "$TOPO_UL_NS" link add br0 type bridge stp_state 0 forward_delay 0 ||
		topo_die "cannot create the underlay bridge"
	ip -n "$TOPO_UL_NS" link set br0 up
	topo_log "topo: run $TOPO_PFX, pin roots on $TOPO_BPFFS, underlay $TOPO_UL_NET.0/24"
}

# Replay the VPCs and networks recorded so far onto a new host.
topo_host_replay() {
	local h=$1 vni key div
	for vni in "${!TOPO_VPC_DIV[@]}"; do
		div=${TOPO_VPC_DIV[$vni]}
		topo_ctl "$h" vpc add vni "$vni" ${div:+dividers "$(topo_hosts_to_ips "$div")"} ||
			return 1
	done
	for key in "${!TOPO_NET_BNC[@]}"; do
		topo_ctl "$h" net add vni "${key% *}" prefix "${key#* }" \
			bouncers "$(topo_hosts_to_ips "${TOPO_NET_BNC[$key]}")" \
			gw "${TOPO_NET_GW[$key]}" || return 1
	done
}

# topo_host_add NAME [noinit]: a host netns with underlay NIC ul0 on the
# bridge, the Mizar back-plane loaded on ul0 (unless noinit), and the VPCs
# and networks defined so far.
topo_host_add() {
	local h=$1 n ns ip
	[[ "$h" =~ ^[a-z0-9]{1,12}$ ]] || topo_die "bad host name '$h' (a-z0-9, <= 12 chars)"
	[ -z "${TOPO_HOST_NS[$h]:-}" ] || topo_die "host $h exists"
	n=$((${#TOPO_HOSTS[@]} + 1))
	ns=$TOPO_PFX-h-$h
	ip=$TOPO_UL_NET.$n
	TOPO_HOSTS+=("$h")
	TOPO_HOST_NS[$h]=$ns
	TOPO_HOST_IP[$h]=$ip
	TOPO_NETNS+=("$ns")
	ip netns add "$ns" || topo_die "ip netns add $ns failed"
	# No forwarding or rp_filter settings here: the back-plane sets the
	# ones it needs itself (per device), and the suite checks that.
	topo_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
	ip link add name ul0 netns "$ns" type veth peer name "p-$h" \
		netns "$TOPO_UL_NS" || topo_die "cannot create the underlay veth of $h"
	ip -n "$ns" addr add "$ip/24" dev ul0 || topo_die "cannot address ul0 on $h"
	ip -n "$ns" link set ul0 up
	ip -n "$TOPO_UL_NS" link set "p-$h" master br0 up ||
		topo_die "cannot plug $h into the bridge"
	# A tc transit takes skbs: the port stays without XDP, checksum
	# offload on, so super-packets reach the host whole, as between two
	# kind nodes on a docker bridge; GRO on gives it the NAPI an XDP
	# program's XDP_TX/XDP_REDIRECT into it needs (the XDP agent, or
	# the XDP transit while an NF chain needs it).
	if [ "${TOPO_TRANSIT:-}" = tc ]; then
		ip netns exec "$TOPO_UL_NS" ethtool -K "p-$h" gro on >/dev/null ||
			topo_die "cannot turn GRO on on the switch port p-$h"
	else
		topo_xdp_pass "$TOPO_UL_NS" "p-$h"
		# The simulated wire finalises checksums in software where a
		# real NIC would in hardware: frames the tc agent sent with
		# checksum offload pending (CHECKSUM_PARTIAL) get complete
		# checksums on the switch port's egress, before the next
		# host's XDP sees their bytes.
		ip netns exec "$TOPO_UL_NS" ethtool -K "p-$h" tx off >/dev/null ||
			topo_die "cannot set checksum offload off on the switch port p-$h"
	fi
	mkdir -p "$TOPO_BPFFS/$h" || topo_die "mkdir $TOPO_BPFFS/$h failed"
	[ "${TOPO_UL_COLD:-0}" = 1 ] || topo_ul_warm "$h"
	if [ "${2:-}" != noinit ]; then
		# shellcheck disable=SC2046
		topo_ctl "$h" host init dev ul0 \
			$([ "${TOPO_TRANSIT:-}" = tc ] && echo mode tc) ||
			topo_die "host init failed on $h"
		TOPO_HOST_INIT[$h]=1
		topo_host_replay "$h" || topo_die "cannot replay VPCs/networks on $h"
		topo_host_peers "$h" || topo_die "cannot exchange known peers with $h"
	fi
	topo_log "topo: host $h = $ip (netns $ns)"
}

# topo_host_peers HOST: HOST and every other initialised host know each
# other as Mizar hosts (`host peer add`), as a cluster gives every host its
# node list: Geneve from anyone else is dropped (docs/security.md).
topo_host_peers() {
	local h=$1 o ips=""
	for o in "${TOPO_HOSTS[@]}"; do
		[ "$o" = "$h" ] && continue
		[ -n "${TOPO_HOST_INIT[$o]:-}" ] || continue
		topo_ctl "$o" host peer add "${TOPO_HOST_IP[$h]}" || return 1
		ips+="${ips:+,}${TOPO_HOST_IP[$o]}"
	done
	[ -z "$ips" ] || topo_ctl "$h" host peer add "$ips"
}

# topo_outsider_add NAME IP: a machine on the underlay bridge that is no
# Mizar host (an "Internet" host, or an attacker), eth0 = IP/24; topo_exec
# NAME runs commands in it.
topo_outsider_add() {
	local x=$1 ip=$2 ns
	[[ "$x" =~ ^[a-z0-9]{1,12}$ ]] || topo_die "bad outsider name '$x'"
	ns=$TOPO_PFX-x-$x
	TOPO_X_NS[$x]=$ns
	TOPO_NETNS+=("$ns")
	ip netns add "$ns" || topo_die "ip netns add $ns failed"
	topo_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
	ip link add name eth0 netns "$ns" type veth peer name "p-x$x" \
		netns "$TOPO_UL_NS" || topo_die "cannot create the veth of $x"
	ip -n "$ns" addr add "$ip/24" dev eth0 || topo_die "cannot address $x"
	# Complete checksums: its frames meet XDP programs, not offloads.
	ip netns exec "$ns" ethtool -K eth0 tx off tso off gso off \
		>/dev/null 2>&1 || topo_warn "cannot turn off offloads on $x"
	ip -n "$ns" link set eth0 up
	ip -n "$TOPO_UL_NS" link set "p-x$x" master br0 up ||
		topo_die "cannot plug $x into the bridge"
	topo_xdp_pass "$TOPO_UL_NS" "p-x$x"
	topo_log "topo: outsider $x = $ip (netns $ns, no Mizar)"
}

# topo_ul_warm HOST: HOST and every other host resolve each other's
# underlay MAC (one ping: the request teaches the target, the reply the
# sender), as on any live underlay. topo_host_add does it unless
# TOPO_UL_COLD=1; the data plane's "neighbour unresolved" path is tested
# on its own (tests/e2e/cold_neigh.sh).
topo_ul_warm() {
	local h=$1 o
	for o in "${TOPO_HOSTS[@]}"; do
		[ "$h" = "$o" ] && continue
		ip netns exec "${TOPO_HOST_NS[$h]}" timeout 3 ping -n -q -c 1 \
			-W 1 "${TOPO_HOST_IP[$o]}" >/dev/null 2>&1 ||
			topo_warn "underlay ping $h -> $o failed"
	done
}

# topo_ul_neigh HOST OTHER: HOST knows OTHER's underlay MAC (a permanent
# neighbour entry) without OTHER learning HOST's: for one-way cold paths.
topo_ul_neigh() {
	local mac
	mac=$(ip -n "${TOPO_HOST_NS[$2]}" link show ul0 2>/dev/null |
		awk '/link\/ether/ {print $2}')
	ip -n "${TOPO_HOST_NS[$1]}" neigh replace "${TOPO_HOST_IP[$2]}" \
		lladdr "$mac" dev ul0 nud permanent
}

# topo_vpc_add VNI [DIVIDER_HOSTS]: the VPC on every host.
topo_vpc_add() {
	local vni=$1 div=${2:-} ips="" h
	if [ -n "$div" ]; then ips=$(topo_hosts_to_ips "$div") || topo_die "bad dividers '$div'"; fi
	TOPO_VPC_DIV[$vni]=$div
	for h in "${TOPO_HOSTS[@]}"; do
		[ -n "${TOPO_HOST_INIT[$h]:-}" ] || continue
		topo_ctl "$h" vpc add vni "$vni" ${ips:+dividers "$ips"} ||
			topo_die "vpc add vni $vni failed on $h"
	done
	topo_log "topo: vpc $vni${div:+, dividers $div}"
}

# topo_vpc_set VNI DIVIDER_HOSTS: change the dividers on every host.
topo_vpc_set() {
	local vni=$1 ips h rc=0
	ips=$(topo_hosts_to_ips "$2") || return 1
	TOPO_VPC_DIV[$vni]=$2
	for h in "${TOPO_HOSTS[@]}"; do
		[ -n "${TOPO_HOST_INIT[$h]:-}" ] || continue
		topo_ctl "$h" vpc set vni "$vni" dividers "$ips" || rc=1
	done
	return $rc
}

# The network key ("vni prefix") holding endpoint address IP of VPC VNI.
topo_net_of() {
	local vni=$1 ip=$2 key
	for key in "${!TOPO_NET_BNC[@]}"; do
		[ "${key% *}" = "$vni" ] || continue
		if topo_in_prefix "$ip" "${key#* }"; then
			echo "$key"
			return 0
		fi
	done
	return 1
}

# topo_net_add VNI PREFIX BOUNCER_HOSTS [GW]: the network on every host.
topo_net_add() {
	local vni=$1 prefix=$2 bnc=$3 gw=${4:-} ips h
	ips=$(topo_hosts_to_ips "$bnc") || topo_die "bad bouncers '$bnc'"
	[ -n "$gw" ] || gw=$(topo_first_host "$prefix")
	TOPO_NET_BNC["$vni $prefix"]=$bnc
	TOPO_NET_GW["$vni $prefix"]=$gw
	for h in "${TOPO_HOSTS[@]}"; do
		[ -n "${TOPO_HOST_INIT[$h]:-}" ] || continue
		topo_ctl "$h" net add vni "$vni" prefix "$prefix" bouncers "$ips" gw "$gw" ||
			topo_die "net add $prefix failed on $h"
	done
	topo_log "topo: vpc $vni network $prefix gw $gw, bouncers $bnc"
}

# The endpoint entry as a bouncer holds it (no dev).
topo_ep_ctl_remote() {	# HOST add|del EP
	local b=$1 verb=$2 e=$3
	if [ "$verb" = add ]; then
		topo_ctl "$b" ep add vni "${TOPO_EP_VNI[$e]}" ip "${TOPO_EP_IP[$e]}" \
			mac "${TOPO_EP_MAC[$e]}" host "${TOPO_HOST_IP[${TOPO_EP_HOST[$e]}]}" \
			${TOPO_EP_BYPASS[$e]:+bypass-decap}
	else
		topo_ctl "$b" ep del vni "${TOPO_EP_VNI[$e]}" ip "${TOPO_EP_IP[$e]}"
	fi
}

# topo_net_set VNI PREFIX BOUNCER_HOSTS: move a network to a new bouncer
# set: new bouncers learn its endpoints first, then every host switches,
# then the old bouncers forget them.
topo_net_set() {
	local vni=$1 prefix=$2 new=$3 key="$1 $2" old ips h e rc=0
	old=${TOPO_NET_BNC[$key]:-}
	[ -n "$old" ] || { echo "topo: no network $key" >&2; return 1; }
	ips=$(topo_hosts_to_ips "$new") || return 1
	for h in ${new//,/ }; do
		[[ ",$old," == *",$h,"* ]] && continue
		for e in "${!TOPO_EP_NS[@]}"; do
			[ "$(topo_net_of "${TOPO_EP_VNI[$e]}" "${TOPO_EP_IP[$e]}")" = "$key" ] || continue
			[ "${TOPO_EP_HOST[$e]}" = "$h" ] && continue
			topo_ep_ctl_remote "$h" add "$e" || rc=1
		done
	done
	for h in "${TOPO_HOSTS[@]}"; do
		[ -n "${TOPO_HOST_INIT[$h]:-}" ] || continue
		topo_ctl "$h" net set vni "$vni" prefix "$prefix" bouncers "$ips" || rc=1
	done
	TOPO_NET_BNC[$key]=$new
	for h in ${old//,/ }; do
		[[ ",$new," == *",$h,"* ]] && continue
		for e in "${!TOPO_EP_NS[@]}"; do
			[ "$(topo_net_of "${TOPO_EP_VNI[$e]}" "${TOPO_EP_IP[$e]}")" = "$key" ] || continue
			[ "${TOPO_EP_HOST[$e]}" = "$h" ] && continue
			topo_ep_ctl_remote "$h" del "$e" || rc=1
		done
	done
	return $rc
}

# topo_ep_add NAME HOST VNI IP/LEN [mac MAC] [bypass] [noreg gw IP]: an
# endpoint netns behind a veth whose host-side peer ve-NAME lives on HOST;
# registered with `mizarctl ep add ... dev ve-NAME` on HOST and without dev
# on the bouncers of its network. noreg: only the netns and veth (the
# caller registers it, e.g. with `mizarctl apply`); gw: its default
# gateway, needed when its network was not made by topo_net_add.
topo_ep_add() {
	local e=$1 h=$2 vni=$3 cidr=$4 ip plen mac="" bypass="" ns hns key gw="" b mtu
	local noreg=""
	shift 4
	while [ $# -gt 0 ]; do
		case $1 in
		mac) mac=$2; shift 2 ;;
		bypass) bypass=1; shift ;;
		noreg) noreg=1; shift ;;
		gw) gw=$2; shift 2 ;;
		*) topo_die "topo_ep_add: unknown option '$1'" ;;
		esac
	done
	[[ "$e" =~ ^[a-z0-9]{1,12}$ ]] || topo_die "bad endpoint name '$e' (a-z0-9, <= 12 chars)"
	[ -z "${TOPO_EP_NS[$e]:-}" ] || topo_die "endpoint $e exists"
	hns=${TOPO_HOST_NS[$h]:-}
	[ -n "$hns" ] || topo_die "topo_ep_add $e: unknown host '$h'"
	ip=${cidr%/*}
	plen=${cidr#*/}
	if [ -z "$gw" ]; then
		key=$(topo_net_of "$vni" "$ip") || topo_die "no network of vpc $vni holds $ip"
		gw=${TOPO_NET_GW[$key]}
	fi
	[ -n "$mac" ] || mac=$(topo_mac_for "$vni" "$ip")
	ns=$TOPO_PFX-e-$e
	TOPO_EP_NS[$e]=$ns
	TOPO_EP_HOST[$e]=$h
	TOPO_EP_VNI[$e]=$vni
	TOPO_EP_IP[$e]=$ip
	TOPO_EP_PLEN[$e]=$plen
	TOPO_EP_MAC[$e]=$mac
	TOPO_EP_BYPASS[$e]=$bypass
	TOPO_NETNS+=("$ns")
	# A bypass-decap endpoint receives the tunnel frame whole: it needs the
	# underlay MTU.
	mtu=$TOPO_EP_MTU
	[ -n "$bypass" ] && mtu=1500
	ip netns add "$ns" || topo_die "ip netns add $ns failed"
	topo_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
	ip link add name "ve-$e" netns "$hns" type veth peer name eth0 netns "$ns" ||
		topo_die "cannot create the veth of $e"
	ip -n "$ns" link set eth0 address "$mac" mtu "$mtu" ||
		topo_die "cannot set MAC/MTU of $e"
	# Offloads (checksum, TSO, GSO) stay at their defaults, as a
	# container runtime leaves them: the agent keeps them (tc agent).
	ip -n "$ns" addr add "$ip/$plen" dev eth0 || topo_die "cannot address $e"
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$gw" dev eth0 ||
		topo_die "cannot route $e via $gw"
	topo_xdp_pass "$ns" eth0
	# GRO on the endpoint's eth0: frames the transit decapsulates arrive
	# MTU-sized (XDP_REDIRECT); GRO hands the endpoint's TCP 64 KB
	# aggregates, as a NIC's GRO would (veth has it off by default).
	ip netns exec "$ns" ethtool -K eth0 gro on >/dev/null ||
		topo_warn "cannot turn GRO on for $e"
	ip -n "$hns" link set "ve-$e" mtu "$mtu" up || topo_die "cannot bring ve-$e up"
	if [ -n "${TOPO_HOST_INIT[$h]:-}" ] && [ -z "$noreg" ]; then
		topo_ctl "$h" ep add vni "$vni" ip "$ip" mac "$mac" \
			host "${TOPO_HOST_IP[$h]}" dev "ve-$e" ${bypass:+bypass-decap} ||
			topo_die "ep add $e failed on $h"
		for b in ${TOPO_NET_BNC[$key]//,/ }; do
			[ "$b" = "$h" ] && continue
			topo_ep_ctl_remote "$b" add "$e" ||
				topo_die "ep add $e failed on bouncer $b"
		done
	fi
	topo_log "topo: endpoint $e = $ip/$plen mac $mac on $h (vpc $vni${bypass:+, bypass-decap})"
}

# topo_scaled_ep_add VNI IP/LEN MAC NAME:HOST[,NAME:HOST...]: a scaled
# endpoint, one address served by several hosts: a copy NAME (an endpoint
# netns with the same IP and MAC) on each HOST, registered there with
# `ep add ... host H1,H2,... dev ve-NAME` and on the network's other
# bouncers without dev. TOPO_SCALED_HOSTS["VNI IP"] keeps the host list.
declare -gA TOPO_SCALED_HOSTS=()
topo_scaled_ep_add() {
	local vni=$1 cidr=$2 mac=$3 copies=$4 ip c e h hosts="" ips key b
	ip=${cidr%/*}
	key=$(topo_net_of "$vni" "$ip") || topo_die "no network of vpc $vni holds $ip"
	for c in ${copies//,/ }; do
		hosts+="${hosts:+,}${c#*:}"
	done
	ips=$(topo_hosts_to_ips "$hosts") || topo_die "bad hosts '$hosts'"
	TOPO_SCALED_HOSTS["$vni $ip"]=$hosts
	for c in ${copies//,/ }; do
		e=${c%%:*}
		h=${c#*:}
		topo_ep_add "$e" "$h" "$vni" "$cidr" mac "$mac" noreg
		topo_ctl "$h" ep add vni "$vni" ip "$ip" mac "$mac" host "$ips" \
			dev "ve-$e" || topo_die "ep add (scaled) $e failed on $h"
	done
	for b in ${TOPO_NET_BNC[$key]//,/ }; do
		[[ ",$hosts," == *",$b,"* ]] && continue
		topo_ctl "$b" ep add vni "$vni" ip "$ip" mac "$mac" host "$ips" ||
			topo_die "ep add (scaled) $ip failed on bouncer $b"
	done
	topo_log "topo: scaled endpoint $ip mac $mac on $hosts (vpc $vni)"
}

# topo_tap_ep_add NAME HOST VNI IP/LEN [mac MAC]: a VM's endpoint: a tap
# device ve-NAME on HOST (MTU as a veth endpoint's), registered with
# `ep add ... dev ve-NAME` there and without dev on the bouncers. The
# caller runs the "guest" on the tap's fd (tests/e2e/tap_vm.py).
topo_tap_ep_add() {
	local e=$1 h=$2 vni=$3 cidr=$4 ip mac="" hns key b
	[ "${5:-}" = mac ] && mac=$6
	hns=${TOPO_HOST_NS[$h]:-}
	[ -n "$hns" ] || topo_die "topo_tap_ep_add $e: unknown host '$h'"
	ip=${cidr%/*}
	key=$(topo_net_of "$vni" "$ip") || topo_die "no network of vpc $vni holds $ip"
	[ -n "$mac" ] || mac=$(topo_mac_for "$vni" "$ip")
	ip -n "$hns" tuntap add dev "ve-$e" mode tap ||
		topo_die "cannot create tap ve-$e on $h"
	ip -n "$hns" link set "ve-$e" mtu "$TOPO_EP_MTU" up ||
		topo_die "cannot bring tap ve-$e up"
	TOPO_EP_HOST[$e]=$h
	TOPO_EP_VNI[$e]=$vni
	TOPO_EP_IP[$e]=$ip
	TOPO_EP_PLEN[$e]=${cidr#*/}
	TOPO_EP_MAC[$e]=$mac
	TOPO_EP_BYPASS[$e]=""
	topo_ctl "$h" ep add vni "$vni" ip "$ip" mac "$mac" dev "ve-$e" ||
		topo_die "ep add $e (tap) failed on $h"
	for b in ${TOPO_NET_BNC[$key]//,/ }; do
		[ "$b" = "$h" ] && continue
		topo_ep_ctl_remote "$b" add "$e" ||
			topo_die "ep add $e failed on bouncer $b"
	done
	topo_log "topo: tap endpoint $e = $ip mac $mac on $h (ve-$e, vpc $vni)"
}

# topo_ep_del NAME [keepns]: unregister the endpoint everywhere and delete
# its netns (unless keepns).
topo_ep_del() {
	local e=$1 h key b rc=0 i
	h=${TOPO_EP_HOST[$e]:-}
	[ -n "$h" ] || { echo "topo: no endpoint '$e'" >&2; return 1; }
	key=$(topo_net_of "${TOPO_EP_VNI[$e]}" "${TOPO_EP_IP[$e]}")
	topo_ctl "$h" ep del vni "${TOPO_EP_VNI[$e]}" ip "${TOPO_EP_IP[$e]}" || rc=1
	for b in ${TOPO_NET_BNC[$key]//,/ }; do
		[ "$b" = "$h" ] && continue
		topo_ep_ctl_remote "$b" del "$e" || rc=1
	done
	if [ "${2:-}" != keepns ]; then
		ip -n "${TOPO_HOST_NS[$h]}" link del "ve-$e" 2>/dev/null
		ip netns del "${TOPO_EP_NS[$e]}" 2>/dev/null
		for i in "${!TOPO_NETNS[@]}"; do
			[ "${TOPO_NETNS[$i]}" = "${TOPO_EP_NS[$e]}" ] && unset 'TOPO_NETNS[i]'
		done
		unset "TOPO_EP_NS[$e]" "TOPO_EP_HOST[$e]" "TOPO_EP_VNI[$e]" \
			"TOPO_EP_IP[$e]" "TOPO_EP_PLEN[$e]" "TOPO_EP_MAC[$e]" \
			"TOPO_EP_BYPASS[$e]"
	fi
	return $rc
}

# ---- Cleanup ----------------------------------------------------------------

# topo_on_cleanup CMD: run CMD first at cleanup (TOPO_EXIT_RC holds the
# exit status).
topo_on_cleanup() { TOPO_ON_CLEANUP+=("$*"); }

# topo_cleanup: remove everything this run made. Idempotent, safe after a
# partial setup; installed on EXIT (INT/TERM exit through it).
topo_cleanup() {
	local rc=$? c p h ns
	[ "$TOPO_CLEANED" = 1 ] && return $rc
	TOPO_CLEANED=1
	trap '' INT TERM
	if [ "${TOPO_KEEP:-0}" = 1 ]; then
		echo "topo: TOPO_KEEP=1, leaving $TOPO_PFX-* and $TOPO_BPFFS in place" >&2
		return $rc
	fi
	TOPO_EXIT_RC=$rc
	for c in "${TOPO_ON_CLEANUP[@]}"; do eval "$c"; done
	for p in "${TOPO_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${TOPO_PIDS[@]}"; do
		# bounded: a process ignoring TERM gets KILL after ~2 s
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$p" 2>/dev/null
		{ wait "$p"; } 2>/dev/null
	done
	TOPO_PIDS=()
	for h in "${TOPO_HOSTS[@]}"; do
		[ -n "${TOPO_HOST_INIT[$h]:-}" ] || continue
		ip netns exec "${TOPO_HOST_NS[$h]}" timeout 10 "$MZR_MIZARCTL" \
			-r "$TOPO_BPFFS/$h" host reset >/dev/null 2>&1 ||
			echo "topo: host reset failed on $h (ignored)" >&2
	done
	for ns in "${TOPO_NETNS[@]}"; do
		[ "$ns" = "$TOPO_UL_NS" ] && continue
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$TOPO_UL_NS" ] && ip netns del "$TOPO_UL_NS" 2>/dev/null
	TOPO_NETNS=()
	if [ "$TOPO_MOUNTED" = 1 ]; then
		umount "$TOPO_BPFFS" 2>/dev/null || umount -l "$TOPO_BPFFS" 2>/dev/null
		TOPO_MOUNTED=0
	fi
	[ -n "$TOPO_BPFFS" ] && rmdir "$TOPO_BPFFS" 2>/dev/null
	[ -n "$TOPO_ID" ] && rm -f "/run/mizar-e2e-$TOPO_ID.owner"
	[ -n "$TOPO_TMP" ] && rm -rf "$TOPO_TMP"
	return $rc
}

# ---- Checks (topo_expect.sh) -------------------------------------------------

# shellcheck source-path=SCRIPTDIR source=topo_expect.sh
. "$(dirname "${BASH_SOURCE[0]}")/topo_expect.sh"
