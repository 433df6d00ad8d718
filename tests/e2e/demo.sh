#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The README's demo keeps working: scripts/demo.sh runs to the end.
set -u -o pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the demo needs root (network namespaces, XDP, bpffs)"
	exit 77
fi
src=${MZR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if timeout 100 bash "$src/scripts/demo.sh"; then
	echo "PASS: demo"
	exit 0
fi
echo "FAIL: demo (see the step above)"
exit 1
