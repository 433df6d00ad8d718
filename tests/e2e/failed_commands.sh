#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A failed command changes nothing: every failing mizarctl command below
# (unknown objects, bad arguments, conflicts, a full chain, chains too
# long for one packet, an init that cannot attach) exits non-zero with an
# error line, and leaves the listing of the bpffs holding the pin roots
# (`find | sort`, with sizes and types) and every `show` byte-identical.
set -u -o pipefail
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root

NFO=${MZR_BUILD_DIR}/tests/nf
NF=$NFO/nf_append_1.bpf.o
[ -f "$NF" ] || topo_die "missing $NF (build first)"
ACL=$MZR_BUILD_DIR/tools/mizar-acl
[ -x "$ACL" ] || topo_die "missing $ACL (build first)"

topo_step "setup: h1 with VPC 100, network 10.0.1.0/24, endpoints a, b on h1 and a remote one"
topo_init
topo_host_add h1
topo_vpc_add 100
topo_net_add 100 10.0.1.0/24 h1
topo_ep_add a h1 100 10.0.1.2/24
topo_ep_add b h1 100 10.0.1.3/24
topo_ctl h1 ep add vni 100 ip 10.0.1.5 mac 02:00:00:00:01:05 host 172.31.0.9 ||
	topo_die "ep add"
ns=$(topo_ns h1)
root=$(topo_pin_root h1)
nobpf=$(mktemp -d "$TOPO_TMP/nobpf.XXXXXX")

snapshot() {
	find "$TOPO_BPFFS" "$nobpf" -printf '%p %s %y\n' | sort
	for o in vpc net ep nf; do
		topo_ctl h1 --json $o show
	done
}

# fails DESCRIPTION [-r ROOT] ARGS...: mizarctl fails and changes nothing.
fails() {
	local what=$1 r=$root rc err before after
	shift
	if [ "$1" = -r ]; then
		r=$2
		shift 2
	fi
	before=$(snapshot)
	err=$(ip netns exec "$ns" timeout 60 "$MZR_MIZARCTL" -r "$r" "$@" 2>&1 >/dev/null)
	rc=$?
	after=$(snapshot)
	if [ $rc -eq 0 ]; then
		topo_fail "$what: mizarctl $* succeeded"
	elif [ -z "$err" ]; then
		topo_fail "$what: mizarctl $* failed (exit $rc) without an error line"
	elif [ "$before" != "$after" ]; then
		topo_fail "$what: mizarctl $* failed (exit $rc) but changed state:"
		diff <(echo "$before") <(echo "$after") | head -10
	else
		topo_ok "$what: exit $rc, nothing changed ($(echo "$err" | head -1))"
	fi
}

topo_step "failing commands on a host without NFs"
fails "nf del of an unknown NF" nf del nosuch
fails "nf add of a missing object" nf add x obj /nonexistent.bpf.o hook deliver
fails "nf add at an unknown hook" nf add x obj "$NF" hook nosuch
fails "nf add at a bad position" nf add x obj "$NF" hook deliver pos 3
fails "vpc add of VNI 0" vpc add vni 0
fails "trace with count 0" trace count 0
fails "trace with a duration that is not a number" trace duration abc
fails "monitor with a negative duration" monitor duration -1
fails "trace with an unknown protocol" trace proto sctp
fails "ep add of a remote endpoint without host" ep add vni 100 ip 10.0.1.9 mac 0e:00:00:00:01:09
fails "vpc add of an existing VPC" vpc add vni 100
fails "vpc del of an unknown VPC" vpc del vni 999
fails "vpc del of a VPC with networks" vpc del vni 100
fails "vpc set of an unknown VPC" vpc set vni 999 dividers 172.31.0.1
fails "net add in an unknown VPC" net add vni 999 prefix 10.9.0.0/24 bouncers 172.31.0.1
fails "net add overlapping a network" net add vni 100 prefix 10.0.1.128/25 bouncers 172.31.0.1
fails "net add of a bad prefix" net add vni 100 prefix 10.0.2.0/33 bouncers 172.31.0.1
fails "net del of a network with endpoints" net del vni 100 prefix 10.0.1.0/24
fails "net del of an unknown network" net del vni 100 prefix 10.0.7.0/24
fails "ep add of an existing endpoint" ep add vni 100 ip 10.0.1.5 mac 02:00:00:00:01:05 host 172.31.0.9
fails "ep add outside every network" ep add vni 100 ip 10.9.9.9 mac 02:00:00:00:01:06 host 172.31.0.9
fails "ep add in an unknown VPC" ep add vni 999 ip 10.0.1.6 mac 02:00:00:00:01:06 host 172.31.0.9
fails "ep add on a missing device" ep add vni 100 ip 10.0.1.6 mac 02:00:00:00:01:06 dev nosuch0
fails "ep add with a bad MAC" ep add vni 100 ip 10.0.1.6 mac 01:00:00:00:01:06 host 172.31.0.9
fails "ep del of an unknown endpoint" ep del vni 100 ip 10.0.1.77
fails "host init on a missing device" host init dev nosuch0
fails "host init in a bad mode" host init dev ul0 mode bogus
fails "host init of a second back-plane on a busy device" -r "$TOPO_BPFFS/h1b" host init dev ul0
fails "host init outside a bpffs" -r "$nobpf/root" host init dev ul0
fails "host show without a back-plane" -r "$TOPO_BPFFS/none" host show
fails "an unknown command" frobnicate
fails "stats with a bad argument" stats bogus
before=$(snapshot)
if ip netns exec "$ns" "$ACL" -r "$root" rule del vni 100 prio 5 >/dev/null 2>&1; then
	topo_fail "mizar-acl rule del before attach succeeded"
