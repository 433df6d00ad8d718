#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# docs/counters.md is what scripts/gen-counters-doc.py makes of abi.h's
# X-macro lists now, and it names every counter and drop reason exactly as
# the built library does (mzr_counter_name(), mzr_counter_role(),
# mzr_drop_reason_name(), which expand the same lists): one list, no
# copy that can drift. The generator refuses an entry without a comment.
set -euo pipefail

src=${MZR_SOURCE_DIR:?}
lib=${MZR_BUILD_DIR:?}/libmizar/libmizar.so
gen=$src/scripts/gen-counters-doc.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$gen" "$src/include/mizar/abi.h" "$tmp/counters.md"
if ! diff -u "$src/docs/counters.md" "$tmp/counters.md"; then
	echo "FAIL: docs/counters.md is stale: run scripts/gen-counters-doc.py"
	exit 1
fi
echo "ok: docs/counters.md is current"

python3 - "$lib" "$tmp/counters.md" <<'PY'
import ctypes, re, sys

lib = ctypes.CDLL(sys.argv[1])
for f in ('mzr_counter_name', 'mzr_counter_role', 'mzr_drop_reason_name'):
    getattr(lib, f).restype = ctypes.c_char_p
    getattr(lib, f).argtypes = [ctypes.c_uint]
doc = open(sys.argv[2]).read()
cnt = re.findall(r'^\| (\d+) \| `(\w+)` \| (\w+) \|', doc, re.M)
drops = re.findall(r'^\| (\d+) \| `(\w+)` \| `(\w+)` \((\d+)\) \|', doc, re.M)
fail = []
for i, name, role in cnt:
    got = (lib.mzr_counter_name(int(i)), lib.mzr_counter_role(int(i)))
    if got != (name.encode(), role.encode()):
        fail.append('counter %s: doc %s/%s, library %s' % (i, name, role, got))
if lib.mzr_counter_name(len(cnt)) is not None:
    fail.append('the library has a counter %d the doc lacks' % len(cnt))
for r, name, counter, idx in drops:
    if lib.mzr_drop_reason_name(int(r)) != name.encode() or \
       lib.mzr_counter_name(int(idx)) != counter.encode():
        fail.append('drop %s: doc %s/%s, library %s/%s' % (
            r, name, counter, lib.mzr_drop_reason_name(int(r)),
            lib.mzr_counter_name(int(idx))))
if lib.mzr_drop_reason_name(len(drops)) is not None:
    fail.append('the library has a drop reason %d the doc lacks' % len(drops))
if not cnt or not drops:
    fail.append('no tables in the doc')
for f in fail:
    print('FAIL:', f)
if fail:
    sys.exit(1)
print('ok: %d counters and %d drop reasons named as the library names them'
      % (len(cnt), len(drops)))
PY

# An entry without a comment is refused, not documented blank.
sed 's|X(NF_RUN, nf_run, nf)\t/\* NF programs entered via tail call \*/|X(NF_RUN, nf_run, nf)|' \
	"$src/include/mizar/abi.h" >"$tmp/abi.h"
! cmp -s "$src/include/mizar/abi.h" "$tmp/abi.h" ||
	{ echo "FAIL: could not strip NF_RUN's comment"; exit 1; }
if out=$(python3 "$gen" "$tmp/abi.h" - 2>&1); then
	echo "FAIL: an entry without a comment was accepted"
	exit 1
fi
grep -q 'NF_RUN has no comment' <<<"$out" ||
	{ echo "FAIL: unexpected generator error: $out"; exit 1; }
echo "ok: an entry without a comment is refused"
