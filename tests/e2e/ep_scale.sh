#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A million endpoints: one host holds 1M remote endpoints (a bouncer of a
# big network) from one `mizarctl apply`; every listing sees all of them
# (`ep show --json`, `host show`, `dump`), a second apply changes nothing,
# and `dump | apply --dry-run -f -` finds nothing to do. Listing a table
# this size once failed with "Table full" (a dump buffer that stopped
# growing when a hash bucket did not fit its end). Prints its timings;
# asserts none.
set -u -o pipefail
# A hang guard for each command, not a time limit: a million-entry apply
# takes ~15 s on a busy 2-core machine.
TOPO_CMD_TIMEOUT=${TOPO_CMD_TIMEOUT:-180}
# shellcheck source=../../scripts/lib/topo.sh
. "${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/scripts/lib/topo.sh"
topo_require_root
topo_require_tools python3

N=${MZR_SCALE_EPS:-1000000}

topo_step "one host, endpoint table of $N + headroom"
topo_init
topo_host_add h1 noinit
topo_ctl h1 host init dev ul0 max-endpoints $((N + N / 16)) >/dev/null ||
	topo_die "host init failed"
TOPO_HOST_INIT[h1]=1
CFG=$TOPO_TMP/scale.json
python3 - "$N" "$CFG" <<'EOF' || topo_die "cannot write the file"
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
eps = []
for i in range(n):
    a = i + 2
    eps.append({"ip": "10.%d.%d.%d" % ((a >> 16) & 255, (a >> 8) & 255, a & 255),
                "mac": "0e:00:%02x:%02x:%02x:%02x" % ((a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255),
                "host": "172.31.0.%d" % (2 + i % 200)})
doc = {"version": 1, "vpcs": [{"vni": 7, "networks": [
    {"prefix": "10.0.0.0/8", "bouncers": ["172.31.0.1"]}], "endpoints": eps}]}
with open(path, "w") as f:
    json.dump(doc, f)
EOF

timed() {	# timed LABEL CMD...: run, print the seconds taken
	local label=$1 t0 t1 rc
	shift
	t0=$(date +%s.%N)
	"$@"
	rc=$?
	t1=$(date +%s.%N)
	awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "  time: %s %.2f s\n", l, b - a }' >&2
	return $rc
}
ctl() { topo_ctl h1 "$@"; }
OUT=$TOPO_TMP/out

topo_step "apply $N endpoints"
if timed apply ctl apply -f "$CFG" >"$OUT" && tail -n 1 "$OUT" | grep -q "^applied $((N + 2)) change"; then
	topo_ok "first apply: $(tail -n 1 "$OUT")"
else
	topo_fail "first apply: $(tail -n 1 "$OUT")"
fi

topo_step "every listing sees all of them"
n=$(timed "ep show --json" ctl -j ep show |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["endpoints"]))')
[ "$n" = "$N" ] && topo_ok "ep show --json lists $n endpoints" ||
	topo_fail "ep show --json lists ${n:-none} of $N endpoints"
n=$(ctl -j host show | jq -r .endpoints)
[ "$n" = "$N" ] && topo_ok "host show counts $n endpoints" ||
	topo_fail "host show counts ${n:-none} of $N endpoints"
n=$(timed dump ctl dump | jq '.vpcs[0].endpoints | length')
[ "$n" = "$N" ] && topo_ok "dump writes $n endpoints" ||
	topo_fail "dump writes ${n:-none} of $N endpoints"

topo_step "nothing to change, in both directions"
if timed "apply again" ctl apply -f "$CFG" >"$OUT" && grep -q '^no change' "$OUT"; then
	topo_ok "second apply: $(cut -c1-40 "$OUT")..."
else
	topo_fail "second apply: $(head -c 300 "$OUT")"
fi
out=$(timed "dump | apply --dry-run" bash -c \
	"ip netns exec $(topo_ns h1) $MZR_MIZARCTL -r $(topo_pin_root h1) dump |
	 ip netns exec $(topo_ns h1) $MZR_MIZARCTL -r $(topo_pin_root h1) apply --dry-run -f -" 2>&1)
[[ "$out" == "no change"* ]] && topo_ok "dump | apply --dry-run -f -: no change" ||
	topo_fail "dump | apply --dry-run -f -: $(head -c 300 <<<"$out")"

topo_finish