elif [ "$before" != "$(snapshot)" ]; then
	topo_fail "mizar-acl rule del before attach changed state"
else
	topo_ok "mizar-acl rule del before attach: failed, nothing changed"
fi

topo_step "failing commands on a host with NF chains"
topo_ctl h1 nf add d0 obj "$NF" hook deliver || topo_die "nf add d0"
fails "nf add of an existing name" nf add d0 obj "$NF" hook agent-egress
fails "nf del of an unknown NF" nf del nosuch
fails "nf add of a missing object" nf add x obj /nonexistent.bpf.o hook deliver
fails "nf add at a bad position" nf add x obj "$NF" hook deliver pos 2
for i in $(seq 1 15); do
	topo_ctl h1 nf add d$i obj "$NF" hook deliver || topo_die "nf add d$i"
done
fails "nf add to a full chain (16 NFs)" nf add x obj "$NF" hook deliver
# 16 at deliver + 14 at agent-egress: 33 tail calls (the kernel's limit) for a
# packet the agent injects into this host's transit walk; 32 for a hairpin
for i in $(seq 1 14); do
	topo_ctl h1 nf add a$i obj "$NF" hook agent-egress || topo_die "nf add a$i"
done
topo_ok "16 NFs at deliver and 14 at agent-egress accepted (33 tail calls for a packet the agent injects)"
# a -> b on one host runs a's agent-egress chain, then b's deliver chain
topo_ctl h1 stats reset
expect_ping a 10.0.1.3 3
expect_counter_le h1 missed_tail_call 0
fails "nf add making agent-egress + deliver exceed 33 tail calls" nf add x obj "$NF" hook agent-egress
err=$(topo_ctl h1 nf add x obj "$NF" hook agent-egress 2>&1)
case $err in
*"agent-egress (15 NFs) and deliver (16 NFs)"*33*)
	topo_ok "the error names both chains and the limit" ;;
*)
	topo_fail "the error does not name the chains and the limit: $err" ;;
esac
# An injected packet that the bouncer hook reroutes to a local endpoint
# runs three chains: agent-egress, bouncer, deliver.
fails "nf add at bouncer making agent-egress + bouncer + deliver exceed 33" nf add x obj "$NF" hook bouncer
err=$(topo_ctl h1 nf add x obj "$NF" hook bouncer 2>&1)
case $err in
*"agent-egress (14 NFs) and bouncer (1 NFs) and deliver (16 NFs)"*33*)
	topo_ok "the error names the three chains and the limit" ;;
*)
	topo_fail "the error does not name the three chains: $err" ;;
esac
# 12 + 1 + 16 NFs: 1 + 13 + 2 + 17 = 33 tail calls.
topo_ctl h1 nf del a14 && topo_ctl h1 nf del a13 || topo_die "nf del a13 a14"
topo_ctl h1 nf add x obj "$NF" hook bouncer &&
	topo_ok "with two agent-egress NFs less a bouncer NF fits every path: accepted" ||
	topo_fail "nf add at bouncer refused with 12 + 1 + 16 NFs"

topo_finish
