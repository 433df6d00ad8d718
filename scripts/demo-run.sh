#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the demo on a fresh machine: install dependencies, build out of the
# source tree, then simulate a 5-host cluster in network namespaces and send
# traffic through it, ending with the mizar-lb example NF (scripts/demo.sh).
# Everything it creates is removed when it ends; the build stays for the
# next run. Run as root.
set -euo pipefail
# Out of the source tree; MZR_BUILD_DIR overrides it.
MZR_BUILD_DIR=${MZR_BUILD_DIR:-/var/tmp/mizar-demo-build}
. "$(dirname "$0")/common.sh"

mzr_need_root "scripts/demo-run.sh"
cat <<MSG
demo-run: this will
  1. install the build dependencies (scripts/install-deps.sh, Debian),
  2. build libmizar, mizarctl and the example NFs in $MZR_BUILD_DIR,
  3. build a simulated cluster of 5 hosts (h1, h2 bouncers; h3 divider;
     h4, h5 with two endpoints each) in network namespaces, send ping and
     TCP through a bouncer, a divider and the direct path, show what moved
     in the counters, and load the mizar-lb example NF with a VIP in front
     of two endpoints; then remove the cluster.
MSG
mzr_build
mzr_mount_bpffs
export MZR_BUILD_DIR
exec "$MZR_SRC_DIR/scripts/demo.sh" "$@"
