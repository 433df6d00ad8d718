#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_abi.sh must fail on each way the map and `nm -D` can disagree, not
# only pass on a good tree. It runs here against copies of the map and the
# public headers, each changed in one way, and the built libmizar.so:
#   - a symbol exported by the .so but missing from the map;
#   - a symbol in the map (and a header) that the .so does not export;
#   - a symbol exported under another version node than the map says.
# The unchanged copy must pass, so a failure comes from the change alone.
set -euo pipefail

src=${MZR_SOURCE_DIR:?}
abi=$src/tests/install/test_abi.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fresh() {
	rm -rf "$tmp/src"
	mkdir -p "$tmp/src/libmizar" "$tmp/src/include"
	cp "$src/libmizar/libmizar.map" "$tmp/src/libmizar/"
	cp -r "$src/include/mizar" "$tmp/src/include/"
}

# expect_fail CASE MESSAGE: test_abi.sh on the copy fails, saying MESSAGE,
# and says nothing else (one change, one finding).
expect_fail() {
	local out rc=0
	out=$(MZR_SOURCE_DIR=$tmp/src bash "$abi" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "FAIL: $1: test_abi.sh passed"
		echo "$out"
		exit 1
	fi
	if ! grep -qxF "FAIL: $2" <<<"$out" ||
		[ "$(grep -c '^FAIL:' <<<"$out")" -ne 1 ]; then
		echo "FAIL: $1: expected exactly 'FAIL: $2', got:"
		echo "$out"
		exit 1
	fi
	echo "ok: $1: $2"
}

fresh
MZR_SOURCE_DIR=$tmp/src bash "$abi" >/dev/null ||
	{ echo "FAIL: the unchanged copy does not pass"; exit 1; }
echo "ok: unchanged copy passes"

# A function the library exports (and nothing declares any more) that the
# map does not list: only nm -D knows it.
sym=mzr_host__map_fd
fresh
grep -q "^[[:space:]]*$sym;" "$tmp/src/libmizar/libmizar.map"
sed -i "/^[[:space:]]*$sym;/d" "$tmp/src/libmizar/libmizar.map"
sed -i "s/^MZR_API int $sym(/int $sym(/" "$tmp/src/include/mizar/host.h"
expect_fail "exported, not in the map" \
	"$sym is exported but not in libmizar.map"

# A function the map lists and a header declares but the .so lacks.
miss=mzr_abi_selftest_missing
fresh
sed -i "0,/^LIBMIZAR_0.2 {/s//&\n\tglobal:\n\t\t$miss;/" \
	"$tmp/src/libmizar/libmizar.map"
printf 'MZR_API int %s(void);\n' "$miss" >>"$tmp/src/include/mizar/host.h"
grep -q "$miss;" "$tmp/src/libmizar/libmizar.map"
expect_fail "in the map, not exported" \
	"$miss is in libmizar.map but not exported"

# A 0.1 function listed under 0.2: the node is part of the ABI too.
fresh
sed -i "/^[[:space:]]*$sym;/d" "$tmp/src/libmizar/libmizar.map"
sed -i "0,/^LIBMIZAR_0.2 {/s//&\n\tglobal:\n\t\t$sym;/" \
	"$tmp/src/libmizar/libmizar.map"
expect_fail "exported in another node" \
	"$sym is exported as LIBMIZAR_0.1, the map says LIBMIZAR_0.2"
