#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the demo on a fresh machine: install dependencies, build, then build a
# simulated 4-host cluster in network namespaces and send traffic through it
# (scripts/demo.sh). Everything it creates is removed when it ends.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mzr_need_root "scripts/demo-run.sh"
mzr_build
mzr_mount_bpffs
export MZR_BUILD_DIR
exec "$MZR_SRC_DIR/scripts/demo.sh" "$@"
