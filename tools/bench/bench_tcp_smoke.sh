#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Smoke test of bench_tcp.sh, with the XDP and the tc transit: it runs
# (1 s per measurement) and its last line is the JSON result with an
# overlay and a floor throughput > 0. No check on the numbers themselves:
# benchmarks are not timed tests.
set -u -o pipefail
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root"; exit 77; fi
for tr in xdp tc; do
	out=$(bash "$(dirname "$0")/bench_tcp.sh" -t 1 -P 2 -T $tr)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || { echo "FAIL: bench_tcp.sh -T $tr exited $rc"; exit 1; }
	last=$(echo "$out" | tail -n 1)
	if ! echo "$last" | jq -e --arg tr $tr '.bench == "tcp" and
		.transit == $tr and .overlay_bps > 0 and .floor_bps > 0 and
		.paths.routed.p1 > 0' >/dev/null 2>&1; then
		echo "FAIL: -T $tr: no JSON line with overlay_bps and floor_bps > 0: $last"
		exit 1
	fi
	echo "ok: bench_tcp -T $tr printed its JSON line (overlay and floor > 0)"
done
echo "PASS: bench_tcp_smoke"
exit 0
