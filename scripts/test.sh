#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the whole test suite on a fresh machine: install dependencies,
# configure, build, mount bpffs, run every CTest test (unit, pkt, fuzz,
# e2e), then the sanitizer pass (below).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`; they skip
# the sanitizer pass.
#
#   scripts/test.sh --sanitize [ctest args]
#     only the sanitizer pass: libmizar, mizarctl, the NF tools and the
#     tests built with ASan + UBSan in build-sanitize/ (MIZAR_SANITIZE),
#     running the unit and pkt tests, a short fuzzing pass and a few
#     mizarctl-driven e2e tests. Any sanitizer report fails it, also one
#     from a process whose failure a test expected (reports are logged to
#     files and counted). Then the valgrind label from the main build:
#     mizarctl's main commands under memcheck (tests/valgrind).
#   MZR_KERNEL_MATRIX=0 scripts/test.sh
#     skips the kernel label (scripts/kernel-matrix.sh: Debian 12's 6.1
#     and 6.12 in qemu and the running kernel, about 13 minutes).
set -euo pipefail
. "$(dirname "$0")/common.sh"

# Tests that link the installed SDK into a plain program, time things, or
# load libmizar.so into an uninstrumented python (docs_counters' ctypes
# check; ASan must be the first library): meaningless with instrumented
# builds. The main pass runs them all.
SAN_EXCLUDE='^(install_sdk|headers_standalone|bench_core_smoke|bench_tcp_smoke|docs_counters)$'
SAN_E2E='^(e2e_vpc_isolation|e2e_bouncer|e2e_acl)$'

sanitize_pass() {
	local dir=${MZR_SAN_BUILD_DIR:-$MZR_SRC_DIR/build-sanitize}
	local logs rc=0

	cmake -S "$MZR_SRC_DIR" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMIZAR_SANITIZE=address,undefined -DMIZAR_FUZZ_SECONDS=15
	cmake --build "$dir" -j "$(nproc)"
	logs=$(mktemp -d /tmp/mzr-sanitize.XXXXXX)
	export ASAN_OPTIONS="log_path=$logs/asan:abort_on_error=1:detect_leaks=1"
	export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
	cd "$dir"
	if [ $# -gt 0 ]; then
		ctest --output-on-failure --timeout 600 "$@" || rc=1
	else
		ctest --output-on-failure --timeout 600 -L 'unit|pkt|fuzz' \
			-E "$SAN_EXCLUDE" || rc=1
		ctest --output-on-failure --timeout 600 -R "$SAN_E2E" || rc=1
		# memcheck runs the uninstrumented mizarctl (valgrind and
		# ASan do not mix): from the main build, built if missing.
		(mzr_build >/dev/null && cd "$MZR_BUILD_DIR" &&
			ctest --output-on-failure --timeout 900 -L valgrind) ||
			rc=1
	fi
	if compgen -G "$logs/*" >/dev/null; then
		echo "sanitizer reports:"
		for f in "$logs"/*; do
			echo "==== $f"
			cat "$f"
		done
		rc=1
	else
		echo "sanitizers: no report"
	fi
	rm -rf "$logs"
	return $rc
}

mzr_need_root "scripts/test.sh"
mzr_mount_bpffs
if [ "${1:-}" = "--sanitize" ]; then
	shift
	"$MZR_SRC_DIR/scripts/install-deps.sh"
	sanitize_pass "$@"
	exit
fi
mzr_build
export MZR_BUILD_DIR
cd "$MZR_BUILD_DIR"
if [ $# -gt 0 ]; then
	exec ctest --output-on-failure --timeout 600 "$@"
fi
rc=0
# The valgrind label runs in the sanitizer pass.
ctest --output-on-failure --timeout 600 -LE '^valgrind$' || rc=1
(sanitize_pass) || rc=1
exit $rc
