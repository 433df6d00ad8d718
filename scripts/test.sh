#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the whole test suite on a fresh machine: install dependencies,
# configure, build, mount bpffs, run every CTest test (unit, pkt, e2e).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mzr_need_root "scripts/test.sh"
mzr_build
mzr_mount_bpffs
export MZR_BUILD_DIR
cd "$MZR_BUILD_DIR"
ctest --output-on-failure --timeout 600 "$@"
