#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The README's demo keeps working: scripts/demo.sh runs to the end.
set -u -o pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the demo needs root (network namespaces, XDP, bpffs)"
	exit 77
fi
src=${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# The README's promises: it runs to the end, ends with the mizar-lb NF
# spreading connections over both backends, and stays compact (counter
# deltas, no walls of zeros).
out=$(mktemp /tmp/mzr-demo.XXXXXX)
trap 'rm -f "$out"' EXIT
if ! timeout 110 bash "$src/scripts/demo.sh" >"$out" 2>&1; then
	tail -20 "$out"
	echo "FAIL: demo (see the step above)"
	exit 1
fi
fails=0
last=$(grep '^>>>' "$out" | tail -1)
[[ "$last" == *mizar-lb* ]] || { echo "FAIL: last act is '$last', not mizar-lb"; fails=1; }
grep -Eq '20 connections: 20 answered, b served [1-9][0-9]*, d served [1-9]' "$out" ||
	{ echo "FAIL: no balanced VIP line"; fails=1; }
grep -Eq '^ +lb: attached \(hooks [a-z-]+(,[a-z-]+)*\)$' "$out" ||
	{ echo "FAIL: no 'mizar-lb show' in the shared show style"; fails=1; }
lines=$(wc -l <"$out")
[ "$lines" -le 100 ] || { echo "FAIL: $lines lines of output (compact: <= 100)"; fails=1; }
if grep -Eq '[a-z_]+(\+|=)0( |$)' "$out"; then
	echo "FAIL: zero counters shown: $(grep -E '[a-z_]+(\+|=)0( |$)' "$out" | head -2)"
	fails=1
fi
if [ $fails = 0 ]; then
	echo "PASS: demo ($lines lines; $last)"
	exit 0
fi
exit 1
