#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The built libmizar.so against the last release's ABI (abidiff of
# libabigail, docs/abi-policy.md): a released function may not be removed
# or change its type, nor may a struct or enum it reaches change but
# harmlessly (an appended enumerator). Additions are fine and are listed.
# The release's ABI is stored as abidw XML in libmizar/abi/ (made from the
# tagged release's build, see docs/abi-policy.md "Before a release"), so
# no old tree has to be built here. A deliberate 0.x break is recorded in
# libmizar/abi/libmizar.abignore.
#
# MZR_ABI_BASELINE: another baseline (.abi or .so) than the newest stored.
set -euo pipefail

src=${MZR_SOURCE_DIR:?}
lib=${MZR_BUILD_DIR:?}/libmizar/libmizar.so
[ -e "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
if ! command -v abidiff >/dev/null; then
	echo "SKIP: abidiff not found (Debian package abigail-tools," \
		"scripts/install-deps.sh installs it)"
	exit 77
fi
base=${MZR_ABI_BASELINE:-$(ls "$src"/libmizar/abi/libmizar-*.abi | sort -V |
	tail -n1)}
if [ "${base##*.}" = abi ] &&
	! grep -q "architecture='elf-amd-x86_64'" "$base"; then
	echo "FAIL: $base is not an x86_64 corpus"
	exit 1
fi
if [ "${base##*.}" = abi ] && [ "$(uname -m)" != x86_64 ]; then
	echo "SKIP: the stored baseline $base describes x86_64, this is" \
		"$(uname -m)"
	exit 77
fi

# Both sides as abidw XML made the same way: abidiff 2.2 given an XML
# corpus and an ELF file missed a moved struct member that XML against
# XML reports.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw_opts=(--drop-private-types --no-corpus-path --no-comp-dir-path
	--no-show-locs)
if [ "${base##*.}" != abi ]; then
	abidw "${abidw_opts[@]}" --out-file "$tmp/base.abi" "$base"
	base=$tmp/base.abi
fi
abidw "${abidw_opts[@]}" --headers-dir "$src/include/mizar" \
	--out-file "$tmp/new.abi" "$lib"
rc=0
out=$(abidiff --suppressions "$src/libmizar/abi/libmizar.abignore" \
	"$base" "$tmp/new.abi") || rc=$?
echo "abidiff $(basename "$base") -> $lib (exit $rc)"
echo "$out" | sed -n '1,2p'
# Bits 1 and 2: abidiff itself failed (bad input, usage).
if [ $((rc & 3)) -ne 0 ]; then
	echo "$out"
	echo "FAIL: abidiff did not run (exit $rc)"
	exit 1
fi
summary=$(grep -E '^(Functions|Variables) changes summary' <<<"$out") || {
	echo "$out"
	echo "FAIL: no changes summary in abidiff's report"
	exit 1
}
if grep -qvE ': 0 Removed, 0 Changed' <<<"$summary"; then
	echo "$out"
	echo "FAIL: a released function or variable was removed or changed;" \
		"undo it, or record a deliberate 0.x break in" \
		"libmizar/abi/libmizar.abignore and CHANGELOG.md"
	exit 1
fi
echo "ok: nothing of $(basename "$base" .abi) removed or changed"
